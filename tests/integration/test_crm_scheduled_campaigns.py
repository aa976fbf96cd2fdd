"""A one-off campaign scheduled for a chosen instant (issue 15, "campaigns: … schedule"; issue
13, item 4: a scheduled job runs once whatever the restarts, a missed run caught up): nothing
goes before its instant, crm's campaign job sends it once after it, even when the services were
stopped over it and restarted again after; a cancelled one never goes; consent is the one of
the moment it goes. On a calendar of the test's own (the services' clock moved past the
instant: ``calendar``), whatever today's date is."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.people import call as _call
from tests.people import customer as _customer
from tests.people import email_consent as _consent
from tests.people import messages_of as _messages

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")


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

    # nothing goes before its instant (the campaign job passes every 5 s)
    await asyncio.sleep(6)
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
    status, problem = await _call(
        http,
        "PUT",
        f"{CRM}/v1/campaigns/{scheduled}/send-at",
        {"send_at": (clock.now() + timedelta(hours=1)).isoformat()},
    )
    assert (status, problem["reason"]) == (409, "campaign_sent"), problem

    # restarted again later: nothing more goes; the cancelled one never went
    await calendar.move_to(send_at + timedelta(hours=2))
    await asyncio.sleep(6)
    assert len(await _messages(http, stays, "newsletter")) == 1
    assert (await _state(http, cancelled))["sending"]["status"] == "cancelled"
    runs = await db.fetchval(
        "SELECT count(*) FROM crm.daily_runs WHERE job = $1", f"campaign:{cancelled}"
    )
    assert runs == 0
    assert (await _state(http, scheduled))["messages"] != {}
