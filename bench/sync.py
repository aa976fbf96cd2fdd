"""Sync benchmark: offline terminals uploading their journals to the gateway.

    PYTHONPATH=. .venv/bin/python -m bench.sync [--terminals 16] [--per-terminal 5000]
        [--cards 20000] [--single 2000] [--raw-rows 0]

(or ``make bench BENCHES=sync``). What it measures, in one run:

(a) ``sync_2000_ms``: one terminal syncing ``--single`` journal lines over HTTP on loopback,
    from its HELLO to the answer of its CLOSE (and the updates download), as the terminal
    program does it (``shared.sync.client``); the same over the raw TCP line
    (``sync_2000_line_ms``);
(b) the nightly storm: ``--terminals`` terminals syncing ``--per-terminal`` lines each at once;
    ``storm_sales_per_s`` = lines / (first HELLO → the last line committed in cards
    (``card_transactions``), its chunk booked in clearing and crm (their inboxes));
(c) ``raw_limit_per_s``: the raw limit of this machine for batched inserts, measured after
    the services stop: the same number of rows, each the width of a journal line, inserted in
    transactions of 500 rows (unnest) from 4 connections; ``ratio`` = (b) / (c).

Every line is a valid certified transaction of a simulated card (tests/cardtx.py) issued by
the cards service, so the whole server path runs: signatures, chunk commits, certificate
checks, ATC chains, cagnotte entries, clearing and crm. The run checks that each line was
booked exactly once and that no anomaly was raised. Database ``comptoir_bench``, vhost
``comptoir_bench`` (reset at the start), ports 28080-28084 and 28090 (the line).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

from bench.ingest import (
    ADMIN_TOKEN,
    AMQP,
    DSN,
    PY,
    ROOT,
    SERVICES,
    Proc,
    child_env,
    code_version,
    end_leftovers,
    machine,
    ports_free,
    reset,
    say,
    wait_ready,
)
from shared.contracts import CardTransaction
from shared.sync.client import HttpTransport, LineTransport, SyncClient
from tests.cardtx import CardTxFactory, MemoryJournal, SimCard

LINE_PORT = 28090
CHUNK = 500
TARGET = {"sync_2000_ms": 1000, "storm_sales_per_s": 15_000, "ratio": 0.15}
BOOKED = "comptoir.transactions.booked.v1"


async def start_services(run_dir: Path) -> dict[str, Proc]:
    def start(name: str, attempt: int = 0) -> Proc:
        env = child_env(
            {
                "COMPTOIR_DATABASE_URL": DSN,
                "COMPTOIR_AMQP_URL": AMQP,
                "COMPTOIR_PORT": str(SERVICES[name]),
                "COMPTOIR_ADMIN_TOKEN": ADMIN_TOKEN,
                "COMPTOIR_ENV": "development",  # the development card keys (shared/production.py)
                "COMPTOIR_LOG_LEVEL": "WARNING",
                "COMPTOIR_SYNC_LINE_PORT": str(LINE_PORT),
            }
        )
        return Proc(name, [PY, "-m", f"services.{name}"], env, run_dir / f"{name}-{attempt}.log")

    procs = {name: start(name) for name in SERVICES}
    async with aiohttp.ClientSession() as s:
        await wait_ready(s, procs, start)
    return procs


class Admin:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.s = session
        self.h = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}

    async def call(self, method: str, service: str, path: str, body: Any = None) -> Any:
        url = f"http://127.0.0.1:{SERVICES[service]}{path}"
        data = None if body is None else orjson.dumps(body)
        async with self.s.request(method, url, data=data, headers=self.h) as r:
            raw = await r.read()
            if r.status not in (200, 201):
                raise SystemExit(f"seed {method} {path}: {r.status} {raw[:300]!r}")
            return raw if path.endswith(".csv") else orjson.loads(raw)


async def seed(terminals: int, cards: int) -> tuple[list[tuple[uuid.UUID, str]], list[str]]:
    """One association at 5 % (network rate), a merchant per terminal, ``cards`` cards."""
    async with aiohttp.ClientSession() as s:
        admin = Admin(s)
        aid = str(uuid.uuid4())
        await admin.call(
            "PUT",
            "cards",
            f"/v1/associations/{aid}",
            {
                "name": "Bench",
                "rate_mode": "network",
                "taux_client_bps": 500,
                "taux_uc_bps": 100,
                "issuer_prefix": "990001",
            },
        )
        out = []
        for i in range(terminals):
            mid, tid = str(uuid.uuid4()), uuid.uuid4()
            await admin.call(
                "PUT", "cards", f"/v1/associations/{aid}/merchants/{mid}", {"name": f"Shop {i}"}
            )
            r = await admin.call(
                "PUT",
                "terminals",
                f"/v1/terminals/{tid}",
                {"association_id": aid, "merchant_id": mid, "shop_id": mid, "label": f"T{i}"},
            )
            out.append((tid, r["secret"]))
        numbers: list[str] = []
        while len(numbers) < cards:
            size = min(10_000, cards - len(numbers))
            batch = await admin.call(
                "POST",
                "cards",
                f"/v1/associations/{aid}/card-batches",
                {"batch_id": str(uuid.uuid4()), "size": size},
            )
            raw = await admin.call("GET", "cards", batch["csv"])
            rows = csv.DictReader(io.StringIO(raw.decode()))
            numbers += [row["raw_number"] for row in rows]
    return out, numbers


def journals(
    terminals: list[tuple[uuid.UUID, str]], cards: dict[str, SimCard], per_terminal: int
) -> list[list[CardTransaction]]:
    """Each terminal's journal; the cards are shared, so a card's counter and balance run
    across shops. Amounts are whole multiples of 20 cents: 5 % of them is exact, so the
    server's rules agree with the simulated terminal to the cent."""
    pool = list(cards.values())
    out = []
    for i, (tid, _) in enumerate(terminals):
        f = CardTxFactory(tid, cards=cards, seed=i)
        lines = []
        for _ in range(per_terminal):
            card = f.rng.choice(pool)
            if card.available > 1000 and f.rng.random() < 0.1:
                lines.append(f.redemption(card, card.available // 2))
            else:
                lines.append(f.sale(card, amount_cents=20 * f.rng.randrange(5, 1000)))
        out.append(lines)
    return out


async def one_sync(
    tid: uuid.UUID, secret: str, lines: list[CardTransaction], line: bool
) -> tuple[float, Any]:
    transport: HttpTransport | LineTransport = (
        LineTransport("127.0.0.1", LINE_PORT, tid, secret)
        if line
        else HttpTransport(f"http://127.0.0.1:{SERVICES['terminals']}", tid, secret)
    )
    try:
        report = await SyncClient(transport, chunk_size=CHUNK).run(MemoryJournal(lines=lines))
    finally:
        await transport.aclose()
    if not report.ok or report.sent != len(lines):
        raise SystemExit(f"sync of {tid} failed: {report}")
    return report.elapsed_s, report


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {
        "cards": await conn.fetchval("SELECT count(*) FROM cards.card_transactions"),
        "chunks": await conn.fetchval(
            "SELECT count(DISTINCT chunk_id) FROM cards.card_transactions"
        ),
        "clearing": await conn.fetchval(
            "SELECT count(*) FROM clearing.inbox WHERE type = $1", BOOKED
        ),
        "crm": await conn.fetchval("SELECT count(*) FROM crm.inbox WHERE type = $1", BOOKED),
    }


async def wait_committed(conn: asyncpg.Connection, total: int, timeout: float) -> float:
    """Poll until every line is in cards and every chunk booked in clearing and crm.

    The chunks are counted once, when every line is in cards (a chunk's lines are committed
    with it): counting the distinct chunks of every line at each poll, every 50 ms, cost this
    bench's own backend 0.05 to 0.10 ms of the database's CPU per storm line, about a tenth of
    what the services spend, and the more the slower the code measured (docs/benchmarks.md)."""
    deadline = time.monotonic() + timeout
    chunks: int | None = None
    while True:
        if chunks is None:
            cards = await conn.fetchval("SELECT count(*) FROM cards.card_transactions")
            if cards >= total:
                chunks = await conn.fetchval(
                    "SELECT count(DISTINCT chunk_id) FROM cards.card_transactions"
                )
        if chunks is not None:
            clearing = await conn.fetchval(
                "SELECT count(*) FROM clearing.inbox WHERE type = $1", BOOKED
            )
            crm = await conn.fetchval("SELECT count(*) FROM crm.inbox WHERE type = $1", BOOKED)
            if clearing >= chunks and crm >= chunks:
                return time.perf_counter()
        if time.monotonic() > deadline:
            raise SystemExit(f"not committed after {timeout}s: {await counts(conn)} of {total}")
        await asyncio.sleep(0.05)


async def raw_limit(rows: int) -> float:
    """Batched inserts of journal-wide rows: 500 per transaction, 4 connections."""
    conn = await asyncpg.connect(DSN)
    await conn.execute(
        """DROP TABLE IF EXISTS bench_raw_sync;
           CREATE TABLE bench_raw_sync (terminal_id uuid, seq bigint, card_number text,
               atc bigint, amount_cents bigint, body jsonb, PRIMARY KEY (terminal_id, seq))"""
    )
    await conn.close()
    pool = await asyncpg.create_pool(DSN, min_size=4, max_size=4)
    body = orjson.dumps({"kind": "sale", "certificate": "00" * 8, "reward_cents": 100}).decode()
    per = rows // 4

    async def writer() -> None:
        tid = uuid.uuid4()
        for start in range(0, per, CHUNK):
            n = min(CHUNK, per - start)
            async with pool.acquire() as c, c.transaction():
                await c.execute(
                    """INSERT INTO bench_raw_sync
                       SELECT $1, s, '2500010000000018', s, 1000, $3::jsonb
                       FROM generate_series($2::bigint, $2::bigint + $4 - 1) s""",
                    tid,
                    start,
                    body,
                    n,
                )

    t0 = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(4)))
    elapsed = time.perf_counter() - t0
    await pool.close()
    return 4 * per / elapsed


