"""SEPA file writers (services/clearing/domain/sepa.py) against the official ISO 20022 schemas."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sepaxml
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from services.clearing import domain
from services.clearing.domain import sepa
from services.clearing.domain.bank import Address, BankDetailsError
from services.clearing.domain.sepa import Collection, Party, Transfer

SCHEMAS = Path(sepaxml.__file__).parent / "schemas"
NS_008 = {"p": sepa.PAIN_008_NS}
NS_001 = {"p": sepa.PAIN_001_NS}

ASSOCIATION = Party(
    "Association des Commerçants de Brest & Environs", "FR1420041010050500013M02606", "PSSTFRPPREN"
)
CREATED = datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
CREDITOR_ID = "FR72ZZZ123456"

COLLECTIONS = [
    Collection(
        "COMPTOIR-DD-0001",
        Party("Boulangerie Éloïse & Fils", "FR76 3000 6000 0112 3456 7890 189", "BNPAFRPP"),
        1,
        "RUM-2023-0001",
        date(2023, 5, 17),
        "Compensation fevrier 2024 - cagnottes",
    ),
    Collection(
        "COMPTOIR-DD-0002",
        Party("Crêperie Ty Gwenn", "DE89370400440532013000", None),
        123_456_789,
        "RUM-2023-0002",
        date(2023, 6, 2),
        "Compensation février 2024 – « pivot »",
    ),
    Collection(
        "COMPTOIR-DD-0003",
        Party("Fromagerie L’Œuf de Bœuf", "BE68539007547034", "GEBABEBB"),
        4_250,
        "RUM-2024-0003",
        date(2024, 1, 9),
        "x" * 300,
    ),
]
TRANSFERS = [
    Transfer(
        "COMPTOIR-CT-0001",
        Party("Librairie Zoé Müller", "IT60X0542811101000000123456", None),
        123_456_789,
        "Reversement fevrier 2024",
    ),
    Transfer(
        "COMPTOIR-CT-0002",
        Party("Caviste Ærø & Cie", "MC5811222000010123456789030", "CFMOMCMX"),
        1,
        "Reversement février 2024 : cagnottes utilisées",
    ),
]


@pytest.fixture(scope="module")
def pain008() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "pain.008.001.08.xsd"))


@pytest.fixture(scope="module")
def pain001() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "pain.001.001.09.xsd"))


def _dd(**changes: Any) -> bytes:
    args: dict[str, Any] = {
        "message_id": "COMPTOIR-2024-03-DD",
        "created_at": CREATED,
        "creditor": ASSOCIATION,
        "creditor_id": CREDITOR_ID,
        "collection_date": date(2024, 3, 8),
        "collections": COLLECTIONS,
    }
    return sepa.direct_debit(**(args | changes))


def _ct(**changes: Any) -> bytes:
    args: dict[str, Any] = {
        "message_id": "COMPTOIR-2024-03-CT",
        "created_at": CREATED,
        "debtor": ASSOCIATION,
        "execution_date": date(2024, 3, 8),
        "transfers": TRANSFERS,
    }
    return sepa.credit_transfer(**(args | changes))


def _cents(text: str | None) -> int:
    """ "123.45" → 12345 without floats; the writer must always give two decimals."""
    assert text is not None
    euros, cents = text.split(".")
    assert len(cents) == 2
    return int(euros) * 100 + int(cents)


def _text(root: ET.Element, path: str, ns: dict[str, str]) -> str:
    el = root.find(path, ns)
    assert el is not None, path
    assert el.text is not None, path
    return el.text


def test_a_direct_debit_file_is_valid_pain_008_001_08(pain008: xmlschema.XMLSchema) -> None:
    xml = _dd()
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    pain008.validate(xml.decode("utf-8"))


def test_a_credit_transfer_file_is_valid_pain_001_001_09(pain001: xmlschema.XMLSchema) -> None:
    xml = _ct()
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    pain001.validate(xml.decode("utf-8"))


def test_direct_debit_counts_and_control_sums_match_the_lines_to_the_cent() -> None:
    root = ET.fromstring(_dd())
    amounts = [_cents(e.text) for e in root.iterfind(".//p:DrctDbtTxInf/p:InstdAmt", NS_008)]
    assert amounts == [1, 123_456_789, 4_250]
    for level in ("p:CstmrDrctDbtInitn/p:GrpHdr", "p:CstmrDrctDbtInitn/p:PmtInf"):
        assert _text(root, f"{level}/p:NbOfTxs", NS_008) == "3"
        assert _cents(_text(root, f"{level}/p:CtrlSum", NS_008)) == sum(amounts) == 123_461_040
    assert _text(root, ".//p:GrpHdr/p:CtrlSum", NS_008) == "1234610.40"
    assert {e.get("Ccy") for e in root.iterfind(".//p:InstdAmt", NS_008)} == {"EUR"}


def test_credit_transfer_counts_and_control_sums_match_the_lines_to_the_cent() -> None:
    root = ET.fromstring(_ct())
    amounts = [_cents(e.text) for e in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS_001)]
    assert amounts == [123_456_789, 1]
    for level in ("p:CstmrCdtTrfInitn/p:GrpHdr", "p:CstmrCdtTrfInitn/p:PmtInf"):
        assert _text(root, f"{level}/p:NbOfTxs", NS_001) == "2"
        assert _cents(_text(root, f"{level}/p:CtrlSum", NS_001)) == sum(amounts)
    assert _text(root, ".//p:GrpHdr/p:CtrlSum", NS_001) == "1234567.90"


def test_direct_debit_carries_the_epc_core_fields() -> None:
    root = ET.fromstring(_dd(sequence_type="FRST"))
    pmt = root.find("p:CstmrDrctDbtInitn/p:PmtInf", NS_008)
    assert pmt is not None
    assert _text(root, ".//p:GrpHdr/p:CreDtTm", NS_008) == "2024-03-01T09:30:15Z"
    expected = {
        "p:PmtMtd": "DD",
        "p:BtchBookg": "true",
        "p:PmtTpInf/p:SvcLvl/p:Cd": "SEPA",
        "p:PmtTpInf/p:LclInstrm/p:Cd": "CORE",
        "p:PmtTpInf/p:SeqTp": "FRST",
        "p:ReqdColltnDt": "2024-03-08",
        "p:Cdtr/p:Nm": "Association des Commercants de Brest + Environs",
        "p:CdtrAcct/p:Id/p:IBAN": "FR1420041010050500013M02606",
        "p:CdtrAgt/p:FinInstnId/p:BICFI": "PSSTFRPPREN",
        "p:ChrgBr": "SLEV",
        "p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id": CREDITOR_ID,
        "p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:SchmeNm/p:Prtry": "SEPA",
    }
    assert {path: _text(pmt, path, NS_008) for path in expected} == expected
    txs = pmt.findall("p:DrctDbtTxInf", NS_008)
    first, second, third = txs
    assert _text(first, "p:Dbtr/p:Nm", NS_008) == "Boulangerie Eloise + Fils"
    assert _text(first, "p:DbtrAcct/p:Id/p:IBAN", NS_008) == "FR7630006000011234567890189"
    assert _text(first, "p:DrctDbtTx/p:MndtRltdInf/p:MndtId", NS_008) == "RUM-2023-0001"
    assert _text(first, "p:DrctDbtTx/p:MndtRltdInf/p:DtOfSgntr", NS_008) == "2023-05-17"
    assert _text(second, "p:DbtrAgt/p:FinInstnId/p:Othr/p:Id", NS_008) == "NOTPROVIDED"
    assert _text(second, "p:RmtInf/p:Ustrd", NS_008) == "Compensation fevrier 2024 - pivot"
    assert _text(third, "p:Dbtr/p:Nm", NS_008) == "Fromagerie L'OEuf de Boeuf"
    assert _text(third, "p:RmtInf/p:Ustrd", NS_008) == "x" * 140


def test_credit_transfer_carries_the_epc_fields() -> None:
    root = ET.fromstring(
        _ct(created_at=datetime(2024, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    )
    pmt = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS_001)
    assert pmt is not None
    assert _text(root, ".//p:GrpHdr/p:CreDtTm", NS_001) == "2024-03-01T09:00:00Z"
    assert _text(root, ".//p:GrpHdr/p:InitgPty/p:Nm", NS_001).startswith("Association des Commer")
    expected = {
        "p:PmtMtd": "TRF",
        "p:BtchBookg": "true",
        "p:PmtTpInf/p:SvcLvl/p:Cd": "SEPA",
        "p:ReqdExctnDt/p:Dt": "2024-03-08",
        "p:DbtrAcct/p:Id/p:IBAN": "FR1420041010050500013M02606",
        "p:DbtrAgt/p:FinInstnId/p:BICFI": "PSSTFRPPREN",
        "p:ChrgBr": "SLEV",
    }
    assert {path: _text(pmt, path, NS_001) for path in expected} == expected
    first, second = pmt.findall("p:CdtTrfTxInf", NS_001)
    assert _text(first, "p:Cdtr/p:Nm", NS_001) == "Librairie Zoe Muller"
    # Without a BIC the optional creditor agent is left out (EPC allows only a BIC there).
    assert first.find("p:CdtrAgt", NS_001) is None
    assert _text(second, "p:CdtrAgt/p:FinInstnId/p:BICFI", NS_001) == "CFMOMCMX"
    assert _text(second, "p:Cdtr/p:Nm", NS_001) == "Caviste AEro + Cie"
    assert _text(second, "p:PmtId/p:EndToEndId", NS_001) == "COMPTOIR-CT-0002"


def test_files_without_any_bic_are_still_valid(
    pain008: xmlschema.XMLSchema, pain001: xmlschema.XMLSchema
) -> None:
    no_bic = replace(ASSOCIATION, bic=None)
    dd = _dd(
        creditor=no_bic,
        collections=[replace(c, debtor=replace(c.debtor, bic=None)) for c in COLLECTIONS],
    )
    pain008.validate(dd.decode("utf-8"))
    ct = _ct(debtor=no_bic)
    pain001.validate(ct.decode("utf-8"))
    assert b"NOTPROVIDED" in ct


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, sepa.MAX_AMOUNT_CENTS), min_size=1, max_size=8))
def test_control_sum_is_the_exact_sum_for_any_amounts(amounts: list[int]) -> None:
    transfers = [
        replace(TRANSFERS[0], end_to_end_id=f"E2E-{i}", amount_cents=a)
        for i, a in enumerate(amounts)
    ]
    root = ET.fromstring(_ct(transfers=transfers))
    assert _cents(_text(root, ".//p:GrpHdr/p:CtrlSum", NS_001)) == sum(amounts)
    assert [_cents(e.text) for e in root.iterfind(".//p:InstdAmt", NS_001)] == amounts


@pytest.mark.parametrize(
    ("cents", "text"), [(1, "0.01"), (10, "0.10"), (100, "1.00"), (123_456_789, "1234567.89")]
)
def test_amounts_are_written_with_two_decimals(cents: int, text: str) -> None:
    assert domain.euros(cents) == text


@pytest.mark.parametrize("cents", [0, -5, sepa.MAX_AMOUNT_CENTS + 1])
def test_an_amount_outside_the_sepa_range_is_refused(cents: int) -> None:
    with pytest.raises(ValueError, match="cents"):
        _dd(collections=[replace(COLLECTIONS[0], amount_cents=cents)])
    with pytest.raises(ValueError, match="cents"):
        _ct(transfers=[replace(TRANSFERS[0], amount_cents=cents)])


@pytest.mark.parametrize("cents", [12.5, True, "100"])
def test_an_amount_that_is_not_integer_cents_is_refused(cents: Any) -> None:
    # Callers outside mypy's reach (a JSON payload, a SQL numeric) could still pass these.
    with pytest.raises(TypeError, match="amount_cents must be an int"):
        _ct(transfers=[replace(TRANSFERS[0], amount_cents=cents)])


def test_an_empty_batch_produces_no_file() -> None:
    with pytest.raises(ValueError, match="at least one"):
        _dd(collections=[])
    with pytest.raises(ValueError, match="at least one"):
        _ct(transfers=[])


@pytest.mark.parametrize("bad_id", ["x" * 36, "", "MSG 1", "MSG_1", "/MSG", "MSG//1"])
def test_identifiers_must_be_1_to_35_sepa_characters(bad_id: str) -> None:
    with pytest.raises(ValueError, match="MsgId"):
        _dd(message_id=bad_id)
    with pytest.raises(ValueError, match="MsgId"):
        _ct(message_id=bad_id)
    with pytest.raises(ValueError, match="EndToEndId"):
        _dd(collections=[replace(COLLECTIONS[0], end_to_end_id=bad_id)])
    with pytest.raises(ValueError, match="EndToEndId"):
        _ct(transfers=[replace(TRANSFERS[0], end_to_end_id=bad_id)])


def test_an_identifier_of_exactly_35_characters_is_accepted(pain001: xmlschema.XMLSchema) -> None:
    pain001.validate(_ct(message_id="M" * 35).decode("utf-8"))


def test_a_repeated_end_to_end_id_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        _ct(
            transfers=[
                TRANSFERS[0],
                replace(TRANSFERS[1], end_to_end_id=TRANSFERS[0].end_to_end_id),
            ]
        )


def test_bad_bank_details_are_refused_with_their_field() -> None:
    with pytest.raises(BankDetailsError) as e:
        _dd(
            collections=[
                replace(
                    COLLECTIONS[0],
                    debtor=replace(COLLECTIONS[0].debtor, iban="FR7630006000011234567890188"),
                )
            ]
        )
    assert e.value.field == "iban"
    with pytest.raises(BankDetailsError) as e:
        _ct(
            transfers=[
                replace(TRANSFERS[0], creditor=Party("Ok", "BR1800360305000010009795493C1", None))
            ]
        )
    assert e.value.field == "iban"
    with pytest.raises(BankDetailsError) as e:
        _dd(creditor_id="FR73ZZZ123456")
    assert e.value.field == "creditor_id"
    with pytest.raises(BankDetailsError) as e:
        _dd(collections=[replace(COLLECTIONS[0], mandate_id="RUM 1")])
    assert e.value.field == "mandate_id"
    with pytest.raises(BankDetailsError) as e:
        _ct(transfers=[replace(TRANSFERS[0], creditor=replace(TRANSFERS[0].creditor, name="☕"))])
    assert e.value.field == "holder"
    with pytest.raises(BankDetailsError) as e:
        _ct(debtor=replace(ASSOCIATION, bic="PSSTFRP"))
    assert e.value.field == "bic"


def test_other_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _dd(created_at=datetime(2024, 3, 1, 9, 30))
    with pytest.raises(ValueError, match="sequence_type"):
        _dd(sequence_type="RECURRING")
    with pytest.raises(TypeError, match="date"):
        _ct(execution_date=datetime(2024, 3, 8, tzinfo=UTC))
    with pytest.raises(ValueError, match="after the collection date"):
        _dd(collections=[replace(COLLECTIONS[0], mandate_signed_on=date(2024, 3, 9))])
    with pytest.raises(ValueError, match="remittance"):
        _ct(transfers=[replace(TRANSFERS[0], remittance="   ")])


# A Swiss merchant and a British partner: their banks are outside the EEA, so the 2023
# rulebooks want their postal addresses in the file.
ZURICH = Address(
    street="Bahnhofstrasse", building_number="45", postcode="8001", town="Zürich", country="CH"
)
SWISS_DEBTOR = Party("Confiserie Sprüngli", "CH93 0076 2011 6238 5295 7", "UBSWCHZH80A", ZURICH)
BRITISH_CREDITOR = Party(
    "Fish & Chips Ltd",
    "GB29NWBK60161331926819",
    "NWBKGB2L",
    Address(town="London", country="GB"),  # town and country: the rulebooks' minimum
)
BREST = Address(
    street="Rue de Siam", building_number="12", postcode="29200", town="Brest", country="FR"
)


def _address(party: ET.Element, ns: dict[str, str]) -> list[tuple[str, str | None]]:
    """The children of the party's PstlAdr, in document order, without the namespace."""
    adr = party.find("p:PstlAdr", ns)
    assert adr is not None
    return [(child.tag.split("}")[1], child.text) for child in adr]


