"""Messages requested through the real broker, sent by the real notifications service to the
real SMTP server (aiosmtpd in the tests' process): once per message id whatever is
redelivered, in the person's language with a text and an HTML part, the unsubscribe headers on
marketing e-mail, tried again after a 4xx and failed with the reason after a 5xx; the statuses
readable per message, campaign and person, and published to crm."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import aiohttp
import pytest_asyncio

from shared.contracts import MessageRequested
from shared.events import Event, new_event, pack
from shared.http import PROBLEM
from shared.settings import Settings
from tests import harness
from tests.messaging import Mailbox, until_status

NOTIFICATIONS = harness.url("notifications")
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}


@pytest_asyncio.fixture
async def exchange(services: harness.Services) -> AsyncIterator[aio_pika.abc.AbstractExchange]:
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        yield await channel.get_exchange(Settings().exchange)


async def publish(exchange: aio_pika.abc.AbstractExchange, events: list[Event[Any]]) -> None:
    await exchange.publish(
        aio_pika.Message(
            pack([e.to_json() for e in events]), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        ),
        routing_key=MessageRequested.routing_key(),
        mandatory=True,
    )


def request(to: str, **over: Any) -> MessageRequested:
    fields: dict[str, Any] = {
        "message_id": uuid.uuid4(),
        "channel": "email",
        "category": "transactional",
        "to": to,
        "language": "fr",
        "template": "receipt",
        "variables": {
            "first_name": "Claire",
            "shop_name": "Le Bistrot",
            "amount_cents": 2460,
            "reward_cents": 62,
            "balance_cents": 123456,
            "pending_cents": 0,
            "occurred_at": "2026-03-14T17:05:00+00:00",
        },
        "association_id": uuid.uuid4(),
        "account_id": uuid.uuid4(),
    }
    fields.update(over)
    return MessageRequested(**fields)


async def test_a_receipt_is_sent_once_in_french_with_text_and_html(
    exchange: aio_pika.abc.AbstractExchange, mailbox: Mailbox, http: aiohttp.ClientSession
) -> None:
    to = f"claire-{uuid.uuid4().hex[:8]}@example.org"
    r = request(to)
    event = new_event("crm", r)
    # The same event twice (a redelivery) and the same message under a new event id.
    await publish(exchange, [event, event])
    await publish(exchange, [new_event("crm", r)])
    state = await until_status(http, r.message_id, "sent")
    [mail] = await mailbox.wait_for(to)
    assert mail["Subject"] == "Votre achat chez Le Bistrot"
    assert mail["Message-ID"] == f"<{r.message_id}@comptoir.localhost>"
    assert "List-Unsubscribe" not in mail  # transactional
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "24,60\u00a0€" in text and "1\u202f234,56\u00a0€" in text, text
    assert "<strong>24,60\u00a0€</strong>" in html
    assert state["provider_id"].startswith("2.0.0 Ok: queued as T"), state
    assert state["attempts"] == 1


async def test_a_marketing_email_carries_the_one_click_unsubscribe_in_english(
    exchange: aio_pika.abc.AbstractExchange, mailbox: Mailbox, http: aiohttp.ClientSession
) -> None:
    to = f"john-{uuid.uuid4().hex[:8]}@example.org"
    campaign = uuid.uuid4()
    url = f"https://crm.example.org/v1/unsubscribe/{uuid.uuid4()}"
    r = request(
        to,
        category="marketing",
        language="en",
        template="birthday_offer",
        variables={"first_name": "John", "offer": "a free coffee"},
        consent_id=uuid.uuid4(),
        unsubscribe_url=url,
        campaign_id=campaign,
    )
    await publish(exchange, [new_event("crm", r)])
    [mail] = await mailbox.wait_for(to)
    assert mail["Subject"] == "Happy birthday John!"
    assert mail["List-Unsubscribe"] == f"<{url}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    await until_status(http, r.message_id, "sent")
    async with http.get(f"{NOTIFICATIONS}/v1/campaigns/{campaign}/progress", headers=ADMIN) as resp:
        assert (await resp.json())["by_status"] == {"sent": 1}
    async with http.get(
        f"{NOTIFICATIONS}/v1/messages", params={"account_id": str(r.account_id)}, headers=ADMIN
    ) as resp:
        [one] = await resp.json()
        assert one["message_id"] == str(r.message_id)


async def test_a_temporary_refusal_is_tried_again_and_a_permanent_one_fails_with_its_reason(
    exchange: aio_pika.abc.AbstractExchange, mailbox: Mailbox, http: aiohttp.ClientSession
) -> None:
    later = request(f"later-{uuid.uuid4().hex[:8]}@example.org")
    mailbox.refuse_next("451 4.3.0 Mailbox busy, try later")
    await publish(exchange, [new_event("crm", later)])
    state = await until_status(http, later.message_id, "sent")
    assert state["attempts"] == 2
    never = request(f"never-{uuid.uuid4().hex[:8]}@example.org")
    mailbox.refuse_next("550 5.1.1 No such user")
    await publish(exchange, [new_event("crm", never)])
    state = await until_status(http, never.message_id, "failed")
    assert state["reason"] == "smtp 550 5.1.1 No such user"
    assert not mailbox.to(never.to)


async def test_bad_filters_get_a_problem_with_a_stable_reason(
    http: aiohttp.ClientSession, services: harness.Services
) -> None:
    async with http.get(f"{NOTIFICATIONS}/v1/messages", headers=ADMIN) as r:
        assert r.status == 400 and r.content_type == PROBLEM
        assert (await r.json())["reason"] == "missing_filter"
    async with http.get(f"{NOTIFICATIONS}/v1/messages/{uuid.uuid4()}", headers=ADMIN) as r:
        assert r.status == 404 and (await r.json())["reason"] == "unknown_message"


async def test_a_recipient_refused_at_rcpt_fails_and_the_connection_serves_the_next(
    exchange: aio_pika.abc.AbstractExchange, mailbox: Mailbox, http: aiohttp.ClientSession
) -> None:
    gone = request(f"gone-{uuid.uuid4().hex[:8]}@example.org")
    mailbox.refused_recipients[gone.to] = "550 5.1.1 <gone> User unknown"
    await publish(exchange, [new_event("crm", gone)])
    state = await until_status(http, gone.message_id, "failed")
    assert state["reason"] == "smtp 550 5.1.1 <gone> User unknown"
    after = request(f"after-{uuid.uuid4().hex[:8]}@example.org")
    await publish(exchange, [new_event("crm", after)])
    await until_status(http, after.message_id, "sent")
    [mail] = await mailbox.wait_for(after.to)
    assert mail["To"] == after.to
