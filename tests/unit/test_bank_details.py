"""Bank details validation (services/clearing/domain/bank.py and epc.py), without I/O."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.clearing.domain import bank
from services.clearing.domain.bank import BankDetailsError

# Published examples (SWIFT IBAN registry, national banks, bank test accounts).
VALID_IBANS = [
    "FR76 3000 6000 0112 3456 7890 189",
    "FR14 2004 1010 0505 0001 3M02 606",
    "DE89 3704 0044 0532 0130 00",
    "BE68 5390 0754 7034",
    "IT60 X054 2811 1010 0000 0123 456",
    "ES91 2100 0418 4502 0005 1332",
    "NL91 ABNA 0417 1643 00",
    "GB29 NWBK 6016 1331 9268 19",
    "MC58 1122 2000 0101 2345 6789 030",
    "CH93 0076 2011 6238 5295 7",
    "LU28 0019 4006 4475 0000",
    "AT61 1904 3002 3457 3201",
    "PT50 0002 0123 1234 5678 9015 4",
    "AD12 0001 2030 2003 5910 0100",
    "SM86 U032 2509 8000 0000 0270 100",
]

_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALPHABET = {"n": _DIGITS, "a": _LETTERS, "c": _DIGITS + _LETTERS}


def _valid(iban: str) -> bool:
    try:
        bank.normalize_iban(iban)
    except BankDetailsError:
        return False
    return True


def _error(call: object, *args: str) -> BankDetailsError:
    assert callable(call)
    with pytest.raises(BankDetailsError) as info:
        call(*args)
    return info.value


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_published_ibans_validate_and_come_back_compact(iban: str) -> None:
    compact = iban.replace(" ", "")
    assert bank.normalize_iban(iban) == compact
    assert bank.format_iban(compact) == iban


def test_an_iban_typed_in_lowercase_with_odd_spaces_is_accepted() -> None:
    assert bank.normalize_iban("  fr76 30006000 0112\u00a03456 7890 189\t") == (
        "FR7630006000011234567890189"
    )


def test_an_iban_with_wrong_check_digits_is_refused_on_the_iban_field() -> None:
    e = _error(bank.normalize_iban, "FR76 3000 6000 0112 3456 7890 188")
    assert e.field == "iban"
    assert "FR76 3000 6000 0112 3456 7890 188 fails its check digits (mod 97)" in e.detail


def test_two_swapped_digits_are_refused() -> None:
    e = _error(bank.normalize_iban, "DE89 3704 0044 0532 0130 00".replace("3704", "7304"))
    assert e.field == "iban" and "mod 97" in e.detail


@pytest.mark.parametrize(
    ("iban", "words"),
    [
        ("FR76 3000 6000 0112 3456 7890 18", "has 26 characters; an IBAN from FR has 27"),
        ("DE89 3704 0044 0532 0130 000", "has 23 characters; an IBAN from DE has 22"),
        ("XX89 3704 0044 0532 0130 00", "not a country of the IBAN registry"),
        ("US12 3456 7890 1234", "not a country of the IBAN registry"),
        ("FR76-3000-6000-0112-3456-7890-189", "contains '-'"),
        ("DE89 3704 0044 0532 0130 0é", "contains 'É'"),
        ("", "empty"),
        ("FRAB 3000 6000 0112 3456 7890 189", "third and fourth characters must be digits"),
        # A letter where Germany has only digits: the layout catches it before mod 97.
        ("DE89 3704 0044 0532 0130 0A", "layout of DE accounts"),
    ],
)
def test_malformed_ibans_are_refused_with_the_reason(iban: str, words: str) -> None:
    e = _error(bank.normalize_iban, iban)
    assert e.field == "iban"
    assert words in e.detail


def test_a_valid_iban_outside_sepa_is_refused_only_when_sepa_is_required() -> None:
    brazil = "BR18 0036 0305 0000 1000 9795 493C 1"
    assert bank.normalize_iban(brazil) == brazil.replace(" ", "")
    e = _error(lambda s: bank.normalize_iban(s, sepa_only=True), brazil)
    assert e.field == "iban" and "outside the SEPA area" in e.detail
    assert bank.normalize_iban(VALID_IBANS[0], sepa_only=True)


def test_the_length_table_covers_every_sepa_country_and_matches_known_lengths() -> None:
    assert bank.SEPA_IBAN_COUNTRIES.issubset(bank.IBAN_LENGTHS)
    assert len(bank.IBAN_LENGTHS) >= 89
    known = {"FR": 27, "DE": 22, "BE": 16, "NO": 15, "MT": 31, "LC": 32, "RU": 33, "CH": 21}
    assert {c: bank.IBAN_LENGTHS[c] for c in known} == known
    assert set(bank.IBAN_LENGTHS) <= bank.ISO_COUNTRIES


@st.composite
def _iban_parts(draw: st.DrawFn) -> tuple[str, str]:
    """A country of the registry and a national part (BBAN) in that country's layout."""
    country = draw(st.sampled_from(sorted(bank.IBAN_BBAN_FORMATS)))
    parts = re.findall(r"(\d+)!([nac])", bank.IBAN_BBAN_FORMATS[country])
    bban = "".join(
        draw(st.text(alphabet=_ALPHABET[kind], min_size=int(n), max_size=int(n)))
        for n, kind in parts
    )
    return country, bban


