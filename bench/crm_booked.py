"""crm's CPU per booked line, consumer alone: chip-card booked facts (one synced chunk of
LINES sales each, over 4,000 members) handed to every consumer of crm that takes
``transactions.booked`` (crm.events, and crm.statistics in a code that still has it), each
message in its consumer's transaction with its inbox, as the service does. Measured: this
process's CPU (``time.process_time``) and the database backend's (/proc/PID/stat, so the
database must be on this machine), per line. Any checkout: run it with PYTHONPATH=CHECKOUT, on
a database of its own (crm's migrations are applied to it; its tables grow run after run).
Docs: docs/benchmarks.md (2026-12-07, issue 12's CPU).

    PYTHONPATH=CHECKOUT COMPTOIR_DATABASE_URL=postgresql://… python THIS_TREE/bench/crm_booked.py \\
        [ROUNDS] [MESSAGES] [LINES] >/dev/null      (one JSON line on stderr)
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson

from services.crm import app
from shared import db
from shared import logging as log
from shared.consumer import Consumer
from shared.contracts import TransactionsBooked
from shared.events import new_event, pack

TICK = os.sysconf("SC_CLK_TCK")


class _Message:
    def __init__(self, body: bytes) -> None:
        self.body, self.redelivered, self.processed = body, False, False

    async def ack(self) -> None:
        self.processed = True

    async def nack(self, requeue: bool = True) -> None:
        self.processed = True


def _backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _fact(ids: dict[str, uuid.UUID], members: list[uuid.UUID], at: datetime, lines: int) -> str:
    """One synced chunk's booked fact: LINES sales of members, a second apart (the fields a
    chip card's booked sale carries; those a code's contract lacks are left out)."""
    fields = TransactionsBooked.model_fields["transactions"].annotation.__args__[0].model_fields  # type: ignore[union-attr]
    sales = []
    for i in range(lines):
        sale: dict[str, Any] = {
            "transaction_id": str(uuid.uuid4()),
            "kind": "sale",
            "account_id": str(random.choice(members)),
            "occurred_at": (at + timedelta(seconds=i)).isoformat(),
            "amount_cents": 1000 + i,
            "product_family": "boulangerie",
            "reward_cents": 30,
        }
        extra = {
            "card_number": "6280000000000000",
            "product_family_label": "Boulangerie",
            "purse": "cagnotte",
            "fee_cents": 12,
            "taux_client_bps": 300,
            "rate_source": "family",
            "balance_cents": 5000,
            "pending_cents": 120,
        }
        sale |= {k: v for k, v in extra.items() if k in fields}
        sales.append(sale)
    fact = TransactionsBooked.model_validate(
        {
            "origin": "card",
            "chunk_id": str(uuid.uuid4()),
            "association_id": str(ids["association"]),
            "merchant_id": str(ids["merchant"]),
            "shop_id": str(ids["shop"]),
            "terminal_id": str(ids["terminal"]),
            "transactions": sales,
        }
    )
    return new_event("cards", fact).to_json()


async def main(rounds: int, messages: int, lines: int) -> None:
    dsn = os.environ["COMPTOIR_DATABASE_URL"]
    log.configure("crm", "WARNING")
    await db.migrate(dsn, "crm", Path(app.__file__).parent / "migrations")
    pool = await db.create_pool(dsn, "crm", 1, 1)
    async with pool.acquire() as conn:
        backend = conn.get_server_pid()
    settings = SimpleNamespace(link_key="00" * 32, public_url="http://localhost")
    rt: Any = SimpleNamespace(pool=pool, settings=settings, state={})
    specs = [app.SPEC.subscriptions, *app.SPEC.more_subscriptions]
    consumers = []
    for spec in specs:
        if spec is None or TransactionsBooked not in spec.handlers:
            continue
        handlers = {TransactionsBooked: spec.handlers[TransactionsBooked](rt)}
        queue: Any = SimpleNamespace(name=spec.queue)
        consumers.append(Consumer("crm", pool, queue, None, handlers, inbox=spec.inbox))  # type: ignore[arg-type]
    ids = {k: uuid.uuid4() for k in ("association", "merchant", "shop", "terminal")}
    members = [uuid.uuid4() for _ in range(4000)]
    at = datetime(2031, 6, 3, 6, 0, tzinfo=UTC)
    python, postgres = [], []
    for _ in range(rounds):
        bodies = []
        for _ in range(messages):
            bodies.append(pack([_fact(ids, members, at, lines)]))
            at += timedelta(seconds=lines)
        started, pg = time.process_time(), _backend_cpu(backend)
        for body in bodies:
            for consumer in consumers:
                await consumer.handle_message(_Message(body))  # type: ignore[arg-type]
        n = messages * lines
        python.append((time.process_time() - started) / n * 1e3)
        postgres.append((_backend_cpu(backend) - pg) / n * 1e3)
    await pool.close()
    python.sort()
    postgres.sort()
    out = {
        "queues": [c.queue_name for c in consumers],
        "crm_ms_per_line_median": round(python[len(python) // 2], 4),
        "postgres_ms_per_line_median": round(postgres[len(postgres) // 2], 4),
        "crm_min_max": [round(python[0], 4), round(python[-1], 4)],
        "postgres_min_max": [round(postgres[0], 4), round(postgres[-1], 4)],
        "rounds": rounds,
        "lines_per_round": messages * lines,
    }
    print(orjson.dumps(out).decode(), file=sys.stderr)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    asyncio.run(main(*(args + [8, 10, 200][len(args) :])))
