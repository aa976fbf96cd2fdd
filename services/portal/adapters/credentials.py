"""Cardholders' one-time codes and machines' API tokens in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def add_code(
    pool: asyncpg.Connection | asyncpg.Pool,
    challenge_id: UUID,
    code_hash: bytes,
    association_id: UUID,
    account_id: UUID | None,
    account_key: str,
    at: datetime,
    expires_at: datetime,
) -> None:
    await pool.execute(
        """INSERT INTO holder_codes (id, code_hash, association_id, account_id, account_key,
                                     created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        challenge_id,
        code_hash,
        association_id,
        account_id,
        account_key,
        at,
        expires_at,
    )


async def code(conn: asyncpg.Connection, challenge_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT code_hash, association_id, account_id, account_key, expires_at, attempts,
                  used_at IS NOT NULL AS used
           FROM holder_codes WHERE id = $1 FOR UPDATE""",
        challenge_id,
    )


async def code_tried(
    conn: asyncpg.Connection, challenge_id: UUID, used_at: datetime | None
) -> None:
    await conn.execute(
        "UPDATE holder_codes SET attempts = attempts + 1, used_at = $2 WHERE id = $1",
        challenge_id,
        used_at,
    )


_TOKEN = (
    "id, name, role, association_id, merchant_id, created_by, created_at, last_used_at, revoked_at"
)


async def add_token(
    pool: asyncpg.Pool,
    token_id: UUID,
    secret_hash: bytes,
    name: str,
    scope: tuple[str, UUID | None, UUID | None],
    created_by: str,
    at: datetime,
) -> asyncpg.Record:
    role, association_id, merchant_id = scope
    row = await pool.fetchrow(
        f"""INSERT INTO api_tokens (id, secret_hash, name, role, association_id, merchant_id,
                                    created_by, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_TOKEN}""",
        token_id,
        secret_hash,
        name,
        role,
        association_id,
        merchant_id,
        created_by,
        at,
    )
    assert row is not None
    return row


async def token(pool: asyncpg.Pool, token_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(f"SELECT {_TOKEN} FROM api_tokens WHERE id = $1", token_id)


async def tokens_in_scope(
    pool: asyncpg.Pool, association_id: UUID | None, merchant_id: UUID | None
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        f"""SELECT {_TOKEN} FROM api_tokens
            WHERE ($1::uuid IS NULL OR association_id = $1)
              AND ($2::uuid IS NULL OR merchant_id = $2)
            ORDER BY created_at DESC LIMIT 1000""",
        association_id,
        merchant_id,
    )
    return rows


async def use_token(pool: asyncpg.Pool, secret_hash: bytes, at: datetime) -> asyncpg.Record | None:
    """The live token of this secret, its last use recorded; None if none or revoked."""
    return await pool.fetchrow(
        f"""UPDATE api_tokens SET last_used_at = $2
            WHERE secret_hash = $1 AND revoked_at IS NULL RETURNING {_TOKEN}""",
        secret_hash,
        at,
    )


async def revoke_token(pool: asyncpg.Pool, token_id: UUID, at: datetime) -> None:
    await pool.execute(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
        token_id,
        at,
    )
