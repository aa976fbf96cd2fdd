"""The GDPR rights (issue 13, item 3) against the running services: access gathered from every
service as JSON and CSV, erasure (then every text column of every table of every schema is
searched for the person's names, phone and e-mail), and the daily retention purge, run once a
day whatever the replicas, a missed day caught up."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.crm.domain.people import pseudonym
from services.crm.service import rights
from shared import clock, db
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.growth import enrol_at_till, programme, rewarded, sponsorship
from tests.people import call as _call
from tests.people import file_of as _file
from tests.people import found_anywhere, outboxes_empty
from tests.people import new_phone as _phone

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
CARDS = harness.url("cards")
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}


def _someone() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "phone": _phone(),
        "email": f"zoe.{tag}@example.fr",
        "first_name": f"Zoé{tag}",
        "last_name": f"Quérel{tag}",
        "married": f"Lambert{tag}",
    }


async def _customer(
    make_network: NetworkFactory, http: aiohttp.ClientSession, who: dict[str, str]
) -> tuple[Any, str]:
    """Enrolled at the till, a sale, an SMS consent asked, a name changed by marriage."""
    net = await make_network(merchants=1)
    till = net.terminals[0]
    enrolled = await till.enrol(
        who["phone"], email=who["email"], first_name=who["first_name"], last_name=who["last_name"]
    )
    assert enrolled.status == 201, enrolled
    account = enrolled.body["account_id"]
    assert (await till.sale(who["phone"], 4200)).status == 201
    await _file(http, account)
    status, _ = await _call(
        http, "POST", f"{CRM}/v1/customers/{account}/consents", {"channel": "sms"}
    )
    assert status == 201
    status, _ = await _call(
        http, "PATCH", f"{CRM}/v1/customers/{account}", {"title": "MME", "postal_code": "03000"}
    )
    assert status == 200
    return net, account


async def test_access_gathers_what_every_service_holds_as_json_and_csv(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    who = _someone()
    _, account = await _customer(make_network, http, who)
    url = f"{CRM}/v1/customers/{account}/personal-data"

    async def complete() -> bool:
        status, got = await _call(http, "GET", url)
        return (
            status == 200
            and bool(got["clearing"] and got["clearing"]["lines"])
            and bool(got["notifications"]["messages"])
        )

    await eventually(complete, what="clearing's lines and the messages in the access answer")
    _, got = await _call(http, "GET", url)
    assert set(got) == {"account_id", "crm", "terminals", "cards", "clearing", "notifications"}
    assert [e["outcome"]["phone"] for e in got["terminals"]["enrolments"]] == [who["phone"]]
    assert got["crm"]["file"]["last_name"] == who["last_name"]
    assert got["crm"]["file"]["postal_code"] == "03000"
    assert [c["channel"] for c in got["crm"]["consents"]] == ["sms"]
    assert "code_sha256" not in got["crm"]["consents"][0]
    assert got["cards"]["phone"] == who["phone"]
    assert got["clearing"]["holder"]["last_name"] == who["last_name"]
    assert [line["purchase_cents"] for line in got["clearing"]["lines"]] == [4200]
    # What notifications sent the person: the SMS consent's code, to their own number.
    messages = got["notifications"]["messages"]
    assert "consent_sms_code" in {m["template"] for m in messages}
    assert {m["recipient"] for m in messages} <= {who["phone"], who["email"]}

    async with http.get(url + ".csv", headers=ADMIN) as r:
        assert r.status == 200 and r.content_type == "text/csv"
        text = await r.text()
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert {r["service"] for r in rows} >= {"crm", "terminals", "cards", "clearing"}
    assert {"crm", "file", "0", "last_name", who["last_name"]} <= set(
        next(r for r in rows if r["field"] == "last_name" and r["service"] == "crm").values()
    )


async def test_access_includes_the_sponsorship_and_erasure_leaves_none_of_the_person_in_it(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    """F22 in the GDPR rights: the person's referral code, their sponsor, their newcomers and
    their rewards in the access answer (JSON and CSV); once the sponsor is erased, their code
    is gone and the links and rewards that stay hold nothing of them."""
    net = await make_network(merchants=1)
    await programme(
        http,
        f"/v1/associations/{net.association_id}",
        reward_at="enrolment",
        sponsor_amount_cents=200,
        newcomer_amount_cents=150,
    )
    who = _someone()
    till = net.terminals[0]
    enrolled = await till.enrol(
        who["phone"], email=who["email"], first_name=who["first_name"], last_name=who["last_name"]
    )
    assert enrolled.status == 201, enrolled
    sponsor = enrolled.body["account_id"]
    code = (await sponsorship(http, sponsor))["referral_code"]
    newcomer, _ = await enrol_at_till(net, code)
    await rewarded(http, sponsor)
    await rewarded(http, newcomer)

    _, mine = await _call(http, "GET", f"{CRM}/v1/customers/{sponsor}/personal-data")
    held = mine["crm"]["sponsorship"]
    assert (held["referral_code"], held["sponsor"]) == (code, None)
    assert [n["newcomer_id"] for n in held["newcomers"]] == [newcomer]
    assert [(r["role"], r["amount_cents"]) for r in held["rewards"]] == [("sponsor", 200)]
    _, theirs = await _call(http, "GET", f"{CRM}/v1/customers/{newcomer}/personal-data")
    held = theirs["crm"]["sponsorship"]
    assert (held["sponsor"]["sponsor_id"], held["sponsor"]["how"]) == (sponsor, "till")
    assert [(r["role"], r["amount_cents"]) for r in held["rewards"]] == [("newcomer", 150)]
    async with http.get(f"{CRM}/v1/customers/{sponsor}/personal-data.csv", headers=ADMIN) as r:
        assert r.status == 200
        rows = list(csv.DictReader(io.StringIO((await r.text()).removeprefix("\ufeff"))))
    mine_csv = {r["field"]: r["value"] for r in rows if r["section"] == "sponsorship"}
    assert mine_csv["referral_code"] == code
    assert mine_csv["newcomers.0.newcomer_id"] == newcomer
    assert (mine_csv["rewards.0.role"], mine_csv["rewards.0.amount_cents"]) == ("sponsor", "200")

    status, _ = await _call(http, "POST", f"{CRM}/v1/customers/{sponsor}/erasure")
    assert status == 200
    needles = [who[k] for k in ("phone", "email", "first_name", "last_name")]
    needles += [code, code.replace("-", "")]

    async def gone() -> bool:
        return await outboxes_empty(db) and not await found_anywhere(db, needles)

    try:
        await eventually(gone, what="the sponsor erased everywhere")
    finally:
        print("still found:", await found_anywhere(db, needles))
    # the links and rewards stay (amounts and accounts, for the books and the figures)
    _, after = await _call(http, "GET", f"{CRM}/v1/customers/{sponsor}/personal-data")
    held = after["crm"]["sponsorship"]
    assert held["referral_code"] is None
    assert [n["newcomer_id"] for n in held["newcomers"]] == [newcomer]
    assert [r["amount_cents"] for r in held["rewards"]] == [200]
    # reading the erased sponsor's sponsorship draws them no new code
    _, view = await _call(http, "GET", f"{CRM}/v1/customers/{sponsor}/sponsorship")
    assert view["referral_code"] is None
    assert not await db.fetchval(
        "SELECT count(*) FROM crm.referral_codes WHERE account_id = $1", uuid.UUID(sponsor)
    )


async def test_erasure_leaves_the_person_nowhere_but_pseudonymised(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    who = _someone()
    _, account = await _customer(make_network, http, who)
    status, _ = await _call(
        http, "PATCH", f"{CRM}/v1/customers/{account}", {"last_name": who["married"]}
    )
    assert status == 200

    # What notifications sent the person (the link to complete their details, at least).
    async def messaged() -> bool:
        found = await db.fetchval(
            "SELECT count(*) FROM notifications.messages WHERE account_id = $1",
            uuid.UUID(account),
        )
        return bool(found)

    await eventually(messaged, what="a message to the person in notifications' store")
    sent = await db.fetchval(
        "SELECT count(*) FROM notifications.messages WHERE account_id = $1", uuid.UUID(account)
    )
    needles = [who[k] for k in ("phone", "email", "first_name", "last_name", "married")]
    needles.append(who["phone"].replace("+33", "0"))

    async def everywhere() -> bool:
        return len(await found_anywhere(db, needles)) >= 5

    await eventually(everywhere, what="the person's data in cards, clearing and crm")
    _, before = await _call(http, "GET", f"{CARDS}/v1/accounts/{account}")

    status, erased = await _call(http, "POST", f"{CRM}/v1/customers/{account}/erasure")
    assert (status, erased["pseudonym"]) == (200, pseudonym(uuid.UUID(account))), erased
    status, again = await _call(http, "POST", f"{CRM}/v1/customers/{account}/erasure")
    assert (status, again["erased_at"]) == (200, erased["erased_at"])

    async def gone() -> bool:
        _, a = await _call(http, "GET", f"{CARDS}/v1/accounts/{account}")
        return (
            a["last_name"] == erased["pseudonym"]
            and await outboxes_empty(db)
            and not (await found_anywhere(db, needles))
        )

    try:
        await eventually(gone, what="the erasure in every service")
    finally:
        print("still found:", await found_anywhere(db, needles))
    # the amounts stay, under the pseudonym
    _, after = await _call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert after["balance_cents"] == before["balance_cents"] > 0
    assert (
        await db.fetchval(
            "SELECT last_name FROM clearing.holders WHERE account_id = $1", uuid.UUID(account)
        )
        == erased["pseudonym"]
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM notifications.messages WHERE recipient = $1", erased["pseudonym"]
        )
        == sent
    )
    file = await _file(http, account)
    assert (file["last_name"], file["phone"], file["to_fill"]) == (None, None, [])
    _, consents = await _call(http, "GET", f"{CRM}/v1/customers/{account}/consents")
    assert [c["status"] for c in consents["consents"]] == ["withdrawn"]
    assert consents["proofs"][-1]["how"] == "erasure"
    status, problem = await _call(
        http, "PATCH", f"{CRM}/v1/customers/{account}", {"last_name": "X"}
    )
    assert (status, problem["reason"]) == (409, "erased_customer")


async def test_retention_erases_the_inactive_once_a_day_and_catches_up_a_missed_day(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    old, recent = _phone(), _phone()
    accounts = []
    for phone in (old, recent):
        enrolled = await net.terminals[0].enrol(phone)
        accounts.append(uuid.UUID(enrolled.body["account_id"]))
        await _file(http, str(accounts[-1]))
    # the old customer was last seen in 2011 (written by hand in crm: a shortcut to the state)
    await db.execute(
        "UPDATE crm.customers SET enrolled_at = '2011-01-01', details_updated_at = NULL "
        "WHERE account_id = $1",
        accounts[0],
    )
    job = f"retention-test-{uuid.uuid4().hex[:8]}"
    today = clock.today_paris()
    # 13 years: no other test's customer is that old (the books start in 2020)
    term = 365 * 13
    pool = await db_pool()
    try:
        # two replicas on the same day: one purges, the other finds the day taken
        first, second = await asyncio.gather(
            rights.retention_day(pool, today - timedelta(days=3), term, job),
            rights.retention_day(pool, today - timedelta(days=3), term, job),
        )
        assert sorted([first, second], key=lambda x: x is None)[1] is None
        assert (first or second or 0) >= 1
        # a stop of two days: the next start runs the three days missed, each once
        done = await rights.retention_due(pool, today, term, job)
        assert list(done) == [today - timedelta(days=d) for d in (2, 1, 0)]
        assert await rights.retention_due(pool, today, term, job) == {}
    finally:
        await pool.close()
    days = await db.fetch("SELECT day FROM crm.daily_runs WHERE job = $1 ORDER BY day", job)
    assert [r["day"] for r in days] == [today - timedelta(days=d) for d in (3, 2, 1, 0)]
    file = await _file(http, str(accounts[0]))
    assert file["erased_at"] is not None and file["phone"] is None
    assert (await _file(http, str(accounts[1])))["phone"] == recent

    async def cards_erased() -> bool:
        _, a = await _call(http, "GET", f"{CARDS}/v1/accounts/{accounts[0]}")
        return bool(a["phone"] is None and a["last_name"] == file["pseudonym"])

    await eventually(cards_erased, what="the retention's erasure in cards")


async def db_pool() -> asyncpg.Pool:
    return await db.create_pool(harness.DATABASE_URL, "crm", 1, 3)
