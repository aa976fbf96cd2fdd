"""The journal in PostgreSQL: ``journal_entries``, their ``postings`` and the
``pivot_accounts`` they post to (the tables keep their names); the books' row of each
association, which a booking holds FOR SHARE so that a close waits for it."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.clearing.domain import bookings
from services.clearing.domain.bookings import Entry
from services.clearing.domain.journal import PivotAccount
from shared.db.query import Batch

_ACCOUNTS = Batch(
    "pivot_accounts",
    (("association_id", "uuid"), ("kind", "text"), ("merchant_id", "uuid"), ("partner_id", "uuid")),
    "ON CONFLICT DO NOTHING",
)
_ACCOUNT_IDS = """
SELECT a.id, a.association_id, a.kind, coalesce(a.merchant_id, a.partner_id) AS party
FROM pivot_accounts a
JOIN unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[])
     k(association_id, kind, merchant_id, partner_id)
  ON a.association_id = k.association_id AND a.kind = k.kind
 AND a.merchant_id IS NOT DISTINCT FROM k.merchant_id
 AND a.partner_id IS NOT DISTINCT FROM k.partner_id"""

_BOOKS = Batch("books", (("association_id", "uuid"),), "ON CONFLICT DO NOTHING")
_ENTRIES = Batch(
    "journal_entries",
    (
        ("kind", "text"),
        ("reference_id", "uuid"),
        ("event_id", "uuid"),
        ("event_time", "timestamptz"),
        ("association_id", "uuid"),
        ("merchant_id", "uuid"),
        ("occurred_at", "timestamptz"),
        ("period", "date"),
        ("account_id", "uuid"),
        ("card_number", "text"),
        ("product_family", "text"),
        ("product_family_label", "text"),
        ("rate_bps", "integer"),
        ("rate_source", "text"),
        ("purchase_cents", "bigint"),
        ("amount_cents", "bigint"),
        ("reward_cents", "bigint"),
        ("fee_cents", "bigint"),
        ("merchant_cents", "bigint"),
        ("partner_id", "uuid"),
        ("adjusts_period", "date"),
        ("note", "text"),
    ),
    "ON CONFLICT (kind, reference_id) DO NOTHING RETURNING id, kind, reference_id",
)


async def _account_ids(
    conn: asyncpg.Connection, keys: set[PivotAccount]
) -> dict[PivotAccount, int]:
    # Sorted: two batches opening the same new accounts insert them in the same order.
    ks = sorted(keys, key=lambda k: (str(k[0]), k[1], str(k[2])))
    rows = [(k[0], k[1], *bookings.party_columns(k)) for k in ks]
    await _ACCOUNTS.execute(conn, rows)
    found = await conn.fetch(_ACCOUNT_IDS, *_ACCOUNTS.arrays(rows))
    return {(r["association_id"], r["kind"], r["party"]): r["id"] for r in found}


async def closed_through(conn: asyncpg.Connection, associations: set[UUID]) -> dict[UUID, date]:
    """The last closed period of each association, held (FOR SHARE) until the transaction
    ends: a close waits for the bookings under way, which then see it."""
    ids = sorted(associations)
    query = """SELECT association_id, closed_through FROM books WHERE association_id = ANY($1)
               ORDER BY association_id FOR SHARE"""
    rows = await conn.fetch(query, ids)
    if len(rows) < len(ids):  # an association's first booking: its row, once
        await _BOOKS.execute(conn, [(i,) for i in ids])
        rows = await conn.fetch(query, ids)
    return {r["association_id"]: r["closed_through"] for r in rows if r["closed_through"]}


async def book(conn: asyncpg.Connection, entries: list[Entry]) -> int:
    """Each (kind, reference) once, whatever is redelivered or re-sent under a new event id;
    in the period its date and the books give. The number of entries booked."""
    todo = bookings.to_book(entries)
    if not todo:
        return 0
    closed = await closed_through(conn, {e.association_id for e in todo})
    todo = [bookings.in_period(e, closed.get(e.association_id)) for e in todo]
    rows = [
        (
            e.kind,
            e.reference_id,
            e.event_id,
            e.event_time,
            e.association_id,
            e.merchant_id,
            e.occurred_at,
            e.period,
            e.account_id,
            e.card_number,
            e.product_family,
            e.product_family_label,
            e.rate_bps,
            e.rate_source,
            e.purchase_cents,
            e.amount_cents,
            e.reward_cents,
            e.fee_cents,
            bookings.merchant_cents(e),
            e.partner_id,
            e.adjusts_period,
            e.note,
        )
        for e in todo
    ]
    entry_ids = {(r["kind"], r["reference_id"]): r["id"] for r in await _ENTRIES.fetch(conn, rows)}
    booked = [e for e in todo if (e.kind, e.reference_id) in entry_ids]
    if not booked:
        return 0
    accounts = await _account_ids(conn, {p.account for e in booked for p in e.postings})
    lines = [
        (entry_ids[(e.kind, e.reference_id)], accounts[p.account], p.amount_cents)
        for e in booked
        for p in e.postings
    ]
    await conn.copy_records_to_table(
        "postings", records=lines, columns=("entry_id", "account_id", "amount_cents")
    )
    return len(booked)


async def pivot_balances(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID, at: datetime | None
) -> list[asyncpg.Record]:
    """Each account of the association: its balance (debit positive) and its postings, of the
    entries that occurred at or before ``at`` (None: all)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT a.kind, coalesce(a.merchant_id, a.partner_id) AS merchant_id,
                  coalesce(sum(p.amount_cents), 0)::bigint AS balance_cents,
                  count(p.id) AS postings
           FROM pivot_accounts a
           LEFT JOIN (postings p JOIN journal_entries e
                      ON e.id = p.entry_id AND ($2::timestamptz IS NULL OR e.occurred_at <= $2))
             ON p.account_id = a.id
           WHERE a.association_id = $1 GROUP BY a.id ORDER BY a.kind, 2""",
        association_id,
        at,
    )
    return rows


async def entries_of(
    conn: asyncpg.Connection | asyncpg.Pool, reference: UUID
) -> list[asyncpg.Record]:
    """The postings of the entries booked for a reference, entry by entry."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT e.id, e.kind, e.merchant_id, e.occurred_at, e.booked_at, a.kind AS account_kind,
                  a.merchant_id AS account_merchant, p.amount_cents
           FROM journal_entries e JOIN postings p ON p.entry_id = e.id
           JOIN pivot_accounts a ON a.id = p.account_id
           WHERE e.reference_id = $1 ORDER BY e.id, p.id""",
        reference,
    )
    return rows


async def merchant_adjustment(conn: asyncpg.Connection, reference: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT merchant_id, adjusts_period, merchant_cents, note, period
           FROM journal_entries WHERE kind = 'merchant_adjustment' AND reference_id = $1""",
        reference,
    )
    return row
