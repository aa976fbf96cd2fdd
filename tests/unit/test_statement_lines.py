"""The statement as a treasurer reads it (issue 13, item 6), in its pure parts: the rate a sale
earned at and why, the detail lines' totals equal to the report's columns, the ranking of
counts, the partner's lines and statement, and the CSV as French Excel opens it."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.cards.domain.card_checks import check_reward
from services.clearing.domain import partner_statements, statement_lines, statements
from services.clearing.domain.figures import Figures, ranking
from services.clearing.domain.statement_lines import DETAILS, Totals, detail_row
from shared import tabular
from shared.contracts import CardTransaction
from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook, Sale
from shared.rules.programs import Program, ProgramKind
from shared.rules.promotions import Promotion, RateOverride

AT = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
SHOP = Merchant.with_families(
    "librairie",
    [
        ProductFamily("papeterie", taux_client_bps=400),
        ProductFamily("livres", taux_client_bps=800, book=True),
        ProductFamily("tabac", tobacco=True),
    ],
    taux_client_bps=250,
)
PROMO = Promotion(
    "printemps", AT - timedelta(hours=1), AT + timedelta(hours=1), RateOverride(600), "librairie"
)


def _book(mode: CalculationMode = CalculationMode.FAMILY, *promos: Promotion) -> RuleBook:
    return RuleBook(NetworkRates(mode, 300, 50), [SHOP], Program("p", ProgramKind.CAGNOTTE), promos)


@pytest.mark.parametrize(
    ("mode", "family", "at", "rate", "source"),
    [
        (CalculationMode.FAMILY, "papeterie", AT, 400, "rate.family"),
        (CalculationMode.FAMILY, None, AT, 250, "rate.merchant"),
        (CalculationMode.NETWORK, "papeterie", AT, 300, "rate.network"),
        (CalculationMode.FAMILY, "livres", AT, 500, "legal.book_cap"),
        (CalculationMode.FAMILY, "papeterie", AT + timedelta(hours=3), 400, "rate.family"),
    ],
)
def test_an_evaluation_says_which_rule_set_the_rate(
    mode: CalculationMode, family: str | None, at: datetime, rate: int, source: str
) -> None:
    ev = _book(mode).evaluate(Sale("librairie", family, 10000, at))
    assert (ev.taux_client_bps, ev.rate_source) == (rate, source)


def test_a_promotion_is_the_rates_source_while_it_runs_and_the_cap_still_wins() -> None:
    book = _book(CalculationMode.FAMILY, PROMO)
    ev = book.evaluate(Sale("librairie", "papeterie", 2000, AT))
    assert (ev.taux_client_bps, ev.rate_source, ev.reward_cents) == (600, "promotion.override", 120)
    capped = book.evaluate(Sale("librairie", "livres", 2000, AT))
    assert (capped.taux_client_bps, capped.rate_source) == (500, "legal.book_cap")
    refused = book.evaluate(Sale("librairie", "tabac", 2000, AT))
    assert refused.refused and refused.rate_source is None


def test_a_chip_cards_sale_is_checked_with_its_rate_and_source() -> None:
    tx = CardTransaction.model_validate(
        {
            "seq": 1,
            "kind": "sale",
            "card_number": "9250010000000018",
            "atc": 1,
            "occurred_at": AT,
            "amount_cents": 10000,
            "product_family": "livres",
            "reward_cents": 500,
            "available_delta": 500,
            "pending_delta": 0,
            "available_after": 500,
            "pending_after": 0,
            "visits_after": 1,
            "terminal_nonce": "00" * 8,
            "certificate": "00" * 8,
        }
    )
    book = _book()
    check = check_reward(book, book.program, uuid.uuid4(), True, tx)
    # an unknown merchant (a random id) earns nothing: the check says the reward mismatches
    assert check.rate_source is None
    known = check_reward(book, book.program, "librairie", True, tx)  # type: ignore[arg-type]
    assert (known.problem, known.taux_client_bps, known.rate_source) == (
        None,
        500,
        "legal.book_cap",
    )


# --- detail lines ----------------------------------------------------------------------------

STARTS = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
ENDS = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def _entry(kind: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(
        (
            "title", "last_name", "first_name", "card_number", "purchase_cents",
            "amount_cents", "product_family", "product_family_label", "rate_bps",
            "rate_source", "reward_cents", "fee_cents", "merchant_cents", "adjusts_period",
            "note", "partner_name",
        )
    )  # fmt: skip
    base.update(kind=kind, occurred_at=AT, booked_at=AT)
    base.update(kw)
    return base


LINES = [
    _entry(
        "accrual",
        title="MME",
        last_name="Martin",
        first_name="Alice",
        card_number="9250010000000018",
        purchase_cents=10000,
        product_family="papeterie",
        product_family_label="Papeterie et cadeaux",
        rate_bps=400,
        rate_source="rate.family",
        reward_cents=400,
        fee_cents=50,
        merchant_cents=450,
    ),
    _entry("accrual", purchase_cents=5000, reward_cents=125, fee_cents=25, merchant_cents=150),
    _entry("reversal", amount_cents=5000, reward_cents=125, fee_cents=25, merchant_cents=-150),
    _entry("redemption", amount_cents=300, merchant_cents=-300),
    _entry("stored_value_spend", amount_cents=1000, merchant_cents=-1000),
    _entry("load", amount_cents=2000, merchant_cents=2000),
    _entry(
        "partner_share",
        purchase_cents=8000,
        amount_cents=800,
        merchant_cents=800,
        note="1000 bps",
        partner_name="Club de foot",
    ),
]
FIGURES = Figures(
    purchases_count=2,
    purchases_cents=15000,
    cagnottages_cents=400,
    fees_cents=50,
    returns_count=1,
    returns_cents=5000,
    redemptions_count=1,
    redemptions_cents=300,
    stored_value_spent_cents=1000,
    loads_cents=2000,
    partner_share_cents=800,
    net_cents=1950,
)


def test_a_detail_line_says_who_which_family_and_which_rate() -> None:
    row = dict(zip([c.header for c in DETAILS], detail_row(LINES[0], STARTS, ENDS), strict=True))
    assert (row["CIVILITE"], row["NOM"], row["PRENOM"]) == ("Mme", "Martin", "Alice")
    assert (row["UNIVERS"], row["TAUX (%)"]) == ("Papeterie et cadeaux", 400)
    assert row["ORIGINE DU TAUX"] == "taux de la famille"
    # a line booked before labels were carried shows its code
    older = detail_row(_entry("accrual", product_family="papeterie"), STARTS, ENDS)
    assert older[DETAILS.index(next(c for c in DETAILS if c.header == "UNIVERS"))] == "papeterie"


def test_crms_titles_are_written_as_a_statement_writes_them_others_as_given() -> None:
    shown = [statement_lines.civility(t) for t in ("M", "MME", "MX", "Monsieur", "Mme", None)]
    assert shown == ["M.", "Mme", "Mx", "Monsieur", "Mme", None]


def test_a_partner_line_shows_its_base_and_its_rate() -> None:
    row = dict(zip([c.header for c in DETAILS], detail_row(LINES[-1], STARTS, ENDS), strict=True))
    assert (row["VALEUR"], row["TAUX (%)"], row["NET"]) == (8000, 1000, 800)
    assert row["ORIGINE DU TAUX"] == "partenariat"
    assert row["REMARQUE"] == "Club de foot : 10 % de 80,00 € d'achats de ses membres"


def test_the_totals_are_the_reports_columns() -> None:
    """The sums under each column are the report's figures of that column's name: VALEUR the
    purchases (not net of the returns), CAGNOTTE the cagnottages (net of the returns', not of
    the décagnottages), FRAIS UC the fees; each other kind on its own line."""
    totals = Totals()
    rows = [detail_row(e, STARTS, ENDS) for e in LINES]
    totals.add(rows[:3])
    totals.add(rows[3:])  # in pages, as the export reads them
    report = dict(zip([c.header for c in statements.SUMMARY], statements.summary_row(
        {
            "merchant_name": "Librairie", "created_on": None, "closed_on": None,
            "taux_uc_bps": 50, "taux_client_bps": 250,
            "figures": FIGURES.as_dict(),
        }
    ), strict=True))  # fmt: skip
    by_label = {
        str(r[1]).split(" (")[0]: dict(zip([c.header for c in DETAILS], r, strict=True))
        for r in totals.rows()
    }
    total = by_label["TOTAL"]
    assert total["TYPE"] == "TOTAL (7 lignes)"
    assert total["VALEUR"] == report["SOMME DES ACHATS"] == 15000
    assert total["CAGNOTTE"] == report["SOMME DES CAGNOTTAGES"] == 400
    assert total["FRAIS UC"] == report["FRAIS À REVERSER À L'UC"] == 50
    assert total["NET"] == report["NET À PAYER (+) / À RECEVOIR (-)"] == 1950
    assert by_label["Retours"]["VALEUR"] == report["SOMME DES RETOURS"] == -5000
    assert by_label["Décagnottages"]["CAGNOTTE"] == report["SOMME DES DÉCAGNOTTAGES"] == -300
    assert by_label["Paiements en avoir"]["VALEUR"] == report["PAIEMENTS EN AVOIR"] == -1000
    assert by_label["Chargements"]["VALEUR"] == report["CHARGEMENTS"] == 2000
    assert by_label["Partenariats"]["NET"] == report["PARTENARIATS"] == 800
    assert "Régularisations" not in by_label  # only the kinds present


def test_a_count_ranks_with_its_min_max_and_exact_average() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ranks = ranking(
        {
            a: Figures(purchases_count=2),
            b: Figures(purchases_count=1),
            c: Figures(purchases_count=1),
        }
    )
    doc = {"ranking": {k: {**vars_of(r)} for k, r in ranks[a].items()}}
    rows = {r[0]: r for r in statements.ranking_rows(doc)}
    # hundredths, in the columns of cents: 1.00, 2.00 and 4 / 3 = 1.33
    assert rows["Nb d'achats"][1:] == [1, 3, 100, 200, 133]
    # a statement frozen before the exact average: the rounded one
    del doc["ranking"]["purchases_count"]["average_hundredths"]
    rows = {r[0]: r for r in statements.ranking_rows(doc)}
    assert rows["Nb d'achats"][5] == 100


def vars_of(r: Any) -> dict[str, Any]:
    return {f: getattr(r, f) for f in r.__slots__}


# --- the CSV ---------------------------------------------------------------------------------


def test_the_statement_csv_opens_in_french_excel() -> None:
    out = io.StringIO()
    w = tabular.Writer(out, tabular.EXCEL_FR)
    w.header([c.header for c in DETAILS])
    w.row(statement_lines.csv_cells(detail_row(LINES[0], STARTS, ENDS)))
    w.row(statement_lines.csv_cells(detail_row(LINES[2], STARTS, ENDS)))
    data = out.getvalue().encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbfDATE;TYPE;CIVILITE;")  # the BOM: UTF-8, not ANSI
    head, first, second = csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")
    line = dict(zip(head, first, strict=True))
    assert line["DATE"] == "20/03/2026 13:00"  # Paris time
    assert line["N° CARTE"] == '="9250010000000018"'  # text, all 16 digits
    assert (line["VALEUR"], line["TAUX (%)"], line["CAGNOTTE"]) == ("100,00", "4,00", "4,00")
    assert line["PRENOM"] == "Alice" and line["UNIVERS"] == "Papeterie et cadeaux"
    assert dict(zip(head, second, strict=True))["VALEUR"] == "-50,00"
    # as written on the wire: the formula's quotes doubled inside a quoted cell
    assert ';"=""9250010000000018""";' in data.decode("utf-8")


