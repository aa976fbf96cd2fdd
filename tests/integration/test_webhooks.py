"""Webhooks against a real HTTP server started by the test (docs/webhooks.md): signed
deliveries over TLS the test verifies itself (the HMAC recomputed), a merchant's subscription that
hears only of its own shops, a secret rotation (two signatures), the server down then up and
the delivery arriving once the services' clock is past the backoff, a delivery failed after a
day, its replay, the delivery log with the answers' codes, and subscriptions refused."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import date, datetime, timedelta

import aiohttp
import asyncpg
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from services.notifications.domain import webhooks as rules
from services.notifications.service.webhook_networks import FRESH_S
from shared import clock
from shared.clock import PARIS
from shared.contracts import (
    ConsentChanged,
    LevelChanged,
    MonthlyStatementReady,
    TransactionsBooked,
)
from shared.events import new_event
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.people import call, customer, email_consent, new_phone
from tests.watch import publish
from tests.webhooks import (
    NOTIFICATIONS,
    Receiver,
    deliveries,
    only_delivery,
    settled_as,
    subscribe,
    verified,
)

T0 = datetime(2031, 3, 4, 10, 0, tzinfo=PARIS)


async def test_a_subscriber_receives_signed_deliveries_one_after_its_server_was_down(
    calendar: Calendar,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    tls_receiver: tuple[Receiver, dict[str, str]],
) -> None:
    receiver, trust = tls_receiver
    await calendar.move_to(T0, trust)
    assert receiver.url("network").startswith("https://")
    net = await make_network(merchants=2)
    (m0, m1), (till0, till1) = net.merchants, net.terminals
    network = await subscribe(
        http,
        net,
        receiver.url("network"),
        ["customer.enrolled", "sale.booked", "redemption.booked"],
        description="the association's accounting",
    )
    shop1 = await subscribe(http, net, receiver.url("shop1"), ["sale.booked"], merchant_id=str(m1))
    secret = network["secret"]

    # An enrolment and a sale at merchant 0: signed, with ids and amounts, no phone.
    phone = new_phone()
    enrolled = await till0.enrol(phone, first_name="Léa")
    assert enrolled.status == 201, enrolled
    account = enrolled.body["account_id"]
    sold = await till0.sale(phone, 2460)
    assert sold.status == 201, sold
    got = await receiver.wait("network", 2)
    bodies = sorted((verified(g, secret) for g in got), key=lambda b: str(b["type"]))
    assert [b["type"] for b in bodies] == ["customer.enrolled", "sale.booked"]
    enrolment, sale = bodies
    assert enrolment["data"]["account_id"] == account
    assert sale["data"] | {"amount_cents": 2460, "merchant_id": str(m0)} == sale["data"]
    assert sale["data"]["account_id"] == account and sale["data"]["reward_cents"] > 0
    assert all(phone not in g.body.decode() and "Léa" not in g.body.decode() for g in got)

    # The merchant's subscription hears of its own shop's sale only.
    assert (await till1.sale(phone, 1000)).status == 201
    (own,) = await receiver.wait("shop1", 1)
    assert verified(own, shop1["secret"])["data"]["merchant_id"] == str(m1)
    assert receiver.to("shop1") == [own]

    # The server down: refused, then answering 500; up again, the delivery waits for its
    # backoff, and arrives once the services' clock is past it.
    await receiver.wait("network", 3)  # merchant 1's sale reached the association's too
    await receiver.down()
    assert (await till0.sale(phone, 700)).status == 201
    late = await only_delivery(http, network, amount_cents=700)
    await settled_as(http, late, "pending", 1)
    receiver.answer = 500
    await receiver.up()
    # harness.WEBHOOK_FIRST_RETRY_S later: 500
    log = await settled_as(http, late, "pending", 2)
    receiver.answer = 200
    due = datetime.fromisoformat(log["due_at"])
    assert due - datetime.fromisoformat(log["attempts_log"][-1]["at"]) >= timedelta(seconds=55)
    moved = T0 + timedelta(minutes=30)
    await calendar.move_to(moved, trust)
    log = await settled_as(http, late, "delivered", 3)
    # delivered on the moved clock, past the backoff: not before
    assert datetime.fromisoformat(log["attempts_log"][-1]["at"]) >= moved > due
    assert [a["status"] for a in log["attempts_log"]] == [None, 500, 200]
    assert log["attempts_log"][0]["error"]
    arrived = receiver.with_amount("network", 700)
    assert len(arrived) == 2  # the 500 answered, then the 200
    assert {g.headers["webhook-id"] for g in arrived} == {log["webhook_id"]}
    assert verified(arrived[-1], secret)["type"] == "sale.booked"

    # A rotation: both secrets sign until the old one's end.
    status, rotated = await call(
        http, "POST", f"{NOTIFICATIONS}/v1/webhook-subscriptions/{network['id']}/rotate-secret"
    )
    assert status == 200, rotated
    new_secret = rotated["secret"]
    assert new_secret != secret
    assert (await till0.redeem(phone, 10)).status in (200, 201)
    redemption = await only_delivery(http, network, amount_cents=10)
    log = await settled_as(http, redemption, "delivered", 1)
    (got_r,) = receiver.with_amount("network", 10)
    assert len(got_r.headers["webhook-signature"].split(" ")) == 2
    assert verified(got_r, secret, new_secret)["type"] == "redemption.booked"

    # Failed after a day: the server answers 500 for good.
    receiver.answer = 503
    assert (await till0.sale(phone, 333)).status == 201
    doomed = await only_delivery(http, network, amount_cents=333)
    await settled_as(http, doomed, "pending", 1)
    await calendar.move_to(T0 + timedelta(days=2), trust)
    log = await settled_as(http, doomed, "failed", 2)
    assert log["failed_at"] and log["due_at"] is None and log["last_status"] == 503
    failed = await deliveries(http, network)
    assert [d["id"] for d in failed if d["status"] == "failed"] == [doomed]

    # Replayed by hand: the same message, signed now with the new secret only (the old one
    # ended a day after the rotation).
    receiver.answer = 200
    status, replayed = await call(
        http, "POST", f"{NOTIFICATIONS}/v1/webhook-deliveries/{doomed}/replay"
    )
    assert status == 202, replayed
    log = await settled_as(http, doomed, "delivered", 3)
    *refused, accepted = [a["status"] for a in log["attempts_log"]]
    assert len(refused) >= 2 and set(refused) == {503} and accepted == 200
    last = receiver.with_amount("network", 333)[-1]
    assert last.headers["webhook-id"] == log["webhook_id"]
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    assert verified(last, new_secret)["data"]["account_id"] == account
    assert not rules.verify(secret, last.headers, last.body, clock.now())


async def test_consent_status_and_statement_events_reach_their_subscribers(
    make_network: NetworkFactory, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    net = await make_network(merchants=1)
    sub = await subscribe(http, net, receiver.url("crm"), ["consent.changed", "status.changed"])
    statements = await subscribe(
        http,
        net,
        receiver.url("statements"),
        ["statement.ready"],
        merchant_id=str(net.merchants[0]),
    )
    account = await customer(net, http)
    await email_consent(http, account, None)
    (consent,) = await receiver.wait("crm", 1)
    data = verified(consent, sub["secret"])["data"]
    assert data | {"account_id": account, "channel": "email", "status": "confirmed"} == data
    assert "@" not in consent.body.decode()

    # A level change as cards will publish it (issue 14 item 2 builds the publisher).
    await publish(
        new_event(
            "cards",
            LevelChanged(
                account_id=uuid.UUID(account),
                association_id=net.association_id,
                level_code="privilege",
                occurred_at=clock.now(),
            ),
        )
    )
    got = await receiver.wait("crm", 2)
    level = verified(got[1], sub["secret"])
    assert level["type"] == "status.changed" and level["data"]["level_code"] == "privilege"

    # A merchant's statement, as clearing publishes it when it closes a month (the merchant
    # has no e-mail here: notifications' notice of it fails, the webhook does not).
    merchant, statement = net.merchants[0], uuid.uuid4()
    await publish(
        new_event(
            "clearing",
            MonthlyStatementReady(
                statement_id=statement,
                association_id=net.association_id,
                merchant_id=merchant,
                merchant_name="merchant 0",
                period_start=date(2031, 2, 1),
                period_end=date(2031, 2, 28),
                purchases_count=3,
                purchases_cents=4200,
                cagnottages_cents=126,
                fees_cents=21,
                redemptions_count=1,
                redemptions_cents=100,
                net_cents=47,
                xlsx_path=f"/v1/statements/{statement}.xlsx",
                csv_path=f"/v1/statements/{statement}.csv",
            ),
        )
    )
    got = await receiver.wait("statements", 1)
    data = verified(got[0], statements["secret"])["data"]
    assert (data["statement_id"], data["merchant_id"]) == (str(statement), str(merchant))
    assert (data["period_end"], data["net_cents"], data["purchases_cents"]) == (
        "2031-02-28",
        47,
        4200,
    )
    assert len(receiver.to("crm")) == 2  # not a consent or status subscriber's business


async def _delivered_by(http: aiohttp.ClientSession, port: int) -> float:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
        text = await r.text()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "comptoir_webhook_attempts_total" and s.labels["outcome"] == "delivered"
    )


@pytest_asyncio.fixture
async def two_replicas(services: harness.Services) -> AsyncIterator[int]:
    """notifications as two replicas claiming few deliveries at a time; the second's port."""
    small = {"COMPTOIR_WEBHOOK_BATCH": "2"}
    services.kill("notifications", signal.SIGTERM)
    services.start("notifications", small)
    port = harness.BASE_PORT + 5  # free: the five services, then the line at +10
    second = services.start_replica("notifications", port, small)
    try:
        await services.wait_ready("notifications")
        await services.wait_replica(second, port, timeout=150)
        yield port
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.to_thread(second.wait, 30)
        services.kill("notifications", signal.SIGTERM)
        services.start("notifications")
        await services.wait_ready("notifications")


