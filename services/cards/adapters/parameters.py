"""The terminal parameters published per merchant (``terminal_parameters``, their history, and
the rules version last checked)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from shared.db.query import Batch

# Two cards processes never publish the same version twice over.
LOCK = int.from_bytes(b"cardsTP", "big")

_PUBLISHED = Batch(
    "terminal_parameters",
    [("merchant_id", "uuid"), ("rules_version", "bigint"), ("digest", "bytea")],
    """ON CONFLICT (merchant_id) DO UPDATE SET rules_version = excluded.rules_version,
           digest = excluded.digest, published_at = clock_timestamp()""",
)


async def versions(conn: asyncpg.Connection) -> tuple[int, int | None]:
    """The rules' version and the one the parameters were last checked at."""
    version: int = await conn.fetchval("SELECT version FROM rules_version")
    checked: int | None = await conn.fetchval(
        "SELECT rules_version FROM terminal_parameters_checked"
    )
    return version, checked


async def lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)


async def digests(conn: asyncpg.Connection) -> dict[UUID, bytes]:
    """Per merchant, the digest of the parameters last published."""
    rows = await conn.fetch("SELECT merchant_id, digest FROM terminal_parameters")
    return {r["merchant_id"]: bytes(r["digest"]) for r in rows}


async def dormancy(conn: asyncpg.Connection) -> dict[UUID, int | None]:
    rows = await conn.fetch("SELECT id, dormant_after_days FROM associations")
    return {r["id"]: r["dormant_after_days"] for r in rows}


async def published(
    conn: asyncpg.Connection,
    rows: Sequence[tuple[UUID, int, bytes]],
    history: Sequence[tuple[UUID, int, dict[str, Any]]],
    version: int,
) -> None:
    """Record the parameters published (their digest, and the documents for good: a terminal's
    rewards are checked against the version it used) and the version checked."""
    await _PUBLISHED.execute(conn, rows)
    if history:
        await conn.executemany(
            """INSERT INTO terminal_parameters_history (merchant_id, rules_version, document)
               VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
            history,
        )
    await conn.execute(
        """INSERT INTO terminal_parameters_checked (rules_version) VALUES ($1)
           ON CONFLICT (singleton) DO UPDATE SET rules_version = excluded.rules_version""",
        version,
    )
