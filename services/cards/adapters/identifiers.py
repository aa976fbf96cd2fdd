"""What identifies an account besides its phone and its cards (F2): e-mail addresses and
bank-card tokens linked to it (``account_identifiers``), unique in an association."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from shared.db.query import Batch

_LINK_EMAILS = Batch(
    "account_identifiers",
    [
        ("association_id", "uuid"),
        ("kind", "text"),
        ("value", "text"),
        ("account_id", "uuid"),
        ("linked_at", "timestamptz"),
    ],
    "ON CONFLICT (association_id, kind, value) DO NOTHING",
)


async def of_account(conn: asyncpg.Connection, account_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT kind, value, linked_at FROM account_identifiers
           WHERE account_id = $1 ORDER BY linked_at, kind, value""",
        account_id,
    )
    return rows


async def email_lock(conn: asyncpg.Connection, association_id: UUID, email: str) -> None:
    """Serialise the checks of one e-mail address in one association."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"email/{association_id}/{email}"
    )


async def email_locks(conn: asyncpg.Connection, keys: list[tuple[UUID, str]]) -> None:
    """``email_lock`` for each (association, e-mail), in one order whatever the caller's, so
    two batches that lock the same addresses cannot deadlock."""
    for association_id, email in sorted(set(keys)):
        await email_lock(conn, association_id, email)


async def link_emails(
    conn: asyncpg.Connection, links: list[tuple[UUID, str, UUID]], at: datetime
) -> None:
    """Link each (association, e-mail, account), the e-mail given at an enrolment, checked
    free under ``email_lock`` by the caller."""
    await _LINK_EMAILS.execute(conn, [(a, "email", e, acc, at) for a, e, acc in links])


async def email_owner(
    conn: asyncpg.Connection, association_id: UUID, email: str, account_id: UUID
) -> UUID | None:
    """Another account of the association that has this e-mail address, if any."""
    other: UUID | None = await conn.fetchval(
        """SELECT id FROM accounts WHERE association_id = $1 AND lower(email) = $2 AND id <> $3
           UNION ALL
           SELECT account_id FROM account_identifiers
           WHERE association_id = $1 AND kind = 'email' AND value = $2 AND account_id <> $3
           LIMIT 1""",
        association_id,
        email,
        account_id,
    )
    return other


async def link(
    conn: asyncpg.Connection,
    association_id: UUID,
    kind: str,
    value: str,
    account_id: UUID,
    at: datetime,
) -> tuple[asyncpg.Record, bool]:
    """The identifier's row, and whether it was linked now (False: it was there, maybe on
    another account)."""
    row = await conn.fetchrow(
        """INSERT INTO account_identifiers (association_id, kind, value, account_id, linked_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (association_id, kind, value) DO NOTHING
           RETURNING *""",
        association_id,
        kind,
        value,
        account_id,
        at,
    )
    if row is not None:
        return row, True
    row = await conn.fetchrow(
        "SELECT * FROM account_identifiers WHERE association_id = $1 AND kind = $2 AND value = $3",
        association_id,
        kind,
        value,
    )
    return row, False
