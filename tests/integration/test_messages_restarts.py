"""Each message once, whatever restarts: a campaign on its way when notifications is stopped
(SIGTERM) is finished by the next start with no e-mail sent twice; when it is killed (SIGKILL)
none is lost, and the only ones sent twice are those of the SMTP window (accepted by the server,
not yet written), with the same Message-ID (docs/messages.md)."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections import Counter

import aio_pika
import aiohttp

from shared.events import new_event
from tests import harness
from tests.conftest import eventually
from tests.integration.test_messages_email import exchange, publish, request
from tests.messaging import Mailbox

__all__ = ["exchange"]
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}


async def campaign_sent(http: aiohttp.ClientSession, campaign: uuid.UUID, n: int) -> None:
    url = f"{harness.url('notifications')}/v1/campaigns/{campaign}/progress"

    async def done() -> bool:
        try:
            async with http.get(url, headers=ADMIN) as r:
                return r.status == 200 and (await r.json())["by_status"] == {"sent": n}
        except aiohttp.ClientError:
            return False  # restarting

    await eventually(done, timeout=60, what=f"{n} sent")


async def interrupted(
    sig: signal.Signals,
    services: harness.Services,
    exchange: aio_pika.abc.AbstractExchange,
    mailbox: Mailbox,
    http: aiohttp.ClientSession,
) -> tuple[Counter[str], dict[str, set[str]], int]:
    n = 200
    campaign, tag = uuid.uuid4(), uuid.uuid4().hex[:8]
    requests = [request(f"r{i}-{tag}@example.org", campaign_id=campaign) for i in range(n)]
    mailbox.delay_s = 0.02  # about 200 a second over the pool's 4 connections
    try:
        await publish(exchange, [new_event("crm", r) for r in requests])

        async def some_sent() -> bool:
            return len([m for m in mailbox.received if tag in m.recipients[0]]) >= 20

        await eventually(some_sent, what="the campaign under way")
        services.kill("notifications", sig)
        services.start("notifications")
        await services.wait_ready("notifications")
        await campaign_sent(http, campaign, n)
    finally:
        mailbox.delay_s = 0.0
    mine = [m for m in mailbox.received if tag in m.recipients[0]]
    per_address = Counter(m.recipients[0] for m in mine)
    ids: dict[str, set[str]] = {}
    for m in mine:
        ids.setdefault(m.recipients[0], set()).add(str(m.message["Message-ID"]))
    return per_address, ids, n


async def test_a_campaign_stopped_half_way_is_finished_once(
    services: harness.Services,
    exchange: aio_pika.abc.AbstractExchange,
    mailbox: Mailbox,
    http: aiohttp.ClientSession,
) -> None:
    per_address, _, n = await interrupted(signal.SIGTERM, services, exchange, mailbox, http)
    assert len(per_address) == n
    assert set(per_address.values()) == {1}


async def test_a_campaign_killed_half_way_loses_nothing_and_repeats_only_its_window(
    services: harness.Services,
    exchange: aio_pika.abc.AbstractExchange,
    mailbox: Mailbox,
    http: aiohttp.ClientSession,
) -> None:
    per_address, ids, n = await interrupted(signal.SIGKILL, services, exchange, mailbox, http)
    assert len(per_address) == n  # none lost
    twice = [a for a, count in per_address.items() if count > 1]
    # What the server accepted in the last moments before the kill, at most a pool's worth
    # of conversations and a flush: never the campaign again.
    assert len(twice) <= 20, twice
    assert all(len(ids[a]) == 1 for a in per_address)  # a repeat carries the same Message-ID
    await asyncio.sleep(0)
