"""The SQL of customer status levels: the definitions, the levels the accounts hold, the
booked activity a review reads, the days reviewed, and what the terminals' parameters list."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID

import asyncpg

from shared.db.query import one_or_404

_DEFINITION = (
    "merchant_id", "code", "name", "rank", "min_spent_cents", "min_visits", "window_months",
    "taux_client_bps", "multiplier_numerator", "multiplier_denominator", "grace_days",
)  # fmt: skip


async def save(
    conn: asyncpg.Connection,
    level_id: UUID,
    association_id: UUID,
    terms: dict[str, object],
    at: datetime,
) -> tuple[asyncpg.Record | None, bool]:
    """The level made or changed (its association, merchant and code are fixed once made:
    another's id answers None) and whether it was made by this call."""
    values = [terms[c] for c in _DEFINITION]
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""INSERT INTO levels (id, association_id, {", ".join(_DEFINITION)}, created_at, updated_at)
            VALUES ($1, $2, {", ".join(f"${i + 3}" for i in range(len(_DEFINITION)))}, $14, $14)
            ON CONFLICT (id) DO UPDATE SET
                name = excluded.name, rank = excluded.rank,
                min_spent_cents = excluded.min_spent_cents, min_visits = excluded.min_visits,
                window_months = excluded.window_months, taux_client_bps = excluded.taux_client_bps,
                multiplier_numerator = excluded.multiplier_numerator,
                multiplier_denominator = excluded.multiplier_denominator,
                grace_days = excluded.grace_days, updated_at = excluded.updated_at
            WHERE levels.association_id = excluded.association_id
              AND levels.merchant_id IS NOT DISTINCT FROM excluded.merchant_id
              AND levels.code = excluded.code
            RETURNING *, (xmax = 0) AS fresh""",
        level_id,
        association_id,
        *values,
        at,
    )
    return row, bool(row and row["fresh"])


async def get(conn: asyncpg.Connection | asyncpg.Pool, level_id: UUID) -> asyncpg.Record:
    return await one_or_404(conn, "level", level_id, "SELECT * FROM levels WHERE id = $1", level_id)


async def of_association(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM levels WHERE association_id = $1
           ORDER BY merchant_id NULLS FIRST, rank, id""",
        association_id,
    )
    return rows


async def every(
    conn: asyncpg.Connection, association_id: UUID | None = None
) -> list[asyncpg.Record]:
    """The levels of an association, or of all."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM levels WHERE $1::uuid IS NULL OR association_id = $1
           ORDER BY association_id, merchant_id NULLS FIRST, rank""",
        association_id,
    )
    return rows


async def associations(conn: asyncpg.Connection | asyncpg.Pool) -> list[UUID]:
    """The associations that have levels."""
    rows = await conn.fetch("SELECT DISTINCT association_id FROM levels ORDER BY 1")
    return [r["association_id"] for r in rows]


async def held_by(
    conn: asyncpg.Connection | asyncpg.Pool, account_ids: Iterable[UUID]
) -> list[asyncpg.Record]:
    """The levels these accounts hold, with their definitions (``level_*`` columns)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT h.account_id, h.since, h.below_since, l.*
           FROM account_levels h JOIN levels l ON l.id = h.level_id
           WHERE h.account_id = ANY($1::uuid[])
           ORDER BY h.account_id, l.merchant_id NULLS FIRST""",
        list(account_ids),
    )
    return rows


async def holdings(
    conn: asyncpg.Connection, association_id: UUID, merchant_id: UUID | None
) -> list[asyncpg.Record]:
    """The accounts holding a level of this scope, locked for the review."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM account_levels
           WHERE association_id = $1 AND merchant_id IS NOT DISTINCT FROM $2
           ORDER BY account_id FOR UPDATE""",
        association_id,
        merchant_id,
    )
    return rows


async def activity(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID | None,
    since: datetime,
    until: datetime,
) -> list[asyncpg.Record]:
    """Per account of the association with sales booked from ``since`` to ``until``
    (excluded), at ``merchant_id`` or anywhere: the purchases (``spent``) and the sales
    (``visits``). A sale is its cagnottage entries (one per bucket it moved), counted once."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT account_id, sum(purchase)::bigint AS spent, count(*)::integer AS visits
           FROM (SELECT e.account_id, e.reference_id, max(e.purchase_cents) AS purchase
                 FROM cagnotte_entries e JOIN accounts a ON a.id = e.account_id
                 WHERE a.association_id = $1 AND e.kind = 'cagnottage'
                   AND ($2::uuid IS NULL OR e.merchant_id = $2)
                   AND e.occurred_at >= $3 AND e.occurred_at < $4
                 GROUP BY e.account_id, e.reference_id) s
           GROUP BY account_id""",
        association_id,
        merchant_id,
        since,
        until,
    )
    return rows


async def hold(
    conn: asyncpg.Connection,
    rows: list[tuple[UUID, UUID, UUID | None, UUID, datetime, date | None]],
) -> None:
    """(account, association, merchant, level, since, below_since): the level of that scope."""
    await conn.executemany(
        """INSERT INTO account_levels (account_id, association_id, merchant_id, level_id, since,
               below_since)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (account_id, merchant_id) DO UPDATE SET
               level_id = excluded.level_id, since = excluded.since,
               below_since = excluded.below_since""",
        rows,
    )


async def drop(conn: asyncpg.Connection, rows: list[tuple[UUID, UUID | None]]) -> None:
    """(account, merchant): the level of that scope taken away."""
    await conn.executemany(
        """DELETE FROM account_levels
           WHERE account_id = $1 AND merchant_id IS NOT DISTINCT FROM $2""",
        rows,
    )


async def take_day(conn: asyncpg.Connection, association_id: UUID, day: date, at: datetime) -> bool:
    """The day's review row made by this transaction (False: reviewed already, or being
    reviewed by another replica, which this waits for)."""
    made: bool = await conn.fetchval(
        """INSERT INTO level_reviews (association_id, day, reviewed_at, changes)
           VALUES ($1, $2, $3, 0)
           ON CONFLICT (association_id, day) DO NOTHING RETURNING true""",
        association_id,
        day,
        at,
    )
    return bool(made)


async def day_done(conn: asyncpg.Connection, association_id: UUID, day: date, changes: int) -> None:
    await conn.execute(
        "UPDATE level_reviews SET changes = $3 WHERE association_id = $1 AND day = $2",
        association_id,
        day,
        changes,
    )


async def last_day(conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID) -> date | None:
    last: date | None = await conn.fetchval(
        "SELECT max(day) FROM level_reviews WHERE association_id = $1", association_id
    )
    return last


async def for_terminals(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every card of an account holding a level, with the level (for the parameters)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT c.number AS card_number, h.level_id, h.association_id, h.merchant_id
           FROM account_levels h JOIN cards c ON c.account_id = h.account_id
           WHERE c.status = 'active'
           ORDER BY c.number, h.level_id"""
    )
    return rows
