"""The SQL of the statistics: the facts counted once (and exported as detail lines), and the
aggregates the roll-up adds them to (services/crm/migrations/0009_statistics.sql, 0019)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from services.crm.domain.statistics import COUNTERS, NETWORK, Deltas
from shared.clock import PARIS
from shared.db.query import Batch

# A batch's enrolments wait here for the roll-up (migration 0020): no row shared with another
# batch is locked in crm.events' transaction.
ENROLMENTS = Batch(
    "statistics_enrolments_uncounted",
    [("scope_id", "uuid"), ("day", "date"), ("enrolments", "bigint")],
)


async def counted_before(conn: asyncpg.Connection, event_ids: Sequence[str]) -> set[str]:
    """The events among these that the statistics' own queue (crm.statistics, before they were
    counted in crm.events' transaction) took already: its inbox, kept but no longer written."""
    rows = await conn.fetch(
        "SELECT event_id FROM statistics_inbox WHERE event_id = ANY($1::uuid[])", event_ids
    )
    return {str(r["event_id"]) for r in rows}


async def add_enrolments(conn: asyncpg.Connection, deltas: Deltas) -> None:
    """Leave a batch's enrolments to the roll-up."""
    await ENROLMENTS.execute(
        conn, ((scope, day, n) for (scope, day), n in deltas.enrolments.items())
    )


# --- reading ---------------------------------------------------------------------------------

_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTERS)


def _where_days(kind: str) -> str:
    """A scope's rows of statistics_days: a merchant sums its shops' rows."""
    return "merchant_id = $1" if kind == "merchant" else "scope_id = $1"


_HOUR_SUMS = ", ".join(f"sum(sales_by_hour[{h}])::bigint" for h in range(1, 25))


async def day_sums(
    conn: asyncpg.Connection, kind: str, scope_id: UUID, first: date, start: date, end: date
) -> list[asyncpg.Record]:
    """The counters' and the hours' sums over [first, start) (``current`` false) and
    [start, end] (true), per ISO weekday: one pass over at most a row per day and shop, no
    unnesting of the hours (14 rows out)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT day >= $3 AS current, extract(isodow FROM day)::int AS dow, {_SUMS},
                   ARRAY[{_HOUR_SUMS}] AS sales_by_hour
            FROM statistics_days
            WHERE {_where_days(kind)} AND day BETWEEN $2 AND $4
            GROUP BY 1, 2""",
        scope_id,
        first,
        start,
        end,
    )
    return rows


_CUSTOMER_SCOPE = {"shop": "shop_id", "merchant": "merchant_id", "association": "association_id"}


def customers_sql(kind: str) -> str:
    """Each member who visited the scope in [$2, $3]: visits and net spending."""
    return f"""SELECT account_id, sum(visits)::bigint AS visits,
                      sum(spent_cents)::bigint AS spent_cents,
                      min(day) FILTER (WHERE visits > 0) AS first_visit,
                      max(day) FILTER (WHERE visits > 0) AS last_visit
               FROM statistics_customer_days
               WHERE {_CUSTOMER_SCOPE[kind]} = $1 AND day BETWEEN $2 AND $3
               GROUP BY account_id HAVING sum(visits) > 0"""


