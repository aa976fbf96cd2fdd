"""The SQL of the accounts' own promotions (crm's birthday offer)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import asyncpg


async def insert(
    conn: asyncpg.Connection,
    promotion_id: UUID,
    account_id: UUID,
    merchant_id: UUID | None,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    multiplier: tuple[int, int],
    at: datetime,
) -> asyncpg.Record | None:
    """The promotion made, or None when its id exists already (a retry, or another's)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """INSERT INTO account_promotions (id, account_id, merchant_id, reason, starts_at,
               ends_at, multiplier_numerator, multiplier_denominator, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO NOTHING RETURNING *""",
        promotion_id,
        account_id,
        merchant_id,
        reason,
        starts_at,
        ends_at,
        *multiplier,
        at,
    )
    return row


async def get(conn: asyncpg.Connection, promotion_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM account_promotions WHERE id = $1", promotion_id
    )
    return row


async def of_account(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM account_promotions WHERE account_id = $1 ORDER BY starts_at, id",
        account_id,
    )
    return rows


async def live_between(
    conn: asyncpg.Connection, account_ids: Iterable[UUID], since: datetime, until: datetime
) -> list[asyncpg.Record]:
    """The promotions of these accounts live at some instant from ``since`` to ``until``
    (a batch's sales): the rules engine tells, per sale, which is live at its time."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM account_promotions
           WHERE account_id = ANY($1::uuid[]) AND starts_at <= $3 AND ends_at > $2
           ORDER BY id""",
        list(account_ids),
        since,
        until,
    )
    return rows