def test_a_direct_debit_from_a_bank_outside_the_eea_carries_the_debtors_address(
    pain008: xmlschema.XMLSchema,
) -> None:
    collection = replace(COLLECTIONS[0], end_to_end_id="COMPTOIR-DD-0009", debtor=SWISS_DEBTOR)
    xml = _dd(creditor=replace(ASSOCIATION, address=BREST), collections=[*COLLECTIONS, collection])
    pain008.validate(xml.decode("utf-8"))
    root = ET.fromstring(xml)
    txs = root.findall(".//p:DrctDbtTxInf", NS_008)
    swiss = txs[-1].find("p:Dbtr", NS_008)
    assert swiss is not None
    # The schema's sequence order; accents transliterated like names.
    assert _address(swiss, NS_008) == [
        ("StrtNm", "Bahnhofstrasse"),
        ("BldgNb", "45"),
        ("PstCd", "8001"),
        ("TwnNm", "Zurich"),
        ("Ctry", "CH"),
    ]
    # A debtor without an address gets no empty element.
    assert all(tx.find("p:Dbtr/p:PstlAdr", NS_008) is None for tx in txs[:-1])
    cdtr = root.find(".//p:PmtInf/p:Cdtr", NS_008)
    assert cdtr is not None
    assert _address(cdtr, NS_008)[-2:] == [("TwnNm", "Brest"), ("Ctry", "FR")]
    # The initiating party is named only.
    assert root.find(".//p:GrpHdr/p:InitgPty/p:PstlAdr", NS_008) is None


