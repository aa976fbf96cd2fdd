"""A cancelled qualifying sale takes its sponsorship rewards back (issue 14's gaps; F22, F16),
through the five real services: both rewards reversed by new cagnotte entries booked in
clearing, the sponsor's cap counting it no more, the newcomer's next purchase rewarded again;
once whatever the redelivery; a sponsor who already spent the reward is refused (never below
zero), the reversal marked for the back office, and not rewarded twice; a return of the whole sale as a cancellation,
a partial return taking nothing back, several adding up to the sale as a whole return."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from shared import clock
from shared.contracts import RewardReversed, SponsorshipRewardGranted, SponsorshipRewardReversed
from shared.contracts.sponsorship import reversal_id, reward_id
from shared.events import new_event
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.growth import amounts, enrol_at_till, entries_of, linked, programme, sponsorship
from tests.people import call
from tests.statements import workbook
from tests.watch import publish, watching
from tests.webhooks import Receiver, subscribe, verified

pytestmark = pytest.mark.asyncio

CLEARING = harness.url("clearing")


async def _rewards(http: aiohttp.ClientSession, account: str, n: int) -> list[dict[str, Any]]:
    async def decided() -> bool:
        return len((await sponsorship(http, account))["rewards"]) >= n

    await eventually(decided, what=f"{n} reward(s) decided for {account}")
    rewards: list[dict[str, Any]] = (await sponsorship(http, account))["rewards"]
    return rewards


async def _answered(http: aiohttp.ClientSession, account: str, want: list[str | None]) -> None:
    """The account's rewards' reversal statuses, in order, once cards has answered them."""

    async def there() -> bool:
        rewards = (await sponsorship(http, account))["rewards"]
        return [r["reversal_status"] for r in rewards] == want

    await eventually(there, what=f"{account}'s reversals {want}")


async def test_a_cancelled_qualifying_sale_takes_both_rewards_back_once_and_the_cap_with_them(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1, taux_client_bps=300, taux_uc_bps=50)
    aid, mid = net.association_id, net.merchants[0]
    till = net.terminals[0]
    # The merchant's programme: at the first purchase, the sponsor 5.00 € (one a month), the
    # newcomer 10 % of it.
    await programme(
        http,
        f"/v1/associations/{aid}/merchants/{mid}",
        reward_at="purchase",
        purchase_number=1,
        sponsor_amount_cents=500,
        newcomer_rate_bps=1000,
        cap_per_sponsor=1,
        cap_period="month",
    )
    alice, _ = await enrol_at_till(net)
    code = (await sponsorship(http, alice))["referral_code"]
    bob, bob_phone = await enrol_at_till(net, code)
    await linked(http, bob)

    sold = await till.sale(bob_phone, 4_000)
    assert sold.status == 201, sold
    sale_id = uuid.UUID(sold.body["sale_id"])
    assert await amounts(http, alice, 1) == [500]
    assert await amounts(http, bob, 1) == [400]
    (first,) = await _rewards(http, alice, 1)
    assert first["id"] == str(reward_id(uuid.UUID(bob), "sponsor", sale_id))

    # The sale is cancelled: its own reward goes back (cards), and so do both sponsorship
    # rewards, by new entries naming the reward they take back.
    cancelled = await till.return_sale(str(sale_id), 4_000, reason="cancelled")
    assert cancelled.status == 201, cancelled
    assert await amounts(http, alice, 2) == [500, -500]
    assert await amounts(http, bob, 2) == [400, -400]
    back = (await entries_of(http, alice, "sponsorship"))[0]  # the newest
    assert back["reference_id"] == str(reversal_id(uuid.UUID(first["id"])))
    await _answered(http, alice, ["done"])
    (first,) = await _rewards(http, alice, 1)
    assert (first["reversal_reason"], first["reversal_status"]) == ("cancelled", "done")

    # Redelivered (a second replica asking again): taken back once. A marker (a reward of a
    # cent, on the same queue of cards) after it shows the queue went past the duplicate.
    d = SponsorshipRewardReversed(
        reversal_id=uuid.UUID(back["reference_id"]),
        reward_id=uuid.UUID(first["id"]),
        newcomer_id=uuid.UUID(bob),
        role="sponsor",
        account_id=uuid.UUID(alice),
        association_id=aid,
        merchant_id=mid,
        amount_cents=500,
        sale_id=sale_id,
        occurred_at=clock.now(),
    )
    marker = SponsorshipRewardGranted(
        **d.model_dump(include={"newcomer_id", "role", "account_id", "association_id"}),
        reward_id=uuid.uuid4(),
        sponsor_id=uuid.UUID(alice),
        merchant_id=mid,
        amount_cents=1,
        trigger="purchase",
        occurred_at=clock.now(),
    )
    await publish(new_event("crm", d), new_event("crm", marker))
    assert await amounts(http, alice, 3) == [500, -500, 1]

    # The cap counts the reward taken back no more: bob's next purchase is now his first and
    # rewards both again (alice granted, not capped), under the ids of that sale.
    again = await till.sale(bob_phone, 2_000)
    assert again.status == 201, again
    assert await amounts(http, bob, 3) == [400, -400, 200]
    assert await amounts(http, alice, 4) == [500, -500, 1, 500]
    rewards = await _rewards(http, alice, 2)
    assert [(r["status"], r["sale_id"], r["reversal_status"]) for r in rewards] == [
        ("granted", str(sale_id), "done"),
        ("granted", again.body["sale_id"], None),
    ]

    # Booked in clearing like any reward: the reversals on the merchant's statement.
    month = clock.today_paris().strftime("%Y-%m")

    async def booked() -> bool:
        url = f"{CLEARING}/v1/merchants/{mid}/statements/{month}"
        status, s = await call(http, "GET", url)
        # sales' rewards 120 + 60 − 120 and fees 20 + 10 − 20; sponsorship 500 + 400 − 500
        # − 400 + 1 (the marker) + 500 + 200
        return status == 200 and s["figures"]["net_cents"] == 60 + 10 + 701

    await eventually(booked, what="the statement's net")
    async with http.get(
        f"{CLEARING}/v1/merchants/{mid}/statements/{month}.xlsx",
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"},
    ) as r:
        assert r.status == 200
        lines = [line for line in workbook(await r.read()).lines if line["TYPE"] == "Parrainage"]
    assert sorted(float(line["CAGNOTTE"]) for line in lines) == [
        -5.0,
        -4.0,
        0.01,
        2.0,
        4.0,
        5.0,
        5.0,
    ]
    assert "récompense du parrain reprise" in {line["REMARQUE"] for line in lines}


async def test_a_spent_reward_is_not_taken_below_zero_and_returns_count_only_whole(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1, taux_client_bps=300, taux_uc_bps=50)
    aid = net.association_id
    till = net.terminals[0]
    await programme(
        http,
        f"/v1/associations/{aid}",
        reward_at="purchase",
        purchase_number=1,
        sponsor_amount_cents=500,
        newcomer_amount_cents=100,
    )
    dave, dave_phone = await enrol_at_till(net)
    code = (await sponsorship(http, dave))["referral_code"]
    erin, erin_phone = await enrol_at_till(net, code)
    fred, fred_phone = await enrol_at_till(net, code)
    await linked(http, erin)
    await linked(http, fred)

    erin_sale = await till.sale(erin_phone, 3_000)
    assert erin_sale.status == 201, erin_sale
    assert await amounts(http, dave, 1) == [500]
    # dave spends his reward before erin's sale is cancelled
    spent = await till.redeem(dave_phone, 500)
    assert spent.status == 201, spent
    cancelled = await till.return_sale(erin_sale.body["sale_id"], 3_000, reason="cancelled")
    assert cancelled.status == 201, cancelled
    # erin's is taken back; dave's is refused, left for the back office's adjustment
    assert await amounts(http, erin, 2) == [100, -100]

    async def refused() -> bool:
        rewards = (await sponsorship(http, dave))["rewards"]
        return [r["reversal_status"] for r in rewards] == ["refused"]

    await eventually(refused, what="dave's reversal refused")
    assert [e["amount_cents"] for e in await entries_of(http, dave, "sponsorship")] == [500]
    # erin's next purchase rewards her again, not dave: he still holds the reward he spent
    assert (await till.sale(erin_phone, 2_000)).status == 201
    assert await amounts(http, erin, 3) == [100, -100, 100]

    # A partial return of fred's qualifying sale takes nothing back; george's qualifying sale
    # returned whole, at once, is undone as if cancelled.
    fred_sale = await till.sale(fred_phone, 2_000)
    assert fred_sale.status == 201, fred_sale
    assert await amounts(http, fred, 1) == [100]
    part = await till.return_sale(fred_sale.body["sale_id"], 500)
    assert part.status == 201, part
    george, george_phone = await enrol_at_till(net, code)
    await linked(http, george)
    george_sale = await till.sale(george_phone, 1_000)
    assert george_sale.status == 201, george_sale
    assert await amounts(http, george, 1) == [100]
    whole = await till.return_sale(george_sale.body["sale_id"], 1_000)
    assert whole.status == 201, whole
    assert await amounts(http, george, 2) == [100, -100]
    await _answered(http, george, ["done"])
    (g,) = await _rewards(http, george, 1)
    assert g["reversal_reason"] == "returned"
    # fred's partial return came through the same queues before george's whole one
    assert await amounts(http, fred, 1) == [100]
    assert [r["reversal_status"] for r in (await sponsorship(http, fred))["rewards"]] == [None]
    # dave: his rewards for fred and george (taken back), and the one for erin (refused),
    # none for erin's second purchase
    rewards = (await sponsorship(http, dave))["rewards"]
    assert sorted((r["reversal_status"] or "") for r in rewards) == ["", "done", "refused"]
    assert [e["amount_cents"] for e in await entries_of(http, dave, "sponsorship")] == [
        -500,
        500,
        500,
        500,
    ]


async def test_partial_returns_adding_up_to_the_sale_take_the_rewards_back_once_and_say_so(
    make_network: NetworkFactory, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """Three returns of one qualifying sale, one of them redelivered as a second replica of
    cards would (another event, the same return): the rewards go back when the returns add up
    to the sale, not before, once; the funding merchant's webhook subscriber hears of each."""
    net = await make_network(merchants=1)
    aid, mid = net.association_id, net.merchants[0]
    till = net.terminals[0]
    await programme(
        http,
        f"/v1/associations/{aid}/merchants/{mid}",
        reward_at="purchase",
        sponsor_amount_cents=500,
        newcomer_amount_cents=300,
    )
    hook = await subscribe(
        http,
        net,
        receiver.url("shop"),
        ["sponsorship.rewarded", "sponsorship.reward_reversed"],
        merchant_id=str(mid),
    )
    alice, _ = await enrol_at_till(net)
    code = (await sponsorship(http, alice))["referral_code"]
    bob, bob_phone = await enrol_at_till(net, code)
    await linked(http, bob)
    sold = await till.sale(bob_phone, 4_000)
    assert sold.status == 201, sold
    sale = sold.body["sale_id"]
    assert await amounts(http, bob, 1) == [300]

    async with watching("reward.reversed.v1") as watch:
        first = await till.return_sale(sale, 1_500)
        assert first.status == 201, first
        seen = await watch.wait_for(lambda d: d["sale_id"] == sale, what="the first return")
    # the same return again, under another event id: counted once (1 500 + 1 000 < 4 000;
    # counted twice, the next return would reach the sale's amount)
    await publish(new_event("cards", RewardReversed.model_validate(seen)))
    assert (await till.return_sale(sale, 1_000)).status == 201
    # carol's first purchase went through crm's queue after the returns: bob's rewards stand
    carol, carol_phone = await enrol_at_till(net, code)
    await linked(http, carol)
    assert (await till.sale(carol_phone, 1_000)).status == 201
    assert await amounts(http, carol, 1) == [300]
    assert [r["reversal_status"] for r in (await sponsorship(http, bob))["rewards"]] == [None]
    assert await amounts(http, bob, 1) == [300]

    # the last part: 1 500 + 1 000 + 1 500 = the sale, returned whole
    assert (await till.return_sale(sale, 1_500)).status == 201
    assert await amounts(http, bob, 2) == [300, -300]
    assert await amounts(http, alice, 3) == [500, 500, -500]
    await _answered(http, bob, ["done"])
    (b,) = await _rewards(http, bob, 1)
    assert b["reversal_reason"] == "returned"

    # rewarded: bob and alice for bob, carol and alice for carol; then bob's two taken back
    got = [verified(g, hook["secret"]) for g in await receiver.wait("shop", 6)]
    back = sorted(
        (g["data"]["role"], g["data"]["account_id"], g["data"]["amount_cents"])
        for g in got
        if g["type"] == "sponsorship.reward_reversed"
    )
    assert back == [("newcomer", bob, 300), ("sponsor", alice, 500)], got
    for g in got:
        if g["type"] == "sponsorship.reward_reversed":
            d = g["data"]
            assert d["reversal_id"] == str(reversal_id(uuid.UUID(d["reward_id"]))), d
            assert (d["sale_id"], d["merchant_id"]) == (sale, str(mid)), d
    assert len(receiver.to("shop")) == 6
