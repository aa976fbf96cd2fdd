"""What a partner's statement reads (F19): the shares the close booked for it, or the
members' purchases so far in an open period, and the members' donations."""

from __future__ import annotations

from datetime import date
from typing import TypeAlias
from uuid import UUID

import asyncpg

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def booked_shares(conn: Db, partner_id: UUID, period: date) -> list[asyncpg.Record]:
    """The partner shares the close booked in ``period``: per merchant, its base, its rate
    (its column, or its note "500 bps" for a share booked before the column) and amount."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT e.merchant_id, m.name AS merchant_name, e.purchase_cents AS revenue_cents,
                  coalesce(e.rate_bps, substring(e.note FROM '^([0-9]+) bps$')::int) AS rate_bps,
                  e.amount_cents
           FROM journal_entries e LEFT JOIN merchants m ON m.id = e.merchant_id
           WHERE e.partner_id = $1 AND e.period = $2 AND e.kind = 'partner_share'
           ORDER BY e.id""",
        partner_id,
        period,
    )
    return rows


async def donations(conn: Db, partner_id: UUID, period: date) -> list[asyncpg.Record]:
    """The members' donations to the partner booked in ``period``, with their names."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT e.occurred_at, e.account_id, e.card_number, e.amount_cents,
                  h.title, h.last_name, h.first_name
           FROM journal_entries e LEFT JOIN holders h ON h.account_id = e.account_id
           WHERE e.partner_id = $1 AND e.period = $2 AND e.kind = 'donation'
           ORDER BY e.occurred_at, e.id""",
        partner_id,
        period,
    )
    return rows


async def merchant_names(conn: Db, ids: list[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch("SELECT id, name FROM merchants WHERE id = ANY($1)", ids)
    return {r["id"]: r["name"] for r in rows}