def test_a_transfer_to_a_bank_outside_the_eea_carries_the_creditors_address(
    pain001: xmlschema.XMLSchema,
) -> None:
    transfer = replace(TRANSFERS[0], end_to_end_id="COMPTOIR-CT-0009", creditor=BRITISH_CREDITOR)
    xml = _ct(debtor=replace(ASSOCIATION, address=BREST), transfers=[*TRANSFERS, transfer])
    pain001.validate(xml.decode("utf-8"))
    root = ET.fromstring(xml)
    txs = root.findall(".//p:CdtTrfTxInf", NS_001)
    british = txs[-1].find("p:Cdtr", NS_001)
    assert british is not None
    assert _address(british, NS_001) == [("TwnNm", "London"), ("Ctry", "GB")]
    assert all(tx.find("p:Cdtr/p:PstlAdr", NS_001) is None for tx in txs[:-1])
    dbtr = root.find(".//p:PmtInf/p:Dbtr", NS_001)
    assert dbtr is not None
    assert _address(dbtr, NS_001) == [
        ("StrtNm", "Rue de Siam"),
        ("BldgNb", "12"),
        ("PstCd", "29200"),
        ("TwnNm", "Brest"),
        ("Ctry", "FR"),
    ]
    assert root.find(".//p:GrpHdr/p:InitgPty/p:PstlAdr", NS_001) is None