def test_rfc4180_csvs_are_unchanged_and_identifiers_are_digits_only() -> None:
    assert tabular.to_text(["A", "B"], [[Decimal("1.50"), tabular.Identifier("0042")]]) == (
        "A,B\r\n1.50,0042\r\n"
    )
    for bad in ("12a", "=1", "١٢", ""):
        with pytest.raises(ValueError):
            tabular.Identifier(bad)
    # a card number a terminal sent that is not digits is text like any other: neutralised
    cells = statement_lines.csv_cells(
        detail_row(_entry("accrual", card_number="=1+1"), STARTS, ENDS)
    )
    assert tabular.cell(cells[5], tabular.EXCEL_FR) == "'=1+1"


# --- the partner's statement -----------------------------------------------------------------


def test_a_partners_statement_lists_each_share_and_each_donation() -> None:
    pid, aid, shop = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    partner = {"id": pid, "association_id": aid, "name": "Club de foot"}
    donation = {
        "occurred_at": AT, "account_id": uuid.uuid4(), "title": None, "last_name": "Martin",
        "first_name": "Alice", "card_number": "9250010000000018", "amount_cents": -100,
    }  # fmt: skip
    doc = partner_statements.compose(
        partner,
        datetime(2026, 3, 1).date(),
        "provisional",
        [
            # before the close, reckoned: 10 % of 80.05 is 8.005, rounded half up
            {"merchant_id": shop, "merchant_name": "Librairie", "revenue_cents": 8005, "rate_bps": 1000},
            {"merchant_id": uuid.uuid4(), "merchant_name": "Vide", "revenue_cents": 0, "rate_bps": 500},
        ],
        [donation],
    )  # fmt: skip
    assert [(s["merchant_name"], s["amount_cents"]) for s in doc["shares"]] == [("Librairie", 801)]
    assert doc["totals"] == {
        "revenue_cents": 8005,
        "shares_cents": 801,
        "donations_count": 1,
        "donations_cents": 100,
        "total_cents": 901,
    }
    lines = partner_statements.lines(doc)
    assert lines[0][2] == "Librairie" and lines[0][7:] == [8005, 1000, 801]
    assert lines[1][0] == "Don" and lines[1][4] == "Martin" and lines[1][9] == 100
    totals = partner_statements.totals_rows(doc)
    assert all(len(r) == len(partner_statements.LINES) for r in totals)
    assert totals[-1][0] == "TOTAL À RECEVOIR" and totals[-1][-1] == 901
