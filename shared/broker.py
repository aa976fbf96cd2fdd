"""RabbitMQ topology and connections.

Every service declares the whole topology at start (declarations are idempotent), so an
event published before its consumer ever ran still lands in the consumer's durable queue.
Queues are quorum queues with a delivery limit and a dead-letter exchange; each has a
``.dead`` twin that keeps what could not be processed, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustConnection
from aio_pika.exceptions import ChannelNotFoundEntity

from shared.settings import Settings


@dataclass(frozen=True)
class QueueSpec:
    name: str
    routing_keys: tuple[str, ...]


# Who listens to what: generated from each service's subscriptions (its app factory) by
# ``python -m deploy.topology``, so that every service can declare every queue at start
# without importing another service. ``make lint`` checks the file is up to date.
TOPOLOGY = Path(__file__).with_name("topology.json")


def _load() -> dict[str, QueueSpec]:
    data = json.loads(TOPOLOGY.read_text())
    return {svc: QueueSpec(q["queue"], tuple(q["routing_keys"])) for svc, q in data.items()}


QUEUES: dict[str, QueueSpec] = _load()

# Keys an earlier version bound and none binds now. A broker kept from that version (a
# machine's test vhost) still holds their bindings: unbound at start with the keys another
# queue took over, so no queue receives an event it has no handler for (which it would
# dead-letter, failing the terminal request that caused it).
RETIRED_ROUTING_KEYS = ("card.transactions.booked.v1",)

# Queues an earlier version declared and consumed, each with the queue that took its events
# over. A broker kept from that version still holds the old queue, bound: it would take a copy
# of every event and keep it for no one. The successor's owner unbinds it at start and
# deletes it once empty (crm.statistics: the statistics are counted in crm.events'
# transaction since issue 12's CPU work; its last events are the old version's to drain).
RETIRED_QUEUES = {"crm.statistics": "crm.events"}


async def connect(settings: Settings) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(
        settings.amqp_url, client_properties={"connection_name": f"comptoir-{settings.service}"}
    )


@dataclass(frozen=True)
class Topology:
    """Objects declared through the (robust) channel: aio-pika restores these, and the
    consumers on them, after a reconnection; objects fetched with ensure=False it does not."""

    exchange: AbstractExchange
    dead_letter_exchange: AbstractExchange
    queues: dict[str, AbstractQueue]


async def declare(
    channel: AbstractChannel, settings: Settings, owned: Collection[str] | None = None
) -> Topology:
    """Every queue and its bindings (a service publishes to queues it does not consume from:
    with reject-publish and mandatory publishing, they must exist before its first message);
    the stale bindings are removed only from the queues in ``owned`` (default: all), those the
    service consumes from. Each service declaring the whole topology at start sent ~260
    commands to the broker, 186 of them unbinds of keys never bound; a deployment restarts
    each queue's owner, which unbinds for it."""
    exchange = await channel.declare_exchange(
        settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dlx = await channel.declare_exchange(
        settings.dead_letter_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queues: dict[str, AbstractQueue] = {}
    for spec in QUEUES.values():
        queue = queues[spec.name] = await channel.declare_queue(
            spec.name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": settings.delivery_limit,
                "x-dead-letter-exchange": settings.dead_letter_exchange,
                "x-dead-letter-routing-key": spec.name,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        for key in spec.routing_keys:
            await queue.bind(exchange, key)
        if owned is None or spec.name in owned:
            for key in sorted(_not_for(spec)):
                await queue.unbind(exchange, key)  # a no-op when never bound
        dead = await channel.declare_queue(
            f"{spec.name}.dead", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(dlx, spec.name)
    return Topology(exchange, dlx, queues)


async def retire(
    connection: AbstractRobustConnection, settings: Settings, owned: Collection[str]
) -> list[tuple[str, int]]:
    """Unbind the retired queues whose successor ``owned`` holds, and their dead-letter
    twins; delete those found empty and unconsumed. The (name, events left) of those kept."""
    kept = []
    keys = {key for q in QUEUES.values() for key in q.routing_keys} | set(RETIRED_ROUTING_KEYS)
    for name, successor in RETIRED_QUEUES.items():
        if successor not in owned:
            continue
        for queue_name, exchange_name, bound in (
            (name, settings.exchange, sorted(keys)),
            # The twin takes nothing more; what it holds is for someone to read first.
            (f"{name}.dead", settings.dead_letter_exchange, [name]),
        ):
            left = await _retire_one(connection, queue_name, exchange_name, bound)
            if left is not None:
                kept.append((queue_name, left))
    return kept


async def _retire_one(
    connection: AbstractRobustConnection, name: str, exchange_name: str, keys: list[str]
) -> int | None:
    """Unbind a queue if it exists, delete it if empty and unconsumed; the events left in it
    when kept, None when gone."""
    # A passive declaration of a missing queue closes its channel: a channel of its own.
    channel = await connection.channel()
    try:
        try:
            queue = await channel.declare_queue(name, passive=True)
        except ChannelNotFoundEntity:
            return None
        exchange = await channel.get_exchange(exchange_name)
        for key in keys:
            await queue.unbind(exchange, key)
        # Counted once unbound: nothing can come in after (a quorum queue has no
        # delete-if-empty). A consumer still on it is the earlier version's, draining it.
        left = (await channel.declare_queue(name, passive=True)).declaration_result
        if left.message_count or left.consumer_count:
            return left.message_count or 0
        await queue.delete(if_unused=False, if_empty=False)
        return None
    finally:
        if not channel.is_closed:
            await channel.close()


def _not_for(spec: QueueSpec) -> set[str]:
    """The keys some queue of the project binds, or once bound, that this queue must not."""
    known = {key for q in QUEUES.values() for key in q.routing_keys}
    return (known | set(RETIRED_ROUTING_KEYS)) - set(spec.routing_keys)
