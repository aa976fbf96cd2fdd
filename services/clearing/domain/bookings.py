"""The journal entries the cards' events and the closes make (pure: no I/O): each event's
entries, and the rules every batch of entries obeys before it is booked (the postings: see
``journal.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

from services.clearing.domain import journal
from services.clearing.domain.journal import PivotAccount, Posting
from services.clearing.domain.periods import booking_period
from shared.contracts import AccountAdjusted, RewardReversed, TransactionsBooked
from shared.events import Event


class Entry(NamedTuple):
    """A journal entry to book: once per (kind, reference). The fields after ``postings`` are
    the detail the statements show."""

    kind: str
    reference_id: UUID
    event_id: str
    event_time: datetime
    association_id: UUID
    merchant_id: UUID | None
    occurred_at: datetime
    postings: list[Posting]
    account_id: UUID | None = None
    card_number: str | None = None
    product_family: str | None = None
    product_family_label: str | None = None
    rate_bps: int | None = None  # the rate applied: a sale's taux client, a partnership's
    rate_source: str | None = None  # the rule that set it (statements.RATE_SOURCES)
    purchase_cents: int | None = None
    amount_cents: int | None = None
    reward_cents: int | None = None
    fee_cents: int | None = None
    partner_id: UUID | None = None
    adjusts_period: date | None = None
    note: str | None = None
    period: date | None = None  # set by the close; otherwise from occurred_at and the books


def entry(
    kind: str, e: Event[Any], reference: UUID, postings: list[Posting], **detail: Any
) -> Entry:
    """An entry for one event that names its association, merchant and time."""
    d = e.data
    return Entry(
        kind,
        reference,
        e.id,
        e.time,
        d.association_id,
        d.merchant_id,
        d.occurred_at,
        postings,
        **detail,
    )


# --- the rules of a batch -------------------------------------------------------------------


def to_book(entries: Iterable[Entry]) -> list[Entry]:
    """The entries of a batch as they are booked: each checked (balanced; without postings
    only as a zero record), each (kind, reference) once (the first), sorted so that concurrent
    batches wait on the unique index in the same order, never in a cycle."""
    unique: dict[tuple[str, UUID], Entry] = {}
    for e in entries:
        if not journal.is_balanced(e.postings):
            raise ValueError("unbalanced journal entry")
        if not e.postings and not journal.is_zero_record(e.kind, e.reward_cents, e.fee_cents):
            # Only a zero record may have no postings (journal.py): anything else would be an
            # entry the reconciliation cannot tell from one that lost its postings.
            raise ValueError(f"a {e.kind} entry without postings moves money")
        # The same sale twice in one batch: the first.
        unique.setdefault((e.kind, e.reference_id), e)
    return sorted(unique.values(), key=lambda e: (e.kind, str(e.reference_id)))


def in_period(e: Entry, closed_through: date | None) -> Entry:
    """The entry with its period: the close's, or its own month's unless that one is closed."""
    if e.period is not None:
        return e
    return e._replace(period=booking_period(e.occurred_at, closed_through))


def merchant_cents(e: Entry) -> int:
    """What the entry moves on its merchant's account (the column statements read)."""
    if e.merchant_id is None:
        return 0
    mine = (e.association_id, journal.MERCHANT, e.merchant_id)
    return sum(p.amount_cents for p in e.postings if p.account == mine)


def party_columns(k: PivotAccount) -> tuple[UUID | None, UUID | None]:
    """(merchant_id, partner_id) of an account key."""
    if k[1] == journal.MERCHANT:
        return k[2], None
    if k[1] == journal.PARTNER:
        return None, k[2]
    return None, None


# --- the cards' events ----------------------------------------------------------------------


def reversed_(events: Iterable[Event[RewardReversed]]) -> list[Entry]:
    return [
        entry(
            "reversal",
            e,
            d.return_id,
            journal.reversal(d.association_id, d.merchant_id, d.reward_cents, d.fee_cents),
            account_id=d.account_id,
            amount_cents=d.amount_cents,
            reward_cents=d.reward_cents,
            fee_cents=d.fee_cents,
            note=d.reason,
        )
        for e in events
        for d in (e.data,)
    ]


def adjusted(events: Iterable[Event[AccountAdjusted]]) -> list[Entry]:
    return [
        entry(
            d.kind,
            e,
            d.movement_id,
            journal.movement(
                d.association_id, d.kind, d.purse, d.amount_cents, d.merchant_id, d.partner_id
            ),
            account_id=d.account_id,
            card_number=d.card_number,
            amount_cents=d.amount_cents,
            partner_id=d.partner_id,
            note=d.reason,
        )
        for e in events
        for d in (e.data,)
    ]


def booked(events: Iterable[Event[TransactionsBooked]]) -> list[Entry]:
    """The sales and redemptions cards booked, online or from a chip card (one terminal per
    event): a sale's accrual and the pending rewards it made expire; a redemption's spending
    of the cagnotte or of stored value. Each with its own date, so a terminal that synced
    after the close books in the open period; each (kind, transaction) once."""
    entries: list[Entry] = []
    for e in events:
        d = e.data
        for t in d.transactions:
            base = Entry(
                "",
                t.transaction_id,
                e.id,
                e.time,
                d.association_id,
                d.merchant_id,
                t.occurred_at,
                [],
                account_id=t.account_id,
                card_number=t.card_number,
            )
            if t.kind == "redemption":
                postings = journal.redemption(
                    d.association_id, d.merchant_id, t.amount_cents, t.purse
                )
                entries.append(
                    base._replace(
                        kind=journal.SPEND_KIND[t.purse],
                        postings=postings,
                        amount_cents=t.amount_cents,
                    )
                )
                continue
            postings = journal.accrual(d.association_id, d.merchant_id, t.reward_cents, t.fee_cents)
            entries.append(
                base._replace(
                    kind="accrual",
                    postings=postings,
                    product_family=t.product_family,
                    product_family_label=t.product_family_label,
                    rate_bps=t.taux_client_bps,
                    rate_source=t.rate_source,
                    purchase_cents=t.amount_cents,
                    reward_cents=t.reward_cents,
                    fee_cents=t.fee_cents,
                )
            )
            if t.expired_cents:
                postings = journal.pending_expired(d.association_id, t.expired_cents)
                entries.append(
                    base._replace(
                        kind="pending_expired", postings=postings, amount_cents=t.expired_cents
                    )
                )
    return entries
