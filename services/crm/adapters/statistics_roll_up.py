"""The statistics' facts and their roll-up: the lines each fact writes once (exported as
detail lines; a member's sale is its visit), named until the roll-up adds them to the sums,
and the enrolments left to it (migrations 0009, 0019, 0020 and 0021, docs/statistics.md "How
it is kept")."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from services.crm.domain.statistics import ADDS, COUNTERS, CUSTOMER, NETWORK, TRAFFIC, Line
from shared.clock import PARIS
from shared.db.query import Batch

LINES = Batch(
    "statistics_lines",
    [
        ("kind", "text"),
        ("id", "uuid"),
        ("association_id", "uuid"),
        ("merchant_id", "uuid"),
        ("shop_id", "uuid"),
        ("account_id", "uuid"),
        ("occurred_at", "timestamptz"),
        ("day", "date"),
        ("amount_cents", "bigint"),
        ("reward_cents", "bigint"),
        ("product_family", "text"),
        ("sale_id", "uuid"),
    ],
    "ON CONFLICT (kind, id) DO NOTHING RETURNING kind, id",
)

# The lines new to the statistics are named in statistics_uncounted by the same statement
# (migration 0019): the roll-up adds them to the sums later, set-wise.
_RECORD = f"""WITH fresh AS ({LINES.sql})
    INSERT INTO statistics_uncounted (kind, id) SELECT kind, id FROM fresh"""


async def record_lines(conn: asyncpg.Connection, lines: Iterable[Line]) -> int:
    """Record the facts, each (kind, id) once, and leave the new ones to the roll-up; how many
    were new."""
    arrays = LINES.arrays(
        [
            (
                x.kind,
                x.id,
                x.association_id,
                x.merchant_id,
                x.shop_id,
                x.account_id,
                x.occurred_at,
                x.day,
                x.amount_cents,
                x.reward_cents,
                x.product_family,
                x.sale_id,
            )
            for x in lines
        ]
    )
    if not arrays[0]:
        return 0
    status: str = await conn.execute(_RECORD, *arrays)  # "INSERT 0 <rows named>"
    return int(status.rsplit(" ", 1)[-1])


def _case(by_kind: dict[str, str]) -> str:
    whens = " ".join(f"WHEN '{kind}' THEN {expr}" for kind, expr in by_kind.items())
    return f"CASE f.kind {whens} ELSE 0 END"


def _term(n: int, per_amount: int, per_reward: int) -> str:
    parts = [str(n)] if n else []
    parts += [f"{per_amount} * f.amount_cents"] if per_amount else []
    parts += [f"{per_reward} * f.reward_cents"] if per_reward else []
    return " + ".join(parts) or "0"


def _roll_up_sql() -> str:
    """One statement: take up to $1 uncounted facts, add them to the days of their shop, their
    association and the network, and to their members' days; answer how many were taken.

    The rule is the domain's (``ADDS``, ``TRAFFIC``, ``CUSTOMER``), compiled here into sums of
    CASEs. A cancellation counts where its sale was (that sale's shop, day and hour), or where
    it happened when the statistics never saw the sale, as in ``domain.statistics.count``."""
    counters = {
        name: _case(
            {
                kind: _term(n, a, r)
                for kind, terms in ADDS.items()
                for slot, n, a, r in terms
                if COUNTERS[slot] == name
            }
        )
        for name in COUNTERS
    }
    traffic = _case({kind: str(n) for kind, n in TRAFFIC.items()})
    visits = _case({kind: str(v) for kind, (v, _) in CUSTOMER.items()})
    spent = _case({kind: f"{sign} * f.amount_cents" for kind, (_, sign) in CUSTOMER.items()})
    customer_kinds = ", ".join(f"'{k}'" for k in CUSTOMER)
    # Where a fact counts: its cancelled sale's when the statistics have that sale, else its
    # own. A member's sale is its visit (migration 0021); a visit without a reward is a
    # placeholder its cancellation left, not a sale.
    placed = ("shop_id", "merchant_id", "association_id", "account_id", "occurred_at")
    where = ", ".join(
        f"CASE WHEN s.sale_id IS NULL THEN l.{c} ELSE s.{c} END AS {c}" for c in placed
    )
    visit = ", ".join(f"v.{c}" for c in placed)
    sums = ", ".join(f"sum({expr})::bigint AS {name}" for name, expr in counters.items())
    names = ", ".join(COUNTERS)
    hours = ", ".join(
        f"coalesce(sum(traffic) FILTER (WHERE hour = {h}), 0)::bigint" for h in range(24)
    )
    scopes = " UNION ALL ".join(
        f"SELECT {scope} AS scope_id, {merchant} AS merchant_id, day, hour, {names}, traffic "
        "FROM hourly"
        for scope, merchant in (
            ("shop_id", "merchant_id"),
            ("association_id", "NULL::uuid"),
            (f"'{NETWORK}'::uuid", "NULL::uuid"),
        )
    )
    added = ", ".join(f"{c} = d.{c} + excluded.{c}" for c in COUNTERS)
    day_sums = ", ".join(f"sum({c})::bigint" for c in COUNTERS)
    return f"""
    WITH taken AS (
        DELETE FROM statistics_uncounted
        WHERE ctid = ANY(ARRAY(SELECT ctid FROM statistics_uncounted LIMIT $1))
        RETURNING kind, id
    ), placed AS (
        SELECT l.kind, l.amount_cents, l.reward_cents, {where}
        FROM taken t
        JOIN statistics_lines l ON l.kind = t.kind AND l.id = t.id
        LEFT JOIN visits s
               ON l.kind = 'cancellation' AND s.sale_id = l.sale_id
              AND s.reward_cents IS NOT NULL
        WHERE t.kind <> 'sale'
        UNION ALL
        SELECT 'sale', v.amount_cents, v.reward_cents, {visit}
        FROM taken t JOIN visits v ON v.sale_id = t.id
        WHERE t.kind = 'sale'
    ), f AS (
        SELECT p.*, (p.occurred_at AT TIME ZONE '{PARIS.key}')::date AS day,
               extract(hour FROM p.occurred_at AT TIME ZONE '{PARIS.key}')::int AS hour
        FROM placed p
    ), hourly AS (
        SELECT f.shop_id, f.merchant_id, f.association_id, f.day, f.hour, {sums},
               sum({traffic})::bigint AS traffic
        FROM f GROUP BY 1, 2, 3, 4, 5
    ), days AS (
        INSERT INTO statistics_days AS d (scope_id, day, merchant_id, {names}, sales_by_hour)
        SELECT scope_id, day, merchant_id, {day_sums}, ARRAY[{hours}]
        FROM ({scopes}) AS scoped
        GROUP BY scope_id, day, merchant_id
        ORDER BY scope_id, day
        ON CONFLICT (scope_id, day) DO UPDATE SET {added},
            sales_by_hour = ARRAY(
                SELECT a + b
                FROM unnest(d.sales_by_hour, excluded.sales_by_hour) WITH ORDINALITY AS z(a, b, i)
                ORDER BY i)
        RETURNING 1
    ), members AS (
        INSERT INTO statistics_customer_days AS c
            (shop_id, day, account_id, merchant_id, association_id, visits, spent_cents)
        SELECT f.shop_id, f.day, f.account_id, f.merchant_id, f.association_id,
               sum({visits})::bigint, sum({spent})::bigint
        FROM f
        WHERE f.account_id IS NOT NULL AND f.kind IN ({customer_kinds})
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3
        ON CONFLICT (shop_id, day, account_id) DO UPDATE SET
            visits = c.visits + excluded.visits,
            spent_cents = c.spent_cents + excluded.spent_cents
        RETURNING 1
    )
    SELECT count(*) FROM taken"""


_ROLL_UP = _roll_up_sql()
# The enrolments crm.events left (migration 0020), every row this transaction sees: a batch's
# are a few rows per scope and day, and the sums are summed per scope and day first, in key
# order.
_ENROLMENTS = """
    WITH taken AS (
        DELETE FROM statistics_enrolments_uncounted RETURNING scope_id, day, enrolments
    )
    INSERT INTO statistics_enrolments AS e (scope_id, day, enrolments)
    SELECT scope_id, day, sum(enrolments)::bigint FROM taken
    GROUP BY scope_id, day
    ORDER BY scope_id, day
    ON CONFLICT (scope_id, day) DO UPDATE SET enrolments = e.enrolments + excluded.enrolments"""
# One roll-up at a time, whatever the replicas: two would take turns on the association's and
# the network's day rows anyway, and the lock makes a reading's catch-up wait for the roll-up
# in progress instead of missing its facts.
_ROLL_UP_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('crm.statistics.roll_up', 0))"


async def roll_up(conn: asyncpg.Connection, limit: int) -> int:
    """Add up to ``limit`` uncounted facts, and every enrolment left, to the sums, in the
    caller's transaction; how many facts were added."""
    await conn.execute(_ROLL_UP_LOCK)
    await conn.execute(_ENROLMENTS)
    taken: int = await conn.fetchval(_ROLL_UP, limit)
    return taken
