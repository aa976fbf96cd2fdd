"""Closing a period, as rules (pure: no I/O): the entries a close makes (partners' shares,
settlements), each party's position, and which goes into which SEPA file.

Positions are debit-positive: a merchant whose position is > 0 owes the pivot and is
collected by SEPA direct debit (pain.008); a party whose position is < 0 (a merchant, a partner
association, the operator's fees) is paid by SEPA credit transfer (pain.001). A party without
usable bank details is held: its position is carried to the next settlement.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from services.clearing.domain import journal, sepa
from services.clearing.domain.bank import address_required
from services.clearing.domain.bookings import Entry
from services.clearing.domain.periods import period_closing, period_label

NS = uuid.UUID("6f1c9a8e-2b7d-4e55-9a0b-c0a1e2f3d4b5")  # references of the entries a close makes
OPERATOR = uuid.UUID(int=0)  # the operator's bank details: one per network
# Direct debits are asked for this many days after the close (the EPC's D-2 for a recurring
# collection, and a margin); transfers the next day.
COLLECTION_DELAY = timedelta(days=5)
EXECUTION_DELAY = timedelta(days=1)

Row = Mapping[str, Any]


def ref(*parts: object) -> UUID:
    """The reference of something a close makes: the same close makes the same one."""
    return uuid.uuid5(NS, ":".join(str(p) for p in parts))


def close_entry(
    kind: str,
    association_id: UUID,
    period: date,
    reference: UUID,
    postings: list[journal.Posting],
    now: datetime,
    **detail: Any,
) -> Entry:
    """An entry a close makes, dated the last second of the period and booked in it."""
    return Entry(
        kind,
        reference,
        str(reference),
        now,
        association_id,
        detail.pop("merchant_id", None),
        period_closing(period),
        postings,
        period=period,
        **detail,
    )


# --- F19: the partners' shares --------------------------------------------------------------


def partner_shares(
    association_id: UUID, period: date, revenues: Iterable[Row], now: datetime
) -> list[Entry]:
    """Each merchant gives back ``rate_bps`` of what its partners' members bought there in the
    period (net of returns), rounded half up once on the sum: one entry per pair."""
    entries = []
    for r in revenues:
        share = journal.share_of(max(r["revenue_cents"], 0), r["rate_bps"])
        if share == 0:
            continue
        entries.append(
            close_entry(
                "partner_share",
                association_id,
                period,
                ref("partner_share", r["merchant_id"], r["partner_id"], period),
                journal.partner_share(association_id, r["merchant_id"], r["partner_id"], share),
                now,
                merchant_id=r["merchant_id"],
                partner_id=r["partner_id"],
                purchase_cents=r["revenue_cents"],
                amount_cents=share,
                rate_bps=r["rate_bps"],
                rate_source="partnership",
                note=f"{r['rate_bps']} bps",
            )
        )
    return entries


# --- settlement -----------------------------------------------------------------------------


@dataclass(slots=True)
class Position:
    kind: str  # merchant, partner, operator
    party_id: UUID
    cents: int  # debit-positive: > 0 owes the pivot


@dataclass(slots=True)
class Settlement:
    id: UUID
    status: str
    collections: list[sepa.Collection] = field(default_factory=list)
    transfers: list[sepa.Transfer] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    settled: list[Position] = field(default_factory=list)
    direct_debit: bytes | None = None
    credit_transfer: bytes | None = None


def position_sums(rows: Iterable[tuple[str, UUID, int]]) -> list[Position]:
    """Each party's position: the sum of what its account moved, the parties at 0 left out."""
    cents: dict[tuple[str, UUID], int] = {}
    for kind, party, amount in rows:
        cents[kind, party] = cents.get((kind, party), 0) + amount
    return [Position(kind, party, c) for (kind, party), c in cents.items() if c]


def held_moves(held: Iterable[Row]) -> list[tuple[str, UUID, int]]:
    """What a settlement held, as moves of the parties' positions."""
    return [(h["party_kind"], UUID(h["party_id"]), h["amount_cents"]) for h in held]


def party(row: Row) -> sepa.Party:
    """Stored bank details as a party of a SEPA file."""
    # The database keeps an address whole or not at all (bank_details_address): the town says.
    address = (
        None
        if row["address_town"] is None
        else sepa.Address(
            street=row["address_street"],
            building_number=row["address_building_number"],
            postcode=row["address_postcode"],
            town=row["address_town"],
            country=row["address_country"],
        )
    )
    return sepa.Party(row["holder"], row["iban"], row["bic"], address)