@given(_iban_parts())
def test_an_iban_built_with_computed_check_digits_validates(parts: tuple[str, str]) -> None:
    country, bban = parts
    iban = country + bank.iban_check_digits(country, bban) + bban
    assert bank.normalize_iban(iban) == iban
    assert len(iban) == bank.IBAN_LENGTHS[country]


@given(_iban_parts(), st.data())
def test_every_single_character_substitution_is_refused(
    parts: tuple[str, str], data: st.DataObject
) -> None:
    country, bban = parts
    iban = country + bank.iban_check_digits(country, bban) + bban
    i = data.draw(st.integers(0, len(iban) - 1), label="position")
    # A digit for another digit or a letter for another letter: mod 97 catches all of them
    # (the change is d·10^k with 0 < |d| < 97, never a multiple of the prime 97).
    same_class = _DIGITS if iban[i].isdigit() else _LETTERS
    replacement = data.draw(st.sampled_from(same_class.replace(iban[i], "")), label="by")
    mutated = iban[:i] + replacement + iban[i + 1 :]
    e = _error(bank.normalize_iban, mutated)
    assert e.field == "iban"
    if i >= 2:  # the country is unchanged: only the check digits can object
        assert "mod 97" in e.detail


def test_mod_97_alone_misses_some_digit_for_letter_substitutions() -> None:
    # Why the BBAN layout is checked too: a letter is two digits long for mod 97, so a digit
    # turned into a letter can keep the remainder (about 1 in 97). In a French account number,
    # where letters are allowed, some do; in a German IBAN (digits only) the layout refuses all.
    ok = "FR7630006000011234567890189"
    hits = [m for i in range(14, 25) for c in _LETTERS if _valid(m := ok[:i] + c + ok[i + 1 :])]
    assert hits, "no collision in this IBAN; pick another example"
    german = "DE89370400440532013000"
    assert not any(
        _valid(german[:i] + c + german[i + 1 :]) for i in range(4, len(german)) for c in _LETTERS
    )


@pytest.mark.parametrize(
    ("bic", "expected"),
    [
        ("BNPAFRPP", "BNPAFRPP"),
        ("bnpafrppxxx", "BNPAFRPPXXX"),
        ("DEUT DE FF", "DEUTDEFF"),
        ("COBADEFFXXX", "COBADEFFXXX"),
        ("BFCORERX", "BFCORERX"),  # Réunion: its own country code, a FR IBAN
        ("CHASUS33", "CHASUS33"),
    ],
)
def test_well_formed_bics_are_accepted(bic: str, expected: str) -> None:
    assert bank.normalize_bic(bic) == expected


@pytest.mark.parametrize(
    ("bic", "words"),
    [
        ("BNPAFRP", "has 7 characters"),
        ("BNPAFRPPXX", "has 10 characters"),
        ("BNP1FRPP", "not well formed"),
        ("BNPAFR1P", "not well formed"),  # location may not start with 0 or 1
        ("BNPAFRPO", "not well formed"),  # nor end with the letter O
        ("BNPAQQPP", "'QQ'"),
    ],
)
def test_malformed_bics_are_refused_on_the_bic_field(bic: str, words: str) -> None:
    e = _error(bank.normalize_bic, bic)
    assert e.field == "bic" and words in e.detail


def test_a_bic_with_an_iban_must_be_a_bank_in_sepa() -> None:
    assert bank.normalize_bic("BNPAFRPP", iban_country="FR") == "BNPAFRPP"
    assert bank.normalize_bic("BFCORERX", iban_country="FR") == "BFCORERX"
    e = _error(lambda s: bank.normalize_bic(s, iban_country="FR"), "CHASUS33")
    assert e.field == "bic" and "outside the SEPA area" in e.detail


def test_the_classic_test_creditor_identifiers_validate() -> None:
    assert bank.creditor_id_check_digits("FR", "123456") == "72"
    assert bank.normalize_creditor_id("fr72 zzz 123456") == "FR72ZZZ123456"
    assert bank.normalize_creditor_id("DE98ZZZ09999999999") == "DE98ZZZ09999999999"


