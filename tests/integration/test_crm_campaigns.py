"""Campaigns (issue 13, item 4; F24) against the running services: a segment of a merchant's
customers by product family bought and spend, its size before sending, a one-off campaign sent
once, the frequency cap, SMS quick news from the back office, the monthly newsletter on its
day; no message to a person without the consent it needs."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.people import call as _call
from tests.people import customer as _customer
from tests.people import email_consent as _consent
from tests.people import file_of as _file
from tests.people import messages_of as _messages

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")


async def test_a_campaign_to_a_segment_sized_before_sending_sent_once_under_the_cap(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    buyer, other_family, silent, capped = [await _customer(net, http) for _ in range(4)]
    for a in (buyer, other_family, capped):
        await _consent(http, a, mid)
    for a, family in (
        (buyer, "menu"),
        (other_family, "fleurs"),
        (silent, "menu"),
        (capped, "menu"),
    ):
        phone = (await _file(http, a))["phone"]
        sold = await net.terminals[0].sale(phone, 4_000, family)
        assert sold.status == 201, sold

    async def counted() -> bool:
        files = [await _file(http, a) for a in (buyer, other_family, silent, capped)]
        return all(f["visit_count"] == 1 for f in files)

    await eventually(counted, what="the visits")
    segment = {"merchant_id": mid, "channel": "email", "product_families": ["menu"]}
    status, size = await _call(
        http, "POST", f"{CRM}/v1/associations/{net.association_id}/segments/size", segment
    )
    assert (status, size) == (200, {"size": 3, "consenting": 2}), size
    status, none = await _call(
        http,
        "POST",
        f"{CRM}/v1/associations/{net.association_id}/segments/size",
        segment | {"min_spent_cents": 4_001},
    )
    assert none == {"size": 0, "consenting": 0}

    # the cap: one marketing message per person in 7 days; ``capped`` had one already
    status, _ = await _call(
        http,
        "PUT",
        f"{CRM}/v1/associations/{net.association_id}/marketing-cap",
        {"max_messages": 1, "per_days": 7},
    )
    news = {"channel": "email", "merchant_id": mid, "template": "quick_news", "variables": {}}
    assert (await _call(http, "POST", f"{CRM}/v1/customers/{capped}/messages", news))[0] == 202

    campaign = str(uuid.uuid4())
    body: dict[str, Any] = {
        "association_id": str(net.association_id),
        "template": "newsletter",
        "variables": {"body": "Nouvelle carte", "shop_name": "Lili"},
        "segment": segment,
    }
    status, made = await _call(http, "PUT", f"{CRM}/v1/campaigns/{campaign}", body)
    assert status == 200 and (made["size"], made["consenting"]) == (3, 2), made
    assert made["sending"] == {
        "status": "draft",
        "asked_at": None,
        "finished_at": None,
        "asked": 0,
    }
    status, asked = await _call(http, "POST", f"{CRM}/v1/campaigns/{campaign}/send")
    assert status == 202 and asked["campaign_id"] == campaign, asked
    assert asked["status"] in ("sending", "sent") and asked["asked_at"] is not None, asked
    report = await _sent(http, campaign)
    assert report["sending"]["asked"] == 1, report
    status, again = await _call(http, "POST", f"{CRM}/v1/campaigns/{campaign}/send")
    assert (status, again["status"], again["asked"]) == (200, "sent", 1), again
    assert len(await _messages(http, buyer, "newsletter")) == 1
    for a in (other_family, silent, capped):
        assert await _messages(http, a, "newsletter") == []
    _, report = await _call(http, "GET", f"{CRM}/v1/campaigns/{campaign}")
    assert sum(report["messages"].values()) == 1


async def _sent(http: aiohttp.ClientSession, campaign: str, timeout: float = 30) -> Any:
    """The campaign once crm's campaign job has asked for all its messages."""

    async def sent() -> bool:
        try:
            status, report = await _call(http, "GET", f"{CRM}/v1/campaigns/{campaign}")
        except aiohttp.ClientError:
            return False  # crm restarting
        return status == 200 and report["sending"]["status"] == "sent"

    await eventually(sent, timeout=timeout, what=f"campaign {campaign} sent")
    return (await _call(http, "GET", f"{CRM}/v1/campaigns/{campaign}"))[1]


