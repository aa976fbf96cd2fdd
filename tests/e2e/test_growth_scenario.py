"""Grow the clientele and see it grow, end to end (issue 14's "done when"): the five services
on a calendar the test sets, a webhook subscriber's real HTTPS server in the test, the chip
card in the offline terminal program. Every figure is worked out by hand in the comments.

The network (network rate 3 %, taux UC 0.5 %) has two shops: shop 0 (merchant 0, whose own
sponsorship programme gives the sponsor 5.00 € and the newcomer 10 % of their first purchase)
and shop 1. The association's status level "Privilège": 500 € spent over 12 months, 6 %.

| when (Paris)       | what                                                                 |
|--------------------|----------------------------------------------------------------------|
| Tue 20 May 10:00   | the association's accounting subscribes to sales, enrolments and     |
|                    | status changes; Ana enrols at shop 0 and gets her referral code; her |
|                    | friend Bruno enrols there with it; his first purchase (40.00 €, 3 %: |
|                    | 1.20 €) rewards Ana 5.00 € and Bruno 4.00 €. Shop 1's till sends     |
|                    | Ana's 500.00 € of 19 May 18:00 (3 %: 15.00 €); the review of 19 May  |
|                    | makes her "Privilège"; at shop 0 she buys 100.00 € online and        |
|                    | 100.00 € with her chip card offline, 6.00 € each. Two sales without  |
|                    | a member: 8.00 € at shop 0, 12.00 € at shop 1                        |
| Wed 4 June 10:00   | Ana 30.00 € at shop 1 (6 %: 1.80 €), Bruno 25.00 € at shop 0 (3 %:   |
|                    | 0.75 €), 5.00 € without a member at shop 1; May closed: shop 0's     |
|                    | statement shows both sponsorship rewards; the statistics of 20 May-  |
|                    | 4 June, per shop and for the association, are the figures by hand;   |
|                    | the subscriber's server goes down, a sale's delivery waits           |
|                    | (refused twice); up again, it is not sent before its backoff         |
| Wed 4 June 10:30   | past the backoff: the delivery arrives, signed                       |
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock
from shared.clock import PARIS
from shared.contracts import card_transaction_id
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.growth import (
    MONEY,
    anonymous,
    at,
    enrol_at_till,
    level_terms,
    offline_desk,
    programme,
    rate_when_booked,
    rewarded,
    sponsorship,
    stats,
    synced_until,
)
from tests.people import ADMIN, call, card_issued
from tests.statements import totals_are_the_report, workbook
from tests.webhooks import Receiver, only_delivery, settled_as, subscribe, verified

pytestmark = pytest.mark.e2e

CARDS = harness.url("cards")
CLEARING = harness.url("clearing")

MAY = datetime(2031, 5, 20, 10, 0, tzinfo=PARIS)  # a Tuesday
JUNE = datetime(2031, 6, 4, 10, 0, tzinfo=PARIS)  # a Wednesday


RANGE = {"from": "2031-05-20", "to": "2031-06-04"}  # 16 days; the previous: 4-19 May


async def balance(http: aiohttp.ClientSession, account: str) -> int:
    """The account's cagnotte available now, as cards keeps it."""
    status, body = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert status == 200, body
    return int(body["balance_cents"])


async def figures_once_counted(
    http: aiohttp.ClientSession, sales: int, **scope: str
) -> dict[str, Any]:
    """The statistics of RANGE in ``scope`` once its ``sales`` are all counted."""
    found: dict[str, Any] = {}

    async def counted() -> bool:
        found.update(await stats(http, **scope, **RANGE))
        return bool(found["figures"]["sales"] == sales)

    await eventually(counted, what=f"{sales} sales counted in {scope}")
    return found


