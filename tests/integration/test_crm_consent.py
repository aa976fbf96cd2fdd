"""Consent (issue 13, item 2; F21) against the running services: double opt-in by an e-mail
link and by an SMS code, its proof, the one function every marketing message goes through,
RFC 8058 one-click unsubscribe, STOP by SMS, and the statuses notifications reports."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from shared import clock
from shared.contracts import MessageStatusChanged, OptOutReceived
from shared.events import new_event
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.people import call as _call
from tests.people import file_of as _file
from tests.people import new_phone as _phone
from tests.watch import publish, watching

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
NEWS = {"channel": "email", "template": "quick_news", "variables": {"body": "Soldes !"}}


async def _enrolled(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> tuple[Any, str, str]:
    net = await make_network(merchants=1)
    phone = _phone()
    enrolled = await net.terminals[0].enrol(phone, email=f"{uuid.uuid4().hex[:10]}@example.fr")
    assert enrolled.status == 201, enrolled
    account = enrolled.body["account_id"]
    await _file(http, account)
    return net, account, phone


async def test_email_double_opt_in_then_one_click_unsubscribe(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net, account, _ = await _enrolled(make_network, http)
    mid = str(net.merchants[0])
    news = f"{CRM}/v1/customers/{account}/messages"
    # no consent: no marketing message, on any scope
    status, problem = await _call(http, "POST", news, NEWS | {"merchant_id": mid})
    assert (status, problem["reason"]) == (409, "no_consent")

    async with watching("message.requested.v1") as watch:
        status, asked = await _call(
            http,
            "POST",
            f"{CRM}/v1/customers/{account}/consents",
            {"channel": "email", "merchant_id": mid, "how": "till"},
        )
        assert status == 201 and asked["status"] == "pending", asked
        confirm = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == "consent_email_confirm"
        )
    assert confirm["category"] == "transactional" and confirm["consent_id"] is None
    assert confirm["variables"]["scope_label"]
    # still pending: a marketing e-mail may not go yet
    status, _ = await _call(http, "POST", news, NEWS | {"merchant_id": mid})
    assert status == 409
    link = confirm["variables"]["url"]
    status, seen = await _call(http, "GET", link, admin=False)  # a mail scanner's GET
    assert (status, seen["status"]) == (200, "pending")
    status, done = await _call(http, "POST", link, admin=False)
    assert (status, done["status"]) == (200, "confirmed")

    async with watching("message.requested.v1") as watch:
        status, sent = await _call(http, "POST", news, NEWS | {"merchant_id": mid})
        assert status == 202, sent
        m = await watch.wait_for(lambda d: d["message_id"] == sent["message_id"])
    assert (m["category"], m["consent_id"]) == ("marketing", asked["id"])
    # the network's scope is another consent
    status, _ = await _call(http, "POST", news, NEWS)
    assert status == 409

    unsubscribe = m["unsubscribe_url"]
    async with http.get(unsubscribe) as r:
        assert r.status == 200 and (await r.json())["status"] == "confirmed"
    async with http.post(
        unsubscribe,
        data=b"List-Unsubscribe=Other",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        assert r.status == 400 and (await r.json())["reason"] == "not_one_click"
    async with http.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}) as r:
        assert r.status == 200, await r.text()
    status, _ = await _call(http, "POST", news, NEWS | {"merchant_id": mid})
    assert status == 409
    status, found = await _call(http, "GET", f"{CRM}/v1/customers/{account}/consents")
    assert [(p["action"], p["how"]) for p in found["proofs"]] == [
        ("requested", "till"),
        ("confirmed", "email_link"),
        ("withdrawn", "one_click"),
    ]
    assert all("e-mail" in p["wording"] for p in found["proofs"])


async def test_sms_double_opt_in_by_code_then_stop(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    _, account, phone = await _enrolled(make_network, http)
    consents = f"{CRM}/v1/customers/{account}/consents"
    async with watching("message.requested.v1") as watch:
        status, asked = await _call(http, "POST", consents, {"channel": "sms"})
        assert status == 201, asked
        sms = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == "consent_sms_code"
        )
    assert (sms["channel"], sms["to"]) == ("sms", phone)
    code = sms["variables"]["code"]
    url = f"{consents}/{asked['id']}/code"
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    status, problem = await _call(http, "POST", url, {"code": wrong})
    assert (status, problem["reason"]) == (422, "wrong_code")
    status, problem = await _call(http, "POST", url, {"code": int(code)})  # strict: a string
    assert (status, problem["reason"]) == (422, "malformed")
    status, done = await _call(http, "POST", url, {"code": code})
    assert (status, done["status"]) == (200, "confirmed"), done

    news = f"{CRM}/v1/customers/{account}/messages"
    sms_news = {"channel": "sms", "template": "quick_news", "variables": {"body": "-20 %"}}
    async with watching("message.requested.v1") as watch:
        status, sent = await _call(http, "POST", news, sms_news)
        assert status == 202, sent
        m = await watch.wait_for(lambda d: d["message_id"] == sent["message_id"])
    assert (m["to"], m["consent_id"], m["category"]) == (phone, asked["id"], "marketing")
    assert m["unsubscribe_url"]

    # notifications reports what became of it, then the customer answers STOP
    now = clock.now()
    await publish(
        new_event(
            "notifications",
            MessageStatusChanged(
                message_id=uuid.UUID(sent["message_id"]),
                account_id=uuid.UUID(account),
                channel="sms",
                status="sent",
                provider_id="k-1",
                at=now,
            ),
        ),
        new_event(
            "notifications",
            MessageStatusChanged(
                message_id=uuid.UUID(sent["message_id"]),
                account_id=uuid.UUID(account),
                channel="sms",
                status="delivered",
                at=now,
            ),
        ),
        new_event(
            "notifications",
            OptOutReceived(channel="sms", address=phone, received_at=now, keyword="STOP"),
        ),
    )

    async def stopped() -> bool:
        _, found = await _call(http, "GET", f"{consents}")
        return bool(found["consents"][0]["status"] == "withdrawn")

    await eventually(stopped, what="the STOP withdrawing the SMS consent")
    status, _ = await _call(http, "POST", news, sms_news)
    assert status == 409
    _, found = await _call(http, "GET", consents)
    assert found["proofs"][-1]["how"] == "sms_stop" and found["proofs"][-1]["detail"] == "STOP"
    # asked again ("renvoyer la validation"): the same consent, pending again, a new code
    status, again = await _call(http, "POST", consents, {"channel": "sms"})
    assert (status, again["id"], again["status"]) == (201, asked["id"], "pending")
    status, problem = await _call(http, "POST", url, {"code": code})
    assert (status, problem["reason"]) == (422, "wrong_code")  # the old code is spent

    async def delivered() -> bool:
        _, log = await _call(http, "GET", news)
        return any(
            x["message_id"] == sent["message_id"] and x["status"] == "delivered"
            for x in log["messages"]
        )

    await eventually(delivered, what="the message's status in the customer's record")
    _, log = await _call(http, "GET", news)
    assert [x["template"] for x in log["messages"]][:2] == ["details_link", "consent_sms_code"]
