"""A one-off campaign scheduled for a chosen instant (issue 15, "campaigns: … schedule"; issue
13, item 4: a scheduled job runs once whatever the restarts, a missed run caught up): nothing
goes before its instant, crm's campaign job sends it once after it, even when the services were
stopped over it and restarted again after; a cancelled one never goes; consent is the one of
the moment it goes. On a calendar of the test's own (the services' clock moved past the
instant: ``calendar``), whatever today's date is."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.notifications.domain import hours
from shared import clock
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.people import call as _call
from tests.people import customer as _customer
from tests.people import email_consent as _consent
from tests.people import messages_of as _messages
from tests.watch import watching

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
# Long enough for four passes of crm's campaign job: a campaign that should not go would have.
PASSES_S = 4 * harness.CAMPAIGN_POLL_S


def _body(net: Any, **more: Any) -> dict[str, Any]:
    return {
        "association_id": str(net.association_id),
        "template": "newsletter",
        "variables": {"body": "Les truffes arrivent"},
        "segment": {"merchant_id": str(net.merchants[0]), "channel": "email"},
    } | more


async def _state(http: aiohttp.ClientSession, campaign: str) -> dict[str, Any]:
    status, report = await _call(http, "GET", f"{CRM}/v1/campaigns/{campaign}")
    assert status == 200, report
    return dict(report)


@pytest.mark.from_today
async def test_a_scheduled_campaign_goes_once_after_its_time_across_restarts(
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    calendar: Calendar,
) -> None:
    await calendar.today()
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    stays, withdraws, never = [await _customer(net, http) for _ in range(3)]
    for a in (stays, withdraws):
        await _consent(http, a, mid)
    send_at = clock.now() + timedelta(hours=2)

    # refused: an instant past, or more than a year ahead, or with a monthly day
    scheduled, cancelled = str(uuid.uuid4()), str(uuid.uuid4())
    for when, reason in (
        (clock.now() - timedelta(minutes=1), "send_at_past"),
        (clock.now() + timedelta(days=400), "send_at_too_far"),
    ):
        status, problem = await _call(
            http, "PUT", f"{CRM}/v1/campaigns/{scheduled}", _body(net, send_at=when.isoformat())
        )
        assert (status, problem["reason"]) == (422, reason), problem
    status, problem = await _call(
        http,
        "PUT",
        f"{CRM}/v1/campaigns/{scheduled}",
        _body(net, send_at=send_at.isoformat(), monthly_day=3),
    )
    assert (status, problem["reason"]) == (422, "send_at_monthly"), problem
    status, problem = await _call(
        http,
        "PUT",
        f"{CRM}/v1/campaigns/{scheduled}",
        _body(net, send_at=send_at.replace(tzinfo=None).isoformat()),
    )
    assert (status, problem["reason"]) == (422, "malformed"), problem  # no offset

    # scheduled in two hours (first made for three, then re-timed)
    later = (send_at + timedelta(hours=1)).isoformat()
    status, made = await _call(
        http, "PUT", f"{CRM}/v1/campaigns/{scheduled}", _body(net, send_at=later)
    )
    assert status == 200 and made["sending"]["status"] == "scheduled", made
    assert made["consenting"] == 2, made
    status, made = await _call(
        http,
        "PUT",
        f"{CRM}/v1/campaigns/{scheduled}/send-at",
        {"send_at": send_at.isoformat()},
    )
    assert status == 200 and made["sending"]["status"] == "scheduled", made
    assert made["send_at"] is not None and made["cancelled_at"] is None, made
    # another, scheduled then cancelled (twice: the same answer)
    status, made = await _call(
        http, "PUT", f"{CRM}/v1/campaigns/{cancelled}", _body(net, send_at=later)
    )
    assert status == 200, made
    for _ in range(2):
        status, made = await _call(http, "POST", f"{CRM}/v1/campaigns/{cancelled}/cancel")
        assert status == 200 and made["sending"]["status"] == "cancelled", made
    for method, path, body in (
        ("POST", "/send", None),
        ("PUT", "/send-at", {"send_at": send_at.isoformat()}),
        ("PUT", "", _body(net)),
    ):
        status, problem = await _call(http, method, f"{CRM}/v1/campaigns/{cancelled}{path}", body)
        assert (status, problem["reason"]) == (409, "campaign_cancelled"), (path, problem)

    # nothing goes before its instant: four passes of the campaign job (every
    # harness.CAMPAIGN_POLL_S in the tests' services, 5 s in production)
    await asyncio.sleep(PASSES_S)
    assert (await _state(http, scheduled))["sending"]["status"] == "scheduled"
    assert await _messages(http, stays, "newsletter") == []
    # consent withdrawn after the scheduling: checked when it goes, not when scheduled
    _, given = await _call(http, "GET", f"{CRM}/v1/customers/{withdraws}/consents")
    consent = next(c for c in given["consents"] if c["channel"] == "email")
    status, _ = await _call(
        http, "DELETE", f"{CRM}/v1/customers/{withdraws}/consents/{consent['id']}"
    )
    assert status in (200, 204)

    # the services stopped over the instant and started after it: the campaign goes, once
    await calendar.move_to(send_at + timedelta(minutes=10))

    async def sent() -> bool:
        try:
            report = await _state(http, scheduled)
        except aiohttp.ClientError:
            return False
        return bool(report["sending"]["status"] == "sent")

    await eventually(sent, timeout=30, what="the scheduled campaign sent")
    report = await _state(http, scheduled)
    assert report["sending"]["asked"] == 1, report
    assert len(await _messages(http, stays, "newsletter")) == 1
    assert await _messages(http, withdraws, "newsletter") == []
    assert await _messages(http, never, "newsletter") == []
    status, problem = await _call(http, "POST", f"{CRM}/v1/campaigns/{scheduled}/cancel")
    assert (status, problem["reason"]) == (409, "campaign_sent"), problem
    # the same PUT again (a form posted twice, the second after it went): sent, not "past"
    status, problem = await _call(
        http, "PUT", f"{CRM}/v1/campaigns/{scheduled}", _body(net, send_at=send_at.isoformat())
    )
    assert (status, problem["reason"]) == (409, "campaign_sent"), problem
    status, problem = await _call(
        http,
        "PUT",
        f"{CRM}/v1/campaigns/{scheduled}/send-at",
        {"send_at": (clock.now() + timedelta(hours=1)).isoformat()},
    )
    assert (status, problem["reason"]) == (409, "campaign_sent"), problem

    # restarted again later: nothing more goes; the cancelled one never went
    await calendar.move_to(send_at + timedelta(hours=2))
    await asyncio.sleep(PASSES_S)
    assert len(await _messages(http, stays, "newsletter")) == 1
    assert (await _state(http, cancelled))["sending"]["status"] == "cancelled"
    runs = await db.fetchval(
        "SELECT count(*) FROM crm.daily_runs WHERE job = $1", f"campaign:{cancelled}"
    )
    assert runs == 0
    assert (await _state(http, scheduled))["messages"] != {}


async def _sms_consent(http: aiohttp.ClientSession, account: str, merchant: str) -> None:
    """A confirmed SMS consent for ``merchant`` (double opt-in: the code typed back)."""
    consents = f"{CRM}/v1/customers/{account}/consents"
    async with watching("message.requested.v1") as watch:
        status, asked = await _call(
            http, "POST", consents, {"channel": "sms", "merchant_id": merchant}
        )
        assert status == 201, asked
        sms = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == "consent_sms_code"
        )
    code = {"code": sms["variables"]["code"]}
    status, done = await _call(http, "POST", f"{consents}/{asked['id']}/code", code)
    assert (status, done["status"]) == (200, "confirmed"), done


async def test_a_scheduled_sms_due_in_the_quiet_hours_goes_once_from_two_replicas_deferred(
    services: harness.Services,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    calendar: Calendar,
) -> None:
    """An SMS campaign scheduled for 20:00 (Paris) on an ordinary weekday, a week or so after
    today: two crm replicas pass every second over its instant; it is taken once, and its
    message is deferred by notifications to 08:00 the next morning, not dropped."""
    day = clock.today_paris() + timedelta(days=7)
    while not (hours.allowed_day(day) and hours.allowed_day(day + timedelta(days=1))):
        day += timedelta(days=1)
    eight_pm = datetime.combine(day, time(20, 0), clock.PARIS)
    fast = {"COMPTOIR_CAMPAIGN_POLL_S": "1"}
    # a few seconds before 20:00: the set-up below takes some of them, and a campaign
    # scheduled later than 20:00 (send_at below) is in the quiet hours all the same
    await calendar.move_to(eight_pm - timedelta(seconds=8), fast)
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    texted = await _customer(net, http)
    await _sms_consent(http, texted, mid)
    campaign = str(uuid.uuid4())
    send_at = max(eight_pm, clock.now() + timedelta(seconds=5))
    body = _body(net, template="quick_news", send_at=send_at.isoformat())
    body["segment"] = {"merchant_id": mid, "channel": "sms"}
    status, made = await _call(http, "PUT", f"{CRM}/v1/campaigns/{campaign}", body)
    assert status == 200 and made["sending"]["status"] == "scheduled", made
    assert made["consenting"] == 1, made
    second = services.start_replica(
        "crm", harness.BASE_PORT + 6, fast | {clock.ENV: clock.anchored(clock.now())}
    )
    try:
        await services.wait_replica(second, harness.BASE_PORT + 6)

        async def sent() -> bool:
            return bool((await _state(http, campaign))["sending"]["status"] == "sent")

        await eventually(sent, timeout=60, what="the scheduled SMS campaign sent")
        await asyncio.sleep(3)  # both replicas pass again
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.to_thread(second.wait, 30)
    report = await _state(http, campaign)
    assert report["sending"]["asked"] == 1, report
    runs = await db.fetch(
        "SELECT items, finished_at FROM crm.daily_runs WHERE job = $1", f"campaign:{campaign}"
    )
    assert [r["items"] for r in runs] == [1], runs
    assert len(await _messages(http, texted, "quick_news")) == 1

    async def deferred() -> list[Any]:
        async with http.get(
            f"{harness.url('notifications')}/v1/messages",
            params={"campaign_id": campaign},
            headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"},
        ) as r:
            found = await r.json()
        return [m for m in found if m["status"] == "deferred"]

    async def any_deferred() -> bool:
        return bool(await deferred())

    await eventually(any_deferred, what="the SMS deferred by notifications")
    [m] = await deferred()
    morning = datetime.combine(day + timedelta(days=1), time(8, 0), clock.PARIS)
    assert datetime.fromisoformat(m["due_at"]) == morning, m


async def test_a_cancelled_campaign_lets_its_saved_segment_go(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    """A saved segment is kept while a campaign not yet sent goes to it; a cancelled campaign
    never goes, so it holds the segment no more (it keeps the filters it was saved with)."""
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    segment = str(uuid.uuid4())
    path = f"{CRM}/v1/associations/{net.association_id}/segments/{segment}"
    saved = {"name": "Fidèles", "merchant_id": mid, "filters": {"min_visits": 2}}
    assert (await _call(http, "PUT", path, saved))[0] == 200
    campaign = str(uuid.uuid4())
    inline = _body(net, send_at=(clock.now() + timedelta(days=1)).isoformat())
    body = {k: v for k, v in inline.items() if k != "segment"}
    body |= {"segment_id": segment, "channel": "email"}
    status, made = await _call(http, "PUT", f"{CRM}/v1/campaigns/{campaign}", body)
    assert status == 200 and made["sending"]["status"] == "scheduled", made
    status, problem = await _call(http, "DELETE", path)
    assert (status, problem["reason"]) == (409, "segment_in_use"), problem
    assert (await _call(http, "POST", f"{CRM}/v1/campaigns/{campaign}/cancel"))[0] == 200
    status, gone = await _call(http, "DELETE", path)
    assert status == 200, gone
    report = await _state(http, campaign)
    assert report["sending"]["status"] == "cancelled" and report["segment"] == {"min_visits": 2}
