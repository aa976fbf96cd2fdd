"""Merchants as clearing last heard of them (``merchant_registrations``), and the merchants
with what their registration is built from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from shared.db.query import Batch

# Two cards processes starting together compare the merchants one after the other.
LOCK = int.from_bytes(b"cardsMR", "big")

FIELDS = (
    "association_id",
    "merchant_name",
    "taux_client_bps",
    "taux_uc_bps",
    "created_at",
    "closed_on",
    "email",
)

# FOR SHARE: a change to the merchant or its association committing meanwhile is waited for
# and then read, never overwritten by an older reading.
_MERCHANTS = """SELECT m.id, m.association_id, m.name, m.taux_client_bps, m.taux_uc_bps,
                       m.created_at, m.closed_on, m.email, a.rate_mode,
                       a.taux_client_bps AS association_taux_client_bps,
                       a.taux_uc_bps AS association_taux_uc_bps
                FROM merchants m JOIN associations a ON a.id = m.association_id
                WHERE {where} ORDER BY m.id FOR SHARE OF m, a"""

_PUBLISHED = Batch(
    "merchant_registrations",
    [
        ("merchant_id", "uuid"),
        ("association_id", "uuid"),
        ("merchant_name", "text"),
        ("taux_client_bps", "int"),
        ("taux_uc_bps", "int"),
        ("created_at", "timestamptz"),
        ("closed_on", "date"),
        ("email", "text"),
    ],
    """ON CONFLICT (merchant_id) DO UPDATE SET association_id = excluded.association_id,
           merchant_name = excluded.merchant_name,
           taux_client_bps = excluded.taux_client_bps, taux_uc_bps = excluded.taux_uc_bps,
           created_at = excluded.created_at, closed_on = excluded.closed_on,
           email = excluded.email,
           published_at = clock_timestamp()""",
)


async def merchants(
    conn: asyncpg.Connection, merchant_id: UUID | None, association_id: UUID | None
) -> list[asyncpg.Record]:
    """One merchant, every merchant of an association, or every merchant (both None)."""
    rows: list[asyncpg.Record]
    if merchant_id is not None:
        rows = await conn.fetch(_MERCHANTS.format(where="m.id = $1"), merchant_id)
    elif association_id is not None:
        rows = await conn.fetch(_MERCHANTS.format(where="m.association_id = $1"), association_id)
    else:
        rows = await conn.fetch(_MERCHANTS.format(where="true"))
    return rows


async def last_published(conn: asyncpg.Connection, ids: list[UUID]) -> dict[UUID, tuple[Any, ...]]:
    rows = await conn.fetch(
        "SELECT * FROM merchant_registrations WHERE merchant_id = ANY($1::uuid[])", ids
    )
    return {r["merchant_id"]: tuple(r[f] for f in FIELDS) for r in rows}


async def published(conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Record what was published: (merchant_id, *FIELDS) per merchant."""
    await _PUBLISHED.execute(conn, rows)


async def lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK)