def test_the_creditor_business_code_is_left_out_of_the_check_digits() -> None:
    assert bank.normalize_creditor_id("FR72ABC123456") == "FR72ABC123456"


@pytest.mark.parametrize(
    ("cid", "words"),
    [
        ("FR73ZZZ123456", "fails its check digits"),
        ("FR72ZZZ123457", "fails its check digits"),
        ("FR72ZZZ1234567", "has 14 characters; one from FR has 13"),
        ("US72ZZZ123456", "not a country of the SEPA schemes"),
        ("FR7ZZZZ123456", "not well formed"),
        ("FR72ZZ", "not well formed"),
        ("", "not well formed"),
    ],
)
def test_bad_creditor_identifiers_are_refused(cid: str, words: str) -> None:
    e = _error(bank.normalize_creditor_id, cid)
    assert e.field == "creditor_id" and words in e.detail


def _cid(country: str, national: str) -> str:
    """A creditor identifier with the right check digits, so only its length is on trial."""
    return f"{country}{bank.creditor_id_check_digits(country, national)}ZZZ{national}"


# Examples published with EPC262-08 (their check digits are right), then identifiers built
# on the national layouts the same document gives.
@pytest.mark.parametrize(
    "cid",
    [
        "AT61ZZZ01234567890",
        "BE68ZZZ0123456789",  # the enterprise number
        "BE69ZZZ050D000000008",  # a number the creditor's bank issued
        "ES50ZZZM23456789",
        "IT66ZZZA1B2C3D4E5F6G7H8",
        "LU27ZZZ0000000000123456789",
        _cid("NL", "123456780001"),
        _cid("PT", "123456"),
        _cid("IE", "123456"),
        _cid("EE", "EE00012345678"),
    ],
)
def test_creditor_identifiers_of_the_right_length_for_their_country_validate(cid: str) -> None:
    assert bank.normalize_creditor_id(cid) == cid


@pytest.mark.parametrize(
    ("cid", "words"),
    [
        (_cid("IT", "A1B2C3D4E5F6G7H"), "has 22 characters; one from IT has 23"),
        (_cid("ES", "M234567890"), "has 17 characters; one from ES has 16"),
        (_cid("NL", "12345678000"), "has 18 characters; one from NL has 19"),
        (_cid("BE", "01234567890"), "has 18 characters; one from BE has 17 or 20"),
        (_cid("AT", "0123456789"), "has 17 characters; one from AT has 18"),
        (_cid("PT", "1234567"), "has 14 characters; one from PT has 13"),
        (_cid("LU", "000000000012345678"), "has 25 characters; one from LU has 26"),
    ],
)
def test_a_creditor_identifier_of_the_wrong_length_for_its_country_is_refused(
    cid: str, words: str
) -> None:
    e = _error(bank.normalize_creditor_id, cid)
    assert e.field == "creditor_id" and words in e.detail


def test_countries_without_an_established_length_get_only_the_generic_rule() -> None:
    # Malta's published example, and identifiers of any length from Greece and Switzerland.
    assert bank.normalize_creditor_id("MT50ZZZ670169305T") == "MT50ZZZ670169305T"
    for national in ("12345", "1234567890123", "A" * 28):
        assert bank.normalize_creditor_id(_cid("GR", national))
        assert bank.normalize_creditor_id(_cid("CH", national))
    # The check digits still count.
    e = _error(bank.normalize_creditor_id, "MT51ZZZ670169305T")
    assert "fails its check digits" in e.detail


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Boulangerie Éloïse & Fils", "Boulangerie Eloise + Fils"),
        ("Œufs & Cœur de bœuf", "OEufs + Coeur de boeuf"),
        ("Ærø Straße", "AEro Strasse"),
        ("L’Atelier — «Chez Zoé»", "L'Atelier - Chez Zoe"),
        ("Crêperie   n°1 @ Brest!", "Creperie n 1 Brest"),
        ("Łódź 50 €", "Lodz 50 EUR"),
    ],
)
def test_names_are_transliterated_to_the_sepa_character_set(raw: str, text: str) -> None:
    assert bank.sepa_text(raw, 70) == text
    assert set(text) <= bank.SEPA_CHARS


def test_sepa_text_is_truncated_without_a_trailing_space() -> None:
    assert bank.sepa_text("Boulangerie Éloïse & Fils", 12) == "Boulangerie"
    assert len(bank.sepa_text("é" * 200, 140)) == 140


def test_a_name_with_nothing_a_bank_accepts_is_refused() -> None:
    e = _error(bank.normalize_holder, " 北京 ☕ ")
    assert e.field == "holder"
    e = _error(lambda s: bank.sepa_text(s, 35, field="mandate_id"), "")
    assert e.field == "mandate_id"


