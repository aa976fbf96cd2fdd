"""Kiosks, what each shows, and cardholders' kiosk codes in PostgreSQL (docs/kiosk.md)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

_KIOSK = "id, association_id, merchant_id, created_by, created_at, revoked_at"


async def add(
    pool: asyncpg.Pool,
    kiosk_id: UUID,
    association_id: UUID,
    merchant_id: UUID,
    cookie_hash: bytes,
    key_hash: bytes,
    created_by: str,
    at: datetime,
) -> None:
    await pool.execute(
        """INSERT INTO kiosks (id, association_id, merchant_id, cookie_hash, key_hash,
                               created_by, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        kiosk_id,
        association_id,
        merchant_id,
        cookie_hash,
        key_hash,
        created_by,
        at,
    )


async def by_cookie(pool: asyncpg.Pool, cookie_hash: bytes) -> asyncpg.Record | None:
    return await pool.fetchrow(
        f"SELECT {_KIOSK} FROM kiosks WHERE cookie_hash = $1 AND revoked_at IS NULL",
        cookie_hash,
    )


async def by_key(pool: asyncpg.Pool, key_hash: bytes) -> asyncpg.Record | None:
    return await pool.fetchrow(
        f"SELECT {_KIOSK} FROM kiosks WHERE key_hash = $1 AND revoked_at IS NULL", key_hash
    )


async def of_merchant(pool: asyncpg.Pool, merchant_id: UUID) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            f"SELECT {_KIOSK} FROM kiosks WHERE merchant_id = $1 ORDER BY created_at",
            merchant_id,
        )
    )


async def revoke(pool: asyncpg.Pool, kiosk_id: UUID, merchant_id: UUID, at: datetime) -> bool:
    """Retired; its screen and its reader are refused from then on."""
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.execute(
            """UPDATE kiosks SET revoked_at = $3
               WHERE id = $1 AND merchant_id = $2 AND revoked_at IS NULL""",
            kiosk_id,
            merchant_id,
            at,
        )
        await conn.execute("DELETE FROM kiosk_shown WHERE kiosk_id = $1", kiosk_id)
    return bool(done.endswith(" 1"))


async def show(
    pool: asyncpg.Pool, kiosk_id: UUID, account_id: UUID, at: datetime, until: datetime
) -> None:
    """The account the kiosk shows now (a newer presentation replaces the last)."""
    await pool.execute(
        """INSERT INTO kiosk_shown (kiosk_id, account_id, shown_at, shown_until)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (kiosk_id) DO UPDATE
           SET account_id = $2, shown_at = $3, shown_until = $4""",
        kiosk_id,
        account_id,
        at,
        until,
    )


async def shown(pool: asyncpg.Pool, kiosk_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT account_id, shown_at, shown_until FROM kiosk_shown WHERE kiosk_id = $1",
        kiosk_id,
    )


async def clear(pool: asyncpg.Pool, kiosk_id: UUID) -> None:
    await pool.execute("DELETE FROM kiosk_shown WHERE kiosk_id = $1", kiosk_id)


async def put_code(
    conn: asyncpg.Connection,
    account_id: UUID,
    association_id: UUID,
    code_hash: bytes,
    at: datetime,
    expires_at: datetime,
) -> bool:
    """The account's live code, replacing its last; False (nothing written) when another
    account's live code has the same hash (the caller draws again)."""
    taken = await conn.fetchval(
        """SELECT 1 FROM kiosk_codes
           WHERE code_hash = $1 AND account_id <> $2 AND used_at IS NULL AND expires_at > $3""",
        code_hash,
        account_id,
        at,
    )
    if taken:
        return False
    await conn.execute(
        """INSERT INTO kiosk_codes (account_id, association_id, code_hash, created_at,
                                    expires_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_id) DO UPDATE
           SET association_id = $2, code_hash = $3, created_at = $4, expires_at = $5,
               used_at = NULL""",
        account_id,
        association_id,
        code_hash,
        at,
        expires_at,
    )
    return True


async def spend_code(pool: asyncpg.Pool, code_hash: bytes, at: datetime) -> UUID | None:
    """The account of this live code, now spent; None when no live code has it."""
    found: UUID | None = await pool.fetchval(
        """UPDATE kiosk_codes SET used_at = $2
           WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
           RETURNING account_id""",
        code_hash,
        at,
    )
    return found


async def prune(pool: asyncpg.Pool, before: datetime) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM kiosk_codes WHERE expires_at < $1", before)
        await conn.execute("DELETE FROM kiosk_shown WHERE shown_until < $1", before)
