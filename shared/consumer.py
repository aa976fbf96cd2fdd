"""Idempotent event consumers: manual acks, an inbox keyed by event id, retries with backoff
for transient errors, and poison events dead-lettered with their reason.

One broker message (a batch of events) is handled in one database transaction: the inbox
rows, the handler's state changes and the events it emits through the outbox commit
together, and only then is the message acked. A crash anywhere before the ack redelivers the
message, and the inbox turns the replay into a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aio_pika
import asyncpg
import orjson
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractQueue

from shared import logging as log
from shared import metrics, outbox
from shared.contracts import EventDeadLettered
from shared.db import is_transient
from shared.events import Event, EventData, PoisonEvent, new_event, parse, unpack
from shared.outbox import PUBLISH_TIMEOUT_S

# A handler gets the fresh (never seen) events of one type from one message, inside the
# transaction, and returns the events to publish.
Handler = Callable[[asyncpg.Connection, list[Event[Any]]], Awaitable[Sequence[Event[Any]]]]
AfterCommit = Callable[[list[Event[Any]]], None]
# An optional cheap look at a message's envelopes before they are validated: True for each
# one the queue's handlers would surely do nothing with (notifications' webhooks, for a
# network that subscribes to none of its type). Those are acked unparsed, without an inbox
# row or a transaction: they changed nothing, so a redelivery is simply looked at again.
Prefilter = Callable[[list[Any]], Awaitable[list[bool]]]


class Consumer:
    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        queue: AbstractQueue,
        dlx: AbstractExchange,
        handlers: dict[type[EventData], Handler],
        retries: int = 4,
        after_commit: AfterCommit | None = None,
        inbox: str = "inbox",
        prefilter: Prefilter | None = None,
    ) -> None:
        self.service = service
        self.pool = pool
        self.queue = queue
        self.dlx = dlx
        self.queue_name = queue.name
        self.handlers = {model.type(): h for model, h in handlers.items()}
        self.retries = retries
        self.after_commit = after_commit
        self.inbox = inbox  # a plain name (shared.service.Subscriptions checks it)
        self.prefilter = prefilter
        self._tag: str | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._log = log.get("consumer")

    async def start(self) -> None:
        self._tag = await self.queue.consume(self._on_message, no_ack=False)

    async def stop(self) -> None:
        """Stop taking messages and let the ones in hand finish (graceful shutdown)."""
        if self._tag is not None:
            with contextlib.suppress(Exception):  # the channel may already be gone
                await self.queue.cancel(self._tag)
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await self.handle_message(message)
        except Exception as exc:  # database or broker gone while dead-lettering: try again later
            self._log.error("message_requeued", error=repr(exc))
            if not message.processed:
                # On a dead channel the broker requeues it by itself.
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def handle_message(self, message: AbstractIncomingMessage) -> None:
        started = time.perf_counter()
        try:
            raws = unpack(message.body)
        except Exception as exc:
            await self._dead_letter(message.body, None, f"undecodable message: {exc}", None)
            await message.ack()
            return
        if self.prefilter is not None and raws:
            raws = await self._unskipped(self.prefilter, raws)
        events: list[Event[Any]] = []
        poison: list[tuple[Any, PoisonEvent]] = []
        for raw in raws:
            try:
                event = parse(raw)
                if event.type not in self.handlers:
                    raise PoisonEvent(
                        f"{self.queue_name} has no handler for {event.type}", event.id
                    )
                events.append(event)
            except PoisonEvent as exc:
                poison.append((raw, exc))

        try:
            done, failed = await self._process(events)
        except _Transient as transient:
            metrics.handler_errors.labels(self.service, self.queue_name, "transient").inc()
            self._log.warning(
                "message_requeued", error=str(transient), redelivered=message.redelivered
            )
            # Back to the queue; the quorum queue's delivery limit dead-letters it eventually.
            await message.nack(requeue=True)
            return
        poison.extend(failed)
        for raw, bad in poison:
            await self._dead_letter(_encode(raw), bad.event_id, bad.reason, raw)
            metrics.events_handled.labels(self.service, str(_type_of(raw)), "dead_lettered").inc()
        await message.ack()
        metrics.handler_duration.labels(self.service, self.queue_name).observe(
            time.perf_counter() - started
        )
        if done and self.after_commit is not None:
            self.after_commit(done)

    async def _unskipped(self, prefilter: Prefilter, raws: list[Any]) -> list[Any]:
        skips = await prefilter(raws)
        kept, skipped = [], Counter[str]()
        for raw, skip in zip(raws, skips, strict=True):
            if skip:
                skipped[_type_of(raw)] += 1
            else:
                kept.append(raw)
        for type_, n in skipped.items():  # counted once a message: it is the per-event cost
            metrics.events_handled.labels(self.service, type_, "skipped").inc(n)
        return kept

    async def _process(
        self, events: list[Event[Any]]
    ) -> tuple[list[Event[Any]], list[tuple[Any, PoisonEvent]]]:
        """Commit the batch; if a handler fails for good, find the culprit one event at a time."""
        if not events:
            return [], []
        try:
            return await self._commit_with_retries(events), []
        except _Failed as exc:
            if len(events) == 1:
                e = events[0]
                return [], [(_raw(e), PoisonEvent(f"handler failed: {exc}", e.id))]
        done: list[Event[Any]] = []
        failed: list[tuple[Any, PoisonEvent]] = []
        for e in events:
            try:
                done += await self._commit_with_retries([e])
            except _Failed as exc:
                failed.append((_raw(e), PoisonEvent(f"handler failed: {exc}", e.id)))
        return done, failed

    async def _commit_with_retries(self, events: list[Event[Any]]) -> list[Event[Any]]:
        for attempt in range(self.retries + 1):
            try:
                return await self._commit(events)
            except Exception as exc:
                if not is_transient(exc):
                    self._log.error("handler_failed", error=repr(exc), events=len(events))
                    metrics.handler_errors.labels(self.service, self.queue_name, "poison").inc()
                    raise _Failed(repr(exc)) from exc
                if attempt == self.retries:
                    raise _Transient(repr(exc)) from exc
                delay = min(2.0, 0.05 * 2**attempt) * (0.5 + random.random())
                self._log.info(
                    "handler_retry", error=repr(exc), attempt=attempt + 1, delay_s=round(delay, 3)
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _commit(self, events: list[Event[Any]]) -> list[Event[Any]]:
        unique = list({e.id: e for e in reversed(events)}.values())[::-1]  # first copy of each id
        async with self.pool.acquire() as conn, conn.transaction():
            fresh_ids = {
                str(r["event_id"])
                for r in await conn.fetch(
                    f"""INSERT INTO {self.inbox} (event_id, type)
                       SELECT * FROM unnest($1::uuid[], $2::text[])
                       ON CONFLICT DO NOTHING RETURNING event_id""",
                    [e.id for e in unique],
                    [e.type for e in unique],
                )
            }
            fresh = [e for e in unique if e.id in fresh_ids]
            out: list[Event[Any]] = []
            for type_, group in _by_type(fresh):
                with log.tracing(group[0].correlation_id, group[0].id):
                    out.extend(await self.handlers[type_](conn, group))
            await outbox.write(conn, out)
        for e in events:
            outcome = "processed" if e.id in fresh_ids else "duplicate"
            fresh_ids.discard(e.id)
            metrics.events_handled.labels(self.service, e.type, outcome).inc()
            self._log.info(
                "event_handled",
                type=e.type,
                subject=e.subject,
                outcome=outcome,
                correlation_id=e.correlation_id,
                causation_id=e.id,
            )
        return fresh

    async def _dead_letter(self, body: bytes, event_id: str | None, reason: str, raw: Any) -> None:
        """Keep the event with its reason, in the database and in the queue's .dead twin, and
        say so (EventDeadLettered, through the outbox in the same transaction): whoever waits
        for the event's outcome, a terminal's request at the gateway, learns it failed."""
        self._log.error("event_dead_lettered", event_id=event_id, reason=reason)
        metrics.dead_lettered.labels(self.service, reason.split(":")[0][:60]).inc()
        notice = _notice(self.service, raw, event_id, reason)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO dead_letters (event_id, queue, reason, body) VALUES ($1, $2, $3, $4)",
                event_id,
                self.queue_name,
                reason,
                body,
            )
            if notice is not None:
                await outbox.write(conn, [notice])
        await asyncio.wait_for(
            self.dlx.publish(
                aio_pika.Message(
                    body,
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    headers={
                        "x-comptoir-reason": reason[:1000],
                        "x-comptoir-queue": self.queue_name,
                    },
                ),
                routing_key=self.queue_name,
            ),
            PUBLISH_TIMEOUT_S,
        )


class _Transient(Exception):
    pass


class _Failed(Exception):
    pass


def _notice(service: str, raw: Any, event_id: str | None, reason: str) -> Event[Any] | None:
    """The EventDeadLettered for a set-aside event; None for a notice itself (a gateway
    that cannot process a notice must not answer it with another, for ever)."""
    fields = raw if isinstance(raw, dict) else {}

    def text(key: str) -> str | None:
        value = fields.get(key)
        return str(value)[:200] if value is not None else None

    if text("type") == EventDeadLettered.type():
        return None
    return new_event(
        service,
        EventDeadLettered(
            service=service,
            event_id=event_id if event_id is not None else text("id"),
            event_type=text("type"),
            event_source=text("source"),
            subject=text("subject"),
            reason=reason[:1000],
        ),
        subject=text("subject"),
    )


def _by_type(events: list[Event[Any]]) -> list[tuple[str, list[Event[Any]]]]:
    """Group by type, keeping the order in which types first appear."""
    groups: dict[str, list[Event[Any]]] = {}
    for e in events:
        groups.setdefault(e.type, []).append(e)
    return list(groups.items())


def _raw(event: Event[Any]) -> Any:
    return orjson.loads(event.to_json())


def _encode(raw: Any) -> bytes:
    try:
        return orjson.dumps(raw)
    except TypeError:
        return repr(raw).encode()


def _type_of(raw: Any) -> str:
    return str(raw.get("type")) if isinstance(raw, dict) else "unknown"
