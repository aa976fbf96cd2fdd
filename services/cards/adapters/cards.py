"""Cards and their print batches (F3), their status and last use (F4)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.cards.adapters import batches
from services.cards.domain.cards import CardState
from shared.http import Problem

PROBLEMS = "https://comptoir.dev/problems/"

# With what the card's routes show: its type's name and validity, the association's dormancy
# and issuer prefix, and the card it replaced.
_CARD_SELECT = """
SELECT c.*, t.name AS card_type_name, t.validity_months, a.dormant_after_days, a.issuer_prefix,
       (SELECT o.number FROM cards o
        WHERE o.account_id = c.account_id AND o.replaced_by = c.number LIMIT 1) AS replaces
FROM cards c
JOIN card_types t ON t.id = c.card_type_id
JOIN associations a ON a.id = c.association_id"""


def state(r: asyncpg.Record) -> CardState:
    return CardState(
        r["number"], r["status"], r["expires_on"], r["last_used_at"], r["issued_at"],
        r.get("replaced_by"),
    )  # fmt: skip


def unknown_card(number: str) -> Problem:
    return Problem(404, "Unknown card", f"no card {number}", PROBLEMS + "unknown-card")


async def get(conn: asyncpg.Connection | asyncpg.Pool, number: str) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(_CARD_SELECT + " WHERE c.number = $1", number)
    if row is None:
        raise unknown_card(number)
    return row


async def lock(conn: asyncpg.Connection, number: str) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        _CARD_SELECT + " WHERE c.number = $1 FOR UPDATE OF c", number
    )
    if row is None:
        raise unknown_card(number)
    return row


async def of_account(conn: asyncpg.Connection, account_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        _CARD_SELECT + " WHERE c.account_id = $1 ORDER BY c.issued_at, c.number", account_id
    )
    return rows


async def account_of(conn: asyncpg.Connection, number: str) -> UUID:
    account_id: UUID | None = await conn.fetchval(
        "SELECT account_id FROM cards WHERE number = $1", number
    )
    if account_id is None:
        raise unknown_card(number)
    return account_id


async def insert(
    conn: asyncpg.Connection,
    *,
    number: str,
    association_id: UUID,
    card_type_id: UUID,
    account_id: UUID,
    batch_id: UUID,
    issued_at: datetime,
    issued_by_merchant: UUID | None,
    first_name: str | None,
    last_name: str | None,
    expires_on: date | None,
) -> None:
    """One card, in a print batch of its own (so it can be printed like any batch)."""
    await batches.insert(conn, batch_id, association_id, card_type_id, 1, issued_at)
    try:
        await conn.execute(
            """INSERT INTO cards (number, association_id, card_type_id, account_id, issued_at,
                                  issued_by_merchant, batch_id, first_name, last_name, expires_on,
                                  status_changed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $5)""",
            number,
            association_id,
            card_type_id,
            account_id,
            issued_at,
            issued_by_merchant,
            batch_id,
            first_name,
            last_name,
            expires_on,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Problem(
            409,
            "Card number taken",
            f"card {number} already exists (imported under this prefix?): move the "
            "association's next serial past it",
        ) from exc


async def set_status(
    conn: asyncpg.Connection,
    number: str,
    status: str,
    at: datetime,
    *,
    replaced_by: str | None = None,
    reactivated: bool = False,
) -> None:
    await conn.execute(
        """UPDATE cards SET status = $2, status_changed_at = $3,
               replaced_by = coalesce($4, replaced_by),
               reactivated_at = CASE WHEN $5 THEN $3 ELSE reactivated_at END
           WHERE number = $1""",
        number,
        status,
        at,
        replaced_by,
        reactivated,
    )


async def used_now(conn: asyncpg.Connection, number: str, at: datetime) -> None:
    """A dormant card reactivated counts as used now."""
    await conn.execute(
        "UPDATE cards SET last_used_at = $2, reactivated_at = $2 WHERE number = $1", number, at
    )


async def set_expiry(conn: asyncpg.Connection, number: str, expires_on: date) -> None:
    await conn.execute("UPDATE cards SET expires_on = $2 WHERE number = $1", number, expires_on)


async def mark_cloned(
    conn: asyncpg.Connection, numbers: list[str], at: datetime, blocked: Iterable[str]
) -> list[asyncpg.Record]:
    """The cards not already in a ``blocked`` status become ``cloned``: their number and
    association."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE cards SET status = 'cloned', status_changed_at = $2
           WHERE number = ANY($1::text[]) AND status <> ALL($3::text[])
           RETURNING number, association_id""",
        numbers,
        at,
        list(blocked),
    )
    return rows


async def for_checks(conn: asyncpg.Connection, numbers: Iterable[str]) -> dict[str, asyncpg.Record]:
    """The cards and what their checks at use need (the issuing association's dormancy period)."""
    wanted = list(set(numbers))
    if not wanted:
        return {}
    rows = await conn.fetch(
        """SELECT c.number, c.card_type_id, c.account_id, c.status, c.expires_on, c.last_used_at,
                  c.issued_at, c.association_id, a.dormant_after_days, c.status_changed_at,
                  a.books_start
           FROM cards c JOIN associations a ON a.id = c.association_id
           WHERE c.number = ANY($1::text[])""",
        wanted,
    )
    return {r["number"]: r for r in rows}


async def touch(conn: asyncpg.Connection, used: dict[str, datetime]) -> None:
    """Last-use dates (F4), in number order so that concurrent batches never deadlock."""
    if used:
        numbers = sorted(used)
        await conn.execute(
            """UPDATE cards c SET last_used_at = greatest(c.last_used_at, v.at)
               FROM unnest($1::text[], $2::timestamptz[]) v(number, at) WHERE c.number = v.number""",
            numbers,
            [used[n] for n in numbers],
        )
