"""Customer files: a visit per sale, counters per customer and per merchant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.crm.domain import tally
from shared.contracts import AccountOpened, CagnotteCredited
from shared.events import Event


async def on_credited(
    conn: asyncpg.Connection, events: list[Event[CagnotteCredited]]
) -> Sequence[Event[Any]]:
    data = [e.data for e in events]
    rows = await conn.fetch(
        """INSERT INTO visits (sale_id, account_id, merchant_id, shop_id, amount_cents, product_family, occurred_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::bigint[], $6::text[], $7::timestamptz[])
           ON CONFLICT (sale_id) DO NOTHING RETURNING sale_id""",
        [d.sale_id for d in data],
        [d.account_id for d in data],
        [d.merchant_id for d in data],
        [d.shop_id for d in data],
        [d.amount_cents for d in data],
        [d.product_family for d in data],
        [d.occurred_at for d in data],
    )
    new = {r["sale_id"] for r in rows}
    fresh = [
        d for d in data if d.sale_id in new
    ]  # a sale re-sent under another event id counts once
    if not fresh:
        return []
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
    return []


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