async def customer_figures(
    conn: asyncpg.Connection,
    kind: str,
    scope_id: UUID,
    bounds: tuple[date, date, date, date, date],
    best: int,
) -> asyncpg.Record:
    """One scan of a scope's member days for the per-member figures. ``bounds``: the
    previous period's first day, the period's first and last days, the inactive window's
    first and last days. Answers each period's visits per customer (one number each), the
    best ``best`` customers of the period, the inactive customers' count, and each period's
    members with a sponsor (``sponsored_*``, ``previous_sponsored_*``)."""
    prev_start, start, end, first, last = bounds
    # The member days of up to four years of an association are ~90,000 rows at bench size:
    # grouped in memory (no sort spilled to disk), and a day's visits summed as integers (a
    # bigint's sum is a numeric, slow to add and to send).
    await conn.execute("SET LOCAL work_mem = '32MB'")
    row: asyncpg.Record = await conn.fetchrow(
        f"""WITH c AS (
                SELECT account_id,
                       sum(visits::int) FILTER (WHERE day >= $3::date) AS visits,
                       sum(spent_cents) FILTER (WHERE day >= $3::date)::bigint AS spent_cents,
                       sum(visits::int) FILTER (WHERE day BETWEEN $2::date AND $3::date - 1)
                           AS previous,
                       sum(spent_cents) FILTER (WHERE day BETWEEN $2::date AND $3::date - 1)::bigint
                           AS previous_spent,
                       sum(visits::int) FILTER (WHERE day BETWEEN $5::date AND $6::date)
                           AS before,
                       sum(visits::int) FILTER (WHERE day > $6::date) AS since
                FROM statistics_customer_days
                WHERE {_CUSTOMER_SCOPE[kind]} = $1
                  AND day BETWEEN least($2::date, $5::date) AND $4::date
                GROUP BY account_id)
            SELECT coalesce(array_agg(visits) FILTER (WHERE visits > 0), '{{}}') AS visits,
                   coalesce(array_agg(previous) FILTER (WHERE previous > 0), '{{}}')
                       AS previous,
                   count(*) FILTER (WHERE before > 0 AND coalesce(since, 0) = 0) AS inactive,
                   (SELECT coalesce(json_agg(b), '[]') FROM (
                        SELECT account_id, visits, spent_cents FROM c WHERE visits > 0
                        ORDER BY spent_cents DESC, visits DESC, account_id LIMIT $7) AS b)::text
                       AS best,
                   {_SPONSORED}
            FROM c LEFT JOIN sponsorships s ON s.newcomer_id = c.account_id""",
        scope_id,
        prev_start,
        start,
        end,
        first,
        last,
        best,
    )
    return row


# The members with a sponsor among them (docs/statistics.md, "Sponsorship"): one hash join of
# the scope's members with the sponsorships, in the same scan.
_SPONSORED = """count(*) FILTER (WHERE s.newcomer_id IS NOT NULL AND visits > 0)
                       AS sponsored_customers,
                   coalesce(sum(visits) FILTER (WHERE s.newcomer_id IS NOT NULL), 0)
                       AS sponsored_visits,
                   coalesce(sum(spent_cents) FILTER (WHERE s.newcomer_id IS NOT NULL), 0)
                       AS sponsored_revenue_cents,
                   count(*) FILTER (WHERE s.newcomer_id IS NOT NULL AND previous > 0)
                       AS previous_sponsored_customers,
                   coalesce(sum(previous) FILTER (WHERE s.newcomer_id IS NOT NULL), 0)
                       AS previous_sponsored_visits,
                   coalesce(sum(previous_spent) FILTER (WHERE s.newcomer_id IS NOT NULL), 0)
                       AS previous_sponsored_revenue_cents"""


def inactive_sql(kind: str) -> str:
    """Members who visited the scope in [$2, $3] and not after $3 up to $4."""
    return f"""SELECT account_id, max(day) FILTER (WHERE visits > 0) AS last_visit
               FROM statistics_customer_days
               WHERE {_CUSTOMER_SCOPE[kind]} = $1 AND day BETWEEN $2 AND $4
               GROUP BY account_id
               HAVING sum(visits) > 0 AND max(day) FILTER (WHERE visits > 0) <= $3"""


async def enrolments(
    conn: asyncpg.Connection, scope_id: UUID, first: date, end: date
) -> tuple[int, dict[date, int]]:
    """The accounts opened up to ``first`` (excluded), and those of each day of [first, end]."""
    rows = await conn.fetch(
        """SELECT day >= $2::date AS within, CASE WHEN day >= $2::date THEN day END AS day,
                  sum(enrolments)::bigint AS n
           FROM statistics_enrolments WHERE scope_id = $1 AND day <= $3
           GROUP BY 1, 2""",
        scope_id,
        first,
        end,
    )
    before = sum(r["n"] for r in rows if not r["within"])
    return before, {r["day"]: r["n"] for r in rows if r["within"]}


async def merchant_of_shop(conn: asyncpg.Connection, shop_id: UUID) -> UUID | None:
    merchant: UUID | None = await conn.fetchval(
        "SELECT merchant_id FROM statistics_days WHERE scope_id = $1 LIMIT 1", shop_id
    )
    return merchant


async def consents(conn: asyncpg.Connection, kind: str, scope_id: UUID | None) -> dict[str, int]:
    """The consents in force per channel, from their counters (statistics_consents, kept by a
    trigger on consents): a merchant's own; an association's (network-wide consents of its
    members); the network's (every association's network-wide ones)."""
    where = {
        "merchant": "merchant_id = $1",
        "association": "association_id = $1 AND merchant_id = '{nil}'",
        "network": "merchant_id = '{nil}' AND $1::uuid IS NULL",
    }[kind].format(nil=NETWORK)
    rows = await conn.fetch(
        f"""SELECT channel, sum(in_force)::bigint AS n FROM statistics_consents
            WHERE {where} GROUP BY channel""",
        scope_id,
    )
    return {r["channel"]: r["n"] for r in rows}


