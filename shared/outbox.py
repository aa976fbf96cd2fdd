"""The transactional outbox: events are written in the same transaction as the state change
that caused them, then a relay publishes them with publisher confirms and deletes them.

A crash between the broker's confirm and the delete re-publishes the same events: consumers
drop them through their inbox, so delivery is at-least-once and processing exactly-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractExchange

from shared import failpoints, metrics
from shared import logging as log
from shared.events import BATCH_CONTENT_TYPE, Event, pack

# The NOTIFY channel of a schema's outbox: every service's schema is in the same database, and
# one channel for all woke every relay (five services, each replica) at every commit of any of
# them, for a SELECT of an empty outbox in a transaction of its own (docs/benchmarks.md).
CHANNEL_PREFIX = "comptoir_outbox_"


def channel(schema: str) -> str:
    return CHANNEL_PREFIX + schema


# A confirm that does not come back in this time is treated as a failure and re-published:
# on a channel broken by a broker restart the confirm may never come.
PUBLISH_TIMEOUT_S = 10.0


async def write(conn: asyncpg.Connection, events: Sequence[Event[Any]]) -> None:
    """Append events to the outbox; call inside the transaction that made them true."""
    if not events:
        return
    await conn.execute(
        """INSERT INTO outbox (event_id, routing_key, envelope)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::json[])""",
        [e.id for e in events],
        [e.routing_key for e in events],
        [e.to_json() for e in events],
    )
    # Delivered at commit only, and folded into one by PostgreSQL within a transaction; on the
    # channel of the schema the rows went to (the connection's search_path), its relay's.
    await conn.execute("SELECT pg_notify($1 || current_schema(), '')", CHANNEL_PREFIX)


class Relay:
    """Publishes the outbox. Woken by NOTIFY at each commit, and by a poll as a safety net."""

    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        exchange: AbstractExchange,
        batch: int,
        poll_s: float,
    ) -> None:
        self.service = service
        self.pool = pool
        self.exchange = exchange
        self.batch = batch
        self.poll_s = poll_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._listener: asyncpg.Connection | None = None
        self._channel = ""
        self._reported = 0.0
        self._log = log.get("outbox")

    def wake(self, *_: Any) -> None:
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self._ensure_listener()
                while await self.publish_once() == self.batch:
                    pass
                if time.monotonic() - self._reported > 1.0:
                    await self._report_backlog()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: keep the rows, retry later
                metrics.outbox_publish_failures.labels(self.service).inc()
                self._log.warning("outbox_publish_failed", error=repr(exc))
                await self._drop_listener()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    async def stop(self) -> None:
        """Publish what is committed, then stop (part of graceful shutdown)."""
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(Exception):
            while await self.publish_once() == self.batch:
                pass
        await self._drop_listener()

    async def publish_once(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, routing_key, envelope FROM outbox
                   ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self.batch,
            )
            if not rows:
                return 0
            failpoints.hit("relay.before_publish")
            groups: dict[str, list[str]] = {}
            for r in rows:
                groups.setdefault(r["routing_key"], []).append(r["envelope"])
            await asyncio.wait_for(
                asyncio.gather(
                    *(
                        self.exchange.publish(
                            aio_pika.Message(
                                pack(envelopes),
                                content_type=BATCH_CONTENT_TYPE,
                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                headers={
                                    "x-comptoir-source": self.service,
                                    "x-comptoir-count": len(envelopes),
                                },
                            ),
                            routing_key=key,
                            mandatory=True,
                        )
                        for key, envelopes in groups.items()
                    )
                ),
                PUBLISH_TIMEOUT_S,
            )
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        metrics.outbox_published.labels(self.service).inc(len(rows))
        return len(rows)

    async def _report_backlog(self) -> None:
        self._reported = time.monotonic()
        n = await self.pool.fetchval("SELECT count(*) FROM outbox")
        metrics.outbox_backlog.labels(self.service).set(n)

    async def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.is_closed():
            conn = await self.pool.acquire()
            try:
                self._channel = channel(await conn.fetchval("SELECT current_schema()"))
                await conn.add_listener(self._channel, self.wake)
            except BaseException:
                await self.pool.release(conn)
                raise
            self._listener = conn

    async def _drop_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.remove_listener(self._channel, self.wake)
            with contextlib.suppress(Exception):
                await self.pool.release(conn)
