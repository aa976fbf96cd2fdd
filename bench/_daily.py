"""The daily triggers over a million customers: ``python -m bench.messages --daily``.

1. crm's schema on the bench database (``COMPTOIR_DATABASE_URL``), its migrations applied by a
   first start of crm (daily jobs off); a million customers written straight into crm's tables
   with COPY, unless they are there already from an earlier run (``--regenerate`` makes them
   again): four associations (40, 30, 20 and 10 % of the customers) of eight merchants each;
   birth dates over the year (85 % of the customers; a spouse's for 40 %, one to three
   children's for 35 %), enrolment within 1,000 days, last visits spread over two years (5 %
   never came), visit counts, each customer in the files of one to three merchants of their
   association; consents: the network's by e-mail for 40 % of those with an address, by SMS for
   25 %, a merchant's by e-mail for 25 % of its files, a few pending or withdrawn; 0.3 %
   erased; a frequency cap of 4 per 30 days in each association and a history of marketing
   messages over the last 30 days (0 to 4 a person) for it to count;
2. through crm's API, on that start: the daily triggers of each association and each merchant
   (birthday with an offer text, *without* a voucher: a voucher is an HTTP call to cards per
   person, and cards is not started here; we_miss_you months=3; spacing_out factor=2), by
   e-mail, the smallest association's network ones by SMS; then crm stops;
3. crm starts again with its daily jobs on and its clock at 06:00 (Paris) on ``--day``: the
   clock runs from the start until every trigger's day is finished in ``daily_runs`` (its
   messages are in the outbox: each batch writes them in the transaction that moves the day
   on). ``daily_s`` is the service's own span (from the first day's row taken to the last
   finished, on its clock, which runs at the real pace from its start); ``total_s`` includes
   the start. ``messages``: what the triggers asked for; ``peak_rss_mb``: crm's VmHWM.

``--code DIR`` runs crm from another checkout (an A/B against older code: the migrations that
code does not know are taken out first, and put back by the next run of this one).
``--explain`` writes the plans of each trigger kind's first batch (EXPLAIN ANALYZE, BUFFERS).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as daytime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import aiohttp
import asyncpg
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PARIS = ZoneInfo("Europe/Paris")
DSN = os.environ.get(
    "COMPTOIR_DATABASE_URL", "postgresql://comptoir:comptoir@127.0.0.1:5432/comptoir_bench"
)
AMQP = os.environ.get("COMPTOIR_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/comptoir_bench")
ADMIN_TOKEN = "bench-admin-token-not-secret"
TARGET_S = 30.0
SHARES = (0.4, 0.3, 0.2, 0.1)
NS = uuid.UUID("0b6f4a52-58c3-4d7a-9d55-5d1b1f6c2e01")
CHUNK = 50_000
FIRST = ("Anne", "Bruno", "Chloé", "David", "Élise", "Farid", "Gisèle", "Hugo", "Inès", "Jules")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand")
# Migrations of this checkout that older code does not know, and how to take each one out
# (keyed by the file name after its number, which may change when branches are merged).
DOWN = {
    "daily_triggers": """DROP INDEX IF EXISTS customers_celebrated, customers_last_visit,
                             customers_regulars, merchant_customers_last_visit,
                             merchant_customers_regulars;
                         DROP FUNCTION IF EXISTS celebrated_days(date, date, date[]);
                         DROP STATISTICS IF EXISTS customers_sign_of_life;""",
    "celebrated_days_inline": """CREATE OR REPLACE FUNCTION celebrated_days(birth date, spouse date,
                                                                children date[])
                                     RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
                                     AS $$ SELECT coalesce(array_agg((extract(month FROM d) * 100
                                                             + extract(day FROM d))::integer), '{}')
                                           FROM unnest(array_append(array_append(children, birth),
                                                                    spouse)) AS d
                                           WHERE d IS NOT NULL $$;
                                 DROP FUNCTION IF EXISTS celebrated_days_of(date, date, date[]);""",
    # older code's birthday query does not say the partial index's condition
    "celebrated_days_dated": """DROP INDEX IF EXISTS customers_celebrated;
                                CREATE INDEX customers_celebrated ON customers USING gin
                                    (celebrated_days(birth_date, spouse_birthday,
                                                     children_birthdays))
                                    WHERE erased_at IS NULL;""",
}


def say(msg: str) -> None:
    print(f"[bench.messages --daily] {msg}", file=sys.stderr, flush=True)


def loadavg() -> list[str]:
    """The machine's load averages, said with every run (bench/messages.py's too)."""
    return Path("/proc/loadavg").read_text().split()[:3]


def vmhwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the million customers --------------------------------------------------------------------


def ids(count: int, kind: str) -> list[uuid.UUID]:
    return [uuid.uuid5(NS, f"{kind}/{i}") for i in range(count)]


class Network:
    def __init__(self, merchants_per: int) -> None:
        self.associations = ids(len(SHARES), "association")
        self.merchants = {
            a: [uuid.uuid5(NS, f"merchant/{a}/{m}") for m in range(merchants_per)]
            for a in self.associations
        }


def _birthday(rng: random.Random, first: int, last: int) -> date:
    return date(rng.randint(first, last), 1, 1) + timedelta(days=rng.randrange(365))


def _wording(channel: str) -> str:
    return f"J'accepte de recevoir par {channel} les offres et actualités du réseau."


CUSTOMER_COLUMNS = [
    "account_id",
    "association_id",
    "phone",
    "email",
    "first_name",
    "last_name",
    "title",
    "postal_code",
    "town",
    "enrolled_at",
    "enrolled_by_merchant",
    "visit_count",
    "total_spent_cents",
    "last_visit_at",
    "birth_date",
    "spouse_birthday",
    "children_birthdays",
    "language",
    "details_updated_at",
    "erased_at",
    "pseudonym",
]
FILE_COLUMNS = [
    "account_id",
    "merchant_id",
    "visit_count",
    "total_spent_cents",
    "first_visit_at",
    "last_visit_at",
    "joined_at",
    "joined_how",
]
CONSENT_COLUMNS = [
    "id",
    "account_id",
    "association_id",
    "channel",
    "merchant_id",
    "status",
    "address",
    "wording",
    "requested_at",
    "confirmed_at",
    "withdrawn_at",
    "updated_at",
]
MESSAGE_COLUMNS = [
    "message_id",
    "account_id",
    "channel",
    "category",
    "template",
    "consent_id",
    "status",
    "requested_at",
    "updated_at",
]


def _consent(
    rng: random.Random,
    account: uuid.UUID,
    association: uuid.UUID,
    channel: str,
    merchant: uuid.UUID | None,
    address: str,
    at: datetime,
) -> tuple[Any, ...]:
    status = rng.choices(("confirmed", "withdrawn", "pending"), (0.93, 0.05, 0.02))[0]
    confirmed = at + timedelta(minutes=5) if status != "pending" else None
    withdrawn = at + timedelta(days=rng.randint(1, 200)) if status == "withdrawn" else None
    return (
        uuid.UUID(int=rng.getrandbits(128), version=4),
        account,
        association,
        channel,
        merchant,
        status,
        address,
        _wording(channel),
        at,
        confirmed,
        withdrawn,
        withdrawn or confirmed or at,
    )


def chunk(
    rng: random.Random, net: Network, start: int, count: int, day: date
) -> tuple[list[tuple[Any, ...]], ...]:
    """``count`` customers from number ``start``: their rows in customers, merchant_customers,
    consents and customer_messages."""
    now = datetime.combine(day, daytime(6), PARIS)
    customers, consents, messages = [], [], []
    # a merchant's file: account, merchant, visits, spend, first and last visit (none yet), since
    files: list[
        tuple[uuid.UUID, uuid.UUID, int, int, datetime | None, datetime | None, datetime, str]
    ] = []
    for i in range(start, start + count):
        a = rng.choices(range(len(SHARES)), SHARES)[0]
        association = net.associations[a]
        merchants = net.merchants[association]
        account = uuid.UUID(int=rng.getrandbits(128), version=4)
        erased = rng.random() < 0.003
        email = f"c{i:07d}@example.org" if rng.random() < 0.7 and not erased else None
        phone = f"+336{i:08d}" if rng.random() < 0.92 and not erased else None
        seen_ago = rng.uniform(0.5, 730)
        enrolled_ago = min(1000.0, seen_ago + rng.uniform(0, 250))
        enrolled = now - timedelta(days=enrolled_ago)
        never = rng.random() < 0.05
        last = None if never else now - timedelta(days=seen_ago)
        visits = 0 if never else 1 + int(rng.expovariate(1 / 8))
        spent = visits * rng.randint(800, 6000)
        born = _birthday(rng, 1940, 2006) if rng.random() < 0.85 else None
        spouse = _birthday(rng, 1940, 2006) if rng.random() < 0.4 else None
        children = (
            [_birthday(rng, 1990, 2024) for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.35
            else []
        )
        own = rng.sample(merchants, rng.choices((1, 2, 3), (0.5, 0.35, 0.15))[0])
        customers.append(
            (
                account,
                association,
                phone,
                email,
                None if erased else rng.choice(FIRST),
                None if erased else rng.choice(LAST),
                None if erased else rng.choice(("M.", "Mme")),
                None if erased else f"{rng.randint(1, 95):02d}{rng.randint(0, 999):03d}",
                None if erased else "Ville",
                enrolled,
                own[0],
                visits,
                spent,
                last,
                None if erased else born,
                None if erased else spouse,
                [] if erased else children,
                "fr" if rng.random() < 0.9 else "en",
                enrolled,
                now - timedelta(days=3) if erased else None,
                f"pseudo-{i}" if erased else None,
            )
        )
        left = visits
        for n, merchant in enumerate(own):
            here = left if n == len(own) - 1 else rng.randint(0, left)
            left -= here
            if here == 0:
                files.append((account, merchant, 0, 0, None, None, enrolled, "enrolment"))
                continue
            assert last is not None
            m_last = last if n == 0 else last - (last - enrolled) * rng.random()
            m_first = enrolled + (m_last - enrolled) * rng.random() if here > 1 else m_last
            files.append(
                (account, merchant, here, here * spent // visits, m_first, m_last, m_first, "visit")
            )
            if email and rng.random() < 0.25:
                consents.append(
                    _consent(rng, account, association, "email", merchant, email, enrolled)
                )
        if email and rng.random() < 0.4:
            consents.append(_consent(rng, account, association, "email", None, email, enrolled))
        if phone and rng.random() < 0.25:
            consents.append(_consent(rng, account, association, "sms", None, phone, enrolled))
        # the cap's history: what this person was sent in the last 30 days
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 3, 4)) if not erased else 0):
            at = now - timedelta(days=rng.uniform(0.3, 29.5))  # inside the window all run
            messages.append(
                (
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    account,
                    "email",
                    "marketing",
                    "newsletter",
                    None,
                    "delivered",
                    at,
                    at,
                )
            )
    return customers, files, consents, messages


async def generate(conn: asyncpg.Connection, args: argparse.Namespace, net: Network) -> float:
    t0 = time.monotonic()
    await conn.execute(
        """TRUNCATE customers, merchant_customers, consents, consent_proofs, customer_messages,
                    triggers, marketing_caps, daily_runs, outbox"""
    )
    rng = random.Random(args.seed)
    for start in range(0, args.customers, CHUNK):
        customers, files, consents, messages = chunk(
            rng, net, start, min(CHUNK, args.customers - start), args.day
        )
        for table, rows, columns in (
            ("customers", customers, CUSTOMER_COLUMNS),
            ("merchant_customers", files, FILE_COLUMNS),
            ("consents", consents, CONSENT_COLUMNS),
            ("customer_messages", messages, MESSAGE_COLUMNS),
        ):
            await conn.copy_records_to_table(
                table, records=rows, columns=columns, schema_name="crm"
            )
        say(f"{start + len(customers)} customers written ({time.monotonic() - t0:.0f} s)")
    await conn.execute(
        "INSERT INTO bench_daily (customers, seed, day) VALUES ($1, $2, $3)",
        args.customers,
        args.seed,
        args.day,
    )
    return time.monotonic() - t0


async def prepare(conn: asyncpg.Connection, args: argparse.Namespace, net: Network) -> float:
    """The data, made unless an earlier run made the same; what a run adds taken out."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_daily (customers integer, seed integer, day date)"
    )
    made = await conn.fetchrow("SELECT customers, seed, day FROM bench_daily")
    took = 0.0
    if args.regenerate or made is None or tuple(made) != (args.customers, args.seed, args.day):
        await conn.execute("TRUNCATE bench_daily")
        took = await generate(conn, args, net)
    start = datetime.combine(args.day, daytime(0), PARIS)
    await conn.execute("DELETE FROM customer_messages WHERE requested_at >= $1", start)
    await conn.execute("TRUNCATE daily_runs, outbox, triggers, marketing_caps")
    t0 = time.monotonic()
    await conn.execute("VACUUM ANALYZE customers")
    for table in ("merchant_customers", "consents", "customer_messages"):
        await conn.execute(f"VACUUM ANALYZE {table}")
    say(f"vacuum analyze: {time.monotonic() - t0:.1f} s")
    return took


