"""People and their password links in PostgreSQL (every statement of them is here)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

_PERSON = "id, email, name, role, association_id, merchant_id, password_set_at, created_at"


async def insert(
    conn: asyncpg.Connection,
    person_id: UUID,
    email: str,
    name: str,
    scope: tuple[str, UUID | None, UUID | None],
    created_by: str,
    at: datetime,
) -> asyncpg.Record | None:
    """The new person, or None when the id is taken (the caller reads it back)."""
    role, association_id, merchant_id = scope
    return await conn.fetchrow(
        f"""INSERT INTO people (id, email, name, role, association_id, merchant_id,
                                created_by, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (id) DO NOTHING RETURNING {_PERSON}""",
        person_id,
        email,
        name,
        role,
        association_id,
        merchant_id,
        created_by,
        at,
    )


async def get(conn: asyncpg.Connection | asyncpg.Pool, person_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_PERSON} FROM people WHERE id = $1", person_id)


async def by_email(conn: asyncpg.Connection | asyncpg.Pool, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_PERSON}, password_hash FROM people WHERE email = $1", email
    )


async def in_scope(
    pool: asyncpg.Pool, association_id: UUID | None, merchant_id: UUID | None
) -> list[asyncpg.Record]:
    """The people of an association (or one merchant of it); all of them for (None, None)."""
    rows: list[asyncpg.Record] = await pool.fetch(
        f"""SELECT {_PERSON} FROM people
            WHERE ($1::uuid IS NULL OR association_id = $1)
              AND ($2::uuid IS NULL OR merchant_id = $2)
            ORDER BY email LIMIT 1000""",
        association_id,
        merchant_id,
    )
    return rows


async def set_password(
    conn: asyncpg.Connection, person_id: UUID, password_hash: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE people SET password_hash = $2, password_set_at = $3 WHERE id = $1",
        person_id,
        password_hash,
        at,
    )


async def rehash(conn: asyncpg.Pool, person_id: UUID, old: str, new: str) -> None:
    """A hash made with older argon2 parameters, replaced at the next sign-in."""
    await conn.execute(
        "UPDATE people SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
        person_id,
        old,
        new,
    )


async def add_link(
    conn: asyncpg.Connection,
    token_hash: bytes,
    person_id: UUID,
    purpose: str,
    at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO password_links (token_hash, person_id, purpose, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        token_hash,
        person_id,
        purpose,
        at,
        expires_at,
    )


async def link(conn: asyncpg.Connection | asyncpg.Pool, token_hash: bytes) -> asyncpg.Record | None:
    """The link (locked, in a transaction), with its person's e-mail."""
    return await conn.fetchrow(
        """SELECT l.person_id, l.purpose, l.expires_at, l.used_at, p.email, p.name
           FROM password_links l JOIN people p ON p.id = l.person_id
           WHERE l.token_hash = $1 FOR UPDATE OF l""",
        token_hash,
    )


async def spend_links(conn: asyncpg.Connection, person_id: UUID, at: datetime) -> None:
    """Every open link of the person is used up: a password set ends them all."""
    await conn.execute(
        "UPDATE password_links SET used_at = $2 WHERE person_id = $1 AND used_at IS NULL",
        person_id,
        at,
    )


async def named(pool: asyncpg.Pool, person_ids: list[UUID]) -> list[asyncpg.Record]:
    """The name, role and association of each of these people the portal still knows."""
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT id, name, role, association_id FROM people WHERE id = ANY($1::uuid[])",
        person_ids,
    )
    return rows
