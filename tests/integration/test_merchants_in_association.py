"""Every back-office route that takes a ``merchant_id`` with an association (issue 14) refuses a
merchant that is not one of the association's, with one reason: 422
``merchant_not_in_association``; the association's own merchant is accepted by the same call.
Segments and webhook subscriptions have their own tests (test_segments, test_webhooks);
statistics take one scope (a merchant, or an association), never both, so there is nothing
there to check; exports read saved segments, checked when saved."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests import harness
from tests.conftest import Network, NetworkFactory
from tests.people import call

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
CARDS = harness.url("cards")

# (what, method, url(association, merchant), body(association, merchant) or None)
Url = Callable[[str, str], str]
Body = Callable[[str, str], Any]
ROUTES: list[tuple[str, str, Url, Body | None]] = [
    (
        "crm trigger",
        "PUT",
        lambda a, m: f"{CRM}/v1/triggers/{uuid.uuid4()}",
        lambda a, m: {
            "association_id": a,
            "merchant_id": m,
            "kind": "we_miss_you",
            "channel": "email",
            "params": {"months": 3},
        },
    ),
    (
        "merchant sponsorship programme",
        "PUT",
        lambda a, m: f"{CRM}/v1/associations/{a}/merchants/{m}/sponsorship-programme",
        lambda a, m: {"reward_at": "purchase", "sponsor_amount_cents": 100},
    ),
    (
        "best sponsors at a merchant",
        "GET",
        lambda a, m: (
            f"{CRM}/v1/associations/{a}/sponsors?from=2026-01-01&to=2026-01-31&merchant_id={m}"
        ),
        None,
    ),
    (
        "campaign to an inline segment",
        "PUT",
        lambda a, m: f"{CRM}/v1/campaigns/{uuid.uuid4()}",
        lambda a, m: {
            "association_id": a,
            "template": "quick_news",
            "variables": {"body": "Ouvert dimanche"},
            "segment": {"merchant_id": m, "channel": "email"},
        },
    ),
    (
        "a merchant's saved segments",
        "GET",
        lambda a, m: f"{CRM}/v1/associations/{a}/segments?merchant_id={m}",
        None,
    ),
    (
        "cards status level",
        "PUT",
        lambda a, m: f"{CARDS}/v1/levels/{uuid.uuid4()}",
        lambda a, m: {
            "association_id": a,
            "merchant_id": m,
            "code": "privilege",
            "name": "Privilège",
            "rank": 1,
            "min_visits": 3,
            "taux_client_bps": 600,
        },
    ),
]


@pytest.mark.parametrize(("what", "method", "url", "body"), ROUTES, ids=[r[0] for r in ROUTES])
async def test_a_merchant_outside_the_association_is_refused_with_one_reason(
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    what: str,
    method: str,
    url: Url,
    body: Body | None,
) -> None:
    net: Network = await make_network(merchants=1)
    stranger = await make_network(merchants=1)
    aid = str(net.association_id)

    def ask(merchant: object) -> tuple[str, Any]:
        return url(aid, str(merchant)), body(aid, str(merchant)) if body else None

    for merchant in (stranger.merchants[0], uuid.uuid4()):  # another's, and nobody's
        status, problem = await call(http, method, *ask(merchant))
        assert (status, problem.get("reason")) == (422, "merchant_not_in_association"), (
            what,
            problem,
        )
    status, answer = await call(http, method, *ask(net.merchants[0]))
    assert status in (200, 201), (what, answer)
