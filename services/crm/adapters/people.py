"""The customer file's details, the merchants' files and the message log in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.crm.domain.people import FIELDS, Details
from shared.db.query import Batch, one_or_404

_DETAILS = ", ".join(FIELDS)
_COLUMNS = f"""account_id, association_id, {_DETAILS}, enrolled_at,
               enrolled_by_merchant::text AS enrolled_by_merchant, visit_count,
               total_spent_cents, last_visit_at, details_updated_at, erased_at, pseudonym,
               no_receipts"""
_FILE = f"SELECT {_COLUMNS} FROM customers WHERE account_id = $1"


def details_of(row: asyncpg.Record) -> Details:
    values: dict[str, Any] = {name: row[name] for name in FIELDS}
    values["children_birthdays"] = tuple(values["children_birthdays"] or ())
    return Details(**values)


async def file(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> asyncpg.Record:
    """The customer's file, or a 404 ``unknown_customer``."""
    return await one_or_404(conn, "customer", account_id, _FILE, account_id)


async def files(conn: asyncpg.Connection, account_ids: list[UUID]) -> dict[UUID, asyncpg.Record]:
    """The files of these customers, by account (those that exist)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM customers WHERE account_id = ANY($1::uuid[])", account_ids
    )
    return {r["account_id"]: r for r in rows}


async def by_name(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID, words: list[str], limit: int
) -> list[asyncpg.Record]:
    """The association's files (not erased) whose names hold every word, case and accents
    aside (ILIKE), by last then first name. It reads the association's files one by one: a
    counter's occasional search; a trigram index is the next step for a very large network."""
    patterns = [
        "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in words
    ]
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT account_id, first_name, last_name, postal_code
           FROM customers
           WHERE association_id = $1 AND erased_at IS NULL
             AND concat_ws(' ', first_name, last_name) ILIKE ALL($2::text[])
           ORDER BY last_name NULLS LAST, first_name NULLS LAST, account_id
           LIMIT $3""",
        association_id,
        patterns,
        limit,
    )
    return rows


async def by_accounts(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID, accounts: list[UUID]
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT account_id, first_name, last_name, postal_code
           FROM customers
           WHERE association_id = $1 AND account_id = ANY($2::uuid[]) AND erased_at IS NULL
           ORDER BY account_id""",
        association_id,
        accounts,
    )
    return rows


async def file_for_update(conn: asyncpg.Connection, account_id: UUID) -> asyncpg.Record:
    """The file, locked until the transaction ends (two corrections do not interleave)."""
    return await one_or_404(conn, "customer", account_id, _FILE + " FOR UPDATE", account_id)


async def open_file(conn: asyncpg.Connection, account_id: UUID, association_id: UUID) -> None:
    """A file with no detail yet, for a correction that arrived before the account's opening
    (whose details then fill only what is still empty)."""
    await conn.execute(
        """INSERT INTO customers (account_id, association_id) VALUES ($1, $2)
           ON CONFLICT (account_id) DO NOTHING""",
        account_id,
        association_id,
    )


async def opened_by_correction(
    conn: asyncpg.Connection, account_ids: list[UUID]
) -> dict[UUID, asyncpg.Record]:
    """The files of these accounts whose details changed (and were published) before the
    account's opening: no enrolment date yet, not erased; locked until the transaction ends.
    A file a visit opened first has no change of details and is not one of them."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM customers
            WHERE account_id = ANY($1::uuid[]) AND enrolled_at IS NULL
              AND details_updated_at IS NOT NULL AND erased_at IS NULL
            ORDER BY account_id FOR UPDATE""",
        account_ids,
    )
    return {r["account_id"]: r for r in rows}


_SET = ", ".join(f"{name} = ${i}" for i, name in enumerate(FIELDS, start=2))


async def save_details(
    conn: asyncpg.Connection, account_id: UUID, d: Details, at: datetime
) -> None:
    values = [getattr(d, name) for name in FIELDS]
    values[FIELDS.index("children_birthdays")] = list(d.children_birthdays)
    await conn.execute(
        f"UPDATE customers SET {_SET}, details_updated_at = ${len(FIELDS) + 2} "
        "WHERE account_id = $1",
        account_id,
        *values,
        at,
    )


async def find(
    conn: asyncpg.Connection | asyncpg.Pool,
    association_id: UUID,
    phone: str | None,
    email: str | None,
) -> list[asyncpg.Record]:
    """The files of an association with this mobile or e-mail (not erased)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT account_id FROM customers
           WHERE association_id = $1 AND erased_at IS NULL
             AND ((phone = $2 AND $2 IS NOT NULL) OR (email = $3 AND $3 IS NOT NULL))
           ORDER BY enrolled_at""",
        association_id,
        phone,
        email,
    )
    return rows


# --- the merchants' files -------------------------------------------------------------------


async def join_merchant_file(
    conn: asyncpg.Connection, account_id: UUID, merchant_id: UUID, at: datetime, how: str
) -> bool:
    """The customer enters the merchant's file (without a visit yet); False: already in it."""
    status: str = await conn.execute(
        """INSERT INTO merchant_customers (account_id, merchant_id, joined_at, joined_how)
           VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, merchant_id) DO NOTHING""",
        account_id,
        merchant_id,
        at,
        how,
    )
    return status.endswith(" 1")


_JOIN = Batch(
    "merchant_customers",
    [("account_id", "uuid"), ("merchant_id", "uuid"), ("joined_at", "timestamptz"),
     ("joined_how", "text")],
    "ON CONFLICT (account_id, merchant_id) DO NOTHING",
)  # fmt: skip


