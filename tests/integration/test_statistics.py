"""The statistics (F25, docs/statistics.md) of a hand-built month, through the real services
on a calendar the test sets: members' sales at the tills of two shops, sales without a member,
a return, a cancelled sale, a redemption, enrolments; the figures for a range across May and
June 2031 equal what is computed by hand below, per shop and for the association, with the
previous period; the detail lines of the CSV and XLSX files add up to the figures; bad ranges
are refused."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from decimal import Decimal

import aiohttp
import asyncpg
import openpyxl

from shared.client import TerminalClient
from shared.clock import PARIS
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.growth import MONEY, anonymous, at, qs, stats
from tests.people import ADMIN, call, email_consent, file_of, new_email, new_phone

CRM = harness.url("crm")
RANGE = {"from": "2031-05-20", "to": "2031-06-10"}  # 22 days; the previous: 28 April-19 May


async def _sale(till: TerminalClient, phone: str, cents: int, when: str) -> str:
    sale_id = str(uuid.uuid4())
    r = await till.sale(phone, cents, sale_id=sale_id, occurred_at=when)
    assert r.status == 201, r
    # The rate by hand: 3 % of the amount, available at once (no visit threshold).
    assert r.body["reward_cents"] == cents * 3 // 100, r.body
    return sale_id


async def test_the_statistics_of_a_hand_built_month_are_the_figures_computed_by_hand(
    calendar: Calendar,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    # 19 May 2031: A and B enrol at shop 0; A buys (the previous period).
    await calendar.move_to(datetime(2031, 5, 19, 11, 0, tzinfo=PARIS))
    net = await make_network(merchants=2)
    shop0, shop1 = net.terminals
    m0, m1 = (str(m) for m in net.merchants)
    aid = str(net.association_id)
    a, b, c = new_phone(), new_phone(), new_phone()
    accounts = {}
    for phone in (a, b):
        r = await shop0.enrol(phone, **({"email": new_email()} if phone == a else {}))
        assert r.status == 201, r
        accounts[phone] = r.body["account_id"]
    await _sale(shop0, a, 1000, at("2031-05-19", "10:15"))
    await file_of(http, accounts[a])
    await email_consent(http, accounts[a], None)  # A: the network's e-mail consent

    # 2 June: C enrols at shop 0 (within the range).
    await calendar.move_to(datetime(2031, 6, 2, 12, 0, tzinfo=PARIS))
    r = await shop0.enrol(c)
    assert r.status == 201, r
    accounts[c] = r.body["account_id"]

    # 20 June: the month's sales, dated when they happened.
    await calendar.move_to(datetime(2031, 6, 20, 12, 0, tzinfo=PARIS))
    await _sale(shop0, a, 2000, at("2031-05-22", "10:30"))  # Thursday
    await anonymous(shop0, 800, at("2031-05-25", "12:00"))  # Sunday
    await _sale(shop0, b, 4000, at("2031-05-31", "18:05"))  # Saturday
    await _sale(shop1, a, 5000, at("2031-06-01", "15:00"))  # Sunday
    await _sale(shop0, a, 3000, at("2031-06-03", "10:45"))  # Tuesday
    c_sale = await _sale(shop0, c, 1500, at("2031-06-03", "19:20"))  # Tuesday
    await anonymous(shop0, 1200, at("2031-06-04", "12:30"))  # Wednesday
    returned = await shop0.return_sale(c_sale, 500, occurred_at=at("2031-06-05", "11:00"))
    assert returned.status == 201, returned
    spent = await shop0.redeem(a, 50, occurred_at=at("2031-06-06", "09:00"))
    assert spent.status == 201, spent
    b_sale = await _sale(shop0, b, 2500, at("2031-06-08", "09:10"))  # Sunday, then cancelled
    cancelled = await shop0.return_sale(
        b_sale, 2500, reason="cancelled", occurred_at=at("2031-06-09", "10:00")
    )
    assert cancelled.status == 201, cancelled
    await _sale(shop1, c, 700, at("2031-06-11", "10:00"))  # after the range

    async def counted() -> bool:
        n = await db.fetchval(
            # a member's sale is its visit (crm migration 0021), the other facts are lines
            "SELECT (SELECT count(*) FROM crm.statistics_lines WHERE association_id = $1)"
            " + (SELECT count(*) FROM crm.visits"
            "    WHERE association_id = $1 AND reward_cents IS NOT NULL)",
            net.association_id,
        )
        enrolled = await db.fetchval(
            "SELECT coalesce(sum(enrolments), 0) FROM crm.statistics_enrolments "
            "WHERE scope_id = $1",
            net.association_id,
        )
        return bool(n == 13 and enrolled == 3)

    await eventually(counted, what="every fact counted by the statistics")

    # The association, 20 May-10 June, by hand. Members' sales kept: A 2000, B 4000, A 5000,
    # A 3000, C 1500 (B's 2500 cancelled: as if never made) = 15500, 5 visits; C returned 500:
    # members' revenue 15000. Without a member: 800 + 1200. Revenue 17000 over 7 sales.
    asso = await stats(http, association_id=aid, **RANGE)
    f = asso["figures"]
    assert asso["period"] == {"from": "2031-05-20", "to": "2031-06-10", "days": 22}
    assert asso["previous_period"] == {"from": "2031-04-28", "to": "2031-05-19", "days": 22}
    assert {k: f[k] for k in MONEY} == {
        "revenue_cents": 17000,
        "member_revenue_cents": 15000,
        "anonymous_revenue_cents": 2000,
        "member_share_bps": 8824,  # 15000 / 17000 = 88.235 %
        "sales": 7,
        "visits": 5,
        "anonymous_sales": 2,
        "average_basket_cents": 2500,  # (15500 + 2000) / 7
        "returns": 1,
        "returned_cents": 500,
        # 3 % of 2000, 4000, 5000, 3000, 1500, less 3 % of the 500 returned
        "rewards_granted_cents": 60 + 120 + 150 + 90 + 45 - 15,
        "redemptions": 1,
        "rewards_spent_cents": 50,
    }
    hours = [0] * 24
    for h, n in ((10, 2), (12, 2), (15, 1), (18, 1), (19, 1)):
        hours[h] = n
    assert f["traffic"]["by_hour"] == hours
    assert f["traffic"]["by_weekday"] == [0, 2, 1, 1, 0, 1, 2]  # Monday first
    assert f["traffic"]["by_hour_of_week"][1][10] == 1  # Tuesday 10:45
    # Customers: A 3 visits (10000), B 1 (4000), C 1 (1500 - 500).
    assert (f["customers"], f["visits_per_customer"]) == (3, "1.67")
    assert [x["customers"] for x in f["frequency"]] == [2, 0, 1, 0, 0]
    assert [(x["account_id"], x["visits"], x["spent_cents"]) for x in f["best_customers"]] == [
        (accounts[a], 3, 10000),
        (accounts[b], 1, 4000),
        (accounts[c], 1, 1000),
    ]
    assert (f["members"], f["members_at_start"], f["enrolments"]) == (3, 2, 1)
    assert f["enrolments_step"] == "day"
    assert [s for s in f["enrolments_over_time"] if s["enrolments"]] == [
        {"start": "2031-06-02", "enrolments": 1}
    ]
    assert f["inactive_customers"] == 0
    assert f["consents"] == {"email": 1, "sms": 0, "post": 0}
    p = asso["previous"]
    assert (p["revenue_cents"], p["sales"], p["visits"], p["customers"]) == (1000, 1, 1, 1)
    assert (p["member_share_bps"], p["enrolments"]) == (None, 2)  # no sale without a member

    # Shop 0 alone: A 2000 + 3000, B 4000, C 1500 - 500; without a member 2000.
    s0 = (await stats(http, shop_id=m0, **RANGE))["figures"]
    assert (s0["revenue_cents"], s0["member_revenue_cents"], s0["sales"]) == (12000, 10000, 6)
    assert (s0["member_share_bps"], s0["average_basket_cents"]) == (8333, 2083)  # 12500 / 6
    assert (s0["rewards_granted_cents"], s0["rewards_spent_cents"]) == (300, 50)
    assert [(x["account_id"], x["spent_cents"]) for x in s0["best_customers"]] == [
        (accounts[a], 5000),
        (accounts[b], 4000),
        (accounts[c], 1000),
    ]
    assert (s0["members"], s0["visits_per_customer"]) == (3, "1.33")  # enrolled at merchant 0
    # Shop 1: A's 5000 only; no sale without a member there: the share is unknown.
    s1 = (await stats(http, shop_id=m1, **RANGE))["figures"]
    assert (s1["revenue_cents"], s1["visits"], s1["customers"]) == (5000, 1, 1)
    assert (s1["member_share_bps"], s1["members"]) == (None, 0)
    # The merchant 0 is its one shop; the network holds at least this association.
    m0_figures = (await stats(http, merchant_id=m0, **RANGE))["figures"]
    assert {k: m0_figures[k] for k in MONEY} == {k: s0[k] for k in MONEY}
    network = (await stats(http, **RANGE))["figures"]
    assert network["revenue_cents"] >= 17000 and network["customers"] is None

    # Inactive at the end of August: A (last visit 3 June) and B (31 May: the 8 June sale
    # was cancelled) came in the year before 3 June and not since; C came on 11 June.
    late = await stats(http, association_id=aid, **{"from": "2031-08-01", "to": "2031-09-01"})
    assert late["figures"]["inactive_customers"] == 2

    await _exports(http, aid, [accounts[a], accounts[b], accounts[c]])
    await _refusals(http, aid, m0)


async def _download(http: aiohttp.ClientSession, path: str, query: dict[str, str]) -> bytes:
    async with http.get(f"{CRM}{path}?{qs(query)}", headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        return await r.read()


async def _exports(http: aiohttp.ClientSession, aid: str, ids: list[str]) -> None:
    """The detail lines add up to the figures."""
    q = {"association_id": aid, **RANGE}
    text = (await _download(http, "/v1/statistics/sales.csv", q)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert sorted(r["NATURE"] for r in rows) == sorted(
        ["sale"] * 6 + ["anonymous_sale"] * 2 + ["return", "cancellation"]
    )
    total = sum(Decimal(r["MONTANT"].replace(",", ".")) for r in rows)
    assert total == Decimal("170.00")  # the revenue, in euros
    anonymous = [r for r in rows if r["NATURE"] == "anonymous_sale"]
    assert {r["CLIENT"] for r in anonymous} == {""}

    data = await _download(http, "/v1/statistics/customers.xlsx", q)
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    values = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    header = values.index(["CLIENT", "VISITES", "DEPENSE", "PREMIERE VISITE", "DERNIERE VISITE"])
    lines = [r for r in values[header + 1 :] if r and r[0]]
    assert [(r[0], r[1], Decimal(str(r[2]))) for r in lines] == [
        (ids[0], 3, Decimal(100)),
        (ids[1], 1, Decimal(40)),
        (ids[2], 1, Decimal(10)),
    ]

    rewards = (await _download(http, "/v1/statistics/rewards.csv", q)).decode("utf-8-sig")
    reward_rows = list(csv.DictReader(io.StringIO(rewards), delimiter=";"))
    granted = sum(Decimal(r["ACCORDE"].replace(",", ".")) for r in reward_rows)
    spent = sum(Decimal(r["DEPENSE"].replace(",", ".")) for r in reward_rows)
    assert (granted, spent) == (Decimal("4.50"), Decimal("0.50"))

    consents = (await _download(http, "/v1/statistics/consents.csv", q)).decode("utf-8-sig")
    assert [
        (r["CLIENT"], r["CANAL"]) for r in csv.DictReader(io.StringIO(consents), delimiter=";")
    ] == [(ids[0], "email")]

    enrolled = (await _download(http, "/v1/statistics/enrolments.csv", q)).decode("utf-8-sig")
    assert [r["CLIENT"] for r in csv.DictReader(io.StringIO(enrolled), delimiter=";")] == [ids[2]]


async def _refusals(http: aiohttp.ClientSession, aid: str, m0: str) -> None:
    for query, reason in (
        ({"association_id": aid, "from": "2031-06-10", "to": "2031-05-20"}, "invalid_range"),
        ({"from": "2020-01-01", "to": "2031-01-01"}, "range_too_long"),
        ({"association_id": aid, "merchant_id": m0, **RANGE}, "ambiguous_scope"),
    ):
        status, body = await call(http, "GET", f"{CRM}/v1/statistics?{qs(query)}")
        assert (status, body["reason"]) == (400, reason), body
    for query in (
        {"from": "2031-13-01", "to": "2031-06-10"},
        {"to": "2031-06-10"},
        {**RANGE, "x": "1"},
    ):
        status, body = await call(http, "GET", f"{CRM}/v1/statistics?{qs(query)}")
        assert status == 400, body
    status, body = await call(http, "GET", f"{CRM}/v1/statistics/customers.csv?{qs(RANGE)}")
    assert (status, body["reason"]) == (422, "not_kept_for_network"), body
    status, _ = await call(http, "GET", f"{CRM}/v1/statistics?{qs(RANGE)}", admin=False)
    assert status == 401


async def _counted_and_counters(
    db: asyncpg.Connection, association_id: uuid.UUID, merchant_id: str
) -> list[tuple[str, int, int]]:
    """Per scope (association: its members' network-wide consents; merchant; the network)
    and channel: the consents in force counted now, and their counter."""
    rows = await db.fetch(
        """WITH counted AS (
               SELECT 'association' AS scope, channel, count(*) AS n FROM crm.consents
               WHERE status = 'confirmed' AND association_id = $1 AND merchant_id IS NULL
               GROUP BY channel
               UNION ALL
               SELECT 'merchant', channel, count(*) FROM crm.consents
               WHERE status = 'confirmed' AND merchant_id = $2::uuid GROUP BY channel
               UNION ALL
               SELECT 'network', channel, count(*) FROM crm.consents
               WHERE status = 'confirmed' AND merchant_id IS NULL GROUP BY channel),
           kept AS (
               SELECT 'association' AS scope, channel, sum(in_force) AS n
               FROM crm.statistics_consents
               WHERE association_id = $1 AND merchant_id = '00000000-0000-0000-0000-000000000000'
               GROUP BY channel
               UNION ALL
               SELECT 'merchant', channel, sum(in_force) FROM crm.statistics_consents
               WHERE merchant_id = $2::uuid GROUP BY channel
               UNION ALL
               SELECT 'network', channel, sum(in_force) FROM crm.statistics_consents
               WHERE merchant_id = '00000000-0000-0000-0000-000000000000' GROUP BY channel)
           SELECT scope, channel, coalesce(c.n, 0)::bigint AS counted,
                  coalesce(k.n, 0)::bigint AS kept
           FROM counted c FULL JOIN kept k USING (scope, channel)
           ORDER BY scope, channel""",
        association_id,
        merchant_id,
    )
    return [(r["scope"], r["counted"], r["kept"]) for r in rows]


async def test_the_consent_counters_equal_a_count_of_the_consents_in_force(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    m0 = str(net.merchants[0])
    accounts = []
    for _ in range(3):
        r = await net.terminals[0].enrol(new_phone(), email=new_email())
        assert r.status == 201, r
        accounts.append(r.body["account_id"])
        await file_of(http, accounts[-1])
    for account in accounts:
        await email_consent(http, account, None)  # network-wide
    await email_consent(http, accounts[0], m0)  # the merchant's own
    # Asked and not confirmed: not in force.
    status, _ = await call(
        http,
        "POST",
        f"{CRM}/v1/customers/{accounts[1]}/consents",
        {"channel": "email", "how": "till", "merchant_id": m0},
    )
    assert status == 201
    status, listed = await call(http, "GET", f"{CRM}/v1/customers/{accounts[2]}/consents")
    assert status == 200, listed
    (withdrawn,) = [c["id"] for c in listed["consents"] if c["merchant_id"] is None]
    status, _ = await call(http, "DELETE", f"{CRM}/v1/customers/{accounts[2]}/consents/{withdrawn}")
    assert status == 200

    pairs = await _counted_and_counters(db, net.association_id, m0)
    assert pairs and all(counted == kept for _, counted, kept in pairs), pairs
    mine = {scope: counted for scope, counted, _ in pairs if scope != "network"}
    assert mine == {"association": 2, "merchant": 1}
    asso = await stats(http, association_id=str(net.association_id), **RANGE)
    merchant = await stats(http, merchant_id=m0, **RANGE)
    assert asso["figures"]["consents"] == {"email": 2, "sms": 0, "post": 0}
    assert merchant["figures"]["consents"] == {"email": 1, "sms": 0, "post": 0}
