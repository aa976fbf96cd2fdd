"""Statistics benchmark (issue 14, item 6): dashboard queries over a network of ten million
sales, answered by crm's statistics API from its aggregates (docs/statistics.md).

    PYTHONPATH=. .venv/bin/python -m bench.stats [--sales 10000000] [--customers 1000000]
        [--merchants 10000] [--associations 100] [--queries 600] [--dsn ...] [--amqp ...]

1. runs crm's migrations on ``--dsn`` (by starting crm once), empties the statistics' tables
   and crm's customers and consents;
2. generates, inside PostgreSQL (generate_series, a fixed seed), ``--sales`` facts over two
   years (2029-2030): 90 % members' sales by ``--customers`` members, 10 % sales without a
   member, a return and a redemption for every 100 sales, at ``--merchants`` merchants (one
   shop each) in ``--associations`` associations (the members' sales as their visits, the
   other facts as statistics lines); then the aggregates from them, as the
   consumer would have kept them (statistics_days per shop, association and network with
   the sales per hour, statistics_customer_days, statistics_enrolments), the members' files
   and a network e-mail consent for one member in three (counted in statistics_consents by
   their trigger, as in production);
3. starts crm on it and sends ``--queries`` GET /v1/statistics, one at a time, each a random
   scope (shop, merchant, association, network) and a random period of 1, 7, 31, 92, 365 or
   730 days ending within the data; per query the whole answer (the figures and the previous
   period's), timed at the client;
4. prints p50/p99 per scope and overall, then a JSON line last; drops the generated data
   unless ``--keep`` (``--reuse`` skips 1 and 2: queries what a ``--keep`` run left, for an
   A/B of two commits on the same data; give it ``--keep`` too to keep it again).

Uses its own database and vhost (``bash bench/env.sh comptoir_b4``); never a suite's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench._daily import stop, wait_ready

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ADMIN_TOKEN = "bench-admin-token-not-secret"
START = date(2029, 1, 1)
DAYS = 730
RANGES = (1, 7, 31, 92, 365, 730)
SCOPES = ("shop", "merchant", "association", "network")
STAT_TABLES = (
    "visits",
    "statistics_lines",
    "statistics_days",
    "statistics_customer_days",
    "statistics_enrolments",
    "statistics_inbox",
)
# Index builds after the bulk inserts (names of services/crm/migrations/0009_statistics.sql).
INDEXES = {
    "visits_account": "visits (account_id, occurred_at)",
    "visits_family": "visits (account_id, product_family) WHERE cancelled_at IS NULL",
    "statistics_lines_shop": "statistics_lines (shop_id, day)",
    "statistics_lines_merchant": "statistics_lines (merchant_id, day)",
    "statistics_lines_association": "statistics_lines (association_id, day)",
    "statistics_days_merchant": "statistics_days (merchant_id, day) WHERE merchant_id IS NOT NULL",
    "statistics_customer_days_merchant": "statistics_customer_days (merchant_id, day) "
    "INCLUDE (account_id, visits, spent_cents)",
    "statistics_customer_days_association": "statistics_customer_days (association_id, day) "
    "INCLUDE (account_id, visits, spent_cents)",
}


def ids(prefix: str, n: str) -> str:
    """A deterministic uuid for the n-th thing of a kind (SQL)."""
    return f"md5('{prefix}' || ({n})::text)::uuid"


def generation(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The SQL statements that fill the tables, with what each does."""
    m, a, c, n = args.merchants, args.associations, args.customers, args.sales
    hours = ", ".join(
        f"sum((hour = {h} AND kind IN ('sale', 'anonymous_sale'))::int)" for h in range(24)
    )
    counters = ",\n        ".join(
        f"coalesce({e}, 0) AS c{i}"
        for i, e in enumerate(
            (
                "sum((kind = 'sale')::int)",
                "sum(amount_cents) FILTER (WHERE kind = 'sale')",
                "sum((kind = 'anonymous_sale')::int)",
                "sum(amount_cents) FILTER (WHERE kind = 'anonymous_sale')",
                "sum((kind = 'return')::int)",
                "sum(amount_cents) FILTER (WHERE kind = 'return')",
                "sum(CASE kind WHEN 'sale' THEN reward_cents WHEN 'return' THEN -reward_cents "
                "ELSE 0 END)",
                "sum((kind = 'redemption')::int)",
                "sum(amount_cents) FILTER (WHERE kind = 'redemption')",
            )
        )
    )
    cols = """member_sales, member_sales_cents, anonymous_sales, anonymous_sales_cents, returns,
        returned_cents, rewards_granted_cents, redemptions, rewards_spent_cents, sales_by_hour"""

    # One pass over the facts into the shops' days (with their association, in a temporary
    # table); the associations' and the network's days are sums of those rows.
    shop_days = f"""CREATE TEMPORARY TABLE bench_shop_days AS
            SELECT shop_id, merchant_id, association_id, day, {counters},
                   ARRAY[{hours}]::bigint[] AS sales_by_hour
            FROM (SELECT *, extract(hour FROM occurred_at AT TIME ZONE 'Europe/Paris')::int AS hour
                  FROM bench_facts) l
            GROUP BY shop_id, merchant_id, association_id, day"""
    summed = ", ".join(f"sum(c{i})" for i in range(9))
    by_hour = ", ".join(f"sum(sales_by_hour[{h}])" for h in range(1, 25))

    def days(scope: str, merchant: str, group: str) -> str:
        if scope == "shop_id":
            return f"""INSERT INTO statistics_days (scope_id, day, merchant_id, {cols})
                SELECT shop_id, day, merchant_id, {", ".join(f"c{i}" for i in range(9))},
                       sales_by_hour
                FROM bench_shop_days"""
        return f"""INSERT INTO statistics_days (scope_id, day, merchant_id, {cols})
            SELECT {scope}, day, {merchant}, {summed}, ARRAY[{by_hour}]::bigint[]
            FROM bench_shop_days GROUP BY {group}"""

    return [
        ("setseed", "SELECT setseed(0.14)"),
        (
            f"{n:,} facts",
            f"""CREATE TEMPORARY TABLE bench_facts AS
            SELECT kind, {ids("l", "i")} AS id, {ids("a", "asso")} AS association_id,
                   {ids("m", "merchant")} AS merchant_id, {ids("m", "merchant")} AS shop_id,
                   CASE WHEN kind = 'anonymous_sale' THEN NULL
                   ELSE {ids("c", "customer")} END AS account_id,
                   at AS occurred_at, (at AT TIME ZONE 'Europe/Paris')::date AS day,
                   amount AS amount_cents,
                   CASE WHEN kind IN ('sale', 'return') THEN amount * 3 / 100 ELSE 0 END
                   AS reward_cents
            FROM (
                SELECT i, kind, customer, customer % {a} AS asso,
                       customer % {a} + {a} * (floor(random() * {m // a})::int) AS merchant,
                       timestamptz '{START.isoformat()} 07:00+00'
                         + floor(random() * {DAYS}) * interval '1 day'
                         + random() * interval '12 hours' AS at,
                       CASE kind WHEN 'redemption' THEN 50 + floor(random() * 500)::int
                                 WHEN 'return' THEN 100 + floor(random() * 2000)::int
                                 ELSE 300 + floor(random() * 9000)::int END AS amount
                FROM (
                    SELECT i, floor(random() * {c})::int AS customer,
                           CASE WHEN i % 100 = 0 THEN 'return' WHEN i % 100 = 1 THEN 'redemption'
                                WHEN i % 10 = 5 THEN 'anonymous_sale' ELSE 'sale' END AS kind
                    FROM generate_series(1, {n}) AS i) g) x""",
        ),
        (
            "the members' sales, as their visits (crm migration 0021)",
            """INSERT INTO visits (sale_id, account_id, association_id, merchant_id, shop_id,
                    amount_cents, reward_cents, occurred_at)
            SELECT id, account_id, association_id, merchant_id, shop_id, amount_cents,
                   reward_cents, occurred_at
            FROM bench_facts WHERE kind = 'sale'""",
        ),
        (
            "the other facts, as statistics lines",
            """INSERT INTO statistics_lines (kind, id, association_id, merchant_id, shop_id,
                    account_id, occurred_at, day, amount_cents, reward_cents)
            SELECT * FROM bench_facts WHERE kind <> 'sale'""",
        ),
        ("the facts by shop and day", shop_days),
        ("shops' days", days("shop_id", "merchant_id", "")),
        ("associations' days", days("association_id", "NULL::uuid", "association_id, day")),
        (
            "the network's days",
            days("'00000000-0000-0000-0000-000000000000'::uuid", "NULL::uuid", "day"),
        ),
        (
            "members' days",
            """INSERT INTO statistics_customer_days (shop_id, day, account_id, merchant_id,
                    association_id, visits, spent_cents)
            SELECT shop_id, day, account_id, merchant_id, association_id,
                   sum((kind = 'sale')::int),
                   sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END)
            FROM bench_facts WHERE kind IN ('sale', 'return')
            GROUP BY shop_id, day, account_id, merchant_id, association_id""",
        ),
        (
            f"{c:,} members",
            f"""INSERT INTO customers (account_id, association_id, enrolled_at,
                    enrolled_by_merchant)
            SELECT {ids("c", "j")}, {ids("a", f"j % {a}")},
                   timestamptz '{(START - timedelta(days=DAYS)).isoformat()} 10:00+00'
                     + floor(random() * {2 * DAYS}) * interval '1 day',
                   {ids("m", f"j % {a} + {a} * (j % {m // a})")}
            FROM generate_series(0, {c - 1}) AS j""",
        ),
        (
            "enrolments",
            """INSERT INTO statistics_enrolments (scope_id, day, enrolments)
            SELECT scope, day, count(*) FROM (
                SELECT unnest(ARRAY[association_id, enrolled_by_merchant,
                                    '00000000-0000-0000-0000-000000000000'::uuid]) AS scope,
                       (enrolled_at AT TIME ZONE 'Europe/Paris')::date AS day
                FROM customers) e
            GROUP BY scope, day""",
        ),
        (
            "consents",
            """INSERT INTO consents (id, account_id, association_id, channel, status, address,
                    wording, requested_at, confirmed_at, updated_at)
            SELECT md5('consent' || account_id::text)::uuid, account_id, association_id,
                   'email', 'confirmed', 'x@example.fr', 'bench', enrolled_at, enrolled_at,
                   enrolled_at
            FROM customers WHERE get_byte(uuid_send(account_id), 0) % 3 = 0""",
        ),
    ]


