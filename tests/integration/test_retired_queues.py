"""A queue an earlier version consumed (crm.statistics) is unbound by its successor's owner at
start, and deleted once empty; one with events left is kept and said (shared/broker.retire)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
import pytest_asyncio

from shared import broker
from shared.settings import Settings
from tests import harness

KEY = "transactions.booked.v1"


@pytest_asyncio.fixture
async def connection() -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(harness.AMQP_URL)
    yield connection
    await connection.close()


async def _old_queue(channel: aio_pika.abc.AbstractChannel, settings: Settings) -> str:
    """A quorum queue bound as the earlier version bound it, under a name of this test's, and
    its dead-letter twin holding one event."""
    name = f"itest.retired.{uuid.uuid4().hex[:8]}"
    exchange = await channel.declare_exchange(
        settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dlx = await channel.declare_exchange(
        settings.dead_letter_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    await queue.bind(exchange, KEY)
    dead = await channel.declare_queue(
        f"{name}.dead", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead.bind(dlx, name)
    await dlx.publish(aio_pika.Message(b"[]"), routing_key=name)
    return name


async def _publish(channel: aio_pika.abc.AbstractChannel, settings: Settings) -> None:
    exchange = await channel.get_exchange(settings.exchange)
    await exchange.publish(aio_pika.Message(b"[]"), routing_key=KEY)


async def _left(connection: aio_pika.abc.AbstractRobustConnection, name: str) -> int | None:
    """Events in the queue, None when it is gone (probed on a channel of its own)."""
    probe = await connection.channel()
    try:
        queue = await probe.declare_queue(name, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return None
    count = queue.declaration_result.message_count or 0
    await probe.close()
    return int(count)


@pytest.mark.asyncio
async def test_a_retired_queue_is_unbound_kept_while_events_are_left_then_deleted(
    connection: aio_pika.abc.AbstractRobustConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(service="itest", amqp_url=harness.AMQP_URL)
    channel = await connection.channel()
    name = await _old_queue(channel, settings)
    monkeypatch.setattr(broker, "RETIRED_QUEUES", {name: "itest.successor"})
    await _publish(channel, settings)
    # Another service (not the successor's owner) leaves it alone.
    assert await broker.retire(connection, settings, {"itest.other"}) == []
    await _publish(channel, settings)
    assert await _left(connection, name) == 2

    assert await broker.retire(connection, settings, {"itest.successor"}) == [
        (name, 2),
        (f"{name}.dead", 1),
    ]
    await _publish(channel, settings)  # unbound: no copy any more
    assert await _left(connection, name) == 2

    await (await channel.get_queue(name)).purge()  # what the earlier version drains
    assert await broker.retire(connection, settings, {"itest.successor"}) == [(f"{name}.dead", 1)]
    assert await _left(connection, name) is None
    await (await channel.get_queue(f"{name}.dead")).purge()  # read by someone
    assert await broker.retire(connection, settings, {"itest.successor"}) == []
    assert await _left(connection, f"{name}.dead") is None
    # Both gone: nothing left to do.
    assert await broker.retire(connection, settings, {"itest.successor"}) == []
