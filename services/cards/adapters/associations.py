"""What the card life cycle reads of the catalogue: associations, their card types and
merchants (written by the catalogue's routes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

import asyncpg

from shared.http import Problem


async def get(conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM associations WHERE id = $1", association_id
    )
    if row is None:
        raise Problem(404, "Unknown association", f"no association {association_id}")
    return row


async def books_start(conn: asyncpg.Connection, ids: Iterable[UUID]) -> dict[UUID, date]:
    """Per association, the first day of its books."""
    rows = await conn.fetch(
        "SELECT id, books_start FROM associations WHERE id = ANY($1::uuid[])", list(set(ids))
    )
    return {r["id"]: r["books_start"] for r in rows}


async def card_type(
    conn: asyncpg.Connection, association_id: UUID, card_type_id: UUID
) -> asyncpg.Record | None:
    """A card type of the association: id, name, validity_months."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, name, validity_months FROM card_types WHERE id = $1 AND association_id = $2",
        card_type_id,
        association_id,
    )
    return row


async def merchant_association(conn: asyncpg.Connection, merchant_id: UUID) -> UUID | None:
    owner: UUID | None = await conn.fetchval(
        "SELECT association_id FROM merchants WHERE id = $1", merchant_id
    )
    return owner