async def main(args: argparse.Namespace) -> dict[str, Any]:
    run_dir = ROOT / "run" / "bench" / time.strftime("sync-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    end_leftovers()
    ports_free([*SERVICES.values(), LINE_PORT])
    await reset()
    procs = await start_services(run_dir)
    result: dict[str, Any] = {"bench": "sync", "machine": machine(), "code": code_version()}
    try:
        terminals, numbers = await seed(args.terminals + 2, args.cards)
        say(f"seeded {len(terminals)} terminals, {len(numbers)} cards; generating journals")
        cards = {n: SimCard(n) for n in numbers}
        single = journals(terminals[:2], cards, args.single)
        storm = journals(terminals[2:], cards, args.per_terminal)
        conn = await asyncpg.connect(DSN)
        # (a) one terminal, 2000 lines, over HTTP then over the line
        http_s, _ = await one_sync(*terminals[0], single[0], line=False)
        line_s, _ = await one_sync(*terminals[1], single[1], line=True)
        await wait_committed(conn, 2 * args.single, 120)
        say(f"(a) {args.single} lines: HTTP {http_s * 1000:.0f} ms, line {line_s * 1000:.0f} ms")
        # (b) the storm
        before = await counts(conn)
        total = sum(len(j) for j in storm)
        t0 = time.perf_counter()
        closes = await asyncio.gather(
            *(
                one_sync(tid, secret, j, line=False)
                for (tid, secret), j in zip(terminals[2:], storm, strict=True)
            )
        )
        closed = time.perf_counter()
        done = await wait_committed(conn, before["cards"] + total, 600)
        storm_rate = total / (done - t0)
        say(
            f"(b) {args.terminals} terminals x {args.per_terminal}: closed in {closed - t0:.2f} s "
            f"(gateway {total / (closed - t0):,.0f}/s), committed everywhere in {done - t0:.2f} s "
            f"→ {storm_rate:,.0f} sales/s"
        )
        anomalies = await conn.fetch(
            "SELECT kind, count(*) AS n FROM cards.card_anomalies GROUP BY kind"
        )
        booked = await conn.fetchval("SELECT count(*) FROM cards.card_transactions")
        await conn.close()
    finally:
        for p in procs.values():
            await p.stop()
    raw = await raw_limit(args.raw_rows or total)
    say(f"(c) raw batched inserts: {raw:,.0f} rows/s → ratio {storm_rate / raw:.3f}")
    result.update(
        {
            "single_lines": args.single,
            "storm_terminals": args.terminals,
            "storm_lines": total,
            "gateway_close_s": round(closed - t0, 3),
            "slowest_terminal_s": round(max(c[0] for c in closes), 3),
            "booked_exactly": booked == 2 * args.single + total,
            "anomalies": {r["kind"]: r["n"] for r in anomalies},
            "sync_2000_ms": round(http_s * 1000, 1),
            "sync_2000_line_ms": round(line_s * 1000, 1),
            "storm_sales_per_s": round(storm_rate),
            "raw_limit_per_s": round(raw),
            "ratio": round(storm_rate / raw, 3),
            "targets": TARGET,
        }
    )
    (run_dir / "result.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__)
    p.add_argument("--terminals", type=int, default=16, help="terminals in the storm")
    p.add_argument("--per-terminal", type=int, default=5000, help="journal lines each")
    p.add_argument("--cards", type=int, default=20_000)
    p.add_argument("--single", type=int, default=2000, help="lines of the one-terminal sync")
    p.add_argument("--raw-rows", type=int, default=0, help="default: as many as the storm")
    return p.parse_args(argv)


if __name__ == "__main__":
    out = asyncio.run(main(parse_args()))
    print(orjson.dumps(out).decode())
    sys.exit(0)