# --- crm ------------------------------------------------------------------------------------


def applied_down(code: Path, done: list[str]) -> list[str]:
    """The DOWN statements of the migrations applied here that ``code`` does not have."""
    known = {f"crm/{p.stem}" for p in (code / "services/crm/migrations").glob("*.sql")}
    out = []
    for version in done:
        if version.startswith("crm/") and version not in known:
            name = version.split("_", 1)[1]
            if name not in DOWN:
                raise SystemExit(f"{version} is applied and {code} does not know it")
            out.append(DOWN[name])
            out.append(f"DELETE FROM schema_migrations WHERE version = '{version}'")
    return out


@contextlib.asynccontextmanager
async def cards_stand_in(net: Network, port: int) -> AsyncIterator[str]:
    """What crm asks of cards here: whether a merchant is of an association (a merchant's
    trigger is checked so since issue 15), answered from the generated network. cards itself
    is not started: it would know none of the merchants written straight into crm's tables,
    and no voucher is asked for (the birthday triggers have none)."""
    members = {(str(a), str(m)) for a, ms in net.merchants.items() for m in ms}

    async def merchant(request: web.Request) -> web.Response:
        known = (request.match_info["a"], request.match_info["m"]) in members
        return web.json_response({}, status=200 if known else 404)

    app = web.Application()
    app.router.add_get("/v1/associations/{a}/merchants/{m}", merchant)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def spawn(
    code: Path,
    port: int,
    clock: datetime,
    jobs: bool,
    pool: int,
    log: Path,
    cards_url: str = "http://127.0.0.1:9",
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "COMPTOIR_ENV": "development",
        "COMPTOIR_PORT": str(port),
        "COMPTOIR_DATABASE_URL": DSN,
        "COMPTOIR_AMQP_URL": AMQP,
        "COMPTOIR_ADMIN_TOKEN": ADMIN_TOKEN,
        "COMPTOIR_CLOCK": clock.isoformat(),
        "COMPTOIR_DAILY_CHECK_S": "3600" if jobs else "0",
        "COMPTOIR_DB_POOL_MAX": str(pool),
        "COMPTOIR_LOG_LEVEL": "INFO",
        "COMPTOIR_CARDS_URL": cards_url,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [PY, "-m", "services.crm"], cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def wait_ready(
    url: str, proc: subprocess.Popen[bytes], timeout: float = 120, name: str = "crm"
) -> None:
    """Until the service at ``url`` answers /ready (bench/messages.py's notifications too)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}")
            try:
                async with http.get(f"{url}/ready") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready")
            await asyncio.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def trigger_bodies(net: Network) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    out = []
    for n, a in enumerate(net.associations):
        for merchant in [None, *net.merchants[a]]:
            channel = "sms" if merchant is None and n == len(net.associations) - 1 else "email"
            name = "Le réseau" if merchant is None else f"Boutique {str(merchant)[:4]}"
            for kind, params in (
                ("birthday", {"offer_text": "Un café offert cette semaine", "shop_name": name}),
                ("we_miss_you", {"months": 3, "shop_name": name}),
                ("spacing_out", {"factor": 2, "shop_name": name, "body": "Revenez nous voir"}),
            ):
                body = {
                    "association_id": str(a),
                    "merchant_id": str(merchant) if merchant else None,
                    "kind": kind,
                    "channel": channel,
                    "params": params,
                }
                out.append((uuid.uuid5(NS, f"trigger/{a}/{merchant}/{kind}"), body))
    return out


async def configure(url: str, net: Network) -> int:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    bodies = trigger_bodies(net)
    async with aiohttp.ClientSession(headers=headers) as http:
        for a in net.associations:
            cap = {"max_messages": 4, "per_days": 30}
            async with http.put(f"{url}/v1/associations/{a}/marketing-cap", json=cap) as r:
                assert r.status == 200, await r.text()
        for trigger_id, body in bodies:
            async with http.put(f"{url}/v1/triggers/{trigger_id}", json=body) as r:
                assert r.status == 200, await r.text()
    return len(bodies)


async def stand_in_queue(bind: bool) -> None:
    """A queue for the MessageRequested crm's relay publishes (notifications' in a deployment):
    without one they come back unroutable and are retried."""
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        if not bind:
            await channel.queue_delete("bench.daily_messages")
            return
        await channel.declare_exchange("comptoir.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue("bench.daily_messages", durable=True)
        await queue.bind("comptoir.events", "message.requested.v1")
        await queue.purge()


# --- the plans ----------------------------------------------------------------------------------


class _Explaining:
    """A connection whose ``fetch`` answers nothing and keeps the query's plan instead."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.plans: list[str] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        rows = await self.conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
        self.plans.append("\n".join(r[0] for r in rows))
        return []

    async def execute(self, sql: str, *args: Any) -> str:
        status: str = await self.conn.execute(sql, *args)
        return status