def spawn(args: argparse.Namespace, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COMPTOIR_ENV": "development",
        "COMPTOIR_PORT": str(args.port),
        "COMPTOIR_DATABASE_URL": args.dsn,
        "COMPTOIR_AMQP_URL": args.amqp,
        "COMPTOIR_ADMIN_TOKEN": ADMIN_TOKEN,
        "COMPTOIR_DAILY_CHECK_S": "0",
        "COMPTOIR_RETENTION_DAYS": "0",
        "COMPTOIR_DB_POOL_MAX": "4",
        "COMPTOIR_LOG_LEVEL": "WARNING",
        "COMPTOIR_CARDS_URL": "http://127.0.0.1:9",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [PY, "-m", "services.crm"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def generate(conn: asyncpg.Connection, args: argparse.Namespace) -> dict[str, float]:
    await conn.execute("SET search_path TO crm")
    await conn.execute("SET maintenance_work_mem = '256MB'")
    await conn.execute("SET work_mem = '128MB'")
    await conn.execute(
        f"TRUNCATE {', '.join(STAT_TABLES)}, customers, consents, consent_proofs CASCADE"
    )
    await conn.execute("DROP TABLE IF EXISTS bench_shop_days, bench_facts")
    await conn.execute("ALTER TABLE visits DROP CONSTRAINT IF EXISTS visits_pkey")
    for name in INDEXES:
        await conn.execute(f"DROP INDEX IF EXISTS {name}")
    timings: dict[str, float] = {}
    for what, sql in generation(args):
        t0 = time.perf_counter()
        await conn.execute(sql)
        timings[what] = round(time.perf_counter() - t0, 1)
        print(f"  {what}: {timings[what]} s", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    await conn.execute("ALTER TABLE visits ADD CONSTRAINT visits_pkey PRIMARY KEY (sale_id)")
    for name, on in INDEXES.items():
        await conn.execute(f"CREATE INDEX {name} ON {on}")
    timings["indexes"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    await conn.execute("VACUUM (ANALYZE) statistics_days, statistics_customer_days")
    await conn.execute(
        "ANALYZE visits; ANALYZE statistics_lines; ANALYZE statistics_enrolments; ANALYZE consents"
    )
    timings["vacuum_analyze"] = round(time.perf_counter() - t0, 1)
    print(
        f"  indexes and analyze: {timings['indexes'] + timings['vacuum_analyze']} s",
        file=sys.stderr,
    )
    return timings


def pick(rng: random.Random, args: argparse.Namespace) -> tuple[str, int, dict[str, str]]:
    scope = rng.choice(SCOPES)
    days = rng.choice(RANGES)
    end = START + timedelta(days=rng.randrange(days - 1, DAYS))
    query = {"from": (end - timedelta(days=days - 1)).isoformat(), "to": end.isoformat()}
    a = rng.randrange(args.associations)
    merchant = a + args.associations * rng.randrange(args.merchants // args.associations)
    key = {"shop": "shop_id", "merchant": "merchant_id", "association": "association_id"}
    if scope in ("shop", "merchant"):
        query[key[scope]] = _md5_uuid("m", merchant)
    elif scope == "association":
        query[key[scope]] = _md5_uuid("a", a)
    return scope, days, query


def _md5_uuid(prefix: str, n: int) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"{prefix}{n}".encode()).hexdigest()))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1) if s else 0.0


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(14)
    url = f"http://127.0.0.1:{args.port}/v1/statistics"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    times: dict[str, list[float]] = {s: [] for s in SCOPES}
    by_range: dict[int, list[float]] = {d: [] for d in RANGES}
    async with aiohttp.ClientSession() as http:
        for i in range(args.warmup + args.queries):
            scope, days, query = pick(rng, args)
            t0 = time.perf_counter()
            async with http.get(url, params=query, headers=headers) as r:
                body = await r.read()
                assert r.status == 200, body[:300]
            ms = (time.perf_counter() - t0) * 1000
            if i >= args.warmup:
                times[scope].append(ms)
                by_range[days].append(ms)
    every = [t for ts in times.values() for t in ts]
    return {
        "queries": len(every),
        "p50_ms": pct(every, 0.5),
        "p99_ms": pct(every, 0.99),
        "max_ms": round(max(every), 1),
        "per_scope": {s: {"p50_ms": pct(t, 0.5), "p99_ms": pct(t, 0.99)} for s, t in times.items()},
        "per_range_days": {
            str(d): {"p50_ms": pct(t, 0.5), "p99_ms": pct(t, 0.99)} for d, t in by_range.items()
        },
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    run = ROOT / "run" / "bench" / f"stats-{time.strftime('%Y%m%d-%H%M%S')}"
    run.mkdir(parents=True, exist_ok=True)
    proc = spawn(args, run / "crm.log")
    try:
        await wait_ready(f"http://127.0.0.1:{args.port}", proc, timeout=180)
        conn = await asyncpg.connect(args.dsn)
        try:
            t0 = time.perf_counter()
            # --reuse: the data a run with --keep left (an A/B of two commits on the same data).
            timings = {} if args.reuse else await generate(conn, args)
            await conn.execute("SET search_path TO crm")
            generated_s = round(time.perf_counter() - t0, 1)
            sizes = {
                t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                for t in (
                    "visits",
                    "statistics_lines",
                    "statistics_days",
                    "statistics_customer_days",
                )
            }
            if not sizes["statistics_days"]:
                # Timing answers over nothing would look like a target met.
                raise SystemExit("bench.stats: no statistics in the database: generate (--keep)")
            result = await measure(args)
            # Data reused is kept: it was not this run's to delete (it took the better part of an
            # hour to generate at full size).
            if not (args.keep or args.reuse):
                await conn.execute(
                    f"TRUNCATE {', '.join(STAT_TABLES)}, customers, consents, consent_proofs CASCADE"
                )
        finally:
            await conn.close()
    finally:
        stop(proc)
    return {
        "bench": "stats",
        "sales": args.sales,
        "customers": args.customers,
        "merchants": args.merchants,
        "associations": args.associations,
        "rows": sizes,
        "generation_s": generated_s,
        "generation_steps_s": timings,
        **result,
        "target_p99_ms": 100,
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "load_avg_at_end": os.getloadavg()[0],
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sales", type=int, default=10_000_000)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--merchants", type=int, default=10_000)
    p.add_argument("--associations", type=int, default=100)
    p.add_argument("--queries", type=int, default=600)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--port", type=int, default=24095)
    p.add_argument("--dsn", default="postgresql://comptoir:comptoir@127.0.0.1:5432/comptoir_b4")
    p.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/comptoir_b4")
    p.add_argument("--keep", action="store_true", help="keep the generated data")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="query the data a --keep run left, no generation (and keep it)",
    )
    a = p.parse_args()
    if a.merchants % a.associations:
        p.error("--merchants must be a multiple of --associations")
    out = asyncio.run(main(a))
    print(
        f"{out['queries']} queries: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms "
        f"(generation {out['generation_s']} s)",
        file=sys.stderr,
    )
    print(json.dumps(out))
