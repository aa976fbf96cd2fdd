"""Segments benchmark (issue 14, item 4): a segment's size before sending, and its export, over
a generated customer file.

    PYTHONPATH=. .venv/bin/python -m bench.segments [--customers 100000] [--repeat 5]

1. crm's migrations applied to the bench database (``COMPTOIR_DATABASE_URL``, comptoir_bench by
   default) and ``--customers`` customers written straight into crm's tables with COPY by
   bench/_daily.py's generator (four associations of 40, 30, 20 and 10 % of the customers,
   eight merchants each, birthdays, last visits over two years, consents), unless an earlier
   run made the same; plus their visits (up to five rows per merchant file, over eight product
   families), which the families filter reads;
2. for the largest association and its largest merchant, each filter alone and a few
   together, the size with the e-mail consenting counted (``adapters/segments.py``'s ``size``,
   the query ``GET …/segments/{id}/size?channel=email`` runs): the best and the worst of
   ``--repeat`` runs, in ms;
3. the largest merchant's whole file exported through ``service/segments.py``'s ``export``
   (pages of 2,000, the lines as the scope sees them): rows per second.

A human summary goes to stderr; the last line of stdout is a JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import _daily
from services.crm.adapters import segments as rows
from services.crm.domain.segments import Filters, Segment
from services.crm.service import segments
from shared.db import migrate

ROOT = Path(__file__).resolve().parents[1]
DSN = os.environ.get(
    "COMPTOIR_DATABASE_URL", "postgresql://comptoir:comptoir@127.0.0.1:5432/comptoir_bench"
)
FAMILIES = ("menu", "carte", "cafe", "fleurs", "livres", "pain", "vin", "fromage")
DAY = date(2027, 3, 17)
VISIT_COLUMNS = [
    "sale_id",
    "account_id",
    "merchant_id",
    "shop_id",
    "amount_cents",
    "product_family",
    "occurred_at",
]


def say(msg: str) -> None:
    print(f"[bench.segments] {msg}", file=sys.stderr, flush=True)


def visits_of(rng: random.Random, files: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Up to five visits a merchant file, its families two or three of the eight."""
    out = []
    for account, merchant, count, spent, first, last, _joined, _how in files:
        if not count:
            continue
        liked = rng.sample(FAMILIES, rng.choice((1, 2, 3)))
        n = min(count, 5)
        for i in range(n):
            at = last if i == 0 else first + (last - first) * rng.random()
            out.append(
                (uuid.uuid4(), account, merchant, merchant, spent // count, rng.choice(liked), at)
            )
    return out


async def generate(conn: asyncpg.Connection, customers: int, seed: int) -> float:
    t0 = time.monotonic()
    await conn.execute(
        """TRUNCATE customers, merchant_customers, consents, consent_proofs, customer_messages,
                    visits, campaigns, segments, daily_runs"""
    )
    rng = random.Random(seed)
    net = _daily.Network(8)
    for start in range(0, customers, _daily.CHUNK):
        made, files, consents, _messages = _daily.chunk(
            rng, net, start, min(_daily.CHUNK, customers - start), DAY
        )
        for table, records, columns in (
            ("customers", made, _daily.CUSTOMER_COLUMNS),
            ("merchant_customers", files, _daily.FILE_COLUMNS),
            ("consents", consents, _daily.CONSENT_COLUMNS),
            ("visits", visits_of(rng, files), VISIT_COLUMNS),
        ):
            await conn.copy_records_to_table(table, records=records, columns=columns)
        say(f"{start + len(made)} customers written ({time.monotonic() - t0:.0f} s)")
    await conn.execute("INSERT INTO bench_segments VALUES ($1, $2)", customers, seed)
    for table in ("customers", "merchant_customers", "consents", "visits"):
        await conn.execute(f"VACUUM ANALYZE {table}")
    return time.monotonic() - t0


async def prepare(conn: asyncpg.Connection, customers: int, seed: int) -> float:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_segments (customers integer, seed integer)"
    )
    made = await conn.fetchrow("SELECT customers, seed FROM bench_segments")
    if made is not None and tuple(made) == (customers, seed):
        return 0.0
    await conn.execute("TRUNCATE bench_segments")
    return await generate(conn, customers, seed)


def cases(now: datetime) -> list[tuple[str, Filters]]:
    ago = now - timedelta(days=90)
    return [
        ("all", Filters()),
        ("seen_since_90d", Filters(seen_since=ago)),
        ("not_seen_since_90d", Filters(not_seen_since=ago)),
        ("spent_100_to_500", Filters(min_spent_cents=10_000, max_spent_cents=50_000)),
        ("visits_5_or_more", Filters(min_visits=5)),
        ("family_menu", Filters(product_families=("menu",))),
        ("born_in_march", Filters(birth_months=(3,))),
        ("email_consent", Filters(consent_channel="email")),
        (
            "combined",
            Filters(
                seen_since=ago,
                min_spent_cents=5_000,
                product_families=("menu", "vin"),
                birth_months=(3, 4, 5),
            ),
        ),
    ]


async def timed(conn: asyncpg.Connection, s: Segment, repeat: int) -> tuple[float, float, int]:
    took = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        size, _consenting = await rows.size(conn, s, "email")
        took.append((time.perf_counter() - t0) * 1000)
    return round(min(took), 1), round(max(took), 1), size


async def run(args: argparse.Namespace) -> dict[str, Any]:
    await migrate(DSN, "crm", ROOT / "services/crm/migrations")
    # As crm's pool (shared/db): no JIT.
    conn = await asyncpg.connect(DSN, server_settings={"search_path": "crm", "jit": "off"})
    try:
        generated_s = await prepare(conn, args.customers, args.seed)
        association = await conn.fetchval(
            "SELECT association_id FROM customers GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        merchant = await conn.fetchval(
            """SELECT m.merchant_id FROM merchant_customers m
               JOIN customers c USING (account_id) WHERE c.association_id = $1
               GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""",
            association,
        )
        now = datetime.combine(DAY, datetime.min.time(), UTC)
        sizes: dict[str, dict[str, Any]] = {}
        for scope, mid in (("association", None), ("merchant", merchant)):
            for name, filters in cases(now):
                best, worst, size = await timed(
                    conn, Segment(association, mid, filters), args.repeat
                )
                sizes[f"{scope}/{name}"] = {"best_ms": best, "worst_ms": worst, "size": size}
                say(f"{scope:11} {name:20} {size:7} customers  {best:7.1f} ms .. {worst:7.1f} ms")
        t0 = time.perf_counter()
        exported = 0
        async with conn.transaction(isolation="repeatable_read"):
            async for batch in segments.export(conn, Segment(association, merchant), None):
                exported += len(batch)
        export_s = time.perf_counter() - t0
        say(f"export of the merchant's file: {exported} lines in {export_s:.2f} s")
    finally:
        await conn.close()
    return {
        "bench": "segments",
        "customers": args.customers,
        "generated_s": round(generated_s, 1),
        "sizes": sizes,
        "worst_size_ms": max(v["worst_ms"] for v in sizes.values()),
        "export_lines": exported,
        "export_lines_per_s": round(exported / export_s),
        "load": _daily.loadavg(),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--repeat", type=int, default=5)
    result = asyncio.run(run(p.parse_args()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
