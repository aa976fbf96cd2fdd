"""Pure writers of the SEPA files the clearing service hands to the association's bank.

``direct_debit`` collects from merchants who owe the pivot (pain.008.001.08, SEPA Core
Direct Debit); ``credit_transfer`` pays merchants, partner associations and the operator who
are owed (pain.001.001.09, SEPA Credit Transfer). Both follow the EPC customer-to-PSP
implementation guidelines of the 2023 rulebooks: one payment information block, batch
booking, EUR, charges shared (SLEV), names and texts in the SEPA character set, and the
structured postal address of a party that has one. The rulebooks require it for a bank in a
SEPA country outside the EEA (``epc.NON_EEA_SEPA_COUNTRIES``): the bank-details API refuses
such details without it, and the writers write what they are given.

No I/O: the caller stores the bytes and the ids. Every input is checked again here, because
a bank refuses the whole file for one bad line. Amounts are integer cents, written with
integer arithmetic.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from services.clearing.domain.bank import normalize_bic, normalize_iban
from services.clearing.domain.epc import Address as Address  # re-exported: a Party's address
from services.clearing.domain.epc import (
    BankDetailsError,
    identifier_problem,
    normalize_address,
    normalize_creditor_id,
    sepa_text,
    validate_mandate_id,
)
from services.clearing.domain.journal import euros

PAIN_008_NS = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"
PAIN_001_NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"

NAME_MAX = 70  # EPC: names are Max70Text although ISO allows 140
REMITTANCE_MAX = 140  # EPC: one unstructured remittance line of 140
# EPC: 0.01 to 999 999 999.99 EUR per transaction.
MAX_AMOUNT_CENTS = 99_999_999_999
SEQUENCE_TYPES = frozenset({"FRST", "RCUR", "FNAL", "OOFF"})


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    iban: str
    bic: str | None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class Collection:
    """One direct debit from a merchant who owes."""

    end_to_end_id: str
    debtor: Party
    amount_cents: int
    mandate_id: str
    mandate_signed_on: date
    remittance: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """One credit transfer to a merchant (or partner association, or the operator) owed."""

    end_to_end_id: str
    creditor: Party
    amount_cents: int
    remittance: str


def _check_id(kind: str, value: str) -> str:
    problem = identifier_problem(value)
    if problem is not None:
        raise ValueError(f"{kind} {problem}")
    return value


def _check_amount(end_to_end_id: str, cents: int) -> int:
    # bool is an int: True would silently become 0.01 EUR.
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"{end_to_end_id}: amount_cents must be an int, not {type(cents).__name__}")
    if not 0 < cents <= MAX_AMOUNT_CENTS:
        raise ValueError(
            f"{end_to_end_id}: amount {cents} cents is outside 1 to {MAX_AMOUNT_CENTS} cents"
        )
    return cents


def _check_date(kind: str, d: date) -> date:
    # A datetime is a date too, but its isoformat() carries a time the schema refuses.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"{kind} must be a date, not {type(d).__name__}")
    return d


def _timestamp(created_at: datetime) -> str:
    # A naive time would be read in the bank's zone; the writer refuses to guess.
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    return created_at.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _remittance(end_to_end_id: str, text: str) -> str:
    try:
        return sepa_text(text, REMITTANCE_MAX)
    except BankDetailsError as e:
        # The remittance is written by the clearing service, not typed by a merchant.
        raise ValueError(f"{end_to_end_id}: remittance {e.detail}") from e


@dataclass(frozen=True, slots=True)
class _Account:
    name: str
    iban: str
    bic: str | None
    address: Address | None


def _account(party: Party) -> _Account:
    iban = normalize_iban(party.iban, sepa_only=True)
    bic = normalize_bic(party.bic, iban_country=iban[:2]) if party.bic is not None else None
    address = None if party.address is None else normalize_address(**asdict(party.address))
    return _Account(sepa_text(party.name, NAME_MAX, field="holder"), iban, bic, address)


def _unique_ids(ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        _check_id("EndToEndId", i)
        # Not a schema rule, but the id is how a return or a reject finds its line again.
        if i in seen:
            raise ValueError(f"EndToEndId {i!r} appears twice in the file")
        seen.add(i)


class _Builder:
    """ElementTree for one message, its namespace the document's default.

    The tags stay unqualified and the root carries ``xmlns``: ElementTree's
    ``default_namespace`` refuses the unqualified ``Ccy`` attribute, and a prefixed
    ``ns0:Document`` is valid XML that some bank portals still refuse.
    """

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def root(self, message: str) -> tuple[ET.Element, ET.Element]:
        root = ET.Element("Document", {"xmlns": self.ns})
        return root, self.sub(root, message)

    def sub(self, parent: ET.Element, path: str, text: str | None = None) -> ET.Element:
        """Append ``a/b/c`` under ``parent`` (new elements each time); text on the last."""
        el = parent
        for tag in path.split("/"):
            el = ET.SubElement(el, tag)
        if text is not None:
            el.text = text
        return el

    def party(self, parent: ET.Element, tag: str, name: str, address: Address | None) -> None:
        el = self.sub(parent, tag)
        self.sub(el, "Nm", name)
        if address is None:
            return
        # PostalAddress24: the elements in the schema's sequence order, structured only (an
        # unstructured AdrLine is what the EPC is phasing out).
        adr = self.sub(el, "PstlAdr")
        for child, text in (
            ("StrtNm", address.street),
            ("BldgNb", address.building_number),
            ("PstCd", address.postcode),
            ("TwnNm", address.town),
            ("Ctry", address.country),
        ):
            if text is not None:
                self.sub(adr, child, text)

    def iban(self, parent: ET.Element, tag: str, iban: str) -> None:
        self.sub(parent, f"{tag}/Id/IBAN", iban)

    def agent(self, parent: ET.Element, tag: str, bic: str | None) -> None:
        fin = self.sub(parent, f"{tag}/FinInstnId")
        if bic is None:
            # EPC: an IBAN-only payment still fills the mandatory agent with NOTPROVIDED.
            self.sub(fin, "Othr/Id", "NOTPROVIDED")
        else:
            self.sub(fin, "BICFI", bic)

    def amount(self, parent: ET.Element, tag: str, cents: int) -> None:
        self.sub(parent, tag, euros(cents)).set("Ccy", "EUR")

    def payment_block(
        self, parent: ET.Element, message_id: str, method: str, count: int, total: int
    ) -> ET.Element:
        pmt = self.sub(parent, "PmtInf")
        # One block per file, so the file's id serves as the block's.
        self.sub(pmt, "PmtInfId", message_id)
        self.sub(pmt, "PmtMtd", method)
        self.sub(pmt, "BtchBookg", "true")
        self.sub(pmt, "NbOfTxs", str(count))
        self.sub(pmt, "CtrlSum", euros(total))
        return pmt

    def header(
        self,
        parent: ET.Element,
        message_id: str,
        created_at: datetime,
        count: int,
        total: int,
        initiator: str,
    ) -> None:
        hdr = self.sub(parent, "GrpHdr")
        self.sub(hdr, "MsgId", message_id)
        self.sub(hdr, "CreDtTm", _timestamp(created_at))
        self.sub(hdr, "NbOfTxs", str(count))
        self.sub(hdr, "CtrlSum", euros(total))
        # The EPC guidelines keep only the initiating party's name (and an id): no address.
        self.party(hdr, "InitgPty", initiator, None)

    def serialize(self, root: ET.Element) -> bytes:
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.encode("utf-8") + b"\n"


def direct_debit(
    message_id: str,
    created_at: datetime,
    creditor: Party,
    creditor_id: str,
    collection_date: date,
    collections: Sequence[Collection],
    sequence_type: str = "RCUR",
) -> bytes:
    """A pain.008.001.08 SEPA Core Direct Debit file, UTF-8 with an XML declaration.

    ``creditor`` is the association (its account is credited); each collection debits a
    merchant under the mandate it signed. Raises ``ValueError`` (``BankDetailsError`` for
    bank details) on anything a bank would reject, including an empty ``collections``.
    """
    _check_id("MsgId", message_id)
    if not collections:
        raise ValueError("a direct debit file needs at least one collection")
    if sequence_type not in SEQUENCE_TYPES:
        raise ValueError(f"sequence_type {sequence_type!r} is not one of {sorted(SEQUENCE_TYPES)}")
    _check_date("collection_date", collection_date)
    cdtr = _account(creditor)
    cid = normalize_creditor_id(creditor_id)
    _unique_ids(c.end_to_end_id for c in collections)
    total = sum(_check_amount(c.end_to_end_id, c.amount_cents) for c in collections)

    b = _Builder(PAIN_008_NS)
    root, msg = b.root("CstmrDrctDbtInitn")
    b.header(msg, message_id, created_at, len(collections), total, cdtr.name)

    pmt = b.payment_block(msg, message_id, "DD", len(collections), total)
    tp = b.sub(pmt, "PmtTpInf")
    b.sub(tp, "SvcLvl/Cd", "SEPA")
    b.sub(tp, "LclInstrm/Cd", "CORE")
    b.sub(tp, "SeqTp", sequence_type)
    b.sub(pmt, "ReqdColltnDt", collection_date.isoformat())
    b.party(pmt, "Cdtr", cdtr.name, cdtr.address)
    b.iban(pmt, "CdtrAcct", cdtr.iban)
    b.agent(pmt, "CdtrAgt", cdtr.bic)
    b.sub(pmt, "ChrgBr", "SLEV")
    scheme = b.sub(pmt, "CdtrSchmeId/Id/PrvtId/Othr")
    b.sub(scheme, "Id", cid)
    b.sub(scheme, "SchmeNm/Prtry", "SEPA")

    for c in collections:
        dbtr = _account(c.debtor)
        mandate_id = validate_mandate_id(c.mandate_id)
        signed_on = _check_date("mandate_signed_on", c.mandate_signed_on)
        if signed_on > collection_date:
            raise ValueError(
                f"{c.end_to_end_id}: mandate {mandate_id} signed on {signed_on}, after the "
                f"collection date {collection_date}"
            )
        tx = b.sub(pmt, "DrctDbtTxInf")
        b.sub(tx, "PmtId/EndToEndId", c.end_to_end_id)
        b.amount(tx, "InstdAmt", c.amount_cents)
        mandate = b.sub(tx, "DrctDbtTx/MndtRltdInf")
        b.sub(mandate, "MndtId", mandate_id)
        b.sub(mandate, "DtOfSgntr", signed_on.isoformat())
        b.agent(tx, "DbtrAgt", dbtr.bic)
        b.party(tx, "Dbtr", dbtr.name, dbtr.address)
        b.iban(tx, "DbtrAcct", dbtr.iban)
        b.sub(tx, "RmtInf/Ustrd", _remittance(c.end_to_end_id, c.remittance))
    return b.serialize(root)


def credit_transfer(
    message_id: str,
    created_at: datetime,
    debtor: Party,
    execution_date: date,
    transfers: Sequence[Transfer],
) -> bytes:
    """A pain.001.001.09 SEPA Credit Transfer file, UTF-8 with an XML declaration.

    ``debtor`` is the association (its account is debited); each transfer pays one party.
    Raises ``ValueError`` (``BankDetailsError`` for bank details) on anything a bank would
    reject, including an empty ``transfers``.
    """
    _check_id("MsgId", message_id)
    if not transfers:
        raise ValueError("a credit transfer file needs at least one transfer")
    _check_date("execution_date", execution_date)
    dbtr = _account(debtor)
    _unique_ids(t.end_to_end_id for t in transfers)
    total = sum(_check_amount(t.end_to_end_id, t.amount_cents) for t in transfers)

    b = _Builder(PAIN_001_NS)
    root, msg = b.root("CstmrCdtTrfInitn")
    b.header(msg, message_id, created_at, len(transfers), total, dbtr.name)

    pmt = b.payment_block(msg, message_id, "TRF", len(transfers), total)
    b.sub(pmt, "PmtTpInf/SvcLvl/Cd", "SEPA")
    # In .09 the execution date is a choice of date or date-time.
    b.sub(pmt, "ReqdExctnDt/Dt", execution_date.isoformat())
    b.party(pmt, "Dbtr", dbtr.name, dbtr.address)
    b.iban(pmt, "DbtrAcct", dbtr.iban)
    b.agent(pmt, "DbtrAgt", dbtr.bic)
    b.sub(pmt, "ChrgBr", "SLEV")

    for t in transfers:
        cdtr = _account(t.creditor)
        tx = b.sub(pmt, "CdtTrfTxInf")
        b.sub(tx, "PmtId/EndToEndId", t.end_to_end_id)
        b.amount(tx, "Amt/InstdAmt", t.amount_cents)
        # The creditor agent is optional in a transfer and EPC allows only a BIC there:
        # without one the payer's bank routes on the IBAN.
        if cdtr.bic is not None:
            b.agent(tx, "CdtrAgt", cdtr.bic)
        b.party(tx, "Cdtr", cdtr.name, cdtr.address)
        b.iban(tx, "CdtrAcct", cdtr.iban)
        b.sub(tx, "RmtInf/Ustrd", _remittance(t.end_to_end_id, t.remittance))
    return b.serialize(root)
