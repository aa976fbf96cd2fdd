"""The cagnotte: each account's entries (append-only) and its buckets, a cache of the entries
written in the same transaction. Posting outside the sales path (vouchers, loads, adjustments,
opening balances, a dormant card's lost pending rewards) is one transaction's work, idempotent
by its reference (a retried request is answered with what the first one did)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.rules.accounts import AccountState, Bucket, Movement, apply

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
    """Lock the account, apply the movements (``Overdrawn`` if a debit would go below
    zero), append their entries and save the account. ``details`` are ``entry``'s
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
    await append_entries(
        conn,
        [
            entry(
                account_id, m.kind, m.bucket, reference_id, m.amount, after, occurred_at, **details
            )
            for m, after in applied
        ],
    )
    await save(conn, [(account_id, state)])
    return Posted(state, [after for _, after in applied], False)


async def sale_accounts(conn: asyncpg.Connection, sale_ids: list[UUID]) -> list[UUID]:
    """The accounts the sales were credited to: a sale's account never changes, so this may be
    read before the lock, unlike the sale's history (``sales_booked``)."""
    rows = await conn.fetch(
        """SELECT DISTINCT account_id FROM cagnotte_entries
           WHERE kind = 'cagnottage' AND reference_id = ANY($1::uuid[])""",
        sale_ids,
    )
    return [r["account_id"] for r in rows]


async def sales_booked(
    conn: asyncpg.Connection, sale_ids: list[UUID]
) -> dict[UUID, list[asyncpg.Record]]:
    """The entries of sales (their reward) and of the returns that reversed them."""
    rows = await conn.fetch(
        """SELECT * FROM cagnotte_entries
           WHERE (reference_id = ANY($1::uuid[]) AND kind IN ('cagnottage', 'conversion'))
              OR reverses = ANY($1::uuid[])
           ORDER BY id""",
        sale_ids,
    )
    out: dict[UUID, list[asyncpg.Record]] = {}
    for r in rows:
        out.setdefault(r["reverses"] or r["reference_id"], []).append(r)
    return out


async def already_booked(conn: asyncpg.Connection, kind: str, refs: list[UUID]) -> set[UUID]:
    """The references (sales, redemptions, returns...) that already have an entry of this kind,
    in any bucket: a re-sent operation is booked once."""
    rows = await conn.fetch(
        """SELECT DISTINCT reference_id FROM cagnotte_entries
           WHERE reference_id = ANY($2::uuid[]) AND kind = $1""",
        kind,
        refs,
    )
    return {r["reference_id"] for r in rows}


ENTRY_COLUMNS = (
    "account_id",
    "kind",
    "bucket",
    "reference_id",
    "amount_cents",
    "balance_after_cents",
    "purchase_cents",
    "product_family",
    "taux_client_bps",
    "fee_cents",
    "merchant_id",
    "shop_id",
    "terminal_id",
    "occurred_at",
    "card_number",
    "reverses",
    "actor",
    "note",
    "card_atc",
    "partner_id",
)


async def append_entries(conn: asyncpg.Connection, entries: list[tuple[Any, ...]]) -> None:
    if entries:
        await conn.copy_records_to_table("cagnotte_entries", records=entries, columns=ENTRY_COLUMNS)


def entry(
    account_id: UUID,
    kind: str,
    bucket: str,
    reference_id: UUID,
    amount_cents: int,
    balance_after: int,
    occurred_at: datetime,
    *,
    merchant_id: UUID | None = None,
    shop_id: UUID | None = None,
    terminal_id: UUID | None = None,
    purchase_cents: int | None = None,
    product_family: str | None = None,
    taux_client_bps: int | None = None,
    fee_cents: int | None = None,
    card_number: str | None = None,
    reverses: UUID | None = None,
    actor: str | None = None,
    note: str | None = None,
    card_atc: int | None = None,
    partner_id: UUID | None = None,
) -> tuple[Any, ...]:
    """One row of the cagnotte, in ``ENTRY_COLUMNS`` order."""
    return (
        account_id,
        kind,
        bucket,
        reference_id,
        amount_cents,
        balance_after,
        purchase_cents,
        product_family,
        taux_client_bps,
        fee_cents,
        merchant_id,
        shop_id,
        terminal_id,
        occurred_at,
        card_number,
        reverses,
        actor,
        note,
        card_atc,
        partner_id,
    )


async def last_entries(
    conn: asyncpg.Connection, account_id: UUID, limit: int
) -> list[asyncpg.Record]:
    """An account's last entries, newest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM cagnotte_entries WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
        account_id,
        limit,
    )
    return rows
