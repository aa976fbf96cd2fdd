"""The shared backbone against the real PostgreSQL and RabbitMQ: migrations, the outbox relay,
idempotent consumers and dead-lettering."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
import pytest_asyncio
from prometheus_client import REGISTRY

from shared import db, outbox
from shared.consumer import Consumer
from shared.contracts import SaleRecorded
from shared.events import Event, new_event, pack
from shared.settings import Settings
from tests import harness
from tests.conftest import eventually
from tests.factories import sale_recorded

SCHEMA = "itest"


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_things.sql").write_text(
        "CREATE TABLE things (sale_id uuid PRIMARY KEY, amount_cents bigint NOT NULL, n int NOT NULL DEFAULT 1);"
    )
    return folder


@pytest_asyncio.fixture
async def schema(clean_infrastructure: None, migrations: Path) -> AsyncIterator[asyncpg.Pool]:
    conn = await asyncpg.connect(harness.DATABASE_URL)
    await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    await conn.close()
    await db.migrate(harness.DATABASE_URL, SCHEMA, migrations)
    pool = await db.create_pool(harness.DATABASE_URL, SCHEMA, 1, 6)
    yield pool
    await pool.close()


async def test_migrations_apply_once_in_order_and_are_recorded(
    schema: asyncpg.Pool, migrations: Path
) -> None:
    assert await db.migrate(harness.DATABASE_URL, SCHEMA, migrations) == []
    versions = [
        r["version"]
        for r in await schema.fetch("SELECT version FROM schema_migrations ORDER BY version")
    ]
    assert versions == [
        "itest/0001_things",
        "shared/0001_messaging",
        "shared/0002_outbox_without_event_index",
        "shared/0003_outbox_lz4",
        "shared/0004_references_per_statement",
    ]
    (migrations / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN note text;")
    assert await db.pending(schema, migrations, SCHEMA) == ["itest/0002_more"]
    assert await db.migrate(harness.DATABASE_URL, SCHEMA, migrations) == ["itest/0002_more"]


async def test_concurrent_starts_apply_each_migration_once(
    schema: asyncpg.Pool, migrations: Path
) -> None:
    (migrations / "0002_slow.sql").write_text("SELECT pg_sleep(0.3); CREATE TABLE slow (id int);")
    results = await asyncio.gather(
        *(db.migrate(harness.DATABASE_URL, SCHEMA, migrations) for _ in range(3))
    )
    assert sorted(len(r) for r in results) == [0, 0, 1]


async def test_a_migration_edited_after_it_was_applied_stops_the_start(
    schema: asyncpg.Pool, migrations: Path
) -> None:
    (migrations / "0001_things.sql").write_text("CREATE TABLE things (id int);")
    with pytest.raises(db.MigrationError, match="changed after it was applied"):
        await db.migrate(harness.DATABASE_URL, SCHEMA, migrations)


async def test_a_badly_named_migration_is_refused(schema: asyncpg.Pool, migrations: Path) -> None:
    (migrations / "2_oops.sql").write_text("SELECT 1;")
    with pytest.raises(db.MigrationError, match=r"NNNN_name\.sql"):
        await db.migrate(harness.DATABASE_URL, SCHEMA, migrations)


# --- outbox, relay, consumer -------------------------------------------------------------


def _sale(amount: int = 100) -> Event[SaleRecorded]:
    return new_event("itest", sale_recorded(amount_cents=amount))


class Pipe:
    """An itest queue bound to sale.recorded.v1 in the test vhost, with the real relay and consumer."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.calls = 0
        self.fail_with: BaseException | None = None
        self.fail_times = 0

    async def handler(
        self, conn: asyncpg.Connection, events: list[Event[Any]]
    ) -> Sequence[Event[Any]]:
        self.calls += 1
        if self.fail_with is not None and self.fail_times > 0:
            self.fail_times -= 1
            raise self.fail_with
        for e in events:
            if e.data.amount_cents == 13:
                raise ValueError("unlucky amount")  # a handler bug on one event only
        await conn.executemany(
            "INSERT INTO things (sale_id, amount_cents) VALUES ($1, $2) ON CONFLICT (sale_id) DO UPDATE SET n = things.n + 1",
            [(e.data.sale_id, e.data.amount_cents) for e in events],
        )
        return []