async def test_sponsorship_status_statistics_and_webhooks_grow_the_clientele(
    calendar: Calendar,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    tls_receiver: tuple[Receiver, dict[str, str]],
    tmp_path: Path,
) -> None:
    receiver, trust = tls_receiver
    await calendar.move_to(MAY, trust)
    net = await make_network(merchants=2, taux_client_bps=300, taux_uc_bps=50)
    aid = net.association_id
    (m0, m1), (till0, till1) = net.merchants, net.terminals

    # --- 1. The association's accounting subscribes (HTTPS, the test's CA) ----------------------
    hook = await subscribe(
        http,
        net,
        receiver.url("accounting"),
        ["sale.booked", "customer.enrolled", "status.changed"],
        description="the association's accounting",
    )
    secret = hook["secret"]

    # --- 2. Sponsorship: Ana's code, Bruno enrolled with it, both rewarded at his purchase -------
    await programme(
        http,
        f"/v1/associations/{aid}/merchants/{m0}",
        reward_at="purchase",
        purchase_number=1,
        sponsor_amount_cents=500,
        newcomer_rate_bps=1000,
    )
    ana, ana_phone = await enrol_at_till(net)
    code = (await sponsorship(http, ana))["referral_code"]
    bruno, bruno_phone = await enrol_at_till(net, code.replace("-", "").lower())  # as typed

    async def linked() -> bool:
        s = await sponsorship(http, bruno)
        return s["sponsor"] is not None and s["sponsor"]["sponsor_id"] == ana

    await eventually(linked, what="Bruno linked to Ana")
    assert await balance(http, ana) == 0 and await balance(http, bruno) == 0

    first = await till0.sale(bruno_phone, 4_000)
    assert (first.status, first.body["reward_cents"]) == (201, 120), first  # 3 % of 40.00 €
    (ana_reward,) = await rewarded(http, ana)
    (bruno_reward,) = await rewarded(http, bruno)
    # Ana 5.00 €; Bruno 10 % of his 40.00 €: 4.00 €, on top of his 1.20 €.
    assert (ana_reward["amount_cents"], bruno_reward["amount_cents"]) == (500, 400)
    assert (await balance(http, ana), await balance(http, bruno)) == (500, 520)
    rewards = (await sponsorship(http, ana))["rewards"]
    assert [(r["role"], r["status"], r["sale_id"]) for r in rewards] == [
        ("sponsor", "granted", first.body["sale_id"])
    ]

    # The two enrolments and the sale reached the subscriber, signed (the HMAC recomputed),
    # with ids and amounts and no phone number.
    got = await receiver.wait("accounting", 3)
    bodies = [verified(g, secret) for g in got]
    assert sorted((b["type"], b["data"]["account_id"]) for b in bodies) == sorted(
        [("customer.enrolled", ana), ("customer.enrolled", bruno), ("sale.booked", bruno)]
    )
    assert all(p not in g.body.decode() for g in got for p in (ana_phone, bruno_phone))

    # --- 3. A status level: Ana crosses it, the day's review raises her -----------------------
    card = await card_issued(http, aid, ana, "Martin", f"growth {aid}")
    card = (await net.admin.call("GET", f"{CARDS}/v1/cards/{card['number']}")).body
    made = await net.admin.call("PUT", f"{CARDS}/v1/levels/{uuid.uuid4()}", level_terms(net))
    assert (made.status, made.body["taux_client_bps"]) == (201, 600), made
    # Shop 0's terminal program takes its parameters before Ana holds the level.
    desk = offline_desk(tmp_path, net, card)
    await synced_until(desk, "the terminal's first parameters", lambda p: p.get("levels"))
    assert desk.journal.get("params")["card_levels"] == []

    # Ana's 500.00 € at shop 1 yesterday evening (the till's sale of 19 May, sent late) at 3 %;
    # this morning's review of yesterday, as the daily job makes it after midnight, raises her
    # (from 19 May 23:59:59 on: the services' clocks, each started when its process had loaded,
    # may differ by seconds, and a sale stamped by the terminals service must not fall before).
    big = await till1.sale(ana_phone, 50_000, occurred_at=at("2031-05-19", "18:00"))
    assert (big.status, big.body["reward_cents"]) == (201, 1_500), big
    yesterday = clock.today_paris() - timedelta(days=1)
    reviewed = await net.admin.call(
        "POST", f"{CARDS}/v1/associations/{aid}/level-reviews/{yesterday.isoformat()}"
    )
    assert (reviewed.status, reviewed.body["changes"]) == (200, 1), reviewed  # Ana, not Bruno
    held = await net.admin.call("GET", f"{CARDS}/v1/accounts/{ana}/levels")
    assert [lv["code"] for lv in held.body["levels"]] == ["privilege"]
    (status_changed,) = [
        b
        for b in (verified(g, secret) for g in await receiver.wait("accounting", 5))
        if b["type"] == "status.changed"
    ]
    data = status_changed["data"]
    assert (data["account_id"], data["level_code"]) == (ana, "privilege")

    # Online at shop 0: 6 %, booked as the level's rate.
    online = await till0.sale(ana_phone, 10_000)
    assert (online.status, online.body["reward_cents"]) == (201, 600), online
    assert await rate_when_booked(db, uuid.UUID(online.body["sale_id"])) == (
        600,
        "level.privilege",
    )
    # Offline, with her chip card, once the program has downloaded the card's level: the same
    # 6 %, checked by the server when the chunk is synced and booked at the level's rate.
    await synced_until(
        desk,
        "the card's level in the terminal's parameters",
        lambda p: [c["card_number"] for c in p.get("card_levels", [])] == [card["number"]],
    )
    out = await desk.handle("vente 100")
    assert out[0].startswith("Vente 100,00 € enregistrée : +6,00 €"), out
    ok, _ = await desk.sync_once("ip")
    assert ok
    offline = card_transaction_id(uuid.UUID(till0.terminal_id), 1)
    assert await rate_when_booked(db, offline) == (600, "level.privilege")
    held_back = await db.fetchval(
        "SELECT count(*) FROM cards.card_quarantine WHERE card_number = $1", card["number"]
    )
    assert held_back == 0
    # Ana: 5.00 € + 15.00 € + 6.00 € + 6.00 €.
    assert await balance(http, ana) == 500 + 1_500 + 600 + 600

    # --- 4. Sales without a member, recorded at the tills --------------------------------------
    await anonymous(till0, 800, clock.now().isoformat())
    await anonymous(till1, 1_200, clock.now().isoformat())

    # May's sales reached the subscriber, each signed (Ana's two of 100.00 €: online, by card);
    # verified now, within the signature's tolerance of the receiver's clock.
    await signed_sales(receiver, secret, {4_000: 1, 50_000: 1, 10_000: 2})

    # --- 5. June: more sales, May closed ------------------------------------------------------
    await calendar.move_to(JUNE, trust)
    june_ana = await till1.sale(ana_phone, 3_000)
    assert (june_ana.status, june_ana.body["reward_cents"]) == (201, 180), june_ana  # 6 %
    june_bruno = await till0.sale(bruno_phone, 2_500)
    assert (june_bruno.status, june_bruno.body["reward_cents"]) == (201, 75), june_bruno  # 3 %
    await anonymous(till1, 500, clock.now().isoformat())

    status, closed = await call(
        http, "POST", f"{CLEARING}/v1/associations/{aid}/periods/2031-05/close", {"actor": "h9"}
    )
    assert (status, closed["periods"]) == (201, ["2031-05"]), closed
    async with http.get(
        f"{CLEARING}/v1/merchants/{m0}/statements/2031-05.xlsx", headers=ADMIN
    ) as r:
        assert r.status == 200, await r.text()
        w = workbook(await r.read())
    # Shop 0 in May: Bruno's 40.00 €, Ana's 100.00 € online and 100.00 € by card; the rewards
    # 1.20 + 6.00 + 6.00 €, the fees 0.5 %: 0.20 + 0.50 + 0.50 €; the sponsorship 5.00 + 4.00 €.
    sponsored = [x for x in w.lines if x["TYPE"] == "Parrainage"]
    assert sorted((Decimal(str(x["CAGNOTTE"])), x["REMARQUE"]) for x in sponsored) == [
        (Decimal(4), "récompense du filleul"),
        (Decimal(5), "récompense du parrain"),
    ]
    assert Decimal(str(w.totals["Parrainages"]["CAGNOTTE"])) == Decimal(9)
    assert sorted(x["VALEUR"] for x in w.lines if x["TYPE"] == "Achat") == [40, 100, 100]
    totals_are_the_report(w)
    assert Decimal(str(w.totals["TOTAL"]["NET"])) == Decimal("23.40")  # 13.20 + 1.20 + 9.00

    # --- 6. The statistics of 20 May-4 June, by hand ------------------------------------------
    # Shop 0: members' sales Bruno 4000 + 2500, Ana 10000 + 10000 (card) = 26500, 4 visits;
    # without a member 800. Revenue 27300 over 5 sales; rewards 120 + 600 + 600 + 75.
    s0 = (await figures_once_counted(http, 5, shop_id=str(m0)))["figures"]
    assert {k: s0[k] for k in MONEY} == {
        "revenue_cents": 27_300,
        "member_revenue_cents": 26_500,
        "anonymous_revenue_cents": 800,
        "member_share_bps": 9_707,  # 26500 / 27300 = 97.069 %
        "sales": 5,
        "visits": 4,
        "anonymous_sales": 1,
        "average_basket_cents": 5_460,  # 27300 / 5
        "returns": 0,
        "returned_cents": 0,
        "rewards_granted_cents": 1_395,
        "redemptions": 0,
        "rewards_spent_cents": 0,
    }
    assert [(x["account_id"], x["visits"], x["spent_cents"]) for x in s0["best_customers"]] == [
        (ana, 2, 20_000),
        (bruno, 2, 6_500),
    ]
    assert (s0["customers"], s0["visits_per_customer"], s0["members"]) == (2, "2.00", 2)
    # Shop 1: Ana 3000 (her 50000 of 19 May is the previous period's), without a member
    # 1200 + 500; rewards 180.
    s1 = (await figures_once_counted(http, 3, shop_id=str(m1)))["figures"]
    assert {k: s1[k] for k in MONEY} == {
        "revenue_cents": 4_700,
        "member_revenue_cents": 3_000,
        "anonymous_revenue_cents": 1_700,
        "member_share_bps": 6_383,  # 3000 / 4700 = 63.830 %
        "sales": 3,
        "visits": 1,
        "anonymous_sales": 2,
        "average_basket_cents": 1_567,  # 4700 / 3 = 1566.67
        "returns": 0,
        "returned_cents": 0,
        "rewards_granted_cents": 180,
        "redemptions": 0,
        "rewards_spent_cents": 0,
    }
    assert (s1["customers"], s1["members"]) == (1, 0)  # nobody enrolled at merchant 1
    # The association: both shops.
    asso = await figures_once_counted(http, 8, association_id=str(aid))
    f = asso["figures"]
    assert asso["period"] == {"from": "2031-05-20", "to": "2031-06-04", "days": 16}
    assert asso["previous_period"] == {"from": "2031-05-04", "to": "2031-05-19", "days": 16}
    assert {k: f[k] for k in MONEY} == {
        "revenue_cents": 32_000,
        "member_revenue_cents": 29_500,
        "anonymous_revenue_cents": 2_500,
        "member_share_bps": 9_219,  # 29500 / 32000 = 92.1875 %, rounded half up
        "sales": 8,
        "visits": 5,
        "anonymous_sales": 3,
        "average_basket_cents": 4_000,  # 32000 / 8
        "returns": 0,
        "returned_cents": 0,
        "rewards_granted_cents": 1_395 + 180,  # the sales' rewards; sponsorship is no sale's
        "redemptions": 0,
        "rewards_spent_cents": 0,
    }
    assert f["traffic"]["by_weekday"] == [0, 5, 3, 0, 0, 0, 0]  # 5 on Tuesday, 3 on Wednesday
    assert f["traffic"]["by_hour"][10] == 8  # each day's story within its first hour
    assert (f["customers"], f["visits_per_customer"]) == (2, "2.50")
    assert [x["customers"] for x in f["frequency"]] == [0, 1, 1, 0, 0]  # Bruno 2, Ana 3
    assert [(x["account_id"], x["visits"], x["spent_cents"]) for x in f["best_customers"]] == [
        (ana, 3, 23_000),
        (bruno, 2, 6_500),
    ]
    assert (f["members"], f["members_at_start"], f["enrolments"]) == (2, 0, 2)
    assert [s for s in f["enrolments_over_time"] if s["enrolments"]] == [
        {"start": "2031-05-20", "enrolments": 2}
    ]
    # The previous period, 4-19 May: Ana's 500.00 € alone, no sale without a member (unknown
    # share), nobody enrolled yet.
    p = asso["previous"]
    assert (p["revenue_cents"], p["sales"], p["visits"], p["customers"]) == (50_000, 1, 1, 1)
    assert (p["member_share_bps"], p["enrolments"]) == (None, 0)

    # --- 7. The subscriber's server down for a while, then up past the backoff ----------------
    # June's sales reached it too, signed.
    await signed_sales(receiver, secret, {3_000: 1, 2_500: 1})
    await receiver.down()
    late_sale = await till0.sale(bruno_phone, 700)
    assert late_sale.status == 201, late_sale
    late = await only_delivery(http, hook, amount_cents=700)
    # refused twice, harness.WEBHOOK_FIRST_RETRY_S apart
    log = await settled_as(http, late, "pending", 2)
    assert [a["status"] for a in log["attempts_log"]] == [None, None]
    assert all(a["error"] for a in log["attempts_log"])
    due = datetime.fromisoformat(log["due_at"])
    assert due - datetime.fromisoformat(log["attempts_log"][-1]["at"]) >= timedelta(seconds=55)
    await receiver.up()
    assert receiver.with_amount("accounting", 700) == []  # not before its time
    moved = JUNE + timedelta(minutes=30)
    await calendar.move_to(moved, trust)
    log = await settled_as(http, late, "delivered", 3)
    assert [a["status"] for a in log["attempts_log"]] == [None, None, 200]
    assert datetime.fromisoformat(log["attempts_log"][-1]["at"]) >= moved > due
    (arrived,) = receiver.with_amount("accounting", 700)
    assert arrived.headers["webhook-id"] == log["webhook_id"]
    body = verified(arrived, secret)
    assert (body["type"], body["data"]["account_id"]) == ("sale.booked", bruno)
    assert body["data"]["merchant_id"] == str(m0)


async def signed_sales(receiver: Receiver, secret: str, sold: dict[int, int]) -> None:
    """The subscriber received ``n`` sale deliveries of each amount, each signed with
    ``secret``."""

    async def delivered() -> bool:
        return all(len(receiver.with_amount("accounting", c)) >= n for c, n in sold.items())

    await eventually(delivered, what=f"the deliveries of the sales {sold}")
    for cents, n in sold.items():
        got = receiver.with_amount("accounting", cents)
        assert [verified(g, secret)["type"] for g in got] == ["sale.booked"] * n, cents