# --- detail lines ----------------------------------------------------------------------------


def _line_scope(kind: str, table: str) -> str:
    """The detail lines' scope $1 on ``table``'s columns; the network's is every line."""
    return "$1::uuid IS NULL" if kind == "network" else f"{table}.{_CUSTOMER_SCOPE[kind]} = $1"


# A member's sales are their visits (migration 0021), found through the member days the roll-up
# made of them: a member day is a customer's sales at a shop on a day, and visits_account finds
# them by the customer and the day's instants; no index on visits for the exports alone.
_MEMBER_SALES = f"""
    SELECT v.occurred_at, c.day, 'sale' AS kind, v.sale_id AS id, v.shop_id, v.merchant_id,
           v.account_id, v.amount_cents, v.reward_cents, v.product_family, NULL::uuid AS sale_id
    FROM statistics_customer_days c
    JOIN visits v ON v.account_id = c.account_id AND v.shop_id = c.shop_id
     AND v.occurred_at >= c.day::timestamp AT TIME ZONE '{PARIS.key}'
     AND v.occurred_at < (c.day + 1)::timestamp AT TIME ZONE '{PARIS.key}'
    WHERE {{scope}} AND c.day BETWEEN $2 AND $3 AND v.reward_cents IS NOT NULL"""


def lines_sql(kind: str, kinds: Sequence[str]) -> str:
    """The detail lines of these kinds over [$2, $3] in the scope $1."""
    listed = ", ".join(f"'{k}'" for k in kinds if k != "sale") or "NULL"
    members = (
        f"UNION ALL {_MEMBER_SALES.format(scope=_line_scope(kind, 'c'))}" if "sale" in kinds else ""
    )
    return f"""SELECT occurred_at, day, kind, id, shop_id, merchant_id, account_id, amount_cents,
                      reward_cents, product_family, sale_id
               FROM statistics_lines l
               WHERE {_line_scope(kind, "l")} AND day BETWEEN $2 AND $3
                 AND kind IN ({listed})
               {members}
               ORDER BY occurred_at, kind, id"""


async def count_lines(
    conn: asyncpg.Connection,
    kind: str,
    scope_id: UUID | None,
    start: date,
    end: date,
    kinds: Sequence[str],
) -> int:
    n: int = await conn.fetchval(
        f"SELECT count(*) FROM ({lines_sql(kind, kinds)}) AS l", scope_id, start, end
    )
    return n


async def enrolled_sql_rows(
    conn: asyncpg.Connection, kind: str, scope_id: UUID | None, start: date, end: date
) -> list[asyncpg.Record]:
    """The accounts opened in [start, end] (Paris days): the detail of the enrolments."""
    where = {
        "merchant": "enrolled_by_merchant = $1",
        "association": "association_id = $1",
        "network": "$1::uuid IS NULL",
    }[kind]
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT account_id, association_id, enrolled_by_merchant AS merchant_id, enrolled_at
            FROM customers
            WHERE {where} AND enrolled_at IS NOT NULL
              AND (enrolled_at AT TIME ZONE 'Europe/Paris')::date BETWEEN $2 AND $3
            ORDER BY enrolled_at, account_id""",
        scope_id,
        start,
        end,
    )
    return rows


async def consents_in_force(
    conn: asyncpg.Connection, kind: str, scope_id: UUID | None
) -> list[asyncpg.Record]:
    """The consents counted by ``consents``, one line each (the detail of the counts)."""
    where = {
        "merchant": "merchant_id = $1",
        "association": "association_id = $1 AND merchant_id IS NULL",
        "network": "merchant_id IS NULL AND $1::uuid IS NULL",
    }[kind]
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT account_id, channel, merchant_id, confirmed_at FROM consents
            WHERE status = 'confirmed' AND {where}
            ORDER BY channel, confirmed_at, account_id""",
        scope_id,
    )
    return rows


async def fetch_rows(conn: asyncpg.Connection, sql: str, *args: object) -> list[asyncpg.Record]:
    """The rows of one of this module's detail queries."""
    rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    return rows