async def test_sms_quick_news_and_the_monthly_newsletter_only_with_consent(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    told, silent = await _customer(net, http), await _customer(net, http)
    await _consent(http, told, None)  # the network's e-mail consent; no one consented to SMS
    quick = str(uuid.uuid4())
    status, made = await _call(
        http,
        "PUT",
        f"{CRM}/v1/campaigns/{quick}",
        {
            "association_id": str(net.association_id),
            "template": "quick_news",
            "variables": {"body": "Arrivage de truffes"},
            "segment": {"channel": "sms"},
        },
    )
    assert status == 200 and (made["size"], made["consenting"]) == (2, 0), made
    assert (await _call(http, "POST", f"{CRM}/v1/campaigns/{quick}/send"))[0] == 202
    assert (await _sent(http, quick))["sending"]["asked"] == 0

    day = clock.today_paris() - timedelta(days=70)
    monthly = str(uuid.uuid4())
    status, made = await _call(
        http,
        "PUT",
        f"{CRM}/v1/campaigns/{monthly}",
        {
            "association_id": str(net.association_id),
            "template": "newsletter",
            "variables": {"body": "Le mois de la rue"},
            "segment": {"channel": "email"},
            "monthly_day": min(day.day, 28),
        },
    )
    assert status == 200 and made["consenting"] == 1 and made["sending"] is None, made
    day = day.replace(day=min(day.day, 28))
    run = f"{CRM}/v1/campaigns/{monthly}/days"
    assert (await _call(http, "POST", f"{run}/{day + timedelta(days=1)}"))[1]["sent"] == 0
    assert (await _call(http, "POST", f"{run}/{day}"))[1]["sent"] == 1
    assert (await _call(http, "POST", f"{run}/{day}"))[1]["sent"] is None
    assert len(await _messages(http, told, "newsletter")) == 1
    assert await _messages(http, silent, "newsletter") == []
    status, problem = await _call(http, "POST", f"{CRM}/v1/campaigns/{monthly}/send")
    assert (status, problem["reason"]) == (409, "monthly")


async def test_the_cap_holds_when_two_messages_race_for_one_person(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    account = await _customer(net, http)
    await _consent(http, account, mid)
    status, _ = await _call(
        http,
        "PUT",
        f"{CRM}/v1/associations/{net.association_id}/marketing-cap",
        {"max_messages": 1, "per_days": 1},
    )
    assert status == 200
    news = {"channel": "email", "merchant_id": mid, "template": "quick_news", "variables": {}}
    url = f"{CRM}/v1/customers/{account}/messages"
    answers = await asyncio.gather(*(_call(http, "POST", url, news) for _ in range(6)))
    assert sorted(s for s, _ in answers) == [202] + [409] * 5, answers
    assert len(await _messages(http, account, "quick_news")) == 1


async def test_a_campaign_cut_by_a_crash_is_finished_by_the_next_start_each_person_once(
    services: harness.Services,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    """The request only asks: crm's campaign job sends, two people a batch here, and dies
    (a failpoint, as kill -9 would) with the first batch written and the second in hand; the
    next start, and a second replica started with it, go on after the first batch."""
    small = {"COMPTOIR_CAMPAIGN_BATCH": "2"}
    services.kill("crm", signal.SIGTERM)
    services.start("crm", small | {"COMPTOIR_FAILPOINTS": "crm.campaign_next_batch"})
    try:
        await services.wait_ready("crm")
        net = await make_network(merchants=1)
        people = [await _customer(net, http) for _ in range(5)]
        for a in people:
            await _consent(http, a, None)
        campaign = str(uuid.uuid4())
        body = {
            "association_id": str(net.association_id),
            "template": "newsletter",
            "variables": {"body": "Les soldes"},
            "segment": {"channel": "email"},
        }
        assert (await _call(http, "PUT", f"{CRM}/v1/campaigns/{campaign}", body))[0] == 200
        status, asked = await _call(http, "POST", f"{CRM}/v1/campaigns/{campaign}/send")
        assert (status, asked["status"]) == (202, "sending"), asked
        assert await asyncio.to_thread(services.procs["crm"].wait, 30) == 137
        run = await db.fetchrow(
            "SELECT items, finished_at FROM crm.daily_runs WHERE job = $1",
            f"campaign:{campaign}",
        )
        assert run is not None and (run["items"], run["finished_at"]) == (2, None), run

        services.start("crm", small)
        second = services.start_replica("crm", harness.BASE_PORT + 6, small)
        try:
            await services.wait_ready("crm")
            await services.wait_replica(second, harness.BASE_PORT + 6)
            report = await _sent(http, campaign)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.to_thread(second.wait, 30)
        assert report["sending"]["asked"] == 5, report
        for a in people:
            assert len(await _messages(http, a, "newsletter")) == 1, a
    finally:
        if services.procs["crm"].poll() is None:
            services.kill("crm", signal.SIGTERM)
        services.start("crm")
        await services.wait_ready("crm")
