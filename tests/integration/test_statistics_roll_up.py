"""The statistics' roll-up (services/crm/adapters/statistics_roll_up.py, migrations 0019 and
0021) adds the facts recorded (a member's sale as its visit) to the sums with SQL compiled from
the domain's rule tables; here, on a random month of facts of every kind (members' sales, sales
without a member, returns, redemptions, cancellations of sales known and unknown to the
statistics), its sums for each shop, the association, the network and each member's day equal
``domain.statistics.count``'s, a fact recorded twice counts once, and a second roll-up adds
nothing.

Everything runs in a transaction rolled back at the end, on days of 1991 that no other test
uses; the transaction holds the roll-up's lock, so crm's own roll-up waits meanwhile."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from services.crm.adapters import customers
from services.crm.adapters import statistics_roll_up as store
from services.crm.domain.statistics import COUNTERS, NETWORK, Line, LineKind, count
from services.crm.domain.visits import Visit, one_per_sale
from tests import harness

START = datetime(1991, 3, 20, tzinfo=UTC)  # the clocks go forward in Paris on 31 March 1991


def _facts(rng: random.Random) -> tuple[list[Line], list[Line]]:
    """Two batches of facts: the second cancels sales of the first, of its own, and unknown."""
    association, merchants = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
    shops = [
        (uuid.uuid4(), merchants[0]),
        (uuid.uuid4(), merchants[0]),
        (uuid.uuid4(), merchants[1]),
    ]
    members = [uuid.uuid4() for _ in range(12)]

    def fact(kind: LineKind, sale_id: uuid.UUID | None = None) -> Line:
        shop, merchant = rng.choice(shops)
        at = START + timedelta(minutes=rng.randrange(20 * 24 * 60))
        account = None if kind == "anonymous_sale" else rng.choice(members)
        cents = rng.randrange(1, 20_000)
        reward = cents * 3 // 100 if kind in ("sale", "return", "cancellation") else 0
        return Line(
            kind,
            uuid.uuid4(),
            association,
            merchant,
            shop,
            account,
            at,
            cents,
            reward,
            None,
            sale_id,
        )

    kinds: list[LineKind] = ["sale", "sale", "sale", "sale", "sale", "sale"]
    kinds += ["anonymous_sale", "return", "redemption"]
    first = [fact(rng.choice(kinds)) for _ in range(300)]
    second = [fact(rng.choice(kinds)) for _ in range(200)]
    sales = [x.id for x in first + second if x.kind == "sale"]
    second += [fact("cancellation", sale_id) for sale_id in rng.sample(sales, 40)]
    second += [fact("cancellation", uuid.uuid4()) for _ in range(5)]  # sales never seen
    return first, second


async def _record(db: asyncpg.Connection, facts: list[Line]) -> int:
    """Record facts as crm.events does: a member's sale as its visit (migration 0021), named
    by the statement that writes it; the other facts as lines. How many were new."""
    visits = one_per_sale(
        Visit(
            x.id,
            x.account_id,
            x.association_id,
            x.merchant_id,
            x.shop_id,
            x.amount_cents,
            x.product_family,
            x.occurred_at,
            x.reward_cents,
        )
        for x in facts
        if x.kind == "sale" and x.account_id is not None
    )
    new_sales = await customers.insert_visits(db, visits) if visits else set()
    return len(new_sales) + await store.record_lines(db, [x for x in facts if x.kind != "sale"])


async def _sums(db: asyncpg.Connection, scopes: list[uuid.UUID]) -> dict[Any, Any]:
    days = await db.fetch(
        f"""SELECT scope_id, day, merchant_id, {", ".join(COUNTERS)}, sales_by_hour
            FROM statistics_days
            WHERE scope_id = ANY($1::uuid[]) AND day BETWEEN '1991-03-01' AND '1991-04-30'""",
        scopes,
    )
    members = await db.fetch(
        """SELECT shop_id, day, account_id, merchant_id, association_id, visits, spent_cents
           FROM statistics_customer_days
           WHERE association_id = ANY($1::uuid[]) AND day BETWEEN '1991-03-01' AND '1991-04-30'""",
        scopes,
    )
    return {
        "days": {
            (r["scope_id"], r["day"]): (
                r["merchant_id"],
                {c: r[c] for c in COUNTERS},
                list(r["sales_by_hour"]),
            )
            for r in days
        },
        "members": {
            (r["shop_id"], r["day"], r["account_id"]): (
                r["merchant_id"],
                r["association_id"],
                r["visits"],
                r["spent_cents"],
            )
            for r in members
        },
    }


def _expected(lines: list[Line]) -> dict[Any, Any]:
    sales = {x.id: x for x in lines if x.kind == "sale"}
    deltas = count(lines, sales)
    return {
        "days": {
            key: (row.merchant_id, dict(row.counters), row.sales_by_hour)
            for key, row in deltas.days.items()
        },
        "members": {
            key: (c.merchant_id, c.association_id, c.visits, c.spent_cents)
            for key, c in deltas.customers.items()
        },
    }


async def test_the_roll_up_adds_what_the_domain_counts_once(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    first, second = _facts(random.Random(14))
    association = first[0].association_id
    scopes = [association, NETWORK, *{x.shop_id for x in first + second}]
    rolled_back = db.transaction()
    await rolled_back.start()
    try:
        await db.execute("SET LOCAL search_path = crm, public")
        await store.roll_up(db, 1_000_000)  # what crm left pending, out of the way
        assert await _record(db, first) == len(first)
        assert await store.roll_up(db, 1_000_000) == len(first)
        # The first batch again (a redelivery) with the second: the first counts once.
        assert await _record(db, first + second) == len(second)
        assert await store.roll_up(db, 100) == 100  # a batch at most per call
        assert await store.roll_up(db, 1_000_000) == len(second) - 100
        assert await store.roll_up(db, 1_000_000) == 0
        got = await _sums(db, scopes)
    finally:
        await rolled_back.rollback()
    want = _expected(first + second)
    # The network's days of 1991 hold these facts only (no other test dates anything then).
    assert {k for k in got["days"] if k[0] == NETWORK} == {
        k for k in want["days"] if k[0] == NETWORK
    }
    assert got == want
    # The draw covered every kind, both periods of summer time and a cancelled sale's move.
    assert {x.kind for x in second} >= {
        "sale",
        "anonymous_sale",
        "return",
        "redemption",
        "cancellation",
    }
    assert {d for _, d in want["days"]} >= {date(1991, 3, 30), date(1991, 4, 2)}