async def join_merchant_files(
    conn: asyncpg.Connection, joins: list[tuple[UUID, UUID, datetime]], how: str
) -> None:
    """``join_merchant_file`` for a batch of (account, merchant, at), in one statement, in
    the lock order (account, merchant); a pair already in the file is left as it is."""
    await _JOIN.execute(conn, [(*j, how) for j in sorted(joins, key=lambda j: (j[0], j[1]))])


async def merchant_file(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID, merchant_id: UUID
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT account_id, merchant_id, visit_count, total_spent_cents, first_visit_at,
                  last_visit_at, coalesce(joined_at, first_visit_at) AS joined_at,
                  coalesce(joined_how, 'visit') AS joined_how
           FROM merchant_customers WHERE account_id = $1 AND merchant_id = $2""",
        account_id,
        merchant_id,
    )
    return row


async def merchant_members(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: UUID, limit: int, after: UUID | None
) -> list[asyncpg.Record]:
    """A page of a merchant's file, by account."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT account_id FROM merchant_customers
           WHERE merchant_id = $1 AND account_id > $2
           ORDER BY account_id LIMIT $3""",
        merchant_id,
        after or UUID(int=0),  # before every account: a bound the index can use
        limit,
    )
    return rows


# --- the messages crm asked for ---------------------------------------------------------------


_LOG = Batch(
    "customer_messages",
    [
        ("message_id", "uuid"),
        ("account_id", "uuid"),
        ("channel", "text"),
        ("category", "text"),
        ("template", "text"),
        ("consent_id", "uuid"),
        ("requested_at", "timestamptz"),
        ("updated_at", "timestamptz"),
        ("campaign_id", "uuid"),
    ],
    "ON CONFLICT DO NOTHING",
)
# A message asked for: (message_id, account_id, channel, category, template, consent_id, at,
# campaign_id).
Logged = tuple[UUID, UUID, str, str, str, UUID | None, datetime, UUID | None]


async def log_messages(conn: asyncpg.Connection, logged: list[Logged]) -> None:
    """The messages asked for, in one statement (one asked again is there already)."""
    await _LOG.execute(conn, [(*m[:7], m[6], m[7]) for m in logged])


# A later status never goes back to an earlier one (a late "sent" after "delivered").
_RANK = "array_position(ARRAY['requested','queued','deferred','sent','delivered','failed'], {})"


async def message_statuses(
    conn: asyncpg.Connection, statuses: list[tuple[UUID, str, str | None, datetime]]
) -> None:
    await conn.execute(
        f"""UPDATE customer_messages m SET status = s.status, reason = s.reason,
                   updated_at = s.at
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
                 AS s (message_id, status, reason, at)
            WHERE m.message_id = s.message_id
              AND {_RANK.format("s.status")} >= {_RANK.format("m.status")}""",
        [s[0] for s in statuses],
        [s[1] for s in statuses],
        [s[2] for s in statuses],
        [s[3] for s in statuses],
    )


async def messages_of(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT message_id, channel, category, template, consent_id, status, reason,
                  requested_at, updated_at
           FROM customer_messages WHERE account_id = $1 ORDER BY requested_at, message_id""",
        account_id,
    )
    return rows


# --- erasure and retention ----------------------------------------------------------------


async def erase(conn: asyncpg.Connection, account_id: UUID, pseudonym: str, at: datetime) -> None:
    """Every detail of the file goes; the counters and the visits (amounts, no person) stay,
    under the account id, and the file is named by ``pseudonym``. The consents lose their
    address (their proof keeps when, how and which wording); the referral code is forgotten."""
    cleared = ", ".join(
        f"{name} = DEFAULT" if name in ("children_birthdays", "language") else f"{name} = NULL"
        for name in FIELDS
    )
    await conn.execute(
        f"""UPDATE customers SET {cleared}, pseudonym = $2, erased_at = $3,
                   details_updated_at = $3
            WHERE account_id = $1""",
        account_id,
        pseudonym,
        at,
    )
    await conn.execute("UPDATE consents SET address = NULL WHERE account_id = $1", account_id)
    # The referral code named the person to their friends: it goes (their sponsorships stay,
    # amounts and accounts, no person).
    await conn.execute("DELETE FROM referral_codes WHERE account_id = $1", account_id)


async def inactive(
    conn: asyncpg.Connection, before: datetime, limit: int, after: UUID | None = None
) -> list[UUID]:
    """Files not erased whose last sign of life (a visit, the enrolment, a change of details)
    is before ``before``, in account order (the lock order), after ``after``."""
    rows = await conn.fetch(
        """SELECT account_id FROM customers
           WHERE erased_at IS NULL
             AND greatest(last_visit_at, enrolled_at, details_updated_at) < $1
             AND account_id > $3
           ORDER BY account_id LIMIT $2""",
        before,
        limit,
        after or UUID(int=0),  # before every account: a bound a generic plan can use
    )
    return [r["account_id"] for r in rows]


async def visits_of(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT sale_id, merchant_id, shop_id, amount_cents, product_family, occurred_at,
                  cancelled_at
           FROM visits WHERE account_id = $1 ORDER BY occurred_at, sale_id""",
        account_id,
    )
    return rows


async def cards_of(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT card_number, issued_at, replaces FROM customer_cards
           WHERE account_id = $1 ORDER BY issued_at, card_number""",
        account_id,
    )
    return rows
