"""A test's own queue on the real broker, bound to the events it wants to see (the messages crm
asks notifications to send): what the services publish, as they publish it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aio_pika

from shared.events import BATCH_CONTENT_TYPE, Event, pack, unpack
from shared.settings import Settings
from tests import harness


class Watch:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 20, what: str = "event"
    ) -> dict[str, Any]:
        """The data of the first event seen that ``match`` accepts."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for data in self.seen:
                if match(data):
                    return data
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; seen {self.seen}")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def watching(*routing_keys: str) -> AsyncIterator[Watch]:
    """Every event with these routing keys published while the block runs."""
    settings = Settings(service="itest", amqp_url=harness.AMQP_URL)
    watch = Watch()
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in routing_keys:
            await queue.bind(exchange, key)

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                watch.seen.extend(e["data"] for e in unpack(message.body))

        await queue.consume(take)
        yield watch


async def publish(*events: Event[Any]) -> None:
    """Events as another service would publish them (notifications' answers, in crm's tests)."""
    settings = Settings(service="itest", amqp_url=harness.AMQP_URL)
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for e in events:
            await exchange.publish(
                aio_pika.Message(
                    pack([e.to_json()]),
                    content_type=BATCH_CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=e.routing_key,
                mandatory=True,
            )