def test_files_without_addresses_have_no_postal_address_element() -> None:
    assert b"PstlAdr" not in _dd()
    assert b"PstlAdr" not in _ct()


def test_addresses_at_the_schema_lengths_validate(
    pain008: xmlschema.XMLSchema, pain001: xmlschema.XMLSchema
) -> None:
    longest = Address(
        street="S" * 70, building_number="B" * 16, postcode="P" * 16, town="T" * 35, country="CH"
    )
    debtor = replace(SWISS_DEBTOR, address=longest)
    pain008.validate(_dd(collections=[replace(COLLECTIONS[0], debtor=debtor)]).decode("utf-8"))
    pain001.validate(_ct(transfers=[replace(TRANSFERS[0], creditor=debtor)]).decode("utf-8"))


@pytest.mark.parametrize(
    "address",
    [
        Address(town="T" * 36, country="CH"),
        Address(postcode="P" * 17, town="Zurich", country="CH"),
        Address(town="Zurich", country="XX"),
        Address(town="☕", country="CH"),
    ],
)
def test_an_address_a_bank_would_reject_is_refused_on_the_address_field(address: Address) -> None:
    debtor = replace(SWISS_DEBTOR, address=address)
    with pytest.raises(BankDetailsError) as e:
        _dd(collections=[replace(COLLECTIONS[0], debtor=debtor)])
    assert e.value.field == "address"
    with pytest.raises(BankDetailsError) as e:
        _ct(transfers=[replace(TRANSFERS[0], creditor=debtor)])
    assert e.value.field == "address"
