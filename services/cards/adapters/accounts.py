"""Accounts and their identifiers (F2): look-ups, locks, opening, the holder's details."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.domain.identifiers import Kind as IdentifierKind
from shared import clock
from shared.db.query import Batch, one_or_404
from shared.http import Problem

_OPEN = Batch(
    "accounts",
    [
        ("id", "uuid"),
        ("association_id", "uuid"),
        ("phone", "text"),
        ("opened_by_merchant", "uuid"),
        ("email", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("opened_at", "timestamptz"),
    ],
    "ON CONFLICT (association_id, phone) DO NOTHING RETURNING id",
)
_OPEN_ANONYMOUS = Batch(
    "accounts", [("id", "uuid"), ("association_id", "uuid"), ("opened_at", "timestamptz")]
)


async def open_accounts(
    conn: asyncpg.Connection,
    new: list[tuple[UUID, UUID, str | None, UUID, str | None, str | None, str | None]],
) -> set[UUID]:
    """Insert (id, association, phone, merchant, email, first, last); return the ids created
    (an account without a phone, enrolled by e-mail, is always created: the caller checked its
    e-mail address under ``identifiers.email_lock``)."""
    now = clock.now()  # the liability counts accounts opened by then, on the services' clock
    rows = await _OPEN.fetch(conn, [(*n, now) for n in new])
    return {r["id"] for r in rows}


async def open_anonymous(
    conn: asyncpg.Connection, association_id: UUID, ids: list[UUID], at: datetime
) -> None:
    """Accounts with no holder yet (a print batch's cards)."""
    await _OPEN_ANONYMOUS.execute(conn, [(i, association_id, at) for i in ids])


async def open_account(
    conn: asyncpg.Connection,
    account_id: UUID,
    association_id: UUID,
    phone: str | None,
    merchant_id: UUID | None,
    first_name: str | None,
    last_name: str | None,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO accounts (id, association_id, phone, opened_by_merchant, first_name,
                                 last_name, opened_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        account_id,
        association_id,
        phone,
        merchant_id,
        first_name,
        last_name,
        at,
    )


async def account_ids(
    conn: asyncpg.Connection, keys: Iterable[tuple[UUID, str]]
) -> dict[tuple[UUID, str], UUID]:
    pairs = list(set(keys))
    rows = await conn.fetch(
        """SELECT a.id, a.association_id, a.phone
           FROM accounts a JOIN unnest($1::uuid[], $2::text[]) k(association_id, phone)
             ON a.association_id = k.association_id AND a.phone = k.phone""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return {(r["association_id"], r["phone"]): r["id"] for r in rows}


async def email_accounts(
    conn: asyncpg.Connection, keys: Iterable[tuple[UUID, str]]
) -> dict[tuple[UUID, str], list[UUID]]:
    """The accounts each (association, e-mail address) names: an e-mail identifier linked to
    it, or the holder's e-mail on the account (erased accounts have none). The address is
    compared lower-cased, as every service spells it (shared/rules/email.py)."""
    pairs = list(set(keys))
    if not pairs:
        return {}
    rows = await conn.fetch(
        """WITH k(association_id, email) AS (SELECT * FROM unnest($1::uuid[], $2::text[]))
           SELECT k.association_id, k.email, i.account_id AS id
           FROM k JOIN account_identifiers i
             ON i.association_id = k.association_id AND i.kind = 'email' AND i.value = k.email
           UNION
           SELECT k.association_id, k.email, a.id
           FROM k JOIN accounts a
             ON a.association_id = k.association_id AND lower(a.email) = k.email
           ORDER BY 1, 2, 3""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    out: dict[tuple[UUID, str], list[UUID]] = {}
    for r in rows:
        out.setdefault((r["association_id"], r["email"]), []).append(r["id"])
    return out


async def lock_accounts(
    conn: asyncpg.Connection, ids: Iterable[UUID]
) -> dict[UUID, asyncpg.Record]:
    """Lock accounts in id order, so that concurrent batches never deadlock."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT * FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", wanted
    )
    return {r["id"]: r for r in rows}


async def key_share(conn: asyncpg.Connection, account_id: UUID) -> UUID | None:
    """Key-lock an account so it stays while rows refer to it; its association, None if none."""
    association_id: UUID | None = await conn.fetchval(
        "SELECT association_id FROM accounts WHERE id = $1 FOR KEY SHARE", account_id
    )
    return association_id


async def by_phone_key_share(
    conn: asyncpg.Connection, association_id: UUID, phone: str
) -> UUID | None:
    found: UUID | None = await conn.fetchval(
        "SELECT id FROM accounts WHERE association_id = $1 AND phone = $2 FOR KEY SHARE",
        association_id,
        phone,
    )
    return found


_FIND: dict[IdentifierKind, str] = {
    "phone": "SELECT * FROM accounts WHERE association_id = $1 AND phone = $2",
    "email": """SELECT * FROM accounts WHERE association_id = $1 AND lower(email) = $2
                UNION
                SELECT a.* FROM account_identifiers i JOIN accounts a ON a.id = i.account_id
                WHERE i.association_id = $1 AND i.kind = 'email' AND i.value = $2""",
    "card": """SELECT a.* FROM cards c JOIN accounts a ON a.id = c.account_id
               WHERE c.association_id = $1 AND c.number = $2""",
    "token": """SELECT a.* FROM account_identifiers i JOIN accounts a ON a.id = i.account_id
                WHERE i.association_id = $1 AND i.kind = 'token' AND i.value = $2""",
}


async def find(
    pool: asyncpg.Pool, association_id: UUID, kind: IdentifierKind, value: str
) -> list[asyncpg.Record]:
    """The accounts of the association that this identifier names (several: a conflict)."""
    rows: list[asyncpg.Record] = await pool.fetch(_FIND[kind], association_id, value)
    return rows


def unknown(account_id: UUID) -> Problem:
    return Problem(404, "Unknown account", f"no account {account_id}")


async def get(conn: asyncpg.Connection, account_id: UUID) -> asyncpg.Record:
    return await one_or_404(
        conn, "account", account_id, "SELECT * FROM accounts WHERE id = $1", account_id
    )


async def phone_owner(conn: asyncpg.Connection, association_id: UUID, phone: str) -> UUID | None:
    other: UUID | None = await conn.fetchval(
        "SELECT id FROM accounts WHERE association_id = $1 AND phone = $2", association_id, phone
    )
    return other


# The holder's details a back-office PATCH may change (the column names are these constants).
DETAILS = frozenset(
    {"title", "first_name", "last_name", "email", "birth_date", "postal_code", "phone"}
)


async def update_details(
    conn: asyncpg.Connection, account_id: UUID, changes: dict[str, Any]
) -> asyncpg.Record:
    """Set the holder's details (asyncpg.UniqueViolationError: a phone taken meanwhile)."""
    columns = sorted(changes)
    if not set(columns) <= DETAILS:
        raise ValueError(f"not a holder's detail: {sorted(set(columns) - DETAILS)}")
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    row: asyncpg.Record = await conn.fetchrow(
        f"UPDATE accounts SET {sets} WHERE id = $1 RETURNING *",
        account_id,
        *(changes[c] for c in columns),
    )
    return row


async def reset_visits(conn: asyncpg.Connection, account_id: UUID) -> None:
    await conn.execute(
        "UPDATE accounts SET visits = 0, window_started_at = NULL WHERE id = $1", account_id
    )
