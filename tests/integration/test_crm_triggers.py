"""The triggers (issue 13, item 4; F23, F24) against the running services: the digital
receipt after a sale, a birthday with a gift voucher issued by cards, a customer not seen for
three months; each daily day run once whatever a second replica, the same message ids when
asked again; the frequency cap; no marketing message without the consent it needs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import aiohttp
import asyncpg
import pytest

from services.crm.domain import triggers as rules
from shared import clock
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.people import call as _call
from tests.people import customer as _customer
from tests.people import email_consent as _consent
from tests.people import file_of as _file
from tests.people import messages_of as _messages
from tests.people import trigger as _trigger
from tests.watch import watching

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")


async def test_a_receipt_after_each_sale_unless_the_customer_wants_none(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    account = await _customer(net, http, first_name="Gisèle")
    no_email = await _customer(net, http, email=False)
    await _trigger(http, net, merchant_id=mid, kind="receipt", params={"shop_name": "Chez Lili"})
    phone = (await _file(http, account))["phone"]
    async with watching("message.requested.v1") as watch:
        sold = await net.terminals[0].sale(phone, 10_000)
        assert sold.status == 201, sold
        receipt = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == "receipt"
        )
    assert (receipt["category"], receipt["channel"]) == ("transactional", "email")
    v = receipt["variables"]
    assert v["shop_name"] == "Chez Lili" and v["first_name"] == "Gisèle"
    assert (v["amount_cents"], v["reward_cents"]) == (10_000, sold.body["reward_cents"])
    assert (v["balance_cents"], v["pending_cents"]) == (
        sold.body["balance_cents"],
        sold.body["pending_cents"],
    )
    # no e-mail address: no receipt; a customer who wants none: none
    status, _ = await _call(
        http, "PUT", f"{CRM}/v1/customers/{account}/receipts", {"wanted": False}
    )
    assert status == 200
    other = (await _file(http, no_email))["phone"]
    for p in (phone, other):
        assert (await net.terminals[0].sale(p, 5_000)).status == 201

    async def counted() -> bool:
        files = [await _file(http, a) for a in (account, no_email)]
        return [f["visit_count"] for f in files] == [2, 1]

    await eventually(counted, what="the visits counted")
    assert len(await _messages(http, account, "receipt")) == 1
    assert await _messages(http, no_email, "receipt") == []


async def test_birthday_offer_once_a_day_with_a_voucher_and_only_with_consent(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    # a day of our own, long enough ago that the services' clock never runs it
    day = clock.today_paris() - timedelta(days=45)
    born = date(1980, day.month, min(day.day, 28))
    day = day.replace(day=born.day)
    consenting = await _customer(net, http, first_name="Ana", spouse_birthday=born.isoformat())
    silent = await _customer(
        net, http, birth_date=born.isoformat()
    )  # no consent: no birthday message
    await _consent(http, consenting, None)
    trigger = await _trigger(
        http,
        net,
        kind="birthday",
        params={
            "shop_name": "Les Halles",
            "voucher_cents": 1_000,
            "voucher_days": 90,
            "offer_text": "Votre bon :",
        },
    )
    run = f"{CRM}/v1/triggers/{trigger}/days/{day.isoformat()}"
    async with watching("message.requested.v1") as watch:
        # two replicas on the same day: one sends, the other finds the day done
        (s1, a), (s2, b) = await asyncio.gather(_call(http, "POST", run), _call(http, "POST", run))
        assert (s1, s2) == (200, 200), (a, b)
        assert sorted([a["sent"], b["sent"]], key=lambda x: x is None) == [1, None]
        m = await watch.wait_for(lambda d: d["template"] == "birthday_offer")
    assert m["account_id"] == consenting and m["category"] == "marketing"
    assert m["message_id"] == str(rules.message_id(uuid.UUID(trigger), uuid.UUID(consenting), day))
    assert m["consent_id"] and m["unsubscribe_url"]
    v = m["variables"]
    assert (v["who"], v["offer_cents"], v["first_name"]) == (["spouse"], 1_000, "Ana")
    assert v["voucher_code"] and v["offer"] == f"Votre bon : {v['voucher_code']}"
    # the voucher is cards': the customer validates it at a merchant, it loads their cagnotte
    validated = await net.admin.call(
        "POST",
        f"{harness.url('cards')}/v1/vouchers/{v['voucher_code']}/validation",
        {"merchant_id": str(net.merchants[0]), "account_id": consenting},
    )
    assert validated.status in (200, 201), validated
    assert await _messages(http, silent, "birthday_offer") == []
    # run again: nothing more; another day: no birthday
    assert (await _call(http, "POST", run))[1]["sent"] is None
    other = f"{CRM}/v1/triggers/{trigger}/days/{(day + timedelta(days=1)).isoformat()}"
    assert (await _call(http, "POST", other))[1]["sent"] == 0
    assert len(await _messages(http, consenting, "birthday_offer")) == 1


async def test_not_seen_for_three_months_with_consent_and_under_the_cap(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    day = clock.today_paris() - timedelta(days=50)
    told, capped, silent, recent = [await _customer(net, http) for _ in range(4)]
    for a in (told, capped, recent):
        await _consent(http, a, mid)
    away = rules.start_of(rules.months_before(day, 3)) + timedelta(hours=11)
    for a, last in (
        (told, away),
        (capped, away),
        (silent, away),
        (recent, away + timedelta(days=20)),
    ):
        await db.execute(
            "UPDATE crm.merchant_customers SET last_visit_at = $2 WHERE account_id = $1",
            uuid.UUID(a),
            last,
        )
    # the cap: one marketing message per person in 30 days; ``capped`` had one already
    status, _ = await _call(
        http,
        "PUT",
        f"{CRM}/v1/associations/{net.association_id}/marketing-cap",
        {"max_messages": 1, "per_days": 30},
    )
    assert status == 200
    news = {"channel": "email", "merchant_id": mid, "template": "quick_news", "variables": {}}
    status, _ = await _call(http, "POST", f"{CRM}/v1/customers/{capped}/messages", news)
    assert status == 202
    status, problem = await _call(http, "POST", f"{CRM}/v1/customers/{capped}/messages", news)
    assert (status, problem["reason"]) == (409, "frequency_capped")

    trigger = await _trigger(
        http, net, merchant_id=mid, kind="we_miss_you", params={"months": 3, "shop_name": "Lili"}
    )
    status, ran = await _call(http, "POST", f"{CRM}/v1/triggers/{trigger}/days/{day}")
    assert (status, ran["sent"]) == (200, 1), ran
    assert len(await _messages(http, told, "we_miss_you")) == 1
    for a in (capped, silent, recent):
        assert await _messages(http, a, "we_miss_you") == []
    # asked again (the day's row lost, as after a crash before it was written): the same id
    await db.execute("DELETE FROM crm.daily_runs WHERE job = $1", rules.job(uuid.UUID(trigger)))
    status, again = await _call(http, "POST", f"{CRM}/v1/triggers/{trigger}/days/{day}")
    assert (status, again["sent"]) == (200, 1)
    assert len(await _messages(http, told, "we_miss_you")) == 1


async def test_a_trigger_id_keeps_its_scope_and_kind(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    trigger = await _trigger(http, net, kind="we_miss_you", params={"months": 2})
    body = {"association_id": str(net.association_id), "channel": "email", "kind": "birthday"}
    status, problem = await _call(http, "PUT", f"{CRM}/v1/triggers/{trigger}", body)
    assert (status, problem["reason"]) == (409, "trigger_mismatch")
    status, problem = await _call(
        http,
        "PUT",
        f"{CRM}/v1/triggers/{uuid.uuid4()}",
        body | {"kind": "receipt", "channel": "sms"},
    )
    assert (status, problem["reason"]) == (422, "malformed")
    _, listed = await _call(http, "GET", f"{CRM}/v1/associations/{net.association_id}/triggers")
    assert [t["id"] for t in listed["triggers"]] == [trigger]


async def test_the_visit_threshold_reached_told_only_with_consent(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    cards = harness.url("cards")
    aid = net.association_id
    assoc = await net.admin.call("GET", f"{cards}/v1/associations/{aid}")
    program = await net.admin.call(
        "PUT",
        f"{cards}/v1/associations/{aid}/programs/{assoc.body['default_program_id']}",
        {"name": "Cagnotte", "kind": "cagnotte", "visit_threshold": 2},
    )
    assert program.status in (200, 201), program
    told, silent = await _customer(net, http), await _customer(net, http)
    await _consent(http, told, mid)
    await _trigger(http, net, merchant_id=mid, kind="threshold_reached", params={"body": "Bravo"})
    # pending at the first two purchases, available at the third (F8)
    for a in (told, silent):
        phone = (await _file(http, a))["phone"]
        for _ in range(3):
            sold = await net.terminals[0].sale(phone, 2_000)
            assert sold.status == 201, sold
        assert sold.body["balance_cents"] > 0, sold.body  # the first two rewards moved

    async def told_once() -> bool:
        return len(await _messages(http, told, "threshold_reached")) == 1

    await eventually(told_once, what="the threshold message")
    _, found = await _call(http, "GET", f"{CRM}/v1/customers/{told}/messages")
    m = next(m for m in found["messages"] if m["template"] == "threshold_reached")
    assert m["category"] == "marketing" and m["consent_id"]
    assert await _messages(http, silent, "threshold_reached") == []


async def test_visits_spacing_out_told_only_with_consent(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    day = clock.today_paris() - timedelta(days=60)
    noon = rules.start_of(day) + timedelta(hours=12)
    told, silent, steady = [await _customer(net, http) for _ in range(3)]
    for a in (told, steady):
        await _consent(http, a, mid)
    # every ten days three times, then twenty days without a visit on ``day``
    for a, last in ((told, 20), (silent, 20), (steady, 10)):
        await db.execute(
            """UPDATE crm.merchant_customers SET visit_count = 3, first_visit_at = $2,
                      last_visit_at = $3 WHERE account_id = $1""",
            uuid.UUID(a),
            noon - timedelta(days=last + 20),
            noon - timedelta(days=last),
        )
    trigger = await _trigger(
        http, net, merchant_id=mid, kind="spacing_out", params={"factor": 2, "body": "Revenez"}
    )
    status, ran = await _call(http, "POST", f"{CRM}/v1/triggers/{trigger}/days/{day}")
    assert (status, ran["sent"]) == (200, 1), ran
    assert len(await _messages(http, told, "we_miss_you")) == 1
    assert await _messages(http, silent, "we_miss_you") == []
    assert await _messages(http, steady, "we_miss_you") == []


@pytest.mark.from_today
async def test_the_running_service_runs_each_day_once_and_catches_up_missed_days(
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    calendar: Calendar,
) -> None:
    await calendar.today()
    net = await make_network(merchants=1)
    # a day ahead of today: no other test's customer has a birthday on it at this hour
    day = clock.today_paris() + timedelta(days=3)
    born = date(1990, day.month, min(day.day, 28))
    day = day.replace(day=born.day)
    account = await _customer(net, http, birth_date=born.isoformat())
    await _consent(http, account, None)
    trigger = await _trigger(http, net, kind="birthday", params={"shop_name": "La rue"})
    job = rules.job(uuid.UUID(trigger))
    jobs_on = {"COMPTOIR_DAILY_CHECK_S": "1"}
    async with watching("message.requested.v1") as watch:
        await calendar.move_to(rules.start_of(day) + timedelta(hours=10), jobs_on)
        m = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == "birthday_offer",
            what="the birthday sent by crm's own job",
        )
    assert m["message_id"] == str(rules.message_id(uuid.UUID(trigger), uuid.UUID(account), day))
    # stopped two days: the next start runs the two days missed, and the birthday is not sent
    # again (the services restarted on the same day run nothing more)
    await calendar.move_to(rules.start_of(day) + timedelta(days=2, hours=9), jobs_on)

    async def caught_up() -> bool:
        found = await db.fetch(
            "SELECT day FROM crm.daily_runs WHERE job = $1 AND finished_at IS NOT NULL", job
        )
        return sorted(r["day"] for r in found) == [day + timedelta(days=d) for d in range(3)]

    await eventually(caught_up, what="the missed days run")
    await calendar.move_to(rules.start_of(day) + timedelta(days=2, hours=10), jobs_on)
    await asyncio.sleep(1.5)
    assert len(await _messages(http, account, "birthday_offer")) == 1
