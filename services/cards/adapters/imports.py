"""What a customer file import (F5) reads and writes in bulk: the association's defaults, the
accounts by phone, the cards and e-mail addresses the file names, new accounts, completed
details, opening balances and the file's cards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.db.query import Batch

# The account details a file may complete; the phone identifies the account.
DETAILS = ("email", "title", "first_name", "last_name", "birth_date", "postal_code")
_ACCOUNT_COLUMNS = "id, phone, balance_cents, " + ", ".join(DETAILS)

_OPEN = Batch(
    "accounts",
    [
        ("id", "uuid"),
        ("association_id", "uuid"),
        ("phone", "text"),
        ("email", "text"),
        ("title", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("birth_date", "date"),
        ("postal_code", "text"),
        ("opened_at", "timestamptz"),
    ],
    "ON CONFLICT (association_id, phone) DO NOTHING RETURNING id, phone, balance_cents, opened_at",
)
_CARDS = Batch(
    "cards",
    [
        ("number", "text"),
        ("association_id", "uuid"),
        ("card_type_id", "uuid"),
        ("account_id", "uuid"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("issued_at", "timestamptz"),
        ("status_changed_at", "timestamptz"),
    ],
    "ON CONFLICT (number) DO NOTHING RETURNING number, issued_at",
)

# (id, phone, email, title, first_name, last_name, birth_date, postal_code)
NewAccount = tuple[
    UUID, str, str | None, str | None, str | None, str | None, date | None, str | None
]
# (card number, account, first name, last name)
NewCard = tuple[str, UUID, str | None, str | None]


async def lock_association(conn: asyncpg.Connection, association_id: UUID) -> asyncpg.Record | None:
    """Two imports of one association run one after the other (each sees the other's cards):
    its default card type and issuer prefix, None for no such association."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"cards.import:{association_id}"
    )
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT default_card_type_id, issuer_prefix FROM associations WHERE id = $1",
        association_id,
    )
    return row


async def lock_by_phone(
    conn: asyncpg.Connection, association_id: UUID, phones: list[str]
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        f"""SELECT {_ACCOUNT_COLUMNS} FROM accounts
            WHERE association_id = $1 AND phone = ANY($2::text[])
            ORDER BY id FOR UPDATE""",
        association_id,
        phones,
    )
    return {r["phone"]: r for r in rows}


async def cards_by_number(
    conn: asyncpg.Connection, numbers: list[str]
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT number, account_id, association_id FROM cards WHERE number = ANY($1::text[])",
        numbers,
    )
    return {r["number"]: r for r in rows}


async def email_owners(
    conn: asyncpg.Connection, association_id: UUID, emails: list[str]
) -> dict[str, UUID]:
    """The accounts that have these addresses, on the account or as a linked identifier."""
    rows = await conn.fetch(
        """SELECT lower(email) AS email, id AS account_id FROM accounts
           WHERE association_id = $1 AND lower(email) = ANY($2::text[])
           UNION ALL
           SELECT value, account_id FROM account_identifiers
           WHERE association_id = $1 AND kind = 'email' AND value = ANY($2::text[])""",
        association_id,
        emails,
    )
    return {r["email"]: r["account_id"] for r in rows}


async def open_accounts(
    conn: asyncpg.Connection, association_id: UUID, new: Sequence[NewAccount], at: datetime
) -> list[asyncpg.Record]:
    """The accounts opened (id, phone, balance_cents, opened_at); a phone opened meanwhile by a
    sale is left out."""
    return await _OPEN.fetch(
        conn,
        [(i, association_id, phone, *details, at) for i, phone, *details in new],
    )


async def complete_details(
    conn: asyncpg.Connection, ids: list[UUID], columns: list[list[Any]]
) -> None:
    """Fill the details an account does not have yet (``columns``: one list per ``DETAILS``)."""
    await conn.execute(
        """UPDATE accounts a SET email = coalesce(a.email, v.email),
               title = coalesce(a.title, v.title),
               first_name = coalesce(a.first_name, v.first_name),
               last_name = coalesce(a.last_name, v.last_name),
               birth_date = coalesce(a.birth_date, v.birth_date),
               postal_code = coalesce(a.postal_code, v.postal_code)
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[],
                       $7::text[])
                v(id, email, title, first_name, last_name, birth_date, postal_code)
           WHERE a.id = v.id""",
        ids,
        *columns,
    )


async def opening_balances_booked(conn: asyncpg.Connection, refs: list[UUID]) -> set[UUID]:
    rows = await conn.fetch(
        """SELECT reference_id FROM cagnotte_entries
           WHERE kind = 'opening_balance' AND bucket = 'available'
             AND reference_id = ANY($1::uuid[])""",
        refs,
    )
    return {r["reference_id"] for r in rows}


async def credit(conn: asyncpg.Connection, ids: list[UUID], amounts: list[int]) -> dict[UUID, int]:
    """Add to the accounts' available cagnotte: their balance after."""
    rows = await conn.fetch(
        """UPDATE accounts a SET balance_cents = a.balance_cents + v.amount
           FROM unnest($1::uuid[], $2::bigint[]) v(id, amount)
           WHERE a.id = v.id
           RETURNING a.id, a.balance_cents""",
        ids,
        amounts,
    )
    return {r["id"]: r["balance_cents"] for r in rows}


async def issue_cards(
    conn: asyncpg.Connection,
    association_id: UUID,
    card_type_id: UUID | None,
    new: Sequence[NewCard],
    at: datetime,
) -> list[asyncpg.Record]:
    """The cards issued (number, issued_at); a number issued meanwhile is left out."""
    return await _CARDS.fetch(
        conn,
        [
            (number, association_id, card_type_id, account_id, first, last, at, at)
            for number, account_id, first, last in new
        ],
    )