async def explain(day: date) -> str:
    """The plan of the first batch of one trigger of each kind and scope, with the code on
    PYTHONPATH (this checkout's or ``--code``'s)."""
    from services.crm.service import triggers  # the code under test's

    conn = await asyncpg.connect(DSN, server_settings={"search_path": "crm", "jit": "off"})
    try:
        text = []
        rows = await conn.fetch(
            """SELECT DISTINCT ON (kind, merchant_id IS NULL) id, association_id, merchant_id,
                      kind, channel, enabled, params::text AS params
               FROM triggers WHERE kind IN ('birthday', 'we_miss_you', 'spacing_out')
               ORDER BY kind, merchant_id IS NULL, association_id"""
        )
        for r in rows:
            t = dict(r) | {"params": json.loads(r["params"])}
            proxy = _Explaining(conn)
            started = time.monotonic()
            async with conn.transaction():  # as the service reads them (SET LOCAL)
                await triggers._candidates(proxy, t, day, None)
            scope = "merchant" if t["merchant_id"] else "association"
            text.append(f"== {t['kind']} ({scope}), {time.monotonic() - started:.3f} s")
            text.extend(proxy.plans)
        return "\n\n".join(text) + "\n"
    finally:
        await conn.close()


# --- the run --------------------------------------------------------------------------------


