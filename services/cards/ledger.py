"""Posting to one account's ledger outside the sales path: vouchers, loads, adjustments,
opening balances, a dormant card's lost pending rewards. Each post is one transaction's work,
idempotent by its reference (a retried request is answered with what the first one did)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards import store
from services.cards.domain import AccountState, Bucket, Movement, apply

COLUMNS: dict[Bucket, str] = {
    "available": "balance_cents",
    "pending": "pending_cents",
    "units": "units",
    "stored_value": "stored_value_cents",
}


@dataclass(frozen=True, slots=True)
class Posted:
    state: AccountState
    balances_after: list[int]  # per movement, its bucket's balance after it
    already: bool  # the reference was posted before: nothing new was written


def state_of(row: asyncpg.Record | dict[str, Any]) -> AccountState:
    return AccountState(
        available=row["balance_cents"],
        pending=row["pending_cents"],
        units=row["units"],
        stored_value=row["stored_value_cents"],
        visits=row["visits"],
        window_started_at=row["window_started_at"],
    )


async def lock(conn: asyncpg.Connection, account_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM accounts WHERE id = $1 FOR UPDATE", account_id
    )
    return row


async def save(conn: asyncpg.Connection, states: list[tuple[UUID, AccountState]]) -> None:
    """Write the accounts' buckets and counters (a cache of their entries, same transaction)."""
    if not states:
        return
    await conn.execute(
        """UPDATE accounts a SET balance_cents = v.available, pending_cents = v.pending,
               units = v.units, stored_value_cents = v.stored_value, visits = v.visits,
               window_started_at = v.window_started_at
           FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                       $6::int[], $7::timestamptz[])
                v(id, available, pending, units, stored_value, visits, window_started_at)
           WHERE a.id = v.id""",
        [s[0] for s in states],
        [s[1].available for s in states],
        [s[1].pending for s in states],
        [s[1].units for s in states],
        [s[1].stored_value for s in states],
        [s[1].visits for s in states],
        [s[1].window_started_at for s in states],
    )


async def post(
    conn: asyncpg.Connection,
    account_id: UUID,
    reference_id: UUID,
    movements: list[Movement],
    occurred_at: datetime,
    **details: Any,
) -> Posted:
    """Lock the account, apply the movements (``domain.Overdrawn`` if a debit would go below
    zero), append their entries and save the account. ``details`` are ``store.entry``'s
    keyword columns (merchant_id, card_number, actor, note...). Call inside a transaction."""
    row = await lock(conn, account_id)
    if row is None:
        raise LookupError(f"no account {account_id}")
    first = movements[0]
    if await conn.fetchval(
        "SELECT true FROM cagnotte_entries WHERE kind = $1 AND bucket = $2 AND reference_id = $3",
        first.kind,
        first.bucket,
        reference_id,
    ):
        return Posted(state_of(row), [], True)
    state, applied = apply(state_of(row), movements)
    await store.append_entries(
        conn,
        [
            store.entry(
                account_id, m.kind, m.bucket, reference_id, m.amount, after, occurred_at, **details
            )
            for m, after in applied
        ],
    )
    await save(conn, [(account_id, state)])
    return Posted(state, [after for _, after in applied], False)
