"""The sponsorship results in the statistics (docs/statistics.md, "Sponsorship"), through the
real services on a calendar the test sets: newcomers linked at the tills of two merchants
(one with its own programme and a cap, the other under the association's) on 20 March and
10 April 2031, rewards at the first purchase and at the enrolment, a capped one, the sponsored
customers' sales and a return; the figures of April 2031 and of the previous 30 days equal what is computed by hand below,
per shop, per merchant and for the association; the detail lines add up to them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp

from shared.client import TerminalClient
from shared.clock import PARIS
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.people import ADMIN, call, file_of, new_email, new_phone

CRM = harness.url("crm")
APRIL = {"from": "2031-04-01", "to": "2031-04-30"}  # 30 days; the previous: 2-31 March


def at(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=PARIS)


def _qs(query: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in query.items())


async def _sponsorship(http: aiohttp.ClientSession, account: str) -> dict[str, Any]:
    await file_of(http, account)
    status, body = await call(http, "GET", f"{CRM}/v1/customers/{account}/sponsorship")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def _enrol(
    http: aiohttp.ClientSession, till: TerminalClient, code: str | None = None
) -> tuple[str, str]:
    """(account, phone) of a customer enrolled at the till; with a code, once linked (its
    link dated by the calendar's day)."""
    phone = new_phone()
    r = await till.enrol(phone, email=new_email(), **({"referral_code": code} if code else {}))
    assert r.status == 201, r
    account: str = r.body["account_id"]
    if code:

        async def linked() -> bool:
            return (await _sponsorship(http, account))["sponsor"] is not None

        await eventually(linked, what=f"{account} linked")
    return account, phone


async def _sale(till: TerminalClient, phone: str, cents: int) -> str:
    """A sale now (the calendar's time)."""
    sale_id = str(uuid.uuid4())
    r = await till.sale(phone, cents, sale_id=sale_id)
    assert r.status == 201, r
    return sale_id


async def _decided(http: aiohttp.ClientSession, sponsor: str, n: int) -> None:
    async def there() -> bool:
        return len((await _sponsorship(http, sponsor))["rewards"]) >= n

    await eventually(there, what=f"{n} reward(s) of {sponsor} decided")


def _figures(
    links: tuple[int, int, int, int, int, int], sponsored: tuple[int, int, int] | None
) -> dict[str, Any]:
    """The sponsorship figures: (newcomers, sponsor rewards, their cents, capped, newcomer
    rewards, their cents) and (sponsored customers, visits, revenue)."""
    names = (
        "newcomers",
        "sponsor_rewards",
        "sponsor_rewards_cents",
        "sponsor_rewards_capped",
        "newcomer_rewards",
        "newcomer_rewards_cents",
    )
    out: dict[str, Any] = dict(zip(names, links, strict=True))
    out["rewards_cents"] = links[2] + links[5]
    keys = ("sponsored_customers", "sponsored_visits", "sponsored_revenue_cents")
    out |= dict.fromkeys(keys) if sponsored is None else dict(zip(keys, sponsored, strict=True))
    return out


async def test_the_sponsorship_results_of_a_hand_built_month_are_the_figures_computed_by_hand(
    calendar: Calendar, make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    # The previous period: Bob brought by Alice on 20 March, and his first purchase.
    await calendar.move_to(at("2031-03-20", "12:00"))
    net = await make_network(merchants=2)
    shop0, shop1 = net.terminals
    aid, m0, m1 = str(net.association_id), str(net.merchants[0]), str(net.merchants[1])
    # Merchant 0's own programme: the sponsor 5.00 € (one a month at most), the newcomer 10 %
    # of the first purchase. Merchant 1's newcomers: the association's, at the enrolment.
    for path, terms in (
        (
            f"/v1/associations/{aid}/merchants/{m0}",
            {
                "reward_at": "purchase",
                "purchase_number": 1,
                "sponsor_amount_cents": 500,
                "newcomer_rate_bps": 1000,
                "cap_per_sponsor": 1,
                "cap_period": "month",
            },
        ),
        (
            f"/v1/associations/{aid}",
            {"reward_at": "enrolment", "sponsor_amount_cents": 200, "newcomer_amount_cents": 300},
        ),
    ):
        status, body = await call(http, "PUT", f"{CRM}{path}/sponsorship-programme", terms)
        assert status == 200, body
    alice, alice_phone = await _enrol(http, shop0)
    code = (await _sponsorship(http, alice))["referral_code"]

    bob, bob_phone = await _enrol(http, shop0, code)
    await _sale(shop0, bob_phone, 4000)  # Alice 500, Bob 400
    await _decided(http, alice, 1)

    # 10 April: Carol and Dave brought by Alice at merchant 0; Erin by Bob at merchant 1 (both
    # rewarded at once: Bob 200, Erin 300); the sales of the day.
    await calendar.move_to(at("2031-04-10", "12:00"))
    carol, carol_phone = await _enrol(http, shop0, code)
    dave, dave_phone = await _enrol(http, shop0, code)
    bob_code = (await _sponsorship(http, bob))["referral_code"]
    await _enrol(http, shop1, bob_code)
    await _decided(http, bob, 2)  # his own of March, his as sponsor of Erin
    await _sale(shop0, carol_phone, 3000)  # Alice 500, Carol 300
    await _decided(http, alice, 2)
    dave_sale = await _sale(shop0, dave_phone, 2000)
    await _decided(http, alice, 3)  # Alice's April cap reached: capped; Dave 200
    await _sale(shop0, alice_phone, 5000)  # not sponsored
    await _sale(shop0, bob_phone, 1500)  # no reward again
    await _sale(shop1, carol_phone, 1000)
    back = await shop0.return_sale(dave_sale, 500)
    assert back.status == 201, back

    # By hand. The association, April: Carol, Dave, Erin linked; the sponsors' rewards Alice's
    # 500 (Carol) and Bob's 200 (Erin), Alice's for Dave capped; the newcomers' 300 + 200 +
    # 300; the sponsored customers Bob (15.00), Carol (30.00 + 10.00), Dave (20.00 - 5.00).
    # March: Bob linked, Alice 500, Bob 400 (10 % of 40.00), Bob's 40.00.
    expected = {
        ("association_id", aid): (
            _figures((3, 2, 700, 1, 3, 800), (3, 4, 7000)),
            _figures((1, 1, 500, 0, 1, 400), (1, 1, 4000)),
        ),
        ("merchant_id", m0): (
            _figures((2, 1, 500, 1, 2, 500), (3, 3, 6000)),
            _figures((1, 1, 500, 0, 1, 400), (1, 1, 4000)),
        ),
        # A shop (one per merchant here, with its merchant's id) shows its merchant's links
        # and rewards, and its own sponsored customers.
        ("shop_id", m0): (
            _figures((2, 1, 500, 1, 2, 500), (3, 3, 6000)),
            _figures((1, 1, 500, 0, 1, 400), (1, 1, 4000)),
        ),
        ("shop_id", m1): (
            _figures((1, 1, 200, 0, 1, 300), (1, 1, 1000)),
            _figures((0, 0, 0, 0, 0, 0), (0, 0, 0)),
        ),
    }

    async def counted() -> bool:
        body = await _stats(http, association_id=aid)
        return bool(body["figures"]["sponsorship"]["sponsored_revenue_cents"] == 7000)

    await eventually(counted, what="the sponsored customers' sales counted")
    for (key, value), (current, previous) in expected.items():
        body = await _stats(http, **{key: value})
        assert body["figures"]["sponsorship"] == current, (key, body["figures"]["sponsorship"])
        assert body["previous"]["sponsorship"] == previous, (key, body["previous"]["sponsorship"])
    network = (await _stats(http))["figures"]["sponsorship"]
    assert network["sponsored_revenue_cents"] is None  # not kept network-wide
    assert network["newcomers"] >= 3 and network["rewards_cents"] >= 1500

    await _exports(http, aid, {"carol": carol, "dave": dave, "bob": bob, "alice": alice})


async def _stats(http: aiohttp.ClientSession, **scope: str) -> dict[str, Any]:
    status, body = await call(http, "GET", f"{CRM}/v1/statistics?{_qs({**scope, **APRIL})}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def _csv(
    http: aiohttp.ClientSession, name: str, query: dict[str, str]
) -> list[dict[str, str]]:
    async with http.get(f"{CRM}/v1/statistics/{name}.csv?{_qs(query)}", headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        text = (await r.read()).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _euros(cell: str) -> Decimal:
    return Decimal(cell.replace(",", "."))


async def _exports(http: aiohttp.ClientSession, aid: str, who: dict[str, str]) -> None:
    """The detail lines add up to the association's April figures."""
    q = {"association_id": aid, **APRIL}
    rows = await _csv(http, "sponsorship", q)
    assert sorted(r["NATURE"] for r in rows) == sorted(
        ["link"] * 3 + ["sponsor_reward"] * 3 + ["newcomer_reward"] * 3
    )
    assert sum(_euros(r["MONTANT"]) for r in rows) == Decimal("15.00")
    capped = [r for r in rows if r["STATUT"] == "capped"]
    assert [(r["FILLEUL"], r["COMPTE"], _euros(r["MONTANT"])) for r in capped] == [
        (who["dave"], who["alice"], Decimal(0))
    ]
    sponsored = await _csv(http, "sponsored", q)
    # By spending, then by account: Carol 40.00, then Bob's and Dave's 15.00 each.
    tied = sorted([(who["bob"], 1), (who["dave"], 1)])
    assert [
        (r["CLIENT"], r["PARRAIN"], int(r["VISITES"]), _euros(r["DEPENSE"])) for r in sponsored
    ] == [
        (who["carol"], who["alice"], 2, Decimal("40.00")),
        *((account, who["alice"], visits, Decimal("15.00")) for account, visits in tied),
    ]
    status, body = await call(http, "GET", f"{CRM}/v1/statistics/sponsored.csv?{_qs(APRIL)}")
    assert (status, body["reason"]) == (422, "not_kept_for_network"), body