async def test_two_replicas_deliver_each_message_once(
    two_replicas: int, make_network: NetworkFactory, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    net = await make_network(merchants=1)
    sub = await subscribe(http, net, receiver.url("many"), ["consent.changed"])
    receiver.delay = 0.2  # slow answers: both replicas' claims are in flight together
    n, account = 24, uuid.uuid4()
    await publish(
        *(
            new_event(
                "crm",
                ConsentChanged(
                    consent_id=uuid.uuid4(),
                    account_id=account,
                    association_id=net.association_id,
                    channel="email",
                    status="withdrawn",
                    how="one_click",
                    changed_at=clock.now(),
                ),
            )
            for _ in range(n)
        )
    )
    got = await receiver.wait("many", n, timeout=60)
    await asyncio.sleep(1)  # a second copy of any would have arrived by now
    ids = [g.headers["webhook-id"] for g in receiver.to("many")]
    assert len(ids) == len(set(ids)) == n
    assert all(rules.verify(sub["secret"], g.headers, g.body, clock.now()) for g in got)
    first = await _delivered_by(http, harness.port("notifications"))
    second = await _delivered_by(http, two_replicas)
    assert first > 0 and second > 0, (first, second)


async def test_subscriptions_refused_listed_and_deleted(
    make_network: NetworkFactory, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    net = await make_network(merchants=1)
    base = f"{NOTIFICATIONS}/v1/webhook-subscriptions"
    good = {"association_id": str(net.association_id), "event_types": ["sale.booked"]}
    for body, reason in [
        (good | {"url": "http://hooks.example.com/x"}, "not_https"),
        (good | {"url": "https://user:pw@hooks.example.com/x"}, "bad_url"),
        (good | {"url": receiver.url("x"), "event_types": ["sale.made"]}, "unknown_event_type"),
        (
            good | {"url": receiver.url("x"), "event_types": ["sale.booked", "sale.booked"]},
            "duplicate_event_type",
        ),
    ]:
        status, problem = await call(http, "POST", base, body)
        assert (status, problem["reason"]) == (422, reason), problem
    status, problem = await call(http, "POST", base, good | {"url": receiver.url("x"), "x": 1})
    assert (status, problem["errors"][0]["field"]) == (422, "x"), problem
    # a merchant's subscription names a merchant of the association (cards knows)
    other = await make_network(merchants=1)
    for merchant in (other.merchants[0], uuid.uuid4()):
        body = good | {"url": receiver.url("x"), "merchant_id": str(merchant)}
        status, problem = await call(http, "POST", base, body)
        assert (status, problem["reason"]) == (422, "merchant_not_in_association"), problem
    status, problem = await call(http, "POST", base, good | {"url": receiver.url("x")}, admin=False)
    assert status == 401, problem

    sub = await subscribe(http, net, receiver.url("x"), ["sale.booked"])
    status, listed = await call(http, "GET", f"{base}?association_id={net.association_id}")
    assert status == 200 and [s["id"] for s in listed] == [sub["id"]]
    assert "secret" not in listed[0]
    status, deleted = await call(http, "DELETE", f"{base}/{sub['id']}")
    assert status == 200 and deleted["deleted_at"], deleted
    status, listed = await call(http, "GET", f"{base}?association_id={net.association_id}")
    assert (status, listed) == (200, [])
    status, problem = await call(http, "DELETE", f"{base}/{sub['id']}")
    assert (status, problem["reason"]) == (409, "deleted")
    status, problem = await call(http, "POST", f"{base}/{sub['id']}/rotate-secret")
    assert (status, problem["reason"]) == (409, "deleted")
    status, problem = await call(http, "GET", f"{base}/{uuid.uuid4()}")
    assert (status, problem["reason"]) == (404, "unknown_subscription")
    status, problem = await call(
        http, "POST", f"{NOTIFICATIONS}/v1/webhook-deliveries/{uuid.uuid4()}/replay"
    )
    assert (status, problem["reason"]) == (404, "unknown_delivery")

    # A deleted subscription is sent nothing more.
    phone = new_phone()
    assert (await net.terminals[0].enrol(phone)).status == 201
    assert (await net.terminals[0].sale(phone, 500)).status == 201
    await asyncio.sleep(3)
    assert receiver.to("x") == []


async def _events_handled(http: aiohttp.ClientSession, port: int, outcome: str) -> float:
    return await harness.metric_total(
        http,
        f"http://127.0.0.1:{port}",
        "comptoir_events_handled_total",
        outcome=outcome,
        type=TransactionsBooked.type(),
    )


async def test_a_network_without_subscription_is_skipped_until_one_subscribes_on_either_replica(
    two_replicas: int, make_network: NetworkFactory, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """Its booked sales are not parsed, given an inbox row or a transaction; a subscription
    created at one replica is heard of at the other within LiveNetworks' FRESH_S."""
    net = await make_network(merchants=1)
    till = net.terminals[0]
    ports = (harness.port("notifications"), two_replicas)
    phone = new_phone()
    assert (await till.enrol(phone)).status == 201

    async def counted(outcome: str) -> list[float]:
        return [await _events_handled(http, p, outcome) for p in ports]

    async def sales(amounts: range) -> None:
        for cents in amounts:
            assert (await till.sale(phone, cents)).status == 201

    skipped, processed = await counted("skipped"), await counted("processed")
    unheard = range(601, 607)  # six sales, each its own booked fact
    conn = await asyncpg.connect(harness.DATABASE_URL)
    try:  # none of the network's booked facts went the full way (no other test runs now)
        started = await conn.fetchval("SELECT clock_timestamp()")  # the inbox's clock
        await sales(unheard)
        await eventually(
            lambda: _more_than(counted("skipped"), sum(skipped) + 5), what="6 events skipped"
        )
        rows = await conn.fetchval(
            "SELECT count(*) FROM notifications.webhook_inbox WHERE type = $1 AND received_at >= $2",
            TransactionsBooked.type(),
            started,
        )
    finally:
        await conn.close()
    assert rows == 0

    # Subscribed at the second replica; both take the queue's messages.
    body = {"association_id": str(net.association_id), "event_types": ["sale.booked"]}
    status, sub = await call(
        http,
        "POST",
        f"http://127.0.0.1:{ports[1]}/v1/webhook-subscriptions",
        body | {"url": receiver.url("late")},
    )
    assert status == 201, sub
    await asyncio.sleep(FRESH_S + 0.5)
    heard = range(701, 717)
    await sales(heard)
    got = await receiver.wait("late", len(heard), timeout=60)
    await asyncio.sleep(1)  # one of the skipped ones, wrongly delivered, would be here by now
    amounts = sorted(
        verified(g, sub["secret"])["data"]["amount_cents"] for g in receiver.to("late")
    )
    assert len(got) == len(heard) and amounts == list(heard)
    now = await counted("processed")
    assert all(after > before for after, before in zip(now, processed, strict=True)), now


async def _more_than(values: Awaitable[list[float]], floor: float) -> bool:
    return sum(await values) > floor
