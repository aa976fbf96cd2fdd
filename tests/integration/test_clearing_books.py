"""The cards' new events through the real broker to the real clearing and crm consumers:
every kind booked in the compte pivot once, cancelled visits, card numbers, card-only accounts.

The events go straight to the clearing and crm queues (the default exchange routes a message
to the queue named by its routing key), so that no other consumer sees these made-up events;
that the topic exchange routes them there is shared/broker.py's bindings, checked below.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import urllib.parse
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aio_pika
import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from services.clearing.app import SPEC as CLEARING
from services.clearing.domain import MovementKind
from services.crm.__main__ import SPEC as CRM
from shared.broker import QUEUES, declare
from shared.client import AdminClient
from shared.contracts import (
    AccountAdjusted,
    AccountOpened,
    BookedTransaction,
    CardIssued,
    RewardReversed,
    TransactionsBooked,
)
from shared.events import Event, EventData, new_event, pack
from shared.settings import Settings
from tests import harness
from tests.conftest import eventually

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def channel(
    services: harness.Services,
) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        yield await connection.channel(publisher_confirms=True)


async def _publish(
    channel: aio_pika.abc.AbstractChannel, queue: str, events: list[Event[Any]]
) -> None:
    await channel.default_exchange.publish(
        aio_pika.Message(
            pack([e.to_json() for e in events]), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        ),
        routing_key=queue,
    )


async def _handled(http: aiohttp.ClientSession, service: str) -> float:
    """Events the service consumed so far, processed or recognised as duplicates."""
    return await harness.metric_total(
        http,
        harness.url(service),
        "comptoir_events_handled_total",
        service=service,
        outcome=("processed", "duplicate"),
    )


async def _until_handled(
    http: aiohttp.ClientSession, service: str, before: float, deliveries: int
) -> None:
    async def done() -> bool:
        return await _handled(http, service) - before >= deliveries

    await eventually(done, what=f"{deliveries} deliveries handled by {service}")


def _at_terminal(association: uuid.UUID, merchant: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {
        "association_id": association,
        "merchant_id": merchant,
        "shop_id": merchant,
        "terminal_id": uuid.uuid5(merchant, "till"),
        "occurred_at": at,
    }


def _booked(association: uuid.UUID, merchant: uuid.UUID, **line: Any) -> TransactionsBooked:
    where = _at_terminal(association, merchant, T0)
    del where["occurred_at"]
    return TransactionsBooked(origin="online", **where, transactions=[BookedTransaction(**line)])


def _credited(
    association: uuid.UUID,
    merchant: uuid.UUID,
    account: uuid.UUID,
    amount: int,
    at: datetime,
    **fields: Any,
) -> TransactionsBooked:
    values: dict[str, Any] = {
        "transaction_id": uuid.uuid4(),
        "kind": "sale",
        "account_id": account,
        "occurred_at": at,
        "amount_cents": amount,
        "product_family": "menu-midi",
        "reward_cents": amount * 5 // 100,
        "fee_cents": amount // 200,
    }
    return _booked(association, merchant, **(values | fields))


def _id(booked: TransactionsBooked) -> uuid.UUID:
    return booked.transactions[0].transaction_id


def _reversed(
    booked: TransactionsBooked,
    reason: Literal["cancelled", "returned"],
    at: datetime,
    return_id: uuid.UUID | None = None,
) -> RewardReversed:
    sale = booked.transactions[0]
    return RewardReversed(
        **_at_terminal(booked.association_id, booked.merchant_id, at),
        return_id=return_id or uuid.uuid4(),
        sale_id=sale.transaction_id,
        account_id=sale.account_id,
        amount_cents=sale.amount_cents,
        reward_cents=sale.reward_cents,
        fee_cents=sale.fee_cents,
        from_pending_cents=0,
        from_available_cents=sale.reward_cents,
        balance_cents=0,
        pending_cents=0,
        reason=reason,
    )


def _adjusted(
    association: uuid.UUID, kind: MovementKind, amount: int, merchant: uuid.UUID | None = None
) -> AccountAdjusted:
    stored = kind == "load"
    return AccountAdjusted(
        movement_id=uuid.uuid4(),
        kind=kind,
        account_id=uuid.uuid4(),
        association_id=association,
        merchant_id=merchant,
        purse="stored_value" if stored else "cagnotte",
        bucket="stored_value" if stored else "pending" if kind == "pending_lost" else "available",
        amount_cents=amount,
        balance_cents=max(amount, 0),
        actor="back-office" if kind == "adjustment" else None,
        occurred_at=T0,
    )


def _cards(data: EventData) -> Event[Any]:
    return new_event("cards", data)


def test_the_clearing_and_crm_queues_are_bound_to_exactly_the_events_they_handle() -> None:
    for spec, queue in ((CLEARING, "clearing"), (CRM, "crm")):
        assert spec.subscriptions is not None
        handled = set(spec.subscriptions.routing_keys())
        assert handled == set(QUEUES[queue].routing_keys), queue


async def _journal(db: asyncpg.Connection, association: uuid.UUID) -> dict[Any, Any]:
    rows = await db.fetch(
        """SELECT e.kind, e.reference_id, e.merchant_id, e.purchase_cents,
                  a.kind AS account, a.merchant_id AS account_merchant, p.amount_cents
           FROM clearing.journal_entries e
           LEFT JOIN clearing.postings p ON p.entry_id = e.id
           LEFT JOIN clearing.pivot_accounts a ON a.id = p.account_id
           WHERE e.association_id = $1""",
        association,
    )
    out: dict[Any, Any] = {}
    for r in rows:
        _, lines = out.setdefault(
            (r["kind"], r["reference_id"]), ((r["merchant_id"], r["purchase_cents"]), {})
        )
        if r["account"] is None:
            continue  # an entry with nothing to post (a sale that earned nothing)
        label = r["account"] + (f":{r['account_merchant']}" if r["account_merchant"] else "")
        assert label not in lines, f"two postings on {label} in {r['kind']} {r['reference_id']}"
        lines[label] = r["amount_cents"]
    return out


async def test_every_new_event_is_booked_in_the_pivot_once_whatever_is_redelivered(
    channel: aio_pika.abc.AbstractChannel, db: asyncpg.Connection, http: aiohttp.ClientSession
) -> None:
    a, m, n, customer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # Reward 2.00 € and fee 0.20 € on 40.00 €, and 0.50 € of pending rewards expired at it.
    sale = _credited(a, m, customer, 4000, T0, expired_cents=50)
    spend = _booked(
        a,
        n,
        transaction_id=uuid.uuid4(),
        kind="redemption",
        account_id=customer,
        occurred_at=T0,
        amount_cents=750,
        purse="stored_value",
    )
    decagnottage = _booked(
        a,
        n,
        transaction_id=uuid.uuid4(),
        kind="redemption",
        account_id=customer,
        occurred_at=T0,
        amount_cents=100,
    )
    returned = _reversed(_credited(a, m, customer, 1220, T0), "returned", T0)  # 0.61 € + 0.06 €
    correction = _adjusted(a, "adjustment", -23)
    opening = _adjusted(a, "opening_balance", 1500)
    lost = _adjusted(a, "pending_lost", -300)
    voucher = _adjusted(a, "voucher", 1000, m)
    load = _adjusted(a, "load", 2000, n)
    events = [
        _cards(d)
        for d in (sale, spend, decagnottage, returned, correction, opening, lost, voucher, load)
    ]
    # The return re-sent by cards under a new event id (its outbox replayed), twice in a batch.
    resent = new_event("cards", returned)

    before = await _handled(http, "clearing")
    await _publish(channel, "clearing.events", events)
    await _publish(channel, "clearing.events", events)  # the whole message redelivered
    await _publish(channel, "clearing.events", [resent, resent])
    await _until_handled(http, "clearing", before, 2 * len(events) + 2)

    m_, n_ = f"merchant:{m}", f"merchant:{n}"
    assert await _journal(db, a) == {
        ("accrual", _id(sale)): (
            (m, 4000),
            {m_: 220, "customer_liability": -200, "operator_fees": -20},
        ),
        ("pending_expired", _id(sale)): (
            (m, None),
            {"customer_liability": 50, "forfeited": -50},
        ),
        ("stored_value_spend", _id(spend)): (
            (n, None),
            {"customer_funds": 750, n_: -750},
        ),
        ("redemption", _id(decagnottage)): (
            (n, None),
            {"customer_liability": 100, n_: -100},
        ),
        ("reversal", returned.return_id): (
            (m, None),
            {"customer_liability": 61, "operator_fees": 6, m_: -67},
        ),
        ("adjustment", correction.movement_id): (
            (None, None),
            {"adjustments": -23, "customer_liability": 23},
        ),
        ("opening_balance", opening.movement_id): (
            (None, None),
            {"opening_balances": 1500, "customer_liability": -1500},
        ),
        ("pending_lost", lost.movement_id): (
            (None, None),
            {"forfeited": -300, "customer_liability": 300},
        ),
        ("voucher", voucher.movement_id): (
            (m, None),
            {"vouchers": 1000, "customer_liability": -1000},
        ),
        ("load", load.movement_id): ((n, None), {n_: 2000, "customer_funds": -2000}),
    }
    assert (
        await db.fetchval(
            "SELECT count(*) FROM clearing.inbox WHERE event_id = ANY($1::uuid[])",
            [e.id for e in [*events, resent]],
        )
        == len(events) + 1
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM clearing.dead_letters WHERE event_id = ANY($1)",
            [e.id for e in [*events, resent]],
        )
        == 0
    )

    # The back office sees the same books: what customers are owed, and a pivot at zero.
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    r = await admin.call("GET", f"{harness.url('clearing')}/v1/associations/{a}/balances")
    assert r.status == 200, r
    balances: dict[str, int] = defaultdict(int)
    for acc in r.body["accounts"]:
        balances[acc["kind"] + (f":{acc['merchant_id']}" if acc["merchant_id"] else "")] += acc[
            "balance_cents"
        ]
    # liability: -200 + 50 + 100 + 61 + 23 - 1500 + 300 - 1000 = -2166
    # funds: 750 - 2000 = -1250; M: 220 - 67 = 153; N: -750 - 100 + 2000 = 1150
    assert dict(balances) == {
        m_: 153,
        n_: 1150,
        "customer_liability": -2166,
        "customer_funds": -1250,
        "operator_fees": -14,
        "forfeited": -350,
        "adjustments": -23,
        "opening_balances": 1500,
        "vouchers": 1000,
    }
    assert (r.body["customer_liability_cents"], r.body["net_cents"]) == (2166, 0)
    r = await admin.call("GET", f"{harness.url('clearing')}/v1/entries/{correction.movement_id}")
    assert r.status == 200, r
    assert [(e["kind"], e["merchant_id"]) for e in r.body] == [("adjustment", None)]


async def test_a_load_naming_no_merchant_is_dead_lettered_and_the_rest_of_its_batch_booked(
    channel: aio_pika.abc.AbstractChannel, db: asyncpg.Connection, http: aiohttp.ClientSession
) -> None:
    a = uuid.uuid4()
    bad, good = _adjusted(a, "load", 2000), _adjusted(a, "opening_balance", 500)
    events = [_cards(bad), _cards(good)]
    before = await _handled(http, "clearing")
    await _publish(channel, "clearing.events", events)

    reasons: list[str] = []

    async def dead() -> bool:
        reasons[:] = [
            r["reason"]
            for r in await db.fetch(
                "SELECT reason FROM clearing.dead_letters WHERE event_id = $1", events[0].id
            )
        ]
        return bool(reasons)

    await eventually(dead, what="the load dead-lettered")
    await _until_handled(http, "clearing", before, 1)
    assert set(await _journal(db, a)) == {("opening_balance", good.movement_id)}
    assert len(reasons) == 1 and "names the merchant" in reasons[0], reasons


async def test_crm_keeps_card_only_accounts_card_numbers_and_cancelled_visits_once(
    channel: aio_pika.abc.AbstractChannel, db: asyncpg.Connection, http: aiohttp.ClientSession
) -> None:
    a, m, n, account = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    hour = timedelta(hours=1)
    # A customer file import opens the account: no phone, no merchant.
    opened = AccountOpened(
        account_id=account,
        association_id=a,
        first_name="Jeanne",
        last_name="Martin",
        opened_at=T0 - 24 * hour,
        request_id=uuid.uuid4(),
        request_kind="import",
    )
    first = CardIssued(
        card_number="9250010000000018",
        account_id=account,
        association_id=a,
        card_type_id=uuid.uuid4(),
        issued_at=T0 - 24 * hour,
    )
    replacement = CardIssued(
        card_number="9250010000000026",
        account_id=account,
        association_id=a,
        card_type_id=first.card_type_id,
        issued_at=T0 + 24 * hour,
        issued_by_merchant=m,
        replaces=first.card_number,
    )
    lunch = _credited(a, m, account, 2460, T0)
    book = _credited(a, n, account, 1220, T0 + hour)
    dinner = _credited(a, m, account, 4000, T0 + 2 * hour)
    late = _credited(a, n, account, 900, T0 + 3 * hour)  # its cancellation comes first
    batch = [_cards(d) for d in (opened, first, replacement, lunch, book, dinner)]

    before = await _handled(http, "crm")
    await _publish(channel, "crm.events", batch)
    await _publish(channel, "crm.events", [_cards(_reversed(late, "cancelled", T0 + 4 * hour))])
    await _until_handled(http, "crm", before, len(batch) + 1)

    cancel = _reversed(dinner, "cancelled", T0 + 5 * hour)
    cancels = [
        _cards(cancel),
        _cards(cancel),  # the same cancellation re-sent under a new event id
        _cards(_reversed(dinner, "cancelled", T0 + 6 * hour)),  # cancelled again at the till
        _cards(_reversed(book, "returned", T0 + 5 * hour)),  # a return: the visit stands
    ]
    before = await _handled(http, "crm")
    await _publish(channel, "crm.events", cancels)
    await _publish(channel, "crm.events", cancels)  # the whole message redelivered
    await _publish(channel, "crm.events", [_cards(late)])  # the sale after its cancellation
    await _until_handled(http, "crm", before, 2 * len(cancels) + 1)

    customer = await db.fetchrow("SELECT * FROM crm.customers WHERE account_id = $1", account)
    assert customer is not None
    assert (customer["phone"], customer["enrolled_by_merchant"], customer["last_name"]) == (
        None,
        None,
        "Martin",
    )
    # lunch 24.60 € + book 12.20 €; the dinner cancelled once, the late sale never counted.
    assert (
        customer["visit_count"],
        customer["total_spent_cents"],
        customer["last_visit_at"],
    ) == (2, 3680, T0 + hour)
    per_merchant = {
        r["merchant_id"]: (
            r["visit_count"],
            r["total_spent_cents"],
            r["first_visit_at"],
            r["last_visit_at"],
        )
        for r in await db.fetch(
            "SELECT * FROM crm.merchant_customers WHERE account_id = $1", account
        )
    }
    assert per_merchant == {m: (1, 2460, T0, T0), n: (1, 1220, T0 + hour, T0 + hour)}
    visits = {
        r["sale_id"]: (r["amount_cents"], r["product_family"], r["occurred_at"], r["cancelled_at"])
        for r in await db.fetch("SELECT * FROM crm.visits WHERE account_id = $1", account)
    }
    assert visits == {
        _id(lunch): (2460, "menu-midi", T0, None),
        _id(book): (1220, "menu-midi", T0 + hour, None),
        _id(dinner): (4000, "menu-midi", T0 + 2 * hour, T0 + 5 * hour),
        _id(late): (900, "menu-midi", T0 + 3 * hour, T0 + 4 * hour),
    }
    cards = await db.fetch(
        "SELECT card_number, issued_at, replaces FROM crm.customer_cards WHERE account_id = $1 ORDER BY issued_at",
        account,
    )
    assert [tuple(r) for r in cards] == [
        (first.card_number, T0 - 24 * hour, None),
        (replacement.card_number, T0 + 24 * hour, first.card_number),
    ]
    mine = [e.id for e in [*batch, *cancels]]
    assert (
        await db.fetchval("SELECT count(*) FROM crm.dead_letters WHERE event_id = ANY($1)", mine)
        == 0
    )

    r = await AdminClient(http, harness.ADMIN_TOKEN).call(
        "GET", f"{harness.url('crm')}/v1/customers/{account}"
    )
    assert r.status == 200, r
    assert (r.body["visit_count"], r.body.get("phone")) == (2, None)


def _bindings(queue: str) -> set[str]:
    """The routing keys that bind the queue, as the broker lists them."""
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(harness.AMQP_URL).path.lstrip("/")) or "/"
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_bindings", "-p", vhost, "destination_name", "routing_key"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {
        key
        for line in listed.splitlines()
        for name, _, key in (line.partition("\t"),)
        if name == queue
    }


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="lists bindings with rabbitmqctl")
async def test_a_queue_an_earlier_version_bound_to_other_events_loses_those_bindings_at_start(
    channel: aio_pika.abc.AbstractChannel,
) -> None:
    """Before one fact stood for a booked sale, crm's and clearing's queues were bound to
    ``cagnotte.credited`` and ``card.transactions.booked``. A broker kept from then (a
    machine's test vhost) keeps those bindings: the queue would receive events it has no
    handler for and dead-letter them. Declaring the topology unbinds them."""
    settings = Settings(service="itest", amqp_url=harness.AMQP_URL)
    exchange = await channel.get_exchange(settings.exchange)
    crm = await channel.get_queue(QUEUES["crm"].name)
    stale = {"cagnotte.credited.v1", "card.transactions.booked.v1"}
    for key in stale:
        await crm.bind(exchange, key)
    assert stale <= await asyncio.to_thread(_bindings, "crm.events")

    await declare(channel, settings)

    bound = await asyncio.to_thread(_bindings, "crm.events")
    assert not stale & bound
    assert set(QUEUES["crm"].routing_keys) <= bound
