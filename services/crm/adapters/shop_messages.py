"""Cardholders' messages to a shop in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

_COLUMNS = "id, association_id, merchant_id, account_id, body, sent_by, sent_at"


async def add(
    conn: asyncpg.Connection | asyncpg.Pool,
    message_id: UUID,
    association_id: UUID,
    merchant_id: UUID,
    account_id: UUID,
    body: str,
    sent_by: str,
    at: datetime,
) -> tuple[asyncpg.Record, bool]:
    """The message, and whether it is new (False: this id was sent already; the row kept)."""
    row = await conn.fetchrow(
        f"""INSERT INTO shop_messages ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (id) DO NOTHING RETURNING {_COLUMNS}""",
        message_id,
        association_id,
        merchant_id,
        account_id,
        body,
        sent_by,
        at,
    )
    if row is not None:
        return row, True
    kept = await conn.fetchrow(f"SELECT {_COLUMNS} FROM shop_messages WHERE id = $1", message_id)
    assert kept is not None
    return kept, False


async def to_merchant(pool: asyncpg.Pool, merchant_id: UUID, limit: int) -> list[asyncpg.Record]:
    """The shop's inbox, newest first, each with its sender's name as the file has it."""
    return list(
        await pool.fetch(
            """SELECT m.id, m.account_id, m.body, m.sent_at,
                      c.first_name, c.last_name
               FROM shop_messages m LEFT JOIN customers c ON c.account_id = m.account_id
               WHERE m.merchant_id = $1
               ORDER BY m.sent_at DESC, m.id LIMIT $2""",
            merchant_id,
            limit,
        )
    )


async def of_account(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"""SELECT {_COLUMNS} FROM shop_messages WHERE account_id = $1
                ORDER BY sent_at DESC, id""",
            account_id,
        )
    )


async def erase(conn: asyncpg.Connection, account_id: UUID) -> None:
    await conn.execute("DELETE FROM shop_messages WHERE account_id = $1", account_id)
