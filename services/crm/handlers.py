"""Customer files: a visit per sale, counters per customer and per merchant, the cards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from services.crm.domain import tally
from shared.contracts import (
    AccountOpened,
    CagnotteCredited,
    CardIssued,
    CardTransactionsBooked,
    RewardReversed,
)
from shared.events import Event


class Visit(NamedTuple):
    """One sale of a customer at a merchant: a row of the visit history."""

    sale_id: UUID
    account_id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    amount_cents: int
    product_family: str | None
    occurred_at: datetime


async def on_credited(
    conn: asyncpg.Connection, events: list[Event[CagnotteCredited]]
) -> Sequence[Event[Any]]:
    await record_visits(
        conn,
        [
            Visit(
                d.sale_id,
                d.account_id,
                d.association_id,
                d.merchant_id,
                d.shop_id,
                d.amount_cents,
                d.product_family,
                d.occurred_at,
            )
            for d in (e.data for e in events)
        ],
    )
    return []


async def on_card_booked(
    conn: asyncpg.Connection, events: list[Event[CardTransactionsBooked]]
) -> Sequence[Event[Any]]:
    """The sales chip cards made offline: a visit each, keyed by the transaction's id, as the
    sales made online. A redemption is no visit (as online)."""
    await record_visits(
        conn,
        [
            Visit(
                t.transaction_id,
                t.account_id,
                e.data.association_id,
                e.data.merchant_id,
                e.data.shop_id,
                t.amount_cents,
                t.product_family,
                t.occurred_at,
            )
            for e in events
            for t in e.data.transactions
            if t.kind == "sale"
        ],
    )
    return []


async def record_visits(conn: asyncpg.Connection, visits: list[Visit]) -> None:
    """The visits and the counters of their customers, each sale once."""
    # One row per sale: the same sale twice in a batch (re-sent under another event id) would
    # make the upsert touch its row twice. Sorted: the lock order of concurrent batches.
    data = sorted({v.sale_id: v for v in reversed(visits)}.values(), key=lambda d: d.sale_id)
    if not data:
        return
    # A visit already there counts no more. A cancelled one (a placeholder left by a
    # cancellation that came first) gets the sale's details, and stays out of the counters.
    rows = await conn.fetch(
        """INSERT INTO visits AS v (sale_id, account_id, merchant_id, shop_id, amount_cents, product_family, occurred_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[], $6::text[], $7::timestamptz[])
           ON CONFLICT (sale_id) DO UPDATE SET amount_cents = excluded.amount_cents,
               product_family = excluded.product_family, occurred_at = excluded.occurred_at
           WHERE v.cancelled_at IS NOT NULL
           RETURNING sale_id, cancelled_at""",
        [d.sale_id for d in data],
        [d.account_id for d in data],
        [d.merchant_id for d in data],
        [d.shop_id for d in data],
        [d.amount_cents for d in data],
        [d.product_family for d in data],
        [d.occurred_at for d in data],
    )
    new = {r["sale_id"] for r in rows if r["cancelled_at"] is None}
    fresh = [
        d for d in data if d.sale_id in new
    ]  # a sale re-sent under another event id counts once
    if not fresh:
        return
    per_customer = tally(
        [((d.account_id, d.association_id), d.amount_cents, d.occurred_at) for d in fresh]
    )
    keys = sorted(per_customer, key=lambda k: k[0])  # lock order: no deadlock between batches
    await conn.execute(
        """INSERT INTO customers AS c (account_id, association_id, visit_count, total_spent_cents, last_visit_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::bigint[], $5::timestamptz[])
           ON CONFLICT (account_id) DO UPDATE SET
               visit_count = c.visit_count + excluded.visit_count,
               total_spent_cents = c.total_spent_cents + excluded.total_spent_cents,
               last_visit_at = greatest(c.last_visit_at, excluded.last_visit_at)""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [per_customer[k].visits for k in keys],
        [per_customer[k].spent_cents for k in keys],
        [per_customer[k].last_at for k in keys],
    )
    per_merchant = tally(
        [((d.account_id, d.merchant_id), d.amount_cents, d.occurred_at) for d in fresh]
    )
    mkeys = sorted(per_merchant)
    await conn.execute(
        """INSERT INTO merchant_customers AS m (account_id, merchant_id, visit_count, total_spent_cents,
                                                first_visit_at, last_visit_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::bigint[], $5::timestamptz[], $6::timestamptz[])
           ON CONFLICT (account_id, merchant_id) DO UPDATE SET
               visit_count = m.visit_count + excluded.visit_count,
               total_spent_cents = m.total_spent_cents + excluded.total_spent_cents,
               first_visit_at = least(m.first_visit_at, excluded.first_visit_at),
               last_visit_at = greatest(m.last_visit_at, excluded.last_visit_at)""",
        [k[0] for k in mkeys],
        [k[1] for k in mkeys],
        [per_merchant[k].visits for k in mkeys],
        [per_merchant[k].spent_cents for k in mkeys],
        [per_merchant[k].first_at for k in mkeys],
        [per_merchant[k].last_at for k in mkeys],
    )


