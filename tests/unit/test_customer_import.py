from __future__ import annotations

from datetime import date

import pytest

from services.cards.domain.customer_import import ImportFileError, read
from shared.rules.codes import card_number

TODAY = date(2026, 11, 22)
CARD = card_number("123456", 7)


def test_a_french_spreadsheet_export_is_read_with_its_accents_and_semicolons() -> None:
    text = (
        "\ufeffCivilité;Prénom;Nom;Téléphone;Courriel;Date de naissance;Code postal;Carte;Cagnotte\n"
        f"Mme;Claire;Martin;06 12 34 56 78;Claire@Example.org;14/07/1985;75011;{CARD};12,50\n"
        "M.;Paul;Durand;0700000001;;;;;\n"
    )
    report = read(text, TODAY)
    assert report.rejected == [] and report.ignored_columns == []
    claire, paul = report.accepted
    assert (
        claire.phone,
        claire.email,
        claire.birth_date,
        claire.card_number,
        claire.balance_cents,
    ) == ("+33612345678", "claire@example.org", date(1985, 7, 14), CARD, 1250)
    assert (paul.line, paul.phone, paul.email, paul.balance_cents) == (3, "+33700000001", None, 0)


def test_every_bad_line_is_reported_with_its_number_and_all_its_reasons() -> None:
    text = (
        "phone,email,birth_date,postal_code,card_number,balance,loyalty_tier\n"
        "0612345678,ok@example.org,1990-01-31,69001,,3.20,gold\n"  # line 2: fine
        "12,not-an-email,31/02/1990,6900,4111111111111112,-1,\n"  # line 3: six reasons
        "06 12 34 56 78,,,,,,\n"  # line 4: same phone as line 2
        "0699999999,,01/01/2030,,,1.234,\n"  # line 5: born in the future, 3 decimals
        "0611111111,too,many,fields,here,1,2,3\n"  # line 6: wrong field count
        ",,,,,,\n"  # blank: skipped, not an error
    )
    report = read(text, TODAY)
    assert [c.line for c in report.accepted] == [2]
    assert report.ignored_columns == ["loyalty_tier"]
    by_line = {r.line: r.reasons for r in report.rejected}
    assert sorted(by_line) == [3, 4, 5, 6]
    assert len(by_line[3]) == 6 and by_line[3][0].startswith("phone missing or invalid")
    assert any("check digit" in r for r in by_line[3]) and any(
        "negative balance" in r for r in by_line[3]
    )
    assert by_line[4] == ("same phone as line 2",)
    assert {r.split(":")[0] for r in by_line[5]} == {
        "birth date out of range",
        "balance has more than two decimals",
    }
    assert by_line[6] == ("8 fields, the header has 7",)


def test_reading_the_same_file_twice_gives_the_same_report() -> None:
    text = "tel;nom\n0612345678;Martin\n0612345678;Martin\nxx;Durand\n"
    assert read(text, TODAY) == read(text, TODAY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header"),
        ("\n0612345678\n", "no header"),
        ("nom;email\nMartin;a@b.fr\n", "no phone column"),
    ],
)
def test_a_file_that_cannot_be_imported_at_all_says_why(text: str, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        read(text, TODAY)


def test_an_accepted_line_keeps_its_text_for_the_report_if_the_import_rejects_it_later() -> None:
    text = f"tel;nom;carte\n0612345678;Martin;{CARD}\n\n0700000001;Durand;\n"
    report = read(text, TODAY)
    assert [(c.line, c.raw) for c in report.accepted] == [
        (2, f"0612345678;Martin;{CARD}"),
        (4, "0700000001;Durand;"),
    ]
