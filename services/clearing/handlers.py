"""Booking the cards' events in the compte pivot, a batch per transaction (rules: domain.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from services.clearing import domain
from services.clearing.domain import AccountKey, Posting
from shared.contracts import (
    AccountAdjusted,
    CagnotteCredited,
    CagnotteRedeemed,
    CardTransactionsBooked,
    RewardReversed,
)
from shared.events import Event


class Entry(NamedTuple):
    """A journal entry to book: once per (kind, reference)."""

    kind: str
    reference_id: UUID
    event_id: str
    association_id: UUID
    merchant_id: UUID | None
    purchase_cents: int | None
    occurred_at: datetime
    postings: list[Posting]


def entry(
    kind: str, e: Event[Any], reference: UUID, purchase_cents: int | None, postings: list[Posting]
) -> Entry:
    """An entry for one event that names its association, merchant and time."""
    d = e.data
    return Entry(
        kind,
        reference,
        e.id,
        d.association_id,
        d.merchant_id,
        purchase_cents,
        d.occurred_at,
        postings,
    )


async def _account_ids(conn: asyncpg.Connection, keys: set[AccountKey]) -> dict[AccountKey, int]:
    # Sorted: two batches opening the same new accounts insert them in the same order.
    ks = sorted(keys, key=lambda k: (str(k[0]), k[1], str(k[2])))
    cols = ([k[0] for k in ks], [k[1] for k in ks], [k[2] for k in ks])
    await conn.execute(
        """INSERT INTO ledger_accounts (association_id, kind, merchant_id)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[]) ON CONFLICT DO NOTHING""",
        *cols,
    )
    rows = await conn.fetch(
        """SELECT a.id, a.association_id, a.kind, a.merchant_id FROM ledger_accounts a
           JOIN unnest($1::uuid[], $2::text[], $3::uuid[]) k(association_id, kind, merchant_id)
             ON a.association_id = k.association_id AND a.kind = k.kind
            AND a.merchant_id IS NOT DISTINCT FROM k.merchant_id""",
        *cols,
    )
    return {(r["association_id"], r["kind"], r["merchant_id"]): r["id"] for r in rows}


async def book(conn: asyncpg.Connection, entries: list[Entry]) -> None:
    """Each (kind, reference) once, whatever is redelivered or re-sent under a new event id."""
    for e in entries:
        if not domain.is_balanced(e.postings):
            raise ValueError("unbalanced journal entry")
    unique: dict[tuple[str, UUID], Entry] = {}
    for e in entries:
        unique.setdefault(
            (e.kind, e.reference_id), e
        )  # the same sale twice in one batch: the first
    # Sorted: concurrent batches wait on the unique index in the same order, never in a cycle.
    todo = sorted(unique.values(), key=lambda e: (e.kind, str(e.reference_id)))
    rows = await conn.fetch(
        """INSERT INTO journal_entries (kind, reference_id, event_id, association_id, merchant_id,
                                        purchase_cents, occurred_at)
           SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[],
                                $6::bigint[], $7::timestamptz[])
           ON CONFLICT (kind, reference_id) DO NOTHING
           RETURNING id, kind, reference_id""",
        [e.kind for e in todo],
        [e.reference_id for e in todo],
        [e.event_id for e in todo],
        [e.association_id for e in todo],
        [e.merchant_id for e in todo],
        [e.purchase_cents for e in todo],
        [e.occurred_at for e in todo],
    )
    entry_ids = {(r["kind"], r["reference_id"]): r["id"] for r in rows}
    booked = [e for e in todo if (e.kind, e.reference_id) in entry_ids]
    if not booked:
        return
    accounts = await _account_ids(conn, {p.account for e in booked for p in e.postings})
    lines = [
        (entry_ids[(e.kind, e.reference_id)], accounts[p.account], p.amount_cents)
        for e in booked
        for p in e.postings
    ]
    await conn.copy_records_to_table(
        "postings", records=lines, columns=("entry_id", "account_id", "amount_cents")
    )


async def on_credited(
    conn: asyncpg.Connection, events: list[Event[CagnotteCredited]]
) -> Sequence[Event[Any]]:
    entries: list[Entry] = []
    for e in events:
        d = e.data
        postings = domain.accrual(d.association_id, d.merchant_id, d.reward_cents, d.fee_cents)
        entries.append(entry("accrual", e, d.sale_id, d.amount_cents, postings))
        if d.expired_cents > 0:
            expired = domain.pending_expired(d.association_id, d.expired_cents)
            entries.append(entry("pending_expired", e, d.sale_id, None, expired))
    await book(conn, entries)
    return []


async def on_redeemed(
    conn: asyncpg.Connection, events: list[Event[CagnotteRedeemed]]
) -> Sequence[Event[Any]]:
    await book(
        conn,
        [
            entry(
                domain.SPEND_KIND[e.data.purse],
                e,
                e.data.redemption_id,
                None,
                domain.redemption(
                    e.data.association_id, e.data.merchant_id, e.data.amount_cents, e.data.purse
                ),
            )
            for e in events
        ],
    )
    return []


async def on_reversed(
    conn: asyncpg.Connection, events: list[Event[RewardReversed]]
) -> Sequence[Event[Any]]:
    await book(
        conn,
        [
            entry(
                "reversal",
                e,
                e.data.return_id,
                None,
                domain.reversal(
                    e.data.association_id, e.data.merchant_id, e.data.reward_cents, e.data.fee_cents
                ),
            )
            for e in events
        ],
    )
    return []


async def on_adjusted(
    conn: asyncpg.Connection, events: list[Event[AccountAdjusted]]
) -> Sequence[Event[Any]]:
    await book(
        conn,
        [
            entry(
                e.data.kind,
                e,
                e.data.movement_id,
                None,
                domain.movement(
                    e.data.association_id,
                    e.data.kind,
                    e.data.purse,
                    e.data.amount_cents,
                    e.data.merchant_id,
                ),
            )
            for e in events
        ],
    )
    return []


async def on_card_booked(
    conn: asyncpg.Connection, events: list[Event[CardTransactionsBooked]]
) -> Sequence[Event[Any]]:
    """The transactions chip cards made offline, one chunk of one terminal per event: booked
    per chunk (reference: the chunk), one accrual, one pending expiry and one redemption at
    most, the sums of its sales; the detail of each sale stays in the cards' ledger and crm's
    visits. The same rules as the sales made online (``domain``)."""
    entries: list[Entry] = []
    for e in events:
        d = e.data
        txs = d.transactions
        if not txs:
            continue
        sales = [t for t in txs if t.kind == "sale"]
        spent = sum(t.amount_cents for t in txs if t.kind == "redemption")
        chunk = Entry(
            "",
            d.chunk_id,
            e.id,
            d.association_id,
            d.merchant_id,
            None,
            max(t.occurred_at for t in txs),
            [],
        )
        if sales:
            reward = sum(t.reward_cents for t in sales)
            fee = sum(t.fee_cents for t in sales)
            purchase = sum(t.amount_cents for t in sales)
            postings = domain.accrual(d.association_id, d.merchant_id, reward, fee)
            entries.append(
                chunk._replace(kind="accrual", purchase_cents=purchase, postings=postings)
            )
            expired = sum(t.expired_cents for t in sales)
            if expired:
                postings = domain.pending_expired(d.association_id, expired)
                entries.append(chunk._replace(kind="pending_expired", postings=postings))
        if spent:
            postings = domain.redemption(d.association_id, d.merchant_id, spent)
            entries.append(chunk._replace(kind="redemption", postings=postings))
    await book(conn, entries)
    return []