@pytest_asyncio.fixture
async def pipe(
    schema: asyncpg.Pool,
) -> AsyncIterator[tuple[Pipe, aio_pika.abc.AbstractChannel, outbox.Relay]]:
    settings = Settings(service="itest", amqp_url=harness.AMQP_URL)
    connection = await aio_pika.connect_robust(harness.AMQP_URL)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    await channel.set_qos(prefetch_count=4)
    exchange = await channel.declare_exchange(
        settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dlx = await channel.declare_exchange(
        settings.dead_letter_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    for name in ("itest.events", "itest.events.dead"):
        await channel.queue_delete(name)
    queue = await channel.declare_queue(
        "itest.events",
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": 3,
            "x-dead-letter-exchange": settings.dead_letter_exchange,
            "x-dead-letter-routing-key": "itest.events",
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )
    await queue.bind(exchange, "itest.sale")
    dead = await channel.declare_queue(
        "itest.events.dead", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dead.bind(dlx, "itest.events")
    p = Pipe(schema)
    consumer = Consumer("itest", schema, queue, dlx, {SaleRecorded: p.handler}, retries=2)
    await consumer.start()
    relay = outbox.Relay("itest", schema, exchange, batch=50, poll_s=0.2)
    yield p, channel, relay
    await consumer.stop()
    await connection.close()


async def _publish(channel: aio_pika.abc.AbstractChannel, body: bytes) -> None:
    exchange = await channel.get_exchange("comptoir.events")
    await exchange.publish(
        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key="itest.sale",
    )


async def _rows(pool: asyncpg.Pool) -> dict[uuid.UUID, int]:
    return {r["sale_id"]: r["n"] for r in await pool.fetch("SELECT sale_id, n FROM things")}


async def test_events_written_in_a_transaction_are_published_once_and_consumed_once(
    pipe: Any,
) -> None:
    p, channel, relay = pipe
    events = [_sale(100 + i) for i in range(120)]
    async with p.pool.acquire() as conn, conn.transaction():
        await outbox.write(conn, events)
    # The relay publishes to routing key sale.recorded.v1; route it to the itest queue too.
    queue = await channel.get_queue("itest.events")
    await queue.bind("comptoir.events", "sale.recorded.v1")
    try:
        while await relay.publish_once():
            pass
        assert await p.pool.fetchval("SELECT count(*) FROM outbox") == 0

        async def all_in() -> bool:
            return len(await _rows(p.pool)) == 120

        await eventually(all_in, what="120 events consumed")
        assert set((await _rows(p.pool)).values()) == {1}
        assert await p.pool.fetchval("SELECT count(*) FROM inbox") == 120
    finally:
        await queue.unbind("comptoir.events", "sale.recorded.v1")


async def test_a_commit_wakes_the_relay_of_its_own_schema_only(schema: asyncpg.Pool) -> None:
    """Every service's schema is in one database: a channel for all woke every relay of every
    service at each commit of any, for a look at an empty outbox."""
    heard: dict[str, int] = {}
    listener = await asyncpg.connect(harness.DATABASE_URL)
    try:
        for name in (outbox.channel(SCHEMA), outbox.channel("cards")):
            heard[name] = 0

            def count(*args: Any, name: str = name) -> None:
                heard[name] += 1

            await listener.add_listener(name, count)
        async with schema.acquire() as conn, conn.transaction():
            await outbox.write(conn, [_sale(), _sale()])
            await outbox.write(conn, [_sale()])

        async def woken() -> bool:
            return heard[outbox.channel(SCHEMA)] > 0

        await eventually(woken, what="the itest relay's channel notified")
        await asyncio.sleep(0.2)  # a notification on the other channel would be here by now
        # one per commit, whatever the writes
        assert heard == {outbox.channel(SCHEMA): 1, outbox.channel("cards"): 0}
    finally:
        await listener.close()


async def test_a_rolled_back_transaction_publishes_nothing(pipe: Any) -> None:
    p, _, relay = pipe
    with contextlib.suppress(RuntimeError):
        async with p.pool.acquire() as conn, conn.transaction():
            await outbox.write(conn, [_sale()])
            raise RuntimeError("the state change failed")
    assert await relay.publish_once() == 0


def _duplicates(type_: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "comptoir_events_handled_total",
            {"service": "itest", "type": type_, "outcome": "duplicate"},
        )
        or 0.0
    )


async def test_the_same_event_delivered_twice_is_processed_once(pipe: Any) -> None:
    p, channel, _ = pipe
    e = _sale(777)
    before = _duplicates(e.type)
    await _publish(channel, pack([e.to_json(), e.to_json()]))  # twice inside one batch
    await _publish(channel, pack([e.to_json()]))  # and once more later

    async def seen() -> bool:
        return _duplicates(e.type) - before == 2

    await eventually(seen, what="three deliveries handled")
    assert (await _rows(p.pool))[e.data.sale_id] == 1
    assert (
        await p.pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", uuid.UUID(e.id))
        == 1
    )


async def _dead(
    channel: aio_pika.abc.AbstractChannel,
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    queue = await channel.get_queue("itest.events.dead")
    out = []
    while (m := await queue.get(no_ack=True, fail=False)) is not None:
        out.append(m)
    return out


async def test_poison_is_dead_lettered_with_its_reason_and_the_rest_of_the_batch_is_processed(
    pipe: Any,
) -> None:
    p, channel, _ = pipe
    good, bad = _sale(200), _sale(13)
    unknown = orjson.loads(_sale().to_json()) | {"type": "comptoir.mystery.v1"}
    await _publish(channel, pack([good.to_json(), bad.to_json(), orjson.dumps(unknown).decode()]))
    await _publish(channel, b"\x00 definitely not json")

    async def three_dead() -> bool:
        return bool(await p.pool.fetchval("SELECT count(*) FROM dead_letters") == 3)

    await eventually(three_dead, what="three dead letters")
    assert good.data.sale_id in await _rows(p.pool)
    reasons = sorted(r["reason"] for r in await p.pool.fetch("SELECT reason FROM dead_letters"))
    assert reasons[0].startswith("handler failed: ValueError('unlucky amount')")
    assert reasons[1].startswith("undecodable message")
    assert "unknown event type 'comptoir.mystery.v1'" in reasons[2]
    dead = await _dead(channel)
    assert sorted(str(m.headers["x-comptoir-reason"]).split(":")[0] for m in dead) == [
        "handler failed",
        "undecodable message",
        "unknown event type 'comptoir.mystery.v1'",
    ]


async def test_a_transient_error_is_retried_and_then_succeeds(pipe: Any) -> None:
    p, channel, _ = pipe
    p.fail_with, p.fail_times = asyncpg.SerializationError("could not serialize"), 2
    e = _sale(300)
    await _publish(channel, pack([e.to_json()]))

    async def done() -> bool:
        return e.data.sale_id in await _rows(p.pool)

    await eventually(done, what="retried event processed")
    assert p.calls >= 3
    assert await p.pool.fetchval("SELECT count(*) FROM dead_letters") == 0


async def test_a_message_that_keeps_failing_transiently_reaches_the_dead_letter_queue(
    pipe: Any,
) -> None:
    p, channel, _ = pipe
    p.fail_with, p.fail_times = ConnectionResetError("database went away"), 10_000
    await _publish(channel, pack([_sale(400).to_json()]))

    dead: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def dead_lettered() -> bool:
        dead.extend(await _dead(channel))
        return bool(dead)

    await eventually(dead_lettered, timeout=60, what="delivery limit reached")
    x_death: Any = dead[0].headers["x-death"]
    assert x_death[0]["reason"] == "delivery_limit"
    assert p.calls > 3  # retried in-process, then redelivered until the limit
    p.fail_times = 0
