"""The webhooks' delivery job: claims the deliveries due, POSTs each signed with its
subscription's active secrets, and settles it with the answer: delivered (2xx), due again
after the backoff (domain/webhook_retries.py's RETRY_DELAYS), or failed past a day.

Safe with several replicas: a claim takes rows with ``FOR UPDATE SKIP LOCKED`` and marks them
``delivering`` with a lease, in its own short transaction; no transaction stays open during
a POST. A job that dies between the receiver's answer and its write leaves the delivery
``delivering``: when the lease runs out it is sent again with the same ``webhook-id``, which
the receiver uses to drop it (Standard Webhooks: at-least-once)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import asyncpg

from services.notifications.adapters import webhooks as store
from services.notifications.adapters.webhook_http import Answer, WebhookClient
from services.notifications.domain import webhook_retries as retries
from services.notifications.domain import webhooks as rules
from shared import clock, metrics
from shared import logging as log
from shared.service import wind_down
from shared.settings import Settings


class Deliverer:
    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.s = settings
        self.first_retry = timedelta(seconds=settings.webhook_first_retry_s)
        self.client = WebhookClient(settings)
        self.stopping = asyncio.Event()
        self.log = log.get("webhooks")

    async def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    busy = await self.one_pass() > 0
                except (asyncpg.PostgresError, OSError) as exc:
                    self.log.warning("webhook_pass_failed", error=repr(exc))
                    busy = False
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), self.s.webhook_poll_s)
        finally:
            await self.client.close()

    async def one_pass(self) -> int:
        now = clock.now()
        lease = now + timedelta(seconds=self.s.webhook_lease_s)
        async with self.pool.acquire() as conn, conn.transaction():
            batch = await store.claim(conn, now, lease, self.s.webhook_batch)
        if batch:
            await asyncio.gather(*(self._one(d) for d in batch))
        return len(batch)

    async def _one(self, d: store.Due) -> None:
        body = d.body.encode()
        sent_at = clock.now()
        if d.secrets:
            signed = rules.headers(
                rules.message_id(d.id), int(sent_at.timestamp()), body, d.secrets
            )
            answer = await self.client.post(d.url, body, signed)
        else:  # cannot happen while a rotation keeps a secret without end; said, not sent
            answer = Answer(None, "no active secret", 0)
        attempts = d.round_attempts + 1
        if rules.succeeded(answer.status):
            outcome, due = "delivered", None
        else:
            due = retries.next_attempt(attempts, d.round_started_at, clock.now(), self.first_retry)
            outcome = "pending" if due is not None else "failed"
        error = answer.error if answer.status is None else None
        async with self.pool.acquire() as conn, conn.transaction():
            await store.settle(
                conn, d.id, sent_at, answer.status, error, answer.duration_ms, outcome, due
            )
        metrics.webhook_attempts.labels(outcome).inc()
        metrics.webhook_duration.observe(answer.duration_ms / 1000)
        self.log.info(
            "webhook_attempt",
            delivery_id=str(d.id),
            status=answer.status,
            error=error,
            outcome=outcome,
            attempt=attempts,
        )


async def start(pool: asyncpg.Pool, settings: Settings, state: dict[str, Any]) -> None:
    deliverer = Deliverer(pool, settings)
    state["webhooks"] = deliverer
    state["webhooks_task"] = asyncio.create_task(deliverer.run(), name="webhooks")


async def stop(state: dict[str, Any], grace_s: float) -> None:
    """Let the pass in hand finish within ``grace_s``; past it, cancel (the leases bring its
    work back)."""
    deliverer: Deliverer | None = state.get("webhooks")
    if deliverer is not None:
        await wind_down(deliverer.stopping, state.get("webhooks_task"), grace_s)