async def wait_finished(
    conn: asyncpg.Connection, day: date, triggers: int, proc: subprocess.Popen[bytes], t0: float
) -> float:
    last_said = t0
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"crm exited with {proc.returncode}")
        done = await conn.fetchval(
            """SELECT count(*) FROM daily_runs
               WHERE day = $1 AND job LIKE 'trigger:%' AND finished_at IS NOT NULL""",
            day,
        )
        now = time.monotonic()
        if done >= triggers:
            return now - t0
        if now - last_said > 10:
            say(f"{done}/{triggers} triggers done after {now - t0:.0f} s")
            last_said = now
        await asyncio.sleep(0.1)


async def run(args: argparse.Namespace, out: Path, code: Path) -> dict[str, Any]:
    net = Network(args.merchants)
    port = args.port_base + 3
    url = f"http://127.0.0.1:{port}"
    clock = datetime.combine(args.day, daytime(6), PARIS)
    conn = await asyncpg.connect(DSN, server_settings={"search_path": "crm"})
    try:
        await conn.execute("CREATE SCHEMA IF NOT EXISTS crm")
        if await conn.fetchval("SELECT to_regclass('crm.schema_migrations') IS NOT NULL"):
            done = [r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")]
            for sql in applied_down(code, done):
                await conn.execute(sql)
        # first start: the migrations, then the data and the triggers (daily jobs off)
        async with cards_stand_in(net, args.port_base + 1) as cards_url:
            crm = spawn(code, port, clock, False, args.pool, out / "crm.log", cards_url)
            try:
                await wait_ready(url, crm)
                generated_s = await prepare(conn, args, net)
                triggers = await configure(url, net)
            finally:
                stop(crm)
        await stand_in_queue(True)
        load_start = loadavg()
        say(f"{triggers} triggers; crm starts with its daily jobs on, load {load_start}")
        t0 = time.monotonic()
        crm = spawn(code, port, clock, True, args.pool, out / "crm.log")
        try:
            total_s = await asyncio.wait_for(
                wait_finished(conn, args.day, triggers, crm, t0), args.timeout
            )
            peak = vmhwm_mb(crm.pid)
        finally:
            stop(crm)
        load_end = loadavg()
        span = await conn.fetchrow(
            """SELECT extract(epoch FROM max(finished_at) - min(done_at)) AS daily_s,
                      sum(items) FILTER (WHERE job LIKE 'trigger:%') AS messages
               FROM daily_runs WHERE day = $1""",
            args.day,
        )
        slowest = await conn.fetch(
            """SELECT t.kind, t.merchant_id IS NULL AS network, r.items,
                      extract(epoch FROM r.finished_at - r.done_at) AS s
               FROM daily_runs r JOIN triggers t ON r.job = 'trigger:' || t.id
               WHERE r.day = $1 ORDER BY s DESC LIMIT 5""",
            args.day,
        )
        by_kind = await conn.fetch(
            """SELECT t.kind, t.merchant_id IS NULL AS network, sum(r.items) AS messages,
                      sum(extract(epoch FROM r.finished_at - r.done_at)) AS s
               FROM daily_runs r JOIN triggers t ON r.job = 'trigger:' || t.id
               WHERE r.day = $1 GROUP BY 1, 2 ORDER BY 1, 2""",
            args.day,
        )
        # the ids are derived from (trigger, person, day): two runs that asked for the same
        # messages have the same digest, whatever the code
        logged, digest = await conn.fetchrow(
            """SELECT count(*), md5(string_agg(message_id::text, ',' ORDER BY message_id))
               FROM customer_messages WHERE requested_at >= $1""",
            datetime.combine(args.day, daytime(0), PARIS),
        )
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t}")
            for t in ("customers", "merchant_customers", "consents", "customer_messages")
        }
    finally:
        await conn.close()
    await stand_in_queue(False)
    for r in by_kind:
        scope = "network" if r["network"] else "merchants"
        say(f"  {r['kind']:12} {scope:9} {r['messages']:6} messages in {float(r['s']):6.2f} s")
    result = {
        "bench": "messages_daily",
        "customers": args.customers,
        "rows": counts,
        "triggers": triggers,
        "day": args.day.isoformat(),
        "generated_s": round(generated_s, 1),
        "daily_s": round(float(span["daily_s"]), 2),
        "total_s": round(total_s, 2),
        "target_s": TARGET_S,
        "messages": int(span["messages"] or 0),
        "messages_logged": logged,
        "messages_digest": digest,
        "peak_rss_mb": round(peak, 1),
        "slowest": [
            [
                r["kind"],
                "network" if r["network"] else "merchant",
                r["items"],
                round(float(r["s"]), 2),
            ]
            for r in slowest
        ],
        "code": str(code),
        "db_pool": args.pool,
        "load_start": load_start,
        "load_end": load_end,
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpus": os.cpu_count(),
    }
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("--daily")
    g.add_argument("--customers", type=int, default=1_000_000)
    g.add_argument("--merchants", type=int, default=8, help="per association (4 of them)")
    g.add_argument("--day", type=date.fromisoformat, default=date(2027, 3, 17))
    g.add_argument("--seed", type=int, default=13)
    g.add_argument("--regenerate", action="store_true", help="write the customers again")
    g.add_argument(
        "--code", default=str(ROOT), help="the checkout the services run from (both modes)"
    )
    g.add_argument("--db-pool", dest="pool", type=int, default=4, help="crm's pool")
    g.add_argument("--explain", action="store_true", help="the candidates' plans")


def main(args: argparse.Namespace) -> dict[str, Any]:
    out = ROOT / "run" / "bench" / f"daily-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True)
    code = Path(args.code).resolve()
    result = asyncio.run(run(args, out, code))
    (out / "result.json").write_text(json.dumps(result))
    if args.explain:
        plans = subprocess.run(
            [PY, str(Path(__file__).resolve()), "--explain", args.day.isoformat()],
            cwd=code,
            env={**os.environ, "PYTHONPATH": str(code)},
            check=True,
            capture_output=True,
        )
        (out / "plans.txt").write_bytes(plans.stdout)
        say(f"plans in {out / 'plans.txt'}")
    say(
        f"{result['triggers']} triggers over {result['customers']} customers: "
        f"{result['messages']} messages, the days done in {result['daily_s']} s "
        f"({result['total_s']} s from crm's start; target {TARGET_S} s); "
        f"peak RSS {result['peak_rss_mb']} MB"
    )
    return result


if __name__ == "__main__" and sys.argv[1:2] == ["--explain"]:
    print(asyncio.run(explain(date.fromisoformat(sys.argv[2]))))
