"""Booking the cards' events in the compte pivot, a batch per transaction (rules: domain.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from services.clearing import domain
from services.clearing.domain import AccountKey, Posting
from shared.contracts import AccountAdjusted, CagnotteCredited, CagnotteRedeemed, RewardReversed
from shared.events import Event

# (journal kind, event, reference id, purchase cents, postings)
Entry = tuple[str, Event[Any], UUID, int | None, list[Posting]]


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
    for *_, postings in entries:
        if not domain.is_balanced(postings):
            raise ValueError("unbalanced journal entry")
    unique: dict[tuple[str, UUID], Entry] = {}
    for e in entries:
        unique.setdefault((e[0], e[2]), e)  # the same sale twice in one batch: the first
    # Sorted: concurrent batches wait on the unique index in the same order, never in a cycle.
    todo = sorted(unique.values(), key=lambda e: (e[0], str(e[2])))
    rows = await conn.fetch(
        """INSERT INTO journal_entries (kind, reference_id, event_id, association_id, merchant_id,
                                        purchase_cents, occurred_at)
           SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[],
                                $6::bigint[], $7::timestamptz[])
           ON CONFLICT (kind, reference_id) DO NOTHING
           RETURNING id, kind, reference_id""",
        [e[0] for e in todo],
        [e[2] for e in todo],
        [e[1].id for e in todo],
        [e[1].data.association_id for e in todo],
        [e[1].data.merchant_id for e in todo],
        [e[3] for e in todo],
        [e[1].data.occurred_at for e in todo],
    )
    entry_ids = {(r["kind"], r["reference_id"]): r["id"] for r in rows}
    booked = [e for e in todo if (e[0], e[2]) in entry_ids]
    if not booked:
        return
    accounts = await _account_ids(conn, {p.account for e in booked for p in e[4]})
    lines = [
        (entry_ids[(e[0], e[2])], accounts[p.account], p.amount_cents) for e in booked for p in e[4]
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
        entries.append(("accrual", e, d.sale_id, d.amount_cents, postings))
        if d.expired_cents > 0:
            expired = domain.pending_expired(d.association_id, d.expired_cents)
            entries.append(("pending_expired", e, d.sale_id, None, expired))
    await book(conn, entries)
    return []


async def on_redeemed(
    conn: asyncpg.Connection, events: list[Event[CagnotteRedeemed]]
) -> Sequence[Event[Any]]:
    await book(
        conn,
        [
            (
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
            (
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
            (
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