@given(st.text(max_size=200), st.integers(1, 140))
def test_sepa_text_output_is_always_in_the_set_and_short_enough(s: str, n: int) -> None:
    try:
        out = bank.sepa_text(s, n)
    except BankDetailsError as e:
        assert e.field == "holder"
        return
    assert 1 <= len(out) <= n
    assert set(out) <= bank.SEPA_CHARS
    assert out == out.strip() and "  " not in out


@pytest.mark.parametrize("mandate_id", ["RUM-2024-000123", "A", "x" * 35, "COMPTOIR/M/42", "+?"])
def test_valid_mandate_references(mandate_id: str) -> None:
    assert bank.validate_mandate_id(f" {mandate_id} ") == mandate_id


@pytest.mark.parametrize(
    "mandate_id", ["", "x" * 36, "RUM 2024", "RUM_2024", "RUMé", "/RUM", "RUM/", "RUM//1"]
)
def test_invalid_mandate_references_are_refused(mandate_id: str) -> None:
    e = _error(bank.validate_mandate_id, mandate_id)
    assert e.field == "mandate_id"
    assert e.detail.startswith("Mandate reference ")


# --- postal addresses -----------------------------------------------------------------------

CH_IBAN = "CH93 0076 2011 6238 5295 7"
GB_IBAN = "GB29 NWBK 6016 1331 9268 19"


@pytest.mark.parametrize(
    "iban",
    [CH_IBAN, GB_IBAN, "MC58 1122 2000 0101 2345 6789 030", "SM86 U032 2509 8000 0000 0270 100"],
)
def test_a_bank_outside_the_eea_requires_the_holders_address(iban: str) -> None:
    assert bank.address_required(iban)
    e = _error(lambda s: bank.check_address(s, None), iban)
    assert e.field == "address"
    assert "outside the EEA" in e.detail and "town and the country" in e.detail
    bank.check_address(iban, bank.normalize_address(town="Zürich", country="CH"))


@pytest.mark.parametrize(
    "iban", [VALID_IBANS[0], "DE89 3704 0044 0532 0130 00", "LU28 0019 4006 4475 0000"]
)
def test_a_bank_in_the_eea_needs_no_address(iban: str) -> None:
    assert not bank.address_required(iban)
    bank.check_address(iban, None)


def test_the_non_eea_countries_are_sepa_countries() -> None:
    assert bank.NON_EEA_SEPA_COUNTRIES <= bank.SEPA_BIC_COUNTRIES
    assert {"FR", "DE", "IS", "LI", "NO"}.isdisjoint(bank.NON_EEA_SEPA_COUNTRIES)


def test_an_address_is_normalised_for_sepa_files() -> None:
    address = bank.normalize_address(
        street=" Rue de l’Église ",
        building_number="3 bis",
        postcode="29200",
        town="Brest",
        country=" fr",
    )
    assert address == bank.Address(
        street="Rue de l'Eglise",
        building_number="3 bis",
        postcode="29200",
        town="Brest",
        country="FR",
    )
    assert bank.normalize_address(town="Genève", country="CH") == bank.Address(
        town="Geneve", country="CH"
    )


@pytest.mark.parametrize("country", ["XX", "FRA", "", "F", "1A"])
def test_an_address_country_must_be_an_iso_3166_code(country: str) -> None:
    e = _error(lambda c: bank.normalize_address(town="Brest", country=c), country)
    assert e.field == "address" and "not an ISO 3166 country code" in e.detail


def test_each_address_part_is_refused_beyond_its_schema_length() -> None:
    assert bank.normalize_address(town="T" * 35, country="FR").town == "T" * 35
    e = _error(lambda t: bank.normalize_address(town=t, country="FR"), "T" * 36)
    assert (
        e.field == "address" and "town has 36 characters" in e.detail and "35 at most" in e.detail
    )
    # Measured once transliterated: "€" is written "EUR".
    e = _error(lambda t: bank.normalize_address(town=t, country="FR"), "T" * 33 + "€")
    assert "town has 36 characters" in e.detail
    long_parts: list[dict[str, str]] = [
        {"street": "S" * 71},
        {"building_number": "B" * 17},
        {"postcode": "P" * 17},
    ]
    for part in long_parts:
        with pytest.raises(BankDetailsError) as info:
            bank.normalize_address(town="Brest", country="FR", **part)
        assert info.value.field == "address"


def test_an_address_part_with_nothing_a_bank_accepts_is_refused() -> None:
    for town in ("", "   ", "北京"):
        e = _error(lambda t: bank.normalize_address(town=t, country="CN"), town)
        assert e.field == "address"
