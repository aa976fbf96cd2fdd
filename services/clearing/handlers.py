"""Booking the cards' events in the compte pivot, a batch per transaction (rules: domain.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from services.clearing import domain
from services.clearing.domain import AccountKey, Posting
from shared.contracts import (
    AccountAdjusted,
    AccountOpened,
    CagnotteCredited,
    CagnotteRedeemed,
    CardIssued,
    CardTransactionsBooked,
    MerchantRegistered,
    RewardReversed,
)
from shared.events import Event


class Entry(NamedTuple):
    """A journal entry to book: once per (kind, reference). The fields after ``postings`` are
    the detail the statements show."""

    kind: str
    reference_id: UUID
    event_id: str
    event_time: datetime
    association_id: UUID
    merchant_id: UUID | None
    occurred_at: datetime
    postings: list[Posting]
    account_id: UUID | None = None
    card_number: str | None = None
    product_family: str | None = None
    purchase_cents: int | None = None
    amount_cents: int | None = None
    reward_cents: int | None = None
    fee_cents: int | None = None
    partner_id: UUID | None = None
    adjusts_period: date | None = None
    note: str | None = None
    period: date | None = None  # set by the close; otherwise from occurred_at and the books


def entry(
    kind: str, e: Event[Any], reference: UUID, postings: list[Posting], **detail: Any
) -> Entry:
    """An entry for one event that names its association, merchant and time."""
    d = e.data
    return Entry(
        kind,
        reference,
        e.id,
        e.time,
        d.association_id,
        d.merchant_id,
        d.occurred_at,
        postings,
        **detail,
    )


def _party_columns(k: AccountKey) -> tuple[UUID | None, UUID | None]:
    """(merchant_id, partner_id) of an account key."""
    if k[1] == domain.MERCHANT:
        return k[2], None
    if k[1] == domain.PARTNER:
        return None, k[2]
    return None, None


async def _account_ids(conn: asyncpg.Connection, keys: set[AccountKey]) -> dict[AccountKey, int]:
    # Sorted: two batches opening the same new accounts insert them in the same order.
    ks = sorted(keys, key=lambda k: (str(k[0]), k[1], str(k[2])))
    parties = [_party_columns(k) for k in ks]
    cols = (
        [k[0] for k in ks],
        [k[1] for k in ks],
        [p[0] for p in parties],
        [p[1] for p in parties],
    )
    await conn.execute(
        """INSERT INTO ledger_accounts (association_id, kind, merchant_id, partner_id)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[])
           ON CONFLICT DO NOTHING""",
        *cols,
    )
    rows = await conn.fetch(
        """SELECT a.id, a.association_id, a.kind, coalesce(a.merchant_id, a.partner_id) AS party
           FROM ledger_accounts a
           JOIN unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[])
                k(association_id, kind, merchant_id, partner_id)
             ON a.association_id = k.association_id AND a.kind = k.kind
            AND a.merchant_id IS NOT DISTINCT FROM k.merchant_id
            AND a.partner_id IS NOT DISTINCT FROM k.partner_id""",
        *cols,
    )
    return {(r["association_id"], r["kind"], r["party"]): r["id"] for r in rows}


async def closed_through(conn: asyncpg.Connection, associations: set[UUID]) -> dict[UUID, date]:
    """The last closed period of each association, held (FOR SHARE) until the transaction
    ends: a close waits for the bookings under way, which then see it."""
    ids = sorted(associations)
    query = """SELECT association_id, closed_through FROM books WHERE association_id = ANY($1)
               ORDER BY association_id FOR SHARE"""
    rows = await conn.fetch(query, ids)
    if len(rows) < len(ids):  # an association's first booking: its row, once
        await conn.execute(
            "INSERT INTO books (association_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING",
            ids,
        )
        rows = await conn.fetch(query, ids)
    return {r["association_id"]: r["closed_through"] for r in rows if r["closed_through"]}


def _merchant_cents(e: Entry) -> int:
    if e.merchant_id is None:
        return 0
    mine = (e.association_id, domain.MERCHANT, e.merchant_id)
    return sum(p.amount_cents for p in e.postings if p.account == mine)


_COLUMNS = (
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
    ("purchase_cents", "bigint"),
    ("amount_cents", "bigint"),
    ("reward_cents", "bigint"),
    ("fee_cents", "bigint"),
    ("merchant_cents", "bigint"),
    ("partner_id", "uuid"),
    ("adjusts_period", "date"),
    ("note", "text"),
)
_INSERT = f"""INSERT INTO journal_entries ({", ".join(c for c, _ in _COLUMNS)})
    SELECT * FROM unnest({", ".join(f"${i}::{t}[]" for i, (_, t) in enumerate(_COLUMNS, 1))})
    ON CONFLICT (kind, reference_id) DO NOTHING
    RETURNING id, kind, reference_id"""


async def book(conn: asyncpg.Connection, entries: list[Entry]) -> int:
    """Each (kind, reference) once, whatever is redelivered or re-sent under a new event id;
    in the period its date and the books give. The number of entries booked."""
    for e in entries:
        if not domain.is_balanced(e.postings):
            raise ValueError("unbalanced journal entry")
        if not e.postings and not domain.is_zero_record(e.kind, e.reward_cents, e.fee_cents):
            # Only a zero record may have no postings (domain.py): anything else would be an
            # entry the reconciliation cannot tell from one that lost its postings.
            raise ValueError(f"a {e.kind} entry without postings moves money")
    unique: dict[tuple[str, UUID], Entry] = {}
    for e in entries:
        # The same sale twice in one batch: the first.
        unique.setdefault((e.kind, e.reference_id), e)
    # Sorted: concurrent batches wait on the unique index in the same order, never in a cycle.
    todo = sorted(unique.values(), key=lambda e: (e.kind, str(e.reference_id)))
    if not todo:
        return 0
    closed = await closed_through(conn, {e.association_id for e in todo})
    todo = [
        e
        if e.period is not None
        else e._replace(period=domain.booking_period(e.occurred_at, closed.get(e.association_id)))
        for e in todo
    ]
    computed = {"merchant_cents": [_merchant_cents(e) for e in todo]}
    values = [computed.get(name) or [getattr(e, name) for e in todo] for name, _ in _COLUMNS]
    rows = await conn.fetch(_INSERT, *values)
    entry_ids = {(r["kind"], r["reference_id"]): r["id"] for r in rows}
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


async def on_credited(
    conn: asyncpg.Connection, events: list[Event[CagnotteCredited]]
) -> Sequence[Event[Any]]:
    entries: list[Entry] = []
    for e in events:
        d = e.data
        postings = domain.accrual(d.association_id, d.merchant_id, d.reward_cents, d.fee_cents)
        holder = {"account_id": d.account_id, "card_number": d.card_number}
        entries.append(
            entry(
                "accrual",
                e,
                d.sale_id,
                postings,
                **holder,
                product_family=d.product_family,
                purchase_cents=d.amount_cents,
                reward_cents=d.reward_cents,
                fee_cents=d.fee_cents,
            )
        )
        if d.expired_cents > 0:
            expired = domain.pending_expired(d.association_id, d.expired_cents)
            entries.append(
                entry(
                    "pending_expired", e, d.sale_id, expired, **holder, amount_cents=d.expired_cents
                )
            )
    await book(conn, entries)
    return []


async def on_redeemed(
    conn: asyncpg.Connection, events: list[Event[CagnotteRedeemed]]
) -> Sequence[Event[Any]]:
    await book(
        conn,
        [
            entry(
                domain.SPEND_KIND[d.purse],
                e,
                d.redemption_id,
                domain.redemption(d.association_id, d.merchant_id, d.amount_cents, d.purse),
                account_id=d.account_id,
                card_number=d.card_number,
                amount_cents=d.amount_cents,
            )
            for e in events
            for d in (e.data,)
        ],
    )
    return []


async def on_reversed(
    conn: asyncpg.Connection, events: list[Event[RewardReversed]]
) -> Sequence[Event[Any]]:
    await book(
        conn,
        [
            entry(
                "reversal",
                e,
                d.return_id,
                domain.reversal(d.association_id, d.merchant_id, d.reward_cents, d.fee_cents),
                account_id=d.account_id,
                amount_cents=d.amount_cents,
                reward_cents=d.reward_cents,
                fee_cents=d.fee_cents,
                note=d.reason,
            )
            for e in events
            for d in (e.data,)
        ],
    )
    return []


async def on_adjusted(
    conn: asyncpg.Connection, events: list[Event[AccountAdjusted]]
) -> Sequence[Event[Any]]:
    await book(
        conn,
        [
            entry(
                d.kind,
                e,
                d.movement_id,
                domain.movement(
                    d.association_id, d.kind, d.purse, d.amount_cents, d.merchant_id, d.partner_id
                ),
                account_id=d.account_id,
                card_number=d.card_number,
                amount_cents=d.amount_cents,
                partner_id=d.partner_id,
                note=d.reason,
            )
            for e in events
            for d in (e.data,)
        ],
    )
    return []


async def on_card_booked(
    conn: asyncpg.Connection, events: list[Event[CardTransactionsBooked]]
) -> Sequence[Event[Any]]:
    """The transactions chip cards made offline, one chunk of one terminal per event: each
    booked like the same sale or redemption made online (reference: the transaction), with
    its own date, so a terminal that synced after the close books in the open period."""
    entries: list[Entry] = []
    for e in events:
        d = e.data
        for t in d.transactions:
            base = Entry(
                "",
                t.transaction_id,
                e.id,
                e.time,
                d.association_id,
                d.merchant_id,
                t.occurred_at,
                [],
                account_id=t.account_id,
                card_number=t.card_number,
            )
            if t.kind == "redemption":
                postings = domain.redemption(d.association_id, d.merchant_id, t.amount_cents)
                entries.append(
                    base._replace(kind="redemption", postings=postings, amount_cents=t.amount_cents)
                )
                continue
            postings = domain.accrual(d.association_id, d.merchant_id, t.reward_cents, t.fee_cents)
            entries.append(
                base._replace(
                    kind="accrual",
                    postings=postings,
                    product_family=t.product_family,
                    purchase_cents=t.amount_cents,
                    reward_cents=t.reward_cents,
                    fee_cents=t.fee_cents,
                )
            )
            if t.expired_cents:
                postings = domain.pending_expired(d.association_id, t.expired_cents)
                entries.append(
                    base._replace(
                        kind="pending_expired", postings=postings, amount_cents=t.expired_cents
                    )
                )
    await book(conn, entries)
    return []


# --- what the statements show of merchants and cardholders -----------------------------------


async def on_merchant(
    conn: asyncpg.Connection, events: list[Event[MerchantRegistered]]
) -> Sequence[Event[Any]]:
    for e in events:
        d = e.data
        await conn.execute(
            """INSERT INTO merchants (id, association_id, name, taux_client_bps, taux_uc_bps,
                                      created_at, closed_on)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                   taux_client_bps = excluded.taux_client_bps,
                   taux_uc_bps = excluded.taux_uc_bps, closed_on = excluded.closed_on""",
            d.merchant_id,
            d.association_id,
            d.merchant_name,
            d.taux_client_bps,
            d.taux_uc_bps,
            d.created_at,
            d.closed_on,
        )
    return []


async def on_holder(
    conn: asyncpg.Connection, events: list[Event[AccountOpened]] | list[Event[CardIssued]]
) -> Sequence[Event[Any]]:
    """The names on an account; a card issued with names fills those the account lacks."""
    for e in events:
        d = e.data
        await conn.execute(
            """INSERT INTO holders (account_id, association_id, title, first_name, last_name)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (account_id) DO UPDATE SET
                   title = coalesce(holders.title, excluded.title),
                   first_name = coalesce(holders.first_name, excluded.first_name),
                   last_name = coalesce(holders.last_name, excluded.last_name)""",
            d.account_id,
            d.association_id,
            getattr(d, "title", None),
            d.first_name,
            d.last_name,
        )
    return []