async def on_opened(
    conn: asyncpg.Connection, events: list[Event[AccountOpened]]
) -> Sequence[Event[Any]]:
    data = sorted((e.data for e in events), key=lambda d: d.account_id)
    await conn.execute(
        """INSERT INTO customers AS c (account_id, association_id, phone, email, first_name, last_name,
                                       enrolled_at, enrolled_by_merchant)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                                $7::timestamptz[], $8::uuid[])
           ON CONFLICT (account_id) DO UPDATE SET phone = excluded.phone, email = excluded.email,
               first_name = excluded.first_name, last_name = excluded.last_name,
               enrolled_at = excluded.enrolled_at, enrolled_by_merchant = excluded.enrolled_by_merchant""",
        [d.account_id for d in data],
        [d.association_id for d in data],
        [d.phone for d in data],
        [d.email for d in data],
        [d.first_name for d in data],
        [d.last_name for d in data],
        [d.opened_at for d in data],
        [d.merchant_id for d in data],
    )
    return []


async def on_reversed(
    conn: asyncpg.Connection, events: list[Event[RewardReversed]]
) -> Sequence[Event[Any]]:
    """A cancelled sale (F16) marks its visit and leaves the counters, once. A return of goods
    changes nothing here: the visit took place."""
    cancels = sorted(
        {e.data.sale_id: e.data for e in reversed(events) if e.data.reason == "cancelled"}.values(),
        key=lambda d: d.sale_id,
    )
    if not cancels:
        return []
    # One statement, so a sale and its cancellation handled at the same time cannot both miss
    # each other: either the visit is there and is marked, or a cancelled placeholder is left
    # for the sale (whose amount a whole cancellation carries). xmax = 0: inserted just now.
    rows = await conn.fetch(
        """INSERT INTO visits AS v (sale_id, account_id, merchant_id, shop_id, amount_cents, occurred_at, cancelled_at)
           SELECT s, a, m, sh, amt, at, at
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[], $6::timestamptz[])
                k(s, a, m, sh, amt, at)
           ON CONFLICT (sale_id) DO UPDATE SET cancelled_at = excluded.cancelled_at
           WHERE v.cancelled_at IS NULL
           RETURNING v.account_id, v.merchant_id, v.amount_cents, v.occurred_at, (v.xmax = 0) AS placeholder""",
        [d.sale_id for d in cancels],
        [d.account_id for d in cancels],
        [d.merchant_id for d in cancels],
        [d.shop_id for d in cancels],
        [d.amount_cents for d in cancels],
        [d.occurred_at for d in cancels],
    )
    counted = [r for r in rows if not r["placeholder"]]
    if not counted:
        return []
    association = {d.account_id: d.association_id for d in cancels}
    per_customer = tally(
        [((r["account_id"],), r["amount_cents"], r["occurred_at"]) for r in counted]
    )
    keys = sorted(per_customer)
    # An upsert, not an UPDATE ... FROM: it takes the row locks in the sorted order. The rows
    # are there (a counted visit made them); last visits are found again among those left.
    await conn.execute(
        """INSERT INTO customers AS c (account_id, association_id, visit_count, total_spent_cents)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::bigint[])
           ON CONFLICT (account_id) DO UPDATE SET
               visit_count = c.visit_count - excluded.visit_count,
               total_spent_cents = c.total_spent_cents - excluded.total_spent_cents,
               last_visit_at = (SELECT max(v.occurred_at) FROM visits v
                                WHERE v.account_id = c.account_id AND v.cancelled_at IS NULL)""",
        [k[0] for k in keys],
        [association[k[0]] for k in keys],
        [per_customer[k].visits for k in keys],
        [per_customer[k].spent_cents for k in keys],
    )
    per_merchant = tally(
        [
            ((r["account_id"], r["merchant_id"]), r["amount_cents"], r["occurred_at"])
            for r in counted
        ]
    )
    mkeys = sorted(per_merchant)
    await conn.execute(
        """INSERT INTO merchant_customers AS m (account_id, merchant_id, visit_count, total_spent_cents,
                                                first_visit_at, last_visit_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::bigint[], $5::timestamptz[], $6::timestamptz[])
           ON CONFLICT (account_id, merchant_id) DO UPDATE SET
               visit_count = m.visit_count - excluded.visit_count,
               total_spent_cents = m.total_spent_cents - excluded.total_spent_cents,
               first_visit_at = coalesce((SELECT min(v.occurred_at) FROM visits v
                                          WHERE v.account_id = m.account_id AND v.merchant_id = m.merchant_id
                                            AND v.cancelled_at IS NULL), m.first_visit_at),
               last_visit_at = coalesce((SELECT max(v.occurred_at) FROM visits v
                                         WHERE v.account_id = m.account_id AND v.merchant_id = m.merchant_id
                                           AND v.cancelled_at IS NULL), m.last_visit_at)""",
        [k[0] for k in mkeys],
        [k[1] for k in mkeys],
        [per_merchant[k].visits for k in mkeys],
        [per_merchant[k].spent_cents for k in mkeys],
        [per_merchant[k].first_at for k in mkeys],
        [per_merchant[k].last_at for k in mkeys],
    )
    return []


async def on_card_issued(
    conn: asyncpg.Connection, events: list[Event[CardIssued]]
) -> Sequence[Event[Any]]:
    """The card numbers of a customer, for the statements' detail lines."""
    data = sorted((e.data for e in events), key=lambda d: d.card_number)
    await conn.execute(
        """INSERT INTO customer_cards (card_number, account_id, issued_at, replaces)
           SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::text[])
           ON CONFLICT (card_number) DO NOTHING""",
        [d.card_number for d in data],
        [d.account_id for d in data],
        [d.issued_at for d in data],
        [d.replaces for d in data],
    )
    return []
