"""Faults while sales flow. Each test ends with the books' check: every sale exactly once in
cards, clearing and crm, and the card balances equal to the clearing's customer liability."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid

import aio_pika
import asyncpg
import pytest

from shared.events import new_event, pack
from tests import harness
from tests.bookkeeping import assert_exactly_once
from tests.conftest import NetworkFactory, eventually
from tests.e2e.driver import Driver, make_sales
from tests.factories import sale_recorded

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


async def _booked(db: asyncpg.Connection, table: str, refs: list[uuid.UUID]) -> int:
    column = "sale_id" if table == "crm.visits" else "reference_id"
    return int(
        await db.fetchval(
            f"SELECT count(DISTINCT {column}) FROM {table} WHERE {column} = ANY($1)", refs
        )
    )


async def _settle(db: asyncpg.Connection, refs: list[uuid.UUID], timeout: float = 60) -> None:
    async def all_booked() -> bool:
        return all(
            [
                await _booked(db, t, refs) == len(refs)
                for t in ("cards.cagnotte_entries", "clearing.journal_entries", "crm.visits")
            ]
        )

    await eventually(all_booked, timeout=timeout, what="every sale in the three books")


async def _when_booked(db: asyncpg.Connection, table: str, refs: list[uuid.UUID], n: int) -> None:
    async def reached() -> bool:
        return await _booked(db, table, refs) >= n

    await eventually(reached, timeout=60, what=f"{n} sales in {table}")


async def _no_dead_letters(db: asyncpg.Connection) -> None:
    for schema in ("terminals", "cards", "clearing", "crm"):
        assert await db.fetchval(f"SELECT count(*) FROM {schema}.dead_letters") == 0, (
            f"dead letters in {schema}"
        )


async def test_kill_9_of_each_consuming_service_mid_stream_loses_and_doubles_nothing(
    make_network: NetworkFactory, services: harness.Services, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=3)
    sales = make_sales(net.terminals, 1200, customers=40)
    refs = [uuid.UUID(s.sale_id) for s in sales]
    driver = Driver(concurrency=48)
    flow = asyncio.create_task(driver.run(sales))

    for service, table, after in [
        ("cards", "cards.cagnotte_entries", 200),
        ("clearing", "clearing.journal_entries", 500),
        ("crm", "crm.visits", 800),
    ]:
        await _when_booked(db, table, refs, after)
        assert services.kill(service) == -9
        await asyncio.sleep(0.5)
        services.start(service)
        await services.wait_ready(service)

    answers = await asyncio.wait_for(flow, 180)
    assert {a.status for a in answers} == {201}
    await _settle(db, refs)
    await assert_exactly_once(db, net.association_id, refs)
    await _no_dead_letters(db)


@pytest.mark.skipif(
    shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl to restart the broker"
)
async def test_a_rabbitmq_restart_while_sales_flow_loses_and_doubles_nothing(
    make_network: NetworkFactory, services: harness.Services, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=2)
    sales = make_sales(net.terminals, 800, customers=30)
    refs = [uuid.UUID(s.sale_id) for s in sales]
    flow = asyncio.create_task(Driver(concurrency=32).run(sales))
    await _when_booked(db, "crm.visits", refs, 150)

    await asyncio.to_thread(
        subprocess.run, ["rabbitmqctl", "stop_app"], check=True, capture_output=True
    )
    await asyncio.sleep(2)  # sales keep arriving: the gateway commits them to its outbox
    await asyncio.to_thread(
        subprocess.run, ["rabbitmqctl", "start_app"], check=True, capture_output=True
    )

    answers = await asyncio.wait_for(flow, 240)
    assert {a.status for a in answers} == {201}
    await _settle(db, refs, timeout=120)
    await assert_exactly_once(db, net.association_id, refs)
    await services.wait_ready(*harness.SERVICES, timeout=60)
    await _no_dead_letters(db)


async def test_the_same_events_delivered_twice_are_booked_once(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    terminal_id = uuid.UUID(net.terminals[0].terminal_id)
    events = [
        new_event(
            "terminals",
            sale_recorded(
                association_id=net.association_id,
                merchant_id=net.merchants[0],
                shop_id=net.merchants[0],
                terminal_id=terminal_id,
                phone="+33677777777",
                amount_cents=1000 + i,
            ),
        )
        for i in range(20)
    ]
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("comptoir.events")
        body = pack([e.to_json() for e in events])
        for _ in range(2):  # the whole batch twice, then each event again on its own
            await exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                "sale.recorded.v1",
            )
        for e in events:
            await exchange.publish(
                aio_pika.Message(
                    pack([e.to_json()]), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                "sale.recorded.v1",
            )

    refs = [e.data.sale_id for e in events]
    await _settle(db, refs)
    await asyncio.sleep(1)  # let the redeliveries land, if they were going to double anything
    await assert_exactly_once(db, net.association_id, refs)
    balance = await db.fetchval(
        "SELECT balance_cents FROM cards.accounts WHERE association_id = $1", net.association_id
    )
    assert balance == sum(
        round((1000 + i) * 300 / 10_000 + 1e-9) for i in range(20)
    )  # 3 % of each, once
    dup = await db.fetchval(
        "SELECT count(*) FROM cards.inbox WHERE event_id = ANY($1::uuid[])", [e.id for e in events]
    )
    assert dup == 20


async def test_the_gateway_killed_between_its_commit_and_the_publish_loses_nothing(
    make_network: NetworkFactory, services: harness.Services, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    services.kill("terminals", 15)
    services.start("terminals", {"COMPTOIR_FAILPOINTS": "relay.before_publish"})
    await services.wait_ready("terminals")

    sale_id = str(uuid.uuid4())
    with pytest.raises(Exception):  # noqa: B017 - the connection dies with the process
        await t.sale("0688888888", 4200, sale_id=sale_id)
    assert services.procs["terminals"].wait(timeout=10) == 137
    row = await db.fetchrow(
        "SELECT status FROM terminals.requests WHERE id = $1", uuid.UUID(sale_id)
    )
    assert row is not None and row["status"] == "pending"  # committed, and never published
    assert await db.fetchval("SELECT count(*) FROM terminals.outbox") >= 1

    services.start("terminals")
    await services.wait_ready("terminals")
    retry = await t.sale("0688888888", 4200, sale_id=sale_id)  # the till retries its sale
    assert (retry.status, retry.body["reward_cents"]) == (201, 126)
    await _settle(db, [uuid.UUID(sale_id)])
    await assert_exactly_once(db, net.association_id, [uuid.UUID(sale_id)])
