"""Print batches of cards (F3): every card is issued in one, a card issued on its own in a
batch of one named by its issue_id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from uuid import UUID

import asyncpg

from shared.db.query import Batch
from shared.http import Problem

_CARDS = Batch(
    "cards",
    [
        ("number", "text"),
        ("association_id", "uuid"),
        ("card_type_id", "uuid"),
        ("account_id", "uuid"),
        ("issued_at", "timestamptz"),
        ("batch_id", "uuid"),
        ("expires_on", "date"),
        ("status_changed_at", "timestamptz"),
    ],
)


async def insert(
    conn: asyncpg.Connection,
    batch_id: UUID,
    association_id: UUID,
    card_type_id: UUID,
    size: int,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO card_batches (id, association_id, card_type_id, size, created_at)
           VALUES ($1, $2, $3, $4, $5)""",
        batch_id,
        association_id,
        card_type_id,
        size,
        at,
    )


async def insert_cards(
    conn: asyncpg.Connection,
    numbers: list[str],
    accounts: list[UUID],
    *,
    association_id: UUID,
    card_type_id: UUID,
    issued_at: datetime,
    batch_id: UUID,
    expires_on: date | None,
) -> None:
    """A print batch's cards, one per account."""
    rows = [
        (n, association_id, card_type_id, a, issued_at, batch_id, expires_on, issued_at)
        for n, a in zip(numbers, accounts, strict=True)
    ]
    try:
        await _CARDS.execute(conn, rows)
    except asyncpg.UniqueViolationError as exc:
        raise Problem(
            409,
            "Card number taken",
            f"a number in {numbers[0]}..{numbers[-1]} already exists (imported under this "
            "prefix?): move the association's next serial past it",
        ) from exc


async def get(conn: asyncpg.Connection, batch_id: UUID) -> asyncpg.Record | None:
    """A print batch: association_id, card_type_id, size."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT association_id, card_type_id, size FROM card_batches WHERE id = $1", batch_id
    )
    return row


async def issued_in(conn: asyncpg.Connection, batch_id: UUID) -> asyncpg.Record | None:
    """The card issued on its own under this id (a batch of one), with its account's phone."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT c.number, c.card_type_id, c.account_id, c.first_name, c.last_name,
                  c.issued_by_merchant, a.phone
           FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.batch_id = $1""",
        batch_id,
    )
    return row


async def summary(pool: asyncpg.Pool, batch_id: UUID) -> asyncpg.Record:
    row: asyncpg.Record | None = await pool.fetchrow(
        """SELECT b.id AS batch_id, b.association_id, b.card_type_id, b.size, b.created_at,
                  min(c.number) AS first_number, max(c.number) AS last_number
           FROM card_batches b JOIN cards c ON c.batch_id = b.id
           WHERE b.id = $1 GROUP BY b.id""",
        batch_id,
    )
    if row is None:
        raise Problem(404, "Unknown batch", f"no card batch {batch_id}")
    return row


async def of_association(
    pool: asyncpg.Pool, association_id: UUID, before: datetime | None, limit: int
) -> list[asyncpg.Record]:
    """An association's print batches, newest first (those made before ``before``)."""
    rows: list[asyncpg.Record] = await pool.fetch(
        """SELECT b.id AS batch_id, b.association_id, b.card_type_id, b.size, b.created_at,
                  min(c.number) AS first_number, max(c.number) AS last_number
           FROM card_batches b JOIN cards c ON c.batch_id = b.id
           WHERE b.association_id = $1 AND ($2::timestamptz IS NULL OR b.created_at < $2)
           GROUP BY b.id ORDER BY b.created_at DESC, b.id DESC LIMIT $3""",
        association_id,
        before,
        limit,
    )
    return rows


async def exists(conn: asyncpg.Connection, batch_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM card_batches WHERE id = $1", batch_id))


async def for_printer(conn: asyncpg.Connection, batch_id: UUID) -> AsyncIterator[asyncpg.Record]:
    """A batch's cards in number order, as the card printer wants them (a cursor: call in a
    transaction)."""
    async for r in conn.cursor(
        """SELECT c.number, t.name AS card_type, a.name AS association, c.expires_on,
                  c.first_name, c.last_name
           FROM cards c
           JOIN card_types t ON t.id = c.card_type_id
           JOIN associations a ON a.id = c.association_id
           WHERE c.batch_id = $1 ORDER BY c.number""",
        batch_id,
        prefetch=1000,
    ):
        yield r
