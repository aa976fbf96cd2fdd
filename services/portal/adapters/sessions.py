"""Sessions and failed sign-ins in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from shared.access import Principal


async def insert(
    conn: asyncpg.Connection | asyncpg.Pool,
    id_hash: bytes,
    p: Principal,
    person_id: UUID | None,
    label: str,
    csrf: str,
    language: str,
    at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO sessions (id_hash, person_id, actor, role, association_id, merchant_id,
                                 account_id, label, csrf, language, created_at, last_seen_at,
                                 expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)""",
        id_hash,
        person_id,
        p.actor,
        p.role,
        p.association_id,
        p.merchant_id,
        p.account_id,
        label,
        csrf,
        language,
        at,
        expires_at,
    )


async def get(pool: asyncpg.Pool, id_hash: bytes) -> asyncpg.Record | None:
    return await pool.fetchrow(
        """SELECT person_id, actor, role, association_id, merchant_id, account_id, label, csrf,
                  language, created_at, last_seen_at, expires_at, revoked_at IS NOT NULL AS revoked
           FROM sessions WHERE id_hash = $1""",
        id_hash,
    )


async def touch(pool: asyncpg.Pool, id_hash: bytes, at: datetime) -> None:
    await pool.execute("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1", id_hash, at)


async def revoke(pool: asyncpg.Pool, id_hash: bytes, at: datetime) -> None:
    await pool.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
        id_hash,
        at,
    )


async def revoke_person(conn: asyncpg.Connection, person_id: UUID, at: datetime) -> int:
    done = await conn.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL",
        person_id,
        at,
    )
    return int(done.split()[-1])


async def prune(pool: asyncpg.Pool, before: datetime) -> None:
    """Sessions, failures and codes of no further use (the daily clean-up)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM sessions WHERE expires_at < $1", before)
        await conn.execute("DELETE FROM login_failures WHERE at < $1", before)
        await conn.execute("DELETE FROM holder_codes WHERE expires_at < $1", before)
        await conn.execute("DELETE FROM password_links WHERE expires_at < $1", before)


async def failures(
    pool: asyncpg.Pool, keys: list[str], since: datetime
) -> dict[str, list[datetime]]:
    rows = await pool.fetch(
        "SELECT key, at FROM login_failures WHERE key = ANY($1::text[]) AND at > $2",
        keys,
        since,
    )
    found: dict[str, list[datetime]] = {k: [] for k in keys}
    for r in rows:
        found[r["key"]].append(r["at"])
    return found


async def fail(pool: asyncpg.Pool, keys: list[str], at: datetime) -> None:
    await pool.execute(
        "INSERT INTO login_failures (key, at) SELECT unnest($1::text[]), $2", keys, at
    )


async def forgive(pool: asyncpg.Pool, key: str) -> None:
    """A successful sign-in clears the account's failures (not the address's)."""
    await pool.execute("DELETE FROM login_failures WHERE key = $1", key)
