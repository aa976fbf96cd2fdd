"""SQL of the cards service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, get_args
from uuid import UUID

import asyncpg

from shared import clock
from shared.rules.accounts import Bucket


async def open_accounts(
    conn: asyncpg.Connection,
    new: list[tuple[UUID, UUID, str, UUID, str | None, str | None, str | None]],
) -> set[UUID]:
    """Insert (id, association, phone, merchant, email, first, last); return the ids created."""
    if not new:
        return set()
    rows = await conn.fetch(
        """INSERT INTO accounts (id, association_id, phone, opened_by_merchant, email, first_name,
                                 last_name, opened_at)
           SELECT u.*, $8 FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[],
                                      $6::text[], $7::text[]) u
           ON CONFLICT (association_id, phone) DO NOTHING
           RETURNING id""",
        *zip(*new, strict=True),
        clock.now(),  # the liability counts accounts opened by then, on the services' clock
    )
    return {r["id"] for r in rows}


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


async def cards(conn: asyncpg.Connection, numbers: Iterable[str]) -> dict[str, asyncpg.Record]:
    """The cards and what their checks need (the issuing association's dormancy period)."""
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


async def touch_cards(conn: asyncpg.Connection, used: dict[str, datetime]) -> None:
    """Last-use dates (F4), in number order so that concurrent batches never deadlock."""
    if used:
        numbers = sorted(used)
        await conn.execute(
            """UPDATE cards c SET last_used_at = greatest(c.last_used_at, v.at)
               FROM unnest($1::text[], $2::timestamptz[]) v(number, at) WHERE c.number = v.number""",
            numbers,
            [used[n] for n in numbers],
        )


async def sale_accounts(conn: asyncpg.Connection, sale_ids: list[UUID]) -> list[UUID]:
    """The accounts the sales were credited to: a sale's account never changes, so this may be
    read before the lock, unlike the sale's history (``sales_booked``)."""
    rows = await conn.fetch(
        """SELECT DISTINCT account_id FROM cagnotte_entries
           WHERE kind = 'cagnottage' AND reference_id = ANY($1::uuid[])""",
        sale_ids,
    )
    return [r["account_id"] for r in rows]


async def sales_booked(
    conn: asyncpg.Connection, sale_ids: list[UUID]
) -> dict[UUID, list[asyncpg.Record]]:
    """The entries of sales (their reward) and of the returns that reversed them."""
    # the buckets named for the same reason as in already_booked: an index walk, not a scan
    rows = await conn.fetch(
        """SELECT * FROM cagnotte_entries
           WHERE (reference_id = ANY($1::uuid[]) AND kind IN ('cagnottage', 'conversion')
                  AND bucket = ANY($2::text[]))
              OR reverses = ANY($1::uuid[])
           ORDER BY id""",
        sale_ids,
        BUCKETS,
    )
    out: dict[UUID, list[asyncpg.Record]] = {}
    for r in rows:
        out.setdefault(r["reverses"] or r["reference_id"], []).append(r)
    return out


# Every bucket an entry can be in: naming them all lets a lookup by (kind, reference) walk the
# (kind, bucket, reference_id) index one probe per bucket and reference; without the bucket
# that index is no use and the lookup scans every earlier entry of the kind (issue 11, #14).
BUCKETS: list[str] = list(get_args(Bucket))


async def already_booked(conn: asyncpg.Connection, kind: str, refs: list[UUID]) -> set[UUID]:
    """The references (sales, redemptions, returns...) that already have an entry of this kind,
    in any bucket: a re-sent operation is booked once."""
    rows = await conn.fetch(
        """SELECT DISTINCT reference_id FROM cagnotte_entries
           WHERE kind = $1 AND bucket = ANY($3::text[]) AND reference_id = ANY($2::uuid[])""",
        kind,
        refs,
        BUCKETS,
    )
    return {r["reference_id"] for r in rows}


ENTRY_COLUMNS = (
    "account_id",
    "kind",
    "bucket",
    "reference_id",
    "amount_cents",
    "balance_after_cents",
    "purchase_cents",
    "product_family",
    "taux_client_bps",
    "fee_cents",
    "merchant_id",
    "shop_id",
    "terminal_id",
    "occurred_at",
    "card_number",
    "reverses",
    "actor",
    "note",
    "card_atc",
    "partner_id",
)


async def append_entries(conn: asyncpg.Connection, entries: list[tuple[Any, ...]]) -> None:
    if entries:
        await conn.copy_records_to_table("cagnotte_entries", records=entries, columns=ENTRY_COLUMNS)


def entry(
    account_id: UUID,
    kind: str,
    bucket: str,
    reference_id: UUID,
    amount_cents: int,
    balance_after: int,
    occurred_at: datetime,
    *,
    merchant_id: UUID | None = None,
    shop_id: UUID | None = None,
    terminal_id: UUID | None = None,
    purchase_cents: int | None = None,
    product_family: str | None = None,
    taux_client_bps: int | None = None,
    fee_cents: int | None = None,
    card_number: str | None = None,
    reverses: UUID | None = None,
    actor: str | None = None,
    note: str | None = None,
    card_atc: int | None = None,
    partner_id: UUID | None = None,
) -> tuple[Any, ...]:
    """One row of the ledger, in ``ENTRY_COLUMNS`` order."""
    return (
        account_id,
        kind,
        bucket,
        reference_id,
        amount_cents,
        balance_after,
        purchase_cents,
        product_family,
        taux_client_bps,
        fee_cents,
        merchant_id,
        shop_id,
        terminal_id,
        occurred_at,
        card_number,
        reverses,
        actor,
        note,
        card_atc,
        partner_id,
    )
