"""The CPU of notifications' webhooks consumer per event of a network with no subscription:
the full way (parse, inbox row, the live subscriptions read, commit) against the skip of
``services/notifications/service/webhook_networks.py``, on messages of 80 booked facts (one
sale each), against a real PostgreSQL (the database of COMPTOIR_DATABASE_URL: notifications'
migrations are applied to it, its ``webhook_inbox`` grows). ``time.process_time`` of this
process, the two sides alternated round by round (docs/benchmarks.md, 2026-12-07).

    PYTHONPATH=. COMPTOIR_DATABASE_URL=postgresql://… python bench/webhooks_skip.py [ROUNDS] >/dev/null

(the services' logs on stdout, the figures on stderr)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson

from services.notifications import app
from services.notifications.service.webhook_networks import LiveNetworks
from shared import db
from shared import logging as log
from shared.consumer import Consumer
from shared.contracts import BookedTransaction, TransactionsBooked
from shared.events import new_event, pack

PER_MESSAGE, MESSAGES = 80, 20


class _Message:
    def __init__(self, body: bytes) -> None:
        self.body, self.redelivered, self.processed = body, False, False

    async def ack(self) -> None:
        self.processed = True

    async def nack(self, requeue: bool = True) -> None:
        self.processed = True


def _booked(network: uuid.UUID) -> str:
    sale = BookedTransaction(
        transaction_id=uuid.uuid4(),
        kind="sale",
        account_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        amount_cents=2460,
        reward_cents=74,
    )
    fact = TransactionsBooked(
        origin="online",
        association_id=network,
        merchant_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        terminal_id=uuid.uuid4(),
        transactions=[sale],
    )
    return new_event("cards", fact).to_json()


async def main(rounds: int) -> None:
    dsn = os.environ["COMPTOIR_DATABASE_URL"]
    log.configure("notifications", "INFO")  # as the service logs: JSON lines
    await db.migrate(dsn, "notifications", Path("services/notifications/migrations"))
    pool = await db.create_pool(dsn, "notifications", 1, 2)
    rt: Any = SimpleNamespace(pool=pool, settings=None, state={})
    handlers = app.WEBHOOKS.bind(rt)
    queue: Any = SimpleNamespace(name="notifications.webhooks")
    dlx: Any = None  # nothing is dead-lettered here
    view = LiveNetworks(lambda: pool)
    sides = {
        "full": Consumer("notifications", pool, queue, dlx, handlers, inbox="webhook_inbox"),
        "skip": Consumer(
            "notifications", pool, queue, dlx, handlers, inbox="webhook_inbox", prefilter=view.skips
        ),
    }
    network = uuid.uuid4()
    results: dict[str, list[float]] = {side: [] for side in sides}
    for r in range(rounds):
        for side in ("full", "skip") if r % 2 == 0 else ("skip", "full"):
            bodies = [pack([_booked(network) for _ in range(PER_MESSAGE)]) for _ in range(MESSAGES)]
            started = time.process_time()
            for body in bodies:
                message: Any = _Message(body)
                await sides[side].handle_message(message)
            spent = time.process_time() - started
            results[side].append(spent / (MESSAGES * PER_MESSAGE) * 1e3)
    await pool.close()
    for side, ms in results.items():
        ms.sort()
        print(
            orjson.dumps(
                {
                    "side": side,
                    "ms_cpu_per_event_median": round(ms[len(ms) // 2], 4),
                    "min": round(ms[0], 4),
                    "max": round(ms[-1], 4),
                    "rounds": rounds,
                    "events_per_round": MESSAGES * PER_MESSAGE,
                }
            ).decode(),
            file=sys.stderr,
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
