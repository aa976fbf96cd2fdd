"""SMS through the real Kannel and its fake operator: sent once, delivered by the operator's
report (dlr-url), its segments counted; a marketing SMS due on a Saturday at 21:00 leaves on
Monday at 08:00 (the services' clock set by the test); a customer's STOP is published to crm
as OptOutReceived."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aio_pika
import aiohttp
import pytest_asyncio

from shared.clock import PARIS
from shared.contracts import MessageStatusChanged, OptOutReceived
from shared.events import Event, new_event, parse, unpack
from shared.settings import Settings
from tests import harness
from tests.conftest import Calendar, eventually
from tests.integration.test_messages_email import exchange, publish, request
from tests.messaging import KannelHandle, until_status

__all__ = ["exchange"]  # the fixture, shared with the e-mail tests

NOTIFICATIONS = harness.url("notifications")


@pytest_asyncio.fixture
async def heard(services: harness.Services) -> AsyncIterator[list[Event[Any]]]:
    """What notifications publishes for crm, on a queue of the test's own."""
    events: list[Event[Any]] = []
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        ex = await channel.get_exchange(Settings().exchange)
        for kind in (MessageStatusChanged, OptOutReceived):
            await queue.bind(ex, kind.routing_key())

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                events.extend(parse(raw) for raw in unpack(message.body))

        await queue.consume(take)
        yield events


def number() -> str:
    return f"+336{uuid.uuid4().int % 10**8:08d}"


async def test_an_sms_is_sent_once_and_delivered_by_the_operators_report(
    exchange: aio_pika.abc.AbstractExchange,
    kannel: KannelHandle,
    http: aiohttp.ClientSession,
    heard: list[Event[Any]],
) -> None:
    to = number()
    r = request(
        to,
        channel="sms",
        template="consent_sms_code",
        variables={"code": "482913", "scope_label": "les offres de la rue"},
    )
    event = new_event("crm", r)
    await publish(exchange, [event, event])
    state = await until_status(http, r.message_id, "delivered")
    [sms] = await kannel.wait_for(to)
    assert (
        sms.text == "Votre code de confirmation pour recevoir les offres de la rue par SMS : 482913"
    )
    assert state["segments"] == 1 and state["provider_id"], state

    async def published() -> bool:
        return [e.data.status for e in heard if e.data.message_id == r.message_id] == [
            "sent",
            "delivered",
        ]

    await eventually(published, what="sent then delivered, published once each")
    await asyncio.sleep(1)
    assert len(kannel.sms_to(to)) == 1


async def test_a_long_accented_sms_counts_its_ucs2_segments(
    exchange: aio_pika.abc.AbstractExchange, kannel: KannelHandle, http: aiohttp.ClientSession
) -> None:
    to = number()
    body = "Arrivage de cèpes et de girolles, çà et là " * 3
    r = request(
        to, channel="sms", template="quick_news", variables={"body": body, "shop_name": "Primeur"}
    )
    await publish(exchange, [new_event("crm", r)])
    state = await until_status(http, r.message_id, "delivered")
    [sms] = await kannel.wait_for(to)
    assert sms.text.startswith("Primeur : Arrivage de cèpes") and "STOP" not in sms.text
    assert state["segments"] == 3  # ç is not GSM 7-bit: UCS-2, 67 characters a part


async def test_a_customers_stop_is_published_as_an_opt_out(
    kannel: KannelHandle, heard: list[Event[Any]], services: harness.Services
) -> None:
    sender = number()
    kannel.customer_sends(sender, "Stop")

    async def opted_out() -> bool:
        return any(isinstance(e.data, OptOutReceived) and e.data.address == sender for e in heard)

    await eventually(opted_out, what="OptOutReceived")
    [opt] = [
        e.data for e in heard if isinstance(e.data, OptOutReceived) and e.data.address == sender
    ]
    assert (opt.channel, opt.keyword) == ("sms", "STOP")


async def test_a_marketing_sms_due_on_saturday_night_leaves_on_monday_morning(
    calendar: Calendar,
    exchange: aio_pika.abc.AbstractExchange,
    kannel: KannelHandle,
    http: aiohttp.ClientSession,
) -> None:
    await calendar.move_to(datetime(2026, 12, 5, 21, 0, tzinfo=PARIS))  # a Saturday
    to = number()
    r = request(
        to,
        channel="sms",
        category="marketing",
        template="we_miss_you",
        variables={"shop_name": "Le Bistrot", "offer": "un café offert"},
        consent_id=uuid.uuid4(),
    )
    await publish(exchange, [new_event("crm", r)])
    state = await until_status(http, r.message_id, "deferred")
    assert datetime.fromisoformat(state["due_at"]) == datetime(2026, 12, 7, 8, 0, tzinfo=PARIS)
    await asyncio.sleep(2)
    assert kannel.sms_to(to) == []
    # Monday a little before 08:00 (the restart takes seconds of it): it leaves at 08:00.
    await calendar.move_shortly_before(datetime(2026, 12, 7, 8, 0, tzinfo=PARIS))
    [sms] = await kannel.wait_for(to)
    assert sms.text == "Le Bistrot : Vous nous manquez ! un café offert STOP au 38000"
    sent = await until_status(http, r.message_id, "delivered")
    assert datetime.fromisoformat(sent["sent_at"]) >= datetime(2026, 12, 7, 8, 0, tzinfo=PARIS)
