"""The books of each association in PostgreSQL: how far they are closed (``books``), the
closes (``period_closes``), the frozen statements (``statements``) and the settlements
(``settlements``)."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from services.clearing.domain.settlements import Settlement

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def closed_through(conn: Db, association_id: UUID) -> date | None:
    closed: date | None = await conn.fetchval(
        "SELECT closed_through FROM books WHERE association_id = $1", association_id
    )
    return closed


async def lock(conn: asyncpg.Connection, association_id: UUID) -> date | None:
    """The books' row, held until the transaction ends (created if new); how far they are
    closed. Waits for the bookings under way (they hold the row FOR SHARE); those after see
    the close."""
    await conn.execute(
        "INSERT INTO books (association_id) VALUES ($1) ON CONFLICT DO NOTHING", association_id
    )
    closed: date | None = await conn.fetchval(
        "SELECT closed_through FROM books WHERE association_id = $1 FOR UPDATE", association_id
    )
    return closed


async def close_through(conn: asyncpg.Connection, association_id: UUID, period: date) -> None:
    await conn.execute(
        "UPDATE books SET closed_through = $2 WHERE association_id = $1", association_id, period
    )


async def first_open(conn: Db, association_id: UUID) -> date | None:
    """The oldest open period with entries; None when nothing is open."""
    closed = await closed_through(conn, association_id)
    found: date | None = await conn.fetchval(
        """SELECT min(period) FROM journal_entries WHERE association_id = $1
           AND ($2::date IS NULL OR period > $2)""",
        association_id,
        closed,
    )
    return found


async def books_start(conn: Db, association_id: UUID) -> date | None:
    """The first month of an association's books: that of its first entry or, before any, of
    its first merchant's registration; None if clearing knows neither."""
    start: date | None = await conn.fetchval(
        """SELECT coalesce(
               (SELECT min(period) FROM journal_entries WHERE association_id = $1),
               (SELECT min(date_trunc('month', created_at AT TIME ZONE 'Europe/Paris'))::date
                FROM merchants WHERE association_id = $1))""",
        association_id,
    )
    return start


async def record_close(
    conn: asyncpg.Connection, association_id: UUID, period: date, actor: str
) -> None:
    await conn.execute(
        "INSERT INTO period_closes (association_id, period, closed_by) VALUES ($1, $2, $3)",
        association_id,
        period,
        actor,
    )


async def closes(conn: Db, association_id: UUID) -> list[asyncpg.Record]:
    """The closes of an association, the last first, with their statements and settlement."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT c.period, c.closed_at, c.closed_by,
                  (SELECT count(*) FROM statements s
                   WHERE s.association_id = c.association_id AND s.period = c.period) AS n,
                  st.status
           FROM period_closes c
           LEFT JOIN settlements st ON st.association_id = c.association_id
                                   AND st.period = c.period
           WHERE c.association_id = $1 ORDER BY c.period DESC""",
        association_id,
    )
    return rows


async def due_associations(conn: Db, target: date) -> list[UUID]:
    """The associations with accounts whose books are not closed through ``target``."""
    rows = await conn.fetch(
        """SELECT a.association_id FROM (SELECT DISTINCT association_id FROM pivot_accounts) a
           LEFT JOIN books b ON b.association_id = a.association_id
           WHERE b.closed_through IS NULL OR b.closed_through < $1""",
        target,
    )
    return [r["association_id"] for r in rows]


# --- statements frozen at the close ---------------------------------------------------------


async def freeze_statements(
    conn: asyncpg.Connection, rows: list[tuple[UUID, UUID, UUID, date, dict[str, Any], int]]
) -> None:
    """(statement id, association, merchant, period, document, net cents) of each."""
    await conn.executemany(
        """INSERT INTO statements (id, association_id, merchant_id, period, figures, net_cents)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6)""",
        rows,
    )


async def frozen_statement(conn: Db, merchant_id: UUID, period: date) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await conn.fetchval(
        "SELECT figures FROM statements WHERE merchant_id = $1 AND period = $2",
        merchant_id,
        period,
    )
    return doc


async def frozen_statements(conn: Db, association_id: UUID, period: date) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT figures FROM statements WHERE association_id = $1 AND period = $2
           ORDER BY figures->>'merchant_name', merchant_id""",
        association_id,
        period,
    )
    return [r["figures"] for r in rows]


# --- settlements ----------------------------------------------------------------------------


async def held(conn: Db, association_id: UUID, period: date) -> list[dict[str, Any]] | None:
    """What the settlement of a period held; None if there is no settlement."""
    found: list[dict[str, Any]] | None = await conn.fetchval(
        "SELECT held FROM settlements WHERE association_id = $1 AND period = $2",
        association_id,
        period,
    )
    return found


async def save_settlement(
    conn: asyncpg.Connection, association_id: UUID, period: date, s: Settlement
) -> None:
    await conn.execute(
        """INSERT INTO settlements (id, association_id, period, status, collections_count,
               collections_cents, transfers_count, transfers_cents, direct_debit,
               credit_transfer, held)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        s.id,
        association_id,
        period,
        s.status,
        len(s.collections),
        sum(c.amount_cents for c in s.collections),
        len(s.transfers),
        sum(t.amount_cents for t in s.transfers),
        s.direct_debit,
        s.credit_transfer,
        s.held,
    )


async def settlement(conn: Db, association_id: UUID, period: date) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM settlements WHERE association_id = $1 AND period = $2",
        association_id,
        period,
    )
    return row