def _why_held(pos: Position, creditor: Row | None, bank: Row | None) -> str | None:
    if creditor is None:
        return "the association has no bank details"
    if bank is None:
        return "no bank details"
    if bank["address_town"] is None and address_required(bank["iban"]):
        # Details stored before addresses were asked for: the bank would reject the file.
        return "no postal address (bank outside the EEA)"
    if pos.cents < 0 and creditor["address_town"] is None and address_required(bank["iban"]):
        # The payer's address goes with a transfer to a bank outside the EEA (EPC rulebook).
        return "the association has no postal address (bank outside the EEA)"
    if pos.cents > 0 and (pos.kind != "merchant" or not bank["mandate_id"]):
        return "no direct-debit mandate"
    return None


def plan(
    settlement_id: UUID,
    period: date,
    now: datetime,
    creditor: Row | None,
    positions: list[Position],
    details: Mapping[tuple[str, UUID], Row],
    names: Mapping[UUID, str],
) -> Settlement:
    """Which positions go into which file, and which are held (and why)."""
    s = Settlement(settlement_id, "nothing_due")
    label = period_label(period)
    for n, pos in enumerate(sorted(positions, key=lambda p: (p.kind, str(p.party_id))), 1):
        bank = details.get((pos.kind, pos.party_id))
        reason = _why_held(pos, creditor, bank)
        if reason is not None or bank is None:
            who = {"party_kind": pos.kind, "party_id": str(pos.party_id)}
            s.held.append({**who, "amount_cents": pos.cents, "reason": reason})
            continue
        remittance = f"Comptoir compte pivot {label} {names.get(pos.party_id, '')}".strip()
        e2e = f"CPT{period:%Y%m}-{settlement_id.hex[:8]}-{n:06d}"
        if pos.cents > 0:
            mandate, signed_on = bank["mandate_id"], bank["mandate_signed_on"]
            s.collections.append(
                sepa.Collection(e2e, party(bank), pos.cents, mandate, signed_on, remittance)
            )
        else:
            s.transfers.append(sepa.Transfer(e2e, party(bank), -pos.cents, remittance))
        s.settled.append(pos)
    if creditor is not None and s.collections:
        s.direct_debit = sepa.direct_debit(
            f"CPT-DD-{settlement_id.hex[:24]}",
            now,
            party(creditor),
            creditor["creditor_id"],
            (now + COLLECTION_DELAY).date(),
            s.collections,
        )
    if creditor is not None and s.transfers:
        s.credit_transfer = sepa.credit_transfer(
            f"CPT-CT-{settlement_id.hex[:24]}",
            now,
            party(creditor),
            (now + EXECUTION_DELAY).date(),
            s.transfers,
        )
    if s.settled:
        s.status = "ready"
    elif creditor is None and positions:
        s.status = "no_bank_details"
    return s


def settlement_entries(
    association_id: UUID, period: date, s: Settlement, now: datetime
) -> list[Entry]:
    """The entries that settle what the files carry: each party's position back to 0."""
    entries = []
    for pos in s.settled:
        key: journal.PivotAccount = (
            association_id,
            {"operator": journal.FEES}.get(pos.kind, pos.kind),
            None if pos.kind == "operator" else pos.party_id,
        )
        entries.append(
            close_entry(
                "settlement",
                association_id,
                period,
                ref("settlement", association_id, period, pos.kind, pos.party_id),
                journal.settlement(association_id, key, pos.cents),
                now,
                merchant_id=pos.party_id if pos.kind == "merchant" else None,
                partner_id=pos.party_id if pos.kind == "partner" else None,
                amount_cents=pos.cents,
                note=pos.kind,
            )
        )
    return entries


def statement_dues(merchant_id: UUID, figures: Mapping[str, int]) -> list[tuple[str, UUID, int]]:
    """What the settlement takes from a frozen statement: the merchant's net and the
    operator's fees (the same sums the journal would give: there is no settlement entry in an
    open month)."""
    return [
        ("merchant", merchant_id, figures["net_cents"]),
        ("operator", OPERATOR, -figures["fees_cents"]),
    ]
