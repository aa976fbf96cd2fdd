"""The SQL of partner associations (F19) as cards keeps them, and of the donations made to
them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from shared.db.query import Batch

# The newest registration wins, by its time: an older one redelivered later changes nothing.
_PARTNERS = Batch(
    "partners",
    [
        ("partner_id", "uuid"),
        ("association_id", "uuid"),
        ("partner_name", "text"),
        ("active", "boolean"),
        ("updated_at", "timestamptz"),
    ],
    """ON CONFLICT (partner_id) DO UPDATE SET association_id = excluded.association_id,
           partner_name = excluded.partner_name, active = excluded.active,
           updated_at = excluded.updated_at
       WHERE partners.updated_at <= excluded.updated_at""",
)


async def upsert_partners(conn: asyncpg.Connection, rows: Sequence[Sequence[object]]) -> None:
    """Rows of (partner_id, association_id, partner_name, active, updated_at)."""
    await _PARTNERS.execute(conn, rows)


async def partner(conn: asyncpg.Connection, partner_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM partners WHERE partner_id = $1", partner_id
    )
    return row


async def donation(conn: asyncpg.Connection, donation_id: UUID) -> asyncpg.Record | None:
    """The entry a first request with this donation id booked, if any."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT account_id, partner_id, amount_cents, balance_after_cents, actor, occurred_at
           FROM cagnotte_entries
           WHERE kind = 'donation' AND bucket = 'available' AND reference_id = $1""",
        donation_id,
    )
    return row


async def books_start(conn: asyncpg.Connection, association_id: UUID) -> date | None:
    start: date | None = await conn.fetchval(
        "SELECT books_start FROM associations WHERE id = $1", association_id
    )
    return start
