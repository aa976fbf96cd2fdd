"""The SQL of the front desk's terminals (one per merchant, registered on first use) and of
who sent each of their requests (migration 0008)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

DESK_LABEL = "Front desk"


async def desk_terminal(pool: asyncpg.Pool, merchant_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT * FROM terminals WHERE merchant_id = $1 AND desk", merchant_id
    )
    return row


async def register(
    pool: asyncpg.Pool,
    terminal_id: UUID,
    association_id: UUID,
    merchant_id: UUID,
    sealed: tuple[bytes, str],
) -> asyncpg.Record:
    """The merchant's desk terminal, registered now if it has none (two first uses at once
    register one). Its shop is the one of the merchant's newest till, else the merchant's id."""
    await pool.execute(
        """INSERT INTO terminals (id, association_id, merchant_id, shop_id, label,
                                  secret_sealed, secret_kek_id, active, desk)
           SELECT $1, $2, $3,
                  COALESCE((SELECT shop_id FROM terminals WHERE merchant_id = $3 AND NOT desk
                            ORDER BY created_at DESC LIMIT 1), $3),
                  $4, $5, $6, true, true
           ON CONFLICT (merchant_id) WHERE desk DO NOTHING""",
        terminal_id,
        association_id,
        merchant_id,
        DESK_LABEL,
        sealed[0],
        sealed[1],
    )
    row = await desk_terminal(pool, merchant_id)
    assert row is not None
    return row


async def is_desk(pool: asyncpg.Pool, terminal_id: UUID) -> bool:
    return bool(await pool.fetchval("SELECT desk FROM terminals WHERE id = $1", terminal_id))


async def association_of(pool: asyncpg.Pool, merchant_id: UUID) -> UUID | None:
    """The merchant's association as the gateway knows it (its terminals, its parameters from
    cards); None: a merchant the gateway has never heard of."""
    found: UUID | None = await pool.fetchval(
        """SELECT association_id FROM terminals WHERE merchant_id = $1
           UNION ALL
           SELECT association_id FROM terminal_parameters WHERE merchant_id = $1
           LIMIT 1""",
        merchant_id,
    )
    return found


async def record_actor(pool: asyncpg.Pool, request_id: UUID, merchant_id: UUID, actor: str) -> None:
    await pool.execute(
        """INSERT INTO desk_requests (request_id, merchant_id, actor) VALUES ($1, $2, $3)
           ON CONFLICT (request_id) DO NOTHING""",
        request_id,
        merchant_id,
        actor,
    )


async def actor(pool: asyncpg.Pool, request_id: UUID) -> str | None:
    found: str | None = await pool.fetchval(
        "SELECT actor FROM desk_requests WHERE request_id = $1", request_id
    )
    return found
