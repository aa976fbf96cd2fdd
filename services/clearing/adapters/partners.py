"""Partner associations (F19) in PostgreSQL: the partners, the merchants' partnerships, the
members, and what the members bought in a period."""

from __future__ import annotations

from datetime import date
from typing import TypeAlias
from uuid import UUID

import asyncpg

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool

# What each partner's members bought at each merchant with a partnership, in a period (net of
# returns), on the days both the partnership and the membership held.
_SHARES = """
SELECT e.merchant_id, ps.partner_id, ps.rate_bps,
       sum(CASE e.kind WHEN 'accrual' THEN e.purchase_cents ELSE -e.amount_cents END)::bigint
         AS revenue_cents
FROM journal_entries e
JOIN partnerships ps ON ps.merchant_id = e.merchant_id
JOIN partners p ON p.id = ps.partner_id AND p.active
JOIN partner_members pm ON pm.partner_id = ps.partner_id AND pm.account_id = e.account_id
CROSS JOIN LATERAL (SELECT (e.occurred_at AT TIME ZONE 'Europe/Paris')::date AS day) d
WHERE e.association_id = $1 AND e.period = $2 AND e.kind IN ('accrual', 'reversal')
  AND ps.starts_on <= d.day AND (ps.ends_on IS NULL OR d.day < ps.ends_on)
  AND pm.since <= d.day AND (pm.until IS NULL OR d.day < pm.until)
GROUP BY 1, 2, 3
"""


async def members_revenue(
    conn: asyncpg.Connection, association_id: UUID, period: date
) -> list[asyncpg.Record]:
    """(merchant_id, partner_id, rate_bps, revenue_cents) of each partnership in the period."""
    rows: list[asyncpg.Record] = await conn.fetch(_SHARES, association_id, period)
    return rows


async def partner(conn: Db, partner_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM partners WHERE id = $1", partner_id
    )
    return row


async def partner_for_update(conn: asyncpg.Connection, partner_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM partners WHERE id = $1 FOR UPDATE", partner_id
    )
    return row


async def save_partner(
    conn: asyncpg.Connection, partner_id: UUID, association_id: UUID, name: str, active: bool
) -> None:
    await conn.execute(
        """INSERT INTO partners (id, association_id, name, active) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, active = excluded.active""",
        partner_id,
        association_id,
        name,
        active,
    )


async def partner_ids(conn: Db, association_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT id FROM partners WHERE association_id = $1 ORDER BY name, id", association_id
    )
    return [r["id"] for r in rows]


async def members_count(conn: Db, partner_id: UUID) -> int:
    n: int = await conn.fetchval(
        "SELECT count(*) FROM partner_members WHERE partner_id = $1", partner_id
    )
    return n


async def partnerships(conn: Db, partner_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM partnerships WHERE partner_id = $1 ORDER BY merchant_id", partner_id
    )
    return rows


async def merchant_association(conn: Db, merchant_id: UUID) -> UUID | None:
    aid: UUID | None = await conn.fetchval(
        "SELECT association_id FROM merchants WHERE id = $1", merchant_id
    )
    return aid


async def holder_association(conn: Db, account_id: UUID) -> UUID | None:
    aid: UUID | None = await conn.fetchval(
        "SELECT association_id FROM holders WHERE account_id = $1", account_id
    )
    return aid


async def save_partnership(
    conn: asyncpg.Connection,
    merchant_id: UUID,
    partner_id: UUID,
    rate_bps: int,
    starts_on: date,
    ends_on: date | None,
) -> None:
    await conn.execute(
        """INSERT INTO partnerships (merchant_id, partner_id, rate_bps, starts_on, ends_on)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (merchant_id, partner_id) DO UPDATE SET rate_bps = excluded.rate_bps,
               starts_on = excluded.starts_on, ends_on = excluded.ends_on""",
        merchant_id,
        partner_id,
        rate_bps,
        starts_on,
        ends_on,
    )


async def save_member(
    conn: asyncpg.Connection, partner_id: UUID, account_id: UUID, since: date, until: date | None
) -> None:
    await conn.execute(
        """INSERT INTO partner_members (partner_id, account_id, since, until)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (partner_id, account_id) DO UPDATE SET since = excluded.since,
               until = excluded.until""",
        partner_id,
        account_id,
        since,
        until,
    )
