"""Sponsorship (issue 14, item 1; F22) through the five real services: a customer's referral
code, a friend enrolled at the till with it, both rewarded at the friend's first purchase
(credited by cards, booked by clearing, on the merchant's statement); the rewards once
whatever the redelivery; self-sponsorship, loops, unknown and mistyped codes refused with
their reasons; the sponsor's cap per month; the best sponsors and their newcomers' revenue."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from shared import clock
from shared.clock import PARIS
from shared.contracts import SponsorshipRewardGranted
from shared.contracts.sponsorship import reward_id
from shared.events import new_event
from shared.rules.codes import format_referral_code, referral_code
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.growth import enrol_at_till, entries_of, programme, rewarded, sponsorship
from tests.people import call, file_of, new_phone
from tests.statements import workbook
from tests.watch import publish, watching

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
CARDS = harness.url("cards")
CLEARING = harness.url("clearing")
SELLING = datetime(2026, 10, 20, 12, 0, tzinfo=PARIS)


async def test_a_friend_sponsored_with_a_code_both_rewarded_at_the_first_purchase_on_the_statement(
    make_network: NetworkFactory, http: aiohttp.ClientSession, calendar: Calendar
) -> None:
    await calendar.move_to(SELLING)
    net = await make_network(merchants=1, taux_client_bps=300, taux_uc_bps=50)
    aid, mid = net.association_id, net.merchants[0]
    # The merchant's own programme: the sponsor 5.00 €, the newcomer 10 % of the first purchase.
    await programme(
        http,
        f"/v1/associations/{aid}/merchants/{mid}",
        reward_at="purchase",
        purchase_number=1,
        sponsor_amount_cents=500,
        newcomer_rate_bps=1000,
    )
    alice, alice_phone = await enrol_at_till(net)
    code = (await sponsorship(http, alice))["referral_code"]
    assert len(code) == 9 and code[4] == "-", code
    assert (await sponsorship(http, alice))["referral_code"] == code  # drawn once

    # The friend gives the code at the till, as typed (lower case, no dash).
    bob, bob_phone = await enrol_at_till(net, code.replace("-", "").lower())

    async def linked() -> bool:
        s = await sponsorship(http, bob)
        return s["sponsor"] is not None and s["sponsor"]["sponsor_id"] == alice

    await eventually(linked, what="bob linked to alice")
    assert await entries_of(http, bob, "sponsorship") == []  # nothing before the purchase

    sold = await net.terminals[0].sale(bob_phone, 4_000)
    assert sold.status == 201, sold
    (alice_reward,) = await rewarded(http, alice)
    (bob_reward,) = await rewarded(http, bob)
    assert (alice_reward["amount_cents"], bob_reward["amount_cents"]) == (500, 400)
    assert alice_reward["reference_id"] == str(
        reward_id(uuid.UUID(bob), "sponsor", uuid.UUID(sold.body["sale_id"]))
    )
    assert bob_reward["merchant_id"] == str(mid)
    rewards = (await sponsorship(http, alice))["rewards"]
    assert [(r["role"], r["status"], r["trigger"]) for r in rewards] == [
        ("sponsor", "granted", "purchase")
    ]
    assert rewards[0]["sale_id"] == sold.body["sale_id"]
    assert (await sponsorship(http, alice))["newcomers"][0]["newcomer_id"] == bob

    # A second purchase rewards nobody again.
    assert (await net.terminals[0].sale(bob_phone, 2_000)).status == 201

    async def two_visits() -> bool:
        return bool((await file_of(http, bob))["visit_count"] == 2)

    await eventually(two_visits, what="bob's second visit")

    # Redelivered (a second replica deciding again): the same reward is credited once. A
    # marker reward after it shows the queue went past the duplicate.
    d = SponsorshipRewardGranted(
        reward_id=uuid.UUID(alice_reward["reference_id"]),
        newcomer_id=uuid.UUID(bob),
        sponsor_id=uuid.UUID(alice),
        role="sponsor",
        account_id=uuid.UUID(alice),
        association_id=aid,
        merchant_id=mid,
        amount_cents=500,
        trigger="purchase",
        occurred_at=SELLING,
    )
    marker = d.model_copy(update={"reward_id": uuid.uuid4(), "amount_cents": 1})
    await publish(new_event("crm", d), new_event("crm", marker))
    entries = await rewarded(http, alice, 2)
    assert sorted(e["amount_cents"] for e in entries) == [1, 500]

    # The statement: both rewards on the merchant's lines ("Parrainage"), in its net.
    async def booked() -> bool:
        url = f"{CLEARING}/v1/merchants/{mid}/statements/2026-10"
        status, s = await call(http, "GET", url)
        return status == 200 and s["figures"]["net_cents"] == 120 + 20 + 60 + 10 + 500 + 400 + 1

    await eventually(booked, what="the statement's net")
    async with http.get(
        f"{CLEARING}/v1/merchants/{mid}/statements/2026-10.xlsx",
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"},
    ) as r:
        assert r.status == 200
        w = workbook(await r.read())
    lines = [line for line in w.lines if line["TYPE"] == "Parrainage"]
    assert sorted(float(line["CAGNOTTE"]) for line in lines) == [0.01, 4.0, 5.0]
    assert sorted(float(line["NET"]) for line in lines) == [0.01, 4.0, 5.0]
    assert float(w.totals["Parrainages"]["CAGNOTTE"]) == 9.01
    assert sorted(line["REMARQUE"] for line in lines) == [
        "récompense du filleul",
        "récompense du parrain",
        "récompense du parrain",
    ]
    assert alice_phone  # the sponsor was enrolled at the till too


async def test_refusals_with_their_reasons(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    alice, _ = await enrol_at_till(net)
    a_code = (await sponsorship(http, alice))["referral_code"]
    bob, _ = await enrol_at_till(net, a_code)

    async def linked() -> bool:
        return (await sponsorship(http, bob))["sponsor"] is not None

    await eventually(linked, what="bob linked")
    b_code = (await sponsorship(http, bob))["referral_code"]

    async def sponsor(account: str, code: str) -> tuple[int, Any]:
        return await call(
            http, "POST", f"{CRM}/v1/customers/{account}/sponsor", {"referral_code": code}
        )

    status, body = await sponsor(alice, a_code)
    assert (status, body["reason"]) == (422, "self_sponsorship")
    status, body = await sponsor(alice, b_code)  # bob is alice's newcomer: a loop
    assert (status, body["reason"]) == (422, "sponsorship_loop")
    carol, carol_phone = await enrol_at_till(net)
    status, body = await sponsor(bob, (await sponsorship(http, carol))["referral_code"])
    assert (status, body["reason"]) == (409, "already_sponsored")
    status, body = await sponsor(carol, "ZZZZ-ZZZZ")
    assert (status, body["reason"]) == (422, "invalid_referral_code")  # check character
    unknown = next(c for c in _codes() if c not in (a_code, b_code))
    status, body = await sponsor(carol, unknown)
    assert (status, body["reason"]) == (422, "unknown_referral_code")
    # a code of another association is unknown here
    other = await make_network(merchants=1)
    stranger, _ = await enrol_at_till(other)
    status, body = await sponsor(carol, (await sponsorship(http, stranger))["referral_code"])
    assert (status, body["reason"]) == (422, "unknown_referral_code")
    # a customer with purchases is no newcomer
    assert (await net.terminals[0].sale(carol_phone, 1_000)).status == 201

    async def visited() -> bool:
        return bool((await file_of(http, carol))["visit_count"] == 1)

    await eventually(visited, what="carol's visit")
    status, body = await sponsor(carol, a_code)
    assert (status, body["reason"]) == (409, "not_a_newcomer")
    # At the till: a mistyped code is refused before anything is opened, and so is one that
    # nobody holds (the gateway asks crm first): the till hears it, and the same mobile then
    # enrols without it.
    r = await net.terminals[0].enrol(new_phone(), referral_code="ZZZZ-ZZZZ")
    assert (r.status, r.body["reason"]) == (422, "invalid_referral_code"), r
    dave_phone = new_phone()
    r = await net.terminals[0].enrol(dave_phone, referral_code=unknown)
    assert (r.status, r.body["reason"], r.body["code"]) == (422, *["unknown_referral_code"] * 2), r
    r = await net.terminals[0].enrol(dave_phone)
    assert r.status == 201, r
    dave = r.body["account_id"]
    assert (await sponsorship(http, dave))["sponsor"] is None
    # the till's linked newcomer, and no other, in alice's newcomers
    assert [n["newcomer_id"] for n in (await sponsorship(http, alice))["newcomers"]] == [bob]


def _codes() -> list[str]:
    """Well-formed codes (their check character right) that nobody is likely to hold."""

    def pick(i: int) -> Callable[[int], int]:
        return lambda n: (i * 7 + 3) % n

    return [format_referral_code(referral_code(pick(i))) for i in range(5)]


async def test_the_sponsors_cap_per_month_and_the_best_sponsors(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    aid = net.association_id
    # The association's programme: at the newcomer's second purchase, anywhere; the sponsor
    # 3.00 €, at most one a month; the newcomer 1.00 € + 5 % of that purchase.
    await programme(
        http,
        f"/v1/associations/{aid}",
        reward_at="purchase",
        purchase_number=2,
        sponsor_amount_cents=300,
        newcomer_amount_cents=100,
        newcomer_rate_bps=500,
        cap_per_sponsor=1,
        cap_period="month",
    )
    status, listed = await call(http, "GET", f"{CRM}/v1/associations/{aid}/sponsorship-programmes")
    assert status == 200 and len(listed["programmes"]) == 1
    alice, _ = await enrol_at_till(net)
    code = (await sponsorship(http, alice))["referral_code"]
    zoe, _ = await enrol_at_till(net)
    z_code = (await sponsorship(http, zoe))["referral_code"]
    newcomers = [await enrol_at_till(net, code) for _ in range(3)] + [
        await enrol_at_till(net, z_code)
    ]
    for account, _ in newcomers:

        async def linked(account: str = account) -> bool:
            return (await sponsorship(http, account))["sponsor"] is not None

        await eventually(linked, what="linked")
    # months well in the past, within the services' window of dates
    first = (clock.today_paris().replace(day=1) - timedelta(days=100)).replace(day=1)
    second = (first + timedelta(days=40)).replace(day=1)

    def at(month: date, day: int) -> str:
        return datetime(month.year, month.month, day, 11, tzinfo=PARIS).isoformat()

    (b, b_phone), (c, c_phone), (e, e_phone), (_, y_phone) = newcomers
    till0, till1 = net.terminals
    # b and c reach their 2nd purchase in the first month, e in the second; y is zoe's.
    for till, phone, month, day, cents in (
        (till0, b_phone, first, 3, 2_000),
        (till1, b_phone, first, 4, 6_000),
        (till0, c_phone, first, 5, 1_000),
        (till1, c_phone, first, 9, 3_000),
        (till0, e_phone, first, 20, 1_000),
        (till0, e_phone, second, 2, 4_000),
        (till0, y_phone, second, 3, 500),
    ):
        r = await till.sale(phone, cents, occurred_at=at(month, day))
        assert r.status == 201, r
    # the newcomers' rewards: 1.00 € + 5 % of the second purchase
    assert [x["amount_cents"] for x in await rewarded(http, b)] == [400]
    assert [x["amount_cents"] for x in await rewarded(http, c)] == [250]
    assert [x["amount_cents"] for x in await rewarded(http, e)] == [300]
    # alice: b's in the first month, c's capped there, e's in the second month
    assert [x["amount_cents"] for x in await rewarded(http, alice, 2)] == [300, 300]

    async def decided() -> bool:
        return len((await sponsorship(http, alice))["rewards"]) == 3

    await eventually(decided, what="alice's three rewards decided")
    rewards = (await sponsorship(http, alice))["rewards"]
    assert sorted((r["status"], r["amount_cents"]) for r in rewards) == [
        ("capped", 0),
        ("granted", 300),
        ("granted", 300),
    ]
    assert all(r["funded_by"] is None for r in rewards)  # the association's programme

    # Funded by the association: its sponsorships account owes the rewards.
    async def funded() -> bool:
        _, s = await call(http, "GET", f"{CLEARING}/v1/associations/{aid}/balances")
        kinds = {a["kind"]: a["balance_cents"] for a in s["accounts"]}
        return kinds.get("sponsorships") == 300 + 300 + 400 + 250 + 300

    await eventually(funded, what="the association's sponsorships account")

    # The best sponsors of the first month: alice (2 newcomers buying 120.00 €) before zoe.
    q = f"from={first.isoformat()}&to={(second - timedelta(days=1)).isoformat()}"
    status, best = await call(http, "GET", f"{CRM}/v1/associations/{aid}/sponsors?{q}")
    assert status == 200, best
    rows = {s["account_id"]: s for s in best["sponsors"]}
    assert [s["account_id"] for s in best["sponsors"]] == [alice, zoe]
    assert rows[alice]["newcomers"] == 3
    assert (rows[alice]["purchases"], rows[alice]["revenue_cents"]) == (5, 13_000)
    assert rows[alice]["rewards_cents"] == 300
    assert (rows[zoe]["purchases"], rows[zoe]["revenue_cents"]) == (0, 0)
    # over both months, at merchant 0 only
    q = f"from={first.isoformat()}&to={(second + timedelta(days=27)).isoformat()}"
    status, best = await call(
        http, "GET", f"{CRM}/v1/associations/{aid}/sponsors?{q}&merchant_id={net.merchants[0]}"
    )
    rows = {s["account_id"]: s for s in best["sponsors"]}
    assert (rows[alice]["revenue_cents"], rows[zoe]["revenue_cents"]) == (8_000, 500)
    assert rows[alice]["rewards_cents"] == 600


async def test_the_code_sent_by_message(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    alice, _ = await enrol_at_till(net)
    code = (await sponsorship(http, alice))["referral_code"]
    async with watching("message.requested.v1") as watch:
        status, body = await call(
            http, "POST", f"{CRM}/v1/customers/{alice}/sponsorship/code-message", {}
        )
        assert status == 202, body
        sent = await watch.wait_for(lambda d: d["message_id"] == body["message_id"])
    assert (sent["template"], sent["channel"], sent["category"]) == (
        "referral_code",
        "email",
        "transactional",
    )
    assert sent["variables"]["referral_code"] == code


async def test_rewards_at_the_enrolment_through_the_link(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    aid = net.association_id
    status, body = await call(
        http,
        "PUT",
        f"{CRM}/v1/associations/{aid}/sponsorship-programme",
        {"reward_at": "enrolment", "newcomer_rate_bps": 100},
    )
    assert (status, body["reason"]) == (422, "no_purchase_at_enrolment"), body
    await programme(
        http,
        f"/v1/associations/{aid}",
        reward_at="enrolment",
        sponsor_amount_cents=200,
        newcomer_amount_cents=150,
    )
    alice, _ = await enrol_at_till(net)
    code = (await sponsorship(http, alice))["referral_code"]
    bob, _ = await enrol_at_till(net)
    await file_of(http, bob)
    # the newcomer follows the sponsor's link and gives the code there
    status, body = await call(
        http,
        "POST",
        f"{CRM}/v1/customers/{bob}/sponsor",
        {"referral_code": code, "how": "link"},
    )
    assert status == 201, body
    assert body["sponsor"]["sponsor_id"] == alice and body["sponsor"]["how"] == "link"
    assert [(r["role"], r["trigger"], r["amount_cents"]) for r in body["rewards"]] == [
        ("newcomer", "enrolment", 150)
    ]
    assert [e["amount_cents"] for e in await rewarded(http, alice)] == [200]
    assert [e["amount_cents"] for e in await rewarded(http, bob)] == [150]
    # linked once: the same request again is refused, and rewards nobody twice
    status, body = await call(
        http, "POST", f"{CRM}/v1/customers/{bob}/sponsor", {"referral_code": code}
    )
    assert (status, body["reason"]) == (409, "already_sponsored")
