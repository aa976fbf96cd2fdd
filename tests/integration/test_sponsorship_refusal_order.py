"""A reward cards cannot take back (spent) is never granted twice, whatever comes first: cards'
refusal or the newcomer's next qualifying purchase (issue 14, F22). Here the next purchase is
there before the cancellation: the moment the first sale is cancelled, the second is the
newcomer's first purchase. crm re-decides the sponsorship only once cards answered each
reversal: the newcomer, whose reward was taken back, is rewarded again by the second sale;
the sponsor, who spent his, keeps it and gets no second one."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import NetworkFactory, eventually
from tests.growth import amounts, enrol_at_till, entries_of, linked, programme, sponsorship

pytestmark = pytest.mark.asyncio


async def test_a_spent_reward_is_not_granted_again_by_a_purchase_made_before_the_refusal(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    till = net.terminals[0]
    await programme(
        http,
        f"/v1/associations/{net.association_id}",
        reward_at="purchase",
        purchase_number=1,
        sponsor_amount_cents=500,
        newcomer_amount_cents=100,
    )
    dave, dave_phone = await enrol_at_till(net)
    code = (await sponsorship(http, dave))["referral_code"]
    erin, erin_phone = await enrol_at_till(net, code)
    await linked(http, erin)
    first = await till.sale(erin_phone, 3_000)
    assert first.status == 201, first
    assert await amounts(http, dave, 1) == [500]
    second = await till.sale(erin_phone, 2_000)  # not her first: no reward
    assert second.status == 201, second
    assert (await till.redeem(dave_phone, 500)).status == 201  # dave spends his reward

    cancelled = await till.return_sale(first.body["sale_id"], 3_000, reason="cancelled")
    assert cancelled.status == 201, cancelled
    # erin's reward taken back, and won again by her second sale, now her first
    assert await amounts(http, erin, 3) == [100, -100, 100]

    async def answered() -> bool:
        rewards = (await sponsorship(http, dave))["rewards"]
        return "refused" in [r["reversal_status"] for r in rewards]

    await eventually(answered, what="dave's reversal refused")
    # crm re-decided erin's sponsorship after both answers: dave keeps the reward he spent
    # and gets none from the second sale (before: granted again with erin's, at once)
    erin_rewards = (await sponsorship(http, erin))["rewards"]
    assert [(r["sale_id"], r["reversal_status"]) for r in erin_rewards] == [
        (first.body["sale_id"], "done"),
        (second.body["sale_id"], None),
    ]
    dave_rewards = (await sponsorship(http, dave))["rewards"]
    assert [r["reversal_status"] for r in dave_rewards] == ["refused"], dave_rewards
    assert [e["amount_cents"] for e in await entries_of(http, dave, "sponsorship")] == [500]
