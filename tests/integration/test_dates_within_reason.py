"""Dates within reason (issue 11, finding 4, build item 5), against the running services: the
gateway refuses an online request dated out of reason at once with its ``reason``; cards
refuses what reaches it by any other way (an event on its queue) and what is dated before the
association's books start; the same instant is the same line whatever its offset."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import aio_pika
import asyncpg
import pytest

from shared import clock
from shared.client import Reply
from shared.clock import PARIS
from shared.events import new_event, pack, unpack
from tests import factories, harness
from tests.conftest import Network, NetworkFactory, eventually
from tests.integration.test_cards_partners import _partner_event, _publish, _until_partner

pytestmark = pytest.mark.asyncio

CARDS = harness.url("cards")
PLUS_ONE = timezone(timedelta(hours=1))


def _reason(r: Reply) -> str | None:
    return r.body.get("reason") if isinstance(r.body, dict) else None


async def _books_start_this_month(net: Network) -> date:
    """The association's books start this month (as one created today without history)."""
    start = clock.today_paris().replace(day=1)
    r = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{net.association_id}",
        {
            "name": f"test {net.association_id}",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "books_start": start.isoformat(),
        },
    )
    assert r.status == 200, r
    assert r.body["books_start"] == start.isoformat()
    return start


async def test_a_sale_dated_year_one_at_plus_one_hour_is_refused_at_once_not_left_pending(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    """Year 1 at +01:00 is year 0 in UTC: it crashed cards' consumer, the event went to the
    dead-letter queue and the request stayed pending. Now the gateway answers 422 at once."""
    net = await make_network(merchants=1)
    till = net.terminals[0]
    sale_id = str(uuid.uuid4())
    r = await till.sale(
        "+33611770001", 1000, sale_id=sale_id, occurred_at="0001-01-01T00:30:00+01:00"
    )
    assert r.status == 422, r
    assert any(e["field"] == "occurred_at" for e in r.body["errors"]), r
    # nothing recorded: no request to stay pending, no event for a consumer to choke on
    assert (
        await db.fetchval(
            "SELECT count(*) FROM terminals.requests WHERE id = $1", uuid.UUID(sale_id)
        )
        == 0
    )


async def test_a_sale_dated_year_one_in_utc_is_refused_as_too_long_ago(
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    r = await net.terminals[0].sale("+33611770002", 1000, occurred_at="0001-01-01T00:30:00Z")
    assert r.status == 422, r
    assert _reason(r) == "occurred_too_long_ago", r


async def test_a_sale_dated_beyond_the_window_is_refused_with_its_reason(
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    too_old = clock.now() - timedelta(days=harness.DATE_WINDOW_DAYS + 1)
    r = await net.terminals[0].sale("+33611770003", 1000, occurred_at=too_old.isoformat())
    assert r.status == 422, r
    assert _reason(r) == "occurred_too_long_ago", r
    assert r.body["type"].endswith("/occurred-too-long-ago"), r


async def test_a_sale_redemption_and_return_dated_in_the_future_are_refused_with_their_reason(
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    till = net.terminals[0]
    sold = await till.sale("+33611770004", 10_000)
    assert sold.status == 201, sold
    ahead = (clock.now() + timedelta(hours=1)).isoformat()
    sale = await till.sale("+33611770004", 1000, occurred_at=ahead)
    redemption = await till.redeem("+33611770004", 100, occurred_at=ahead)
    returned = await till.request(
        "POST",
        "/v1/returns",
        {
            "return_id": str(uuid.uuid4()),
            "sale_id": sold.body["sale_id"],
            "amount_cents": 5000,
            "reason": "returned",
            "occurred_at": ahead,
        },
    )
    for r in (sale, redemption, returned):
        assert r.status == 422, r
        assert _reason(r) == "occurred_in_future", r
    # a little ahead (a terminal's clock drifts) is within the tolerance
    drift = (clock.now() + timedelta(seconds=30)).isoformat()
    assert (await till.sale("+33611770004", 1000, occurred_at=drift)).status == 201


async def test_operations_dated_before_the_books_start_are_refused_by_cards(
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    till = net.terminals[0]
    sold = await till.sale("+33611770005", 10_000)
    assert sold.status == 201, sold
    start = await _books_start_this_month(net)
    # within the gateway's window, a second before the books start
    before = datetime.combine(start, time(), PARIS) - timedelta(seconds=1)
    sale = await till.sale("+33611770005", 1000, occurred_at=before.isoformat())
    redemption = await till.redeem("+33611770005", 100, occurred_at=before.isoformat())
    returned = await till.request(
        "POST",
        "/v1/returns",
        {
            "return_id": str(uuid.uuid4()),
            "sale_id": sold.body["sale_id"],
            "amount_cents": 5000,
            "reason": "returned",
            "occurred_at": before.isoformat(),
        },
    )
    for r in (sale, redemption, returned):
        assert r.status == 422, r
        assert _reason(r) == "occurred_before_books_start", r
    # the first instant of the books is booked
    first = datetime.combine(start, time(), PARIS)
    if first <= clock.now():
        assert (await till.sale("+33611770005", 1000, occurred_at=first.isoformat())).status == 201


async def test_the_same_instant_written_with_another_offset_is_the_same_line(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    till = net.terminals[0]
    at = (clock.now() - timedelta(hours=2)).replace(microsecond=0)
    a = await till.sale("+33611770006", 1000, occurred_at=at.astimezone(PLUS_ONE).isoformat())
    b = await till.sale("+33611770006", 1000, occurred_at=at.astimezone(UTC).isoformat())
    assert a.status == b.status == 201, (a, b)
    rows = await db.fetch(
        """SELECT DISTINCT occurred_at FROM cards.cagnotte_entries
           WHERE reference_id = ANY($1::uuid[])""",
        [uuid.UUID(a.body["sale_id"]), uuid.UUID(b.body["sale_id"])],
    )
    assert [r["occurred_at"] for r in rows] == [at]


async def test_cards_refuses_a_sale_event_dated_out_of_reason_whatever_sent_it(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    """The gateway is not the only way in: an event on cards' queue dated year 1 is refused
    by cards with its reason, not booked into a period at -infinity."""
    net = await make_network(merchants=1)
    mid = net.merchants[0]
    sale = factories.sale_recorded(
        association_id=net.association_id,
        merchant_id=mid,
        shop_id=mid,
        occurred_at=datetime(1, 1, 1, 12, tzinfo=UTC),
        phone="+33611770007",
    )
    event = new_event("terminals", sale, subject=f"sale/{sale.sale_id}")
    seen: list[dict[str, Any]] = []
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("comptoir.events")
        verdicts = await channel.declare_queue(exclusive=True, auto_delete=True)
        await verdicts.bind(exchange, "sale.refused.v1")
        await verdicts.bind(exchange, "cagnotte.credited.v1")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                seen.extend(unpack(message.body))

        await verdicts.consume(on_message)
        await channel.default_exchange.publish(
            aio_pika.Message(
                pack([event.to_json()]), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            ),
            routing_key="cards.events",
        )

        def mine() -> list[dict[str, Any]]:
            return [e for e in seen if e["data"].get("sale_id") == str(sale.sale_id)]

        async def answered() -> bool:
            return bool(mine())

        await eventually(answered, what="cards' verdict on the year-1 sale")
    (verdict,) = mine()
    assert verdict["type"] == "comptoir.sale.refused.v1", verdict
    assert verdict["data"]["reason"] == "occurred_too_long_ago", verdict
    booked = await db.fetchval(
        "SELECT count(*) FROM cards.cagnotte_entries WHERE reference_id = $1", sale.sale_id
    )
    assert booked == 0


async def test_a_donation_dated_out_of_reason_is_refused_with_its_reason(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    """Donations are dated by the back office (a form signed in the shop, keyed in later):
    the same window and books start as a sale."""
    net = await make_network(merchants=1)
    sold = await net.terminals[0].sale("+33611770008", 100_000)
    assert sold.status == 201, sold
    account = sold.body["account_id"]
    club = uuid.uuid4()
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await _publish(
            await channel.get_exchange("comptoir.events"),
            [_partner_event(club, net.association_id, "US Rugby")],
        )
    await _until_partner(db, club, lambda r: True)
    start = await _books_start_this_month(net)
    url = f"{CARDS}/v1/accounts/{account}/donations"
    dated = {
        "occurred_in_future": clock.now() + timedelta(hours=1),
        "occurred_too_long_ago": clock.now() - timedelta(days=harness.DATE_WINDOW_DAYS + 1),
        "occurred_before_books_start": datetime.combine(start, time(), PARIS)
        - timedelta(seconds=1),
    }
    for reason, at in dated.items():
        r = await net.admin.call(
            "POST",
            url,
            {
                "donation_id": str(uuid.uuid4()),
                "partner_id": str(club),
                "amount_cents": 100,
                "occurred_at": at.isoformat(),
            },
        )
        assert r.status == 422, r
        assert _reason(r) == reason, r
    within = await net.admin.call(
        "POST",
        url,
        {
            "donation_id": str(uuid.uuid4()),
            "partner_id": str(club),
            "amount_cents": 100,
            "occurred_at": (clock.now() - timedelta(minutes=1)).astimezone(PLUS_ONE).isoformat(),
        },
    )
    assert within.status == 201, within
    assert within.body["occurred_at"].endswith(("+00:00", "Z")), within
