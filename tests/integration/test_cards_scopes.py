"""The cards routes with real scope tokens where the scope is not in the path (issue 15): a
route keyed by a card reads the card's association and account first; a listing across the
network is the operator's unless filtered by an association; an upsert cannot take over
another association's resource by naming it; a merchant's promotion is its manager's, a
network-wide one the association's. The matrix (test_authorization_matrix.py) covers every
route; these show the tricky cases one by one."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from shared import clock
from shared.access import Principal, dev_token
from shared.client import AdminClient, Reply
from shared.rules.codes import card_number
from tests import harness
from tests.conftest import Network, NetworkFactory

pytestmark = pytest.mark.timeout(120)
CARDS = harness.url("cards")


def _as(http: aiohttp.ClientSession, p: Principal) -> AdminClient:
    return AdminClient(http, dev_token(p))


def _refused(r: Reply) -> bool:
    return r.status == 403 and r.body["reason"] == "out_of_scope"


async def _card(net: Network) -> dict[str, Any]:
    """A card on a new account of the network (its association given an issuer prefix)."""
    aid = net.association_id
    body = {"name": f"scopes {aid}", "rate_mode": "merchant", "taux_client_bps": 300}
    while True:
        prefix = f"{600000 + secrets.randbelow(300000)}"
        r = await net.admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{aid}",
            body | {"taux_uc_bps": 50, "issuer_prefix": prefix},
        )
        if r.status != 409:
            break
    assert r.status == 200, r
    r = await net.admin.call(
        "POST", f"{CARDS}/v1/associations/{aid}/cards", {"issue_id": str(uuid.uuid4())}
    )
    assert r.status == 201, r
    card: dict[str, Any] = r.body
    return card


async def test_a_card_is_reached_by_its_holder_and_its_network_s_front_desks_only(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    a, b = await make_network(merchants=2), await make_network(merchants=1)
    card = await _card(a)
    aid, number, account = a.association_id, card["number"], uuid.UUID(card["account_id"])
    url = f"{CARDS}/v1/cards/{number}"

    holder = Principal("holder", "cardholder", aid, account_id=account)
    someone_else = Principal("other", "cardholder", aid, account_id=uuid.uuid4())
    other_shop = Principal("staff", "staff", aid, a.merchants[1])
    elsewhere = Principal("staff-b", "staff", b.association_id, b.merchants[0])
    for p in (holder, other_shop):  # any front desk of the network: the customer shops anywhere
        r = await _as(http, p).call("GET", url)
        assert (r.status, r.body["number"]) == (200, number), (p, r)
    for p in (someone_else, elsewhere):
        assert _refused(await _as(http, p).call("GET", url)), p
    # An unknown card is nobody's but the operator's, who alone learns it does not exist.
    unknown = f"{CARDS}/v1/cards/{card_number('999042', secrets.randbelow(10**9))}"
    assert _refused(await _as(http, other_shop).call("GET", unknown))
    r = await a.admin.call("GET", unknown)
    assert r.status == 404, r
    # Renewing a subscription is the association's, not the holder's.
    renewal = {"expires_on": (clock.today_paris() + timedelta(days=400)).isoformat()}
    assert _refused(await _as(http, holder).call("POST", url + "/renewal", renewal))
    admin = Principal("admin", "association_admin", aid)
    r = await _as(http, admin).call("POST", url + "/renewal", renewal)
    assert r.status == 200, r


@pytest.mark.parametrize(
    "path", ["/v1/card-transactions/reconciliation?settle_s=0", "/v1/card-anomalies?limit=5"]
)
async def test_a_network_wide_listing_is_the_operator_s_unless_filtered_by_association(
    make_network: NetworkFactory, http: aiohttp.ClientSession, path: str
) -> None:
    a, b = await make_network(merchants=1), await make_network(merchants=1)
    admin = _as(http, Principal("treasurer", "association_admin", a.association_id))
    url = f"{CARDS}{path}"

    assert _refused(await admin.call("GET", url))
    r = await admin.call("GET", f"{url}&association_id={a.association_id}")
    assert r.status == 200, r
    assert _refused(await admin.call("GET", f"{url}&association_id={b.association_id}"))
    r = await a.admin.call("GET", url)  # the operator: every association
    assert r.status == 200, r


async def test_an_upsert_cannot_take_over_another_association_s_resource(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    a, b = await make_network(merchants=1), await make_network(merchants=1)
    assoc = await a.admin.call("GET", f"{CARDS}/v1/associations/{a.association_id}")
    card_type = assoc.body["default_card_type_id"]
    body = {"name": "taken", "kind": "gift"}
    b_admin = _as(http, Principal("b", "association_admin", b.association_id))
    r = await b_admin.call(
        "PUT", f"{CARDS}/v1/associations/{b.association_id}/card-types/{card_type}", body
    )
    assert _refused(r), r
    # Nor a merchant of A re-admitted into B by B's administrator.
    r = await b_admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{b.association_id}/merchants/{a.merchants[0]}",
        {"name": "taken"},
    )
    assert _refused(r), r


async def test_a_merchant_s_promotion_is_its_manager_s_and_a_network_wide_one_the_association_s(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    a = await make_network(merchants=2)
    aid, (m, n) = a.association_id, a.merchants
    manager = _as(http, Principal("manager", "manager", aid, m))
    admin = _as(http, Principal("admin", "association_admin", aid))
    starts = clock.now() + timedelta(days=1)

    def promotion(merchant: uuid.UUID | None) -> dict[str, Any]:
        return {
            "name": "double",
            "merchant_id": None if merchant is None else str(merchant),
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(days=7)).isoformat(),
            "multiplier": {"numerator": 2},
        }

    def url(pid: uuid.UUID) -> str:
        return f"{CARDS}/v1/associations/{aid}/promotions/{pid}"

    own = uuid.uuid4()
    assert (await manager.call("PUT", url(own), promotion(m))).status == 201
    assert _refused(await manager.call("PUT", url(uuid.uuid4()), promotion(n)))
    assert _refused(await manager.call("PUT", url(uuid.uuid4()), promotion(None)))
    # Its own promotion cannot be turned into the network's, nor withdrawn by another shop.
    assert _refused(await manager.call("PUT", url(own), promotion(None)))
    other_manager = _as(http, Principal("manager-n", "manager", aid, n))
    assert _refused(await other_manager.call("DELETE", url(own)))
    network_wide = uuid.uuid4()
    assert (await admin.call("PUT", url(network_wide), promotion(None))).status == 201
    assert _refused(await manager.call("DELETE", url(network_wide)))
    r = await manager.call("DELETE", url(own))
    assert r.status == 200 and r.body["withdrawn_at"] is not None, r
