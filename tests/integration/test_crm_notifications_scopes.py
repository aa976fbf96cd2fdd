"""crm's and notifications' routes with real scope tokens where the scope is not in the path
(issue 15): a merchant given with a customer must be of the customer's association, a
trigger cannot be taken over by naming one's own merchant, the statistics of a shop are its
merchant's manager's and the network's the operator's, webhooks listed by association or by
merchant. The matrix (test_authorization_matrix.py) covers each route; these, the cases
between."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from shared import clock
from shared.access import Principal, dev_token
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.people import call, customer, new_phone

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
NOTIFICATIONS = harness.url("notifications")


async def as_(
    http: aiohttp.ClientSession, p: Principal, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {dev_token(p)}"}
    async with http.request(method, url, json=body, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_a_merchant_given_with_a_customer_is_of_the_customer_s_association(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    a, b = await make_network(merchants=1), await make_network(merchants=1)
    account = await customer(a, http)
    m, p = str(a.merchants[0]), str(b.merchants[0])
    staff = Principal("staff-a", "staff", a.association_id, a.merchants[0])
    for route, body in (
        ("consents", {"channel": "email"}),
        ("details-link", {}),
        ("sponsorship/code-message", {}),
        ("messages", {"channel": "email", "template": "quick_news"}),
    ):
        url = f"{CRM}/v1/customers/{account}/{route}"
        # Another association's merchant: refused to anyone, the operator too.
        status, problem = await call(http, "POST", url, body | {"merchant_id": p})
        assert (status, problem["reason"]) == (422, "merchant_not_in_association"), route
        status, problem = await as_(http, staff, "POST", url, body | {"merchant_id": p})
        assert (status, problem["reason"]) == (422, "merchant_not_in_association"), route
        status, _ = await as_(http, staff, "POST", url, body | {"merchant_id": m})
        assert status in (201, 202, 409), (route, status)  # 409: no consent for a message
    # B's people do not reach A's customer, whatever merchant they name.
    other = Principal("staff-b", "staff", b.association_id, b.merchants[0])
    status, problem = await as_(
        http, other, "POST", f"{CRM}/v1/customers/{account}/consents", {"channel": "sms"}
    )
    assert (status, problem["reason"]) == (403, "out_of_scope")


async def test_a_trigger_is_changed_only_by_who_reaches_it_before_and_after(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    m, n = net.merchants
    trigger_id = uuid.uuid4()
    url = f"{CRM}/v1/triggers/{trigger_id}"

    def trigger(merchant: uuid.UUID | None) -> dict[str, Any]:
        return {
            "association_id": str(net.association_id),
            "merchant_id": None if merchant is None else str(merchant),
            "kind": "we_miss_you",
            "channel": "email",
            "params": {"months": 3},
        }

    manager_m = Principal("manager-m", "manager", net.association_id, m)
    manager_n = Principal("manager-n", "manager", net.association_id, n)
    admin = Principal("admin", "association_admin", net.association_id)
    assert (await as_(http, manager_n, "PUT", url, trigger(n)))[0] == 200
    # M's manager cannot take N's trigger by naming M, nor make it the association's.
    for body in (trigger(m), trigger(None)):
        status, problem = await as_(http, manager_m, "PUT", url, body)
        assert (status, problem["reason"]) == (403, "out_of_scope")
    # The association's list is its admin's, not a manager's.
    listed = f"{CRM}/v1/associations/{net.association_id}/triggers"
    assert (await as_(http, manager_n, "GET", listed))[0] == 403
    status, found = await as_(http, admin, "GET", listed)
    assert status == 200 and [t["merchant_id"] for t in found["triggers"]] == [str(n)]


async def test_statistics_of_a_shop_are_its_merchant_s_and_the_network_s_the_operator_s(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    m, n = net.merchants
    phone = new_phone()
    assert (await net.terminals[0].enrol(phone)).status == 201
    assert (await net.terminals[0].sale(phone, 1_000)).status == 201
    today = clock.today_paris()
    period = f"from={(today - timedelta(days=7)).isoformat()}&to={today.isoformat()}"
    shop = f"{CRM}/v1/statistics?{period}&shop_id={m}"  # the tests' shop is its merchant's id

    async def counted() -> bool:
        status, body = await call(http, "GET", shop)
        return status == 200 and body["figures"]["sales"] > 0

    await eventually(counted, what="the shop's sale counted")
    manager_m = Principal("manager-m", "manager", net.association_id, m)
    manager_n = Principal("manager-n", "manager", net.association_id, n)
    admin = Principal("admin", "association_admin", net.association_id)
    assert (await as_(http, manager_m, "GET", shop))[0] == 200
    assert (await as_(http, manager_n, "GET", shop))[0] == 403
    assert (await as_(http, admin, "GET", shop))[0] == 200
    # The network's figures: the operator's; the association's: its admin's, not a manager's.
    assert (await as_(http, admin, "GET", f"{CRM}/v1/statistics?{period}"))[0] == 403
    association = f"{CRM}/v1/statistics?{period}&association_id={net.association_id}"
    assert (await as_(http, admin, "GET", association))[0] == 200
    assert (await as_(http, manager_m, "GET", association))[0] == 403


async def test_webhooks_are_listed_by_association_or_by_merchant(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    m, n = net.merchants
    manager_m = Principal("manager-m", "manager", net.association_id, m)
    admin = Principal("admin", "association_admin", net.association_id)

    def subscription(merchant: uuid.UUID | None) -> dict[str, Any]:
        return {
            "association_id": str(net.association_id),
            "merchant_id": None if merchant is None else str(merchant),
            "url": "http://127.0.0.1:9/scopes",
            "event_types": ["sale.booked"],
        }

    subs = f"{NOTIFICATIONS}/v1/webhook-subscriptions"
    status, made = await as_(http, admin, "POST", subs, subscription(None))
    assert status == 201
    assert (await as_(http, manager_m, "POST", subs, subscription(None)))[0] == 403
    assert (await as_(http, manager_m, "POST", subs, subscription(n)))[0] == 403
    status, own = await as_(http, manager_m, "POST", subs, subscription(m))
    assert status == 201
    listed = f"{subs}?association_id={net.association_id}"
    assert (await as_(http, manager_m, "GET", listed))[0] == 403
    status, found = await as_(http, manager_m, "GET", f"{listed}&merchant_id={m}")
    assert status == 200 and [s["id"] for s in found] == [own["id"]]
    status, found = await as_(http, admin, "GET", listed)
    assert status == 200 and {s["id"] for s in found} == {own["id"], made["id"]}
    # The association's subscription, by its id: not a manager's.
    status, problem = await as_(http, manager_m, "DELETE", f"{subs}/{made['id']}")
    assert (status, problem["reason"]) == (403, "out_of_scope")
