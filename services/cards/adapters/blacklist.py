"""The network's blacklist: changes numbered in commit order, the terminals' cursor."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

BLACKLIST_LOCK = int.from_bytes(b"cardsBL", "big")


async def append(
    conn: asyncpg.Connection,
    card_number: str,
    association_id: UUID,
    action: str,
    reason: str,
    at: datetime,
) -> asyncpg.Record:
    """Append a change with the next version, network-wide."""
    # Every writer draws its version under this lock, held until commit: versions commit in
    # the order they are drawn, so a terminal asking "since V" never misses a change that
    # committed late. A rolled-back draw leaves a gap, which is harmless.
    await conn.execute("SELECT pg_advisory_xact_lock($1)", BLACKLIST_LOCK)
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO blacklist_changes (card_number, association_id, action, reason, changed_at)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        card_number,
        association_id,
        action,
        reason,
        at,
    )
    return row


async def since(pool: asyncpg.Pool, version: int, limit: int) -> tuple[int, list[asyncpg.Record]]:
    """The current version and at most ``limit`` changes above ``version``, in version order
    (one snapshot)."""
    async with (
        pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        current: int = await conn.fetchval(
            "SELECT coalesce(max(version), 0) FROM blacklist_changes"
        )
        rows: list[asyncpg.Record] = await conn.fetch(
            """SELECT version, card_number, association_id, action, reason, changed_at
               FROM blacklist_changes WHERE version > $1 ORDER BY version LIMIT $2""",
            version,
            limit,
        )
    return current, rows
