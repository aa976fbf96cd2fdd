"""RabbitMQ topology and connections.

Every service declares the whole topology at start (declarations are idempotent), so an
event published before its consumer ever ran still lands in the consumer's durable queue.
Queues are quorum queues with a delivery limit and a dead-letter exchange; each has a
``.dead`` twin that keeps what could not be processed, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustConnection

from shared.settings import Settings


@dataclass(frozen=True)
class QueueSpec:
    name: str
    routing_keys: tuple[str, ...]


# Who listens to what. A consumer binds to the contract versions it understands.
QUEUES: dict[str, QueueSpec] = {
    "cards": QueueSpec(
        "cards.events",
        (
            "sale.recorded.v1",
            "redemption.requested.v1",
            "enrolment.requested.v1",
            "return.recorded.v1",
            "card.transactions.synced.v1",
            "partner.registered.v1",
        ),
    ),
    "terminals": QueueSpec(
        "terminals.outcomes",
        (
            "cagnotte.credited.v1",
            "cagnotte.redeemed.v1",
            "sale.refused.v1",
            "redemption.refused.v1",
            "account.opened.v1",
            "enrolment.refused.v1",
            "reward.reversed.v1",
            "return.refused.v1",
            "blacklist.changed.v1",
            "terminal.parameters.published.v1",
            # A request's event that a consumer set aside: the request ends failed.
            "event.dead_lettered.v1",
        ),
    ),
    "clearing": QueueSpec(
        "clearing.events",
        (
            "cagnotte.credited.v1",
            "cagnotte.redeemed.v1",
            "reward.reversed.v1",
            "account.adjusted.v1",
            "card.transactions.booked.v1",
            # What the statements show of merchants and cardholders.
            "merchant.registered.v1",
            "account.opened.v1",
            "card.issued.v1",
        ),
    ),
    "crm": QueueSpec(
        "crm.events",
        (
            "cagnotte.credited.v1",
            "account.opened.v1",
            "reward.reversed.v1",
            "card.issued.v1",
            "card.transactions.booked.v1",
        ),
    ),
    "notifications": QueueSpec("notifications.events", ("statement.ready.v1",)),
}


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


async def declare(channel: AbstractChannel, settings: Settings) -> Topology:
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
        dead = await channel.declare_queue(
            f"{spec.name}.dead", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(dlx, spec.name)
    return Topology(exchange, dlx, queues)
