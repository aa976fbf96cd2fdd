"""crm's back-office routes in the authorisation matrix (tests/authz/matrix.py): the customer
file and its consents, messages and rights (HOLDER), the merchants' files (STAFF, MANAGER),
the triggers, segments and campaigns of an association (ASSOCIATION) or a merchant (MANAGER),
sponsorship and the statistics.

``prepare`` waits for crm to know the world's customers and makes, in each target, a consent,
a merchant's trigger, segment and campaign. The routes that delete or erase come last: the
rows before them find their resources."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import aiohttp

from shared import clock
from shared.access import Need
from tests import harness
from tests.authz.matrix import Request, Row, Target, World, association_only, merchant_only
from tests.conftest import eventually

ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
# The suite's services run on the usual clock when the matrix runs (calendar tests come last).
TODAY = clock.today_paris()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
PERIOD = {"from": (TODAY - timedelta(days=30)).isoformat(), "to": TODAY.isoformat()}
CODE = "ABCD-EFGH"  # well formed, held by nobody


async def _admin(http: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> Any:
    async with http.request(method, harness.url("crm") + path, json=body, headers=ADMIN) as r:
        assert r.status < 300, (method, path, r.status, await r.text())
        return await r.json()


async def prepare(world: World, http: aiohttp.ClientSession) -> None:
    for t in world.targets:

        async def known(t: Target = t) -> bool:
            async with http.get(
                f"{harness.url('crm')}/v1/customers/{t.account_id}", headers=ADMIN
            ) as r:
                return r.status == 200

        await eventually(known, what=f"crm knows {t.label}'s customer")
        consent = await _admin(
            http, "POST", f"/v1/customers/{t.account_id}/consents", {"channel": "sms"}
        )
        t.ids["consent"] = consent["id"]
        t.ids["trigger"] = str(uuid.uuid4())
        await _admin(http, "PUT", f"/v1/triggers/{t.ids['trigger']}", _trigger(t))
        t.ids["segment"] = str(uuid.uuid4())
        await _admin(http, "PUT", _segment_path(t), _segment(t))
        t.ids["campaign"] = str(uuid.uuid4())
        await _admin(http, "PUT", f"/v1/campaigns/{t.ids['campaign']}", _campaign(t))


def _trigger(t: Target) -> dict[str, Any]:
    return {
        "association_id": str(t.association_id),
        "merchant_id": str(t.merchant_id),
        "kind": "we_miss_you",
        "channel": "email",
        "params": {"months": 6},
    }


def _segment_path(t: Target) -> str:
    return f"/v1/associations/{t.association_id}/segments/{t.ids['segment']}"


def _segment(t: Target) -> dict[str, Any]:
    return {"name": "matrix", "merchant_id": str(t.merchant_id), "filters": {"min_visits": 1}}


def _campaign(t: Target) -> dict[str, Any]:
    return {
        "association_id": str(t.association_id),
        "template": "quick_news",
        "variables": {"body": "matrix"},
        "segment": {"merchant_id": str(t.merchant_id), "channel": "email"},
    }


def _customer(suffix: str = "") -> Any:
    return lambda t: f"/v1/customers/{t.account_id}{suffix}"


def _get(path: Any, query: Any = None) -> Any:
    return lambda t: Request(path(t), query=query(t) if query else {})


def _with(path: Any, body: Any) -> Any:
    return lambda t: Request(path(t), body=body(t) if callable(body) else body)


def _merchant(t: Target) -> dict[str, str]:
    return {"merchant_id": str(t.merchant_id)}


def _association(suffix: str) -> Any:
    return lambda t: f"/v1/associations/{t.association_id}{suffix}"


def _stats(t: Target) -> dict[str, str]:
    return PERIOD | _merchant(t)


H, S, M, A, N = (
    Need.HOLDER,
    Need.STAFF,
    Need.MANAGER,
    Need.ASSOCIATION,
    Need.NETWORK,
)
C = "/v1/customers/{account_id}"
SEG = "/v1/associations/{association_id}/segments/{segment_id}"

ROWS: list[Row] = [
    # The customer file, its consents and messages: the holder, or the network's people.
    Row("GET", C, H, _get(_customer())),
    Row("PATCH", C, H, _with(_customer(), {"first_name": "Matrix"})),
    Row("POST", C + "/details-link", H, _with(_customer("/details-link"), _merchant)),
    Row(
        "POST",
        C + "/consents",
        H,
        _with(_customer("/consents"), lambda t: {"channel": "sms"} | _merchant(t)),
    ),
    Row("GET", C + "/consents", H, _get(_customer("/consents"))),
    Row(
        "POST",
        C + "/consents/{consent_id}/code",
        H,
        lambda t: Request(
            f"/v1/customers/{t.account_id}/consents/{t.ids['consent']}/code", {"code": "000000"}
        ),
    ),
    Row(
        "POST",
        C + "/messages",
        H,
        _with(
            _customer("/messages"),
            lambda t: {"channel": "email", "template": "quick_news"} | _merchant(t),
        ),
    ),
    Row("GET", C + "/messages", H, _get(_customer("/messages"))),
    # A customer's message to a shop of their network, and the shop's inbox (its people).
    Row(
        "PUT",
        C + "/shop-messages/{message_id}",
        H,
        lambda t: Request(
            f"/v1/customers/{t.account_id}/shop-messages/{uuid.uuid4()}",
            {"body": "Matrix message"} | _merchant(t),
        ),
    ),
    Row("GET", C + "/shop-messages", H, _get(_customer("/shop-messages"))),
    Row(
        "GET",
        "/v1/merchants/{merchant_id}/shop-messages",
        S,
        lambda t: Request(f"/v1/merchants/{t.merchant_id}/shop-messages"),
        merchant_only,
    ),
    Row("GET", C + "/personal-data", H, _get(_customer("/personal-data"))),
    Row("GET", C + "/personal-data.csv", H, _get(_customer("/personal-data.csv"))),
    Row("GET", C + "/levels", H, _get(_customer("/levels"))),
    Row("PUT", C + "/receipts", H, _with(_customer("/receipts"), {"wanted": True})),
    Row("GET", C + "/sponsorship", H, _get(_customer("/sponsorship"))),
    Row(
        "POST",
        C + "/sponsor",
        H,
        _with(_customer("/sponsor"), lambda t: {"referral_code": CODE} | _merchant(t)),
    ),
    Row(
        "POST",
        C + "/sponsorship/code-message",
        H,
        _with(_customer("/sponsorship/code-message"), _merchant),
    ),
    # The front desk finds a customer of the network by name (not a cardholder: no account).
    Row(
        "GET",
        "/v1/associations/{association_id}/customers",
        H,
        _get(_association("/customers"), lambda _t: {"name": "Camille"}),
        association_only,
    ),
    # ... and names the accounts a dashboard shows among the best customers
    Row(
        "POST",
        "/v1/associations/{association_id}/customers/names",
        H,
        _with(_association("/customers/names"), lambda t: {"account_ids": [str(t.account_id)]}),
        association_only,
    ),
    # The merchants' files: the front desk finds and adds a member, the manager reads the file.
    Row(
        "POST",
        "/v1/merchants/{merchant_id}/customers",
        S,
        lambda t: Request(
            f"/v1/merchants/{t.merchant_id}/customers",
            {"account_id": str(t.account_id), "channels": ["email"]},
        ),
    ),
    Row(
        "GET",
        "/v1/merchants/{merchant_id}/customers/{account_id}",
        S,
        lambda t: Request(f"/v1/merchants/{t.merchant_id}/customers/{t.account_id}"),
    ),
    Row(
        "GET",
        "/v1/merchants/{merchant_id}/customers",
        M,
        lambda t: Request(f"/v1/merchants/{t.merchant_id}/customers"),
        merchant_only,
    ),
    # Triggers: a merchant's (MANAGER), the association's list and cap (ASSOCIATION).
    Row(
        "PUT",
        "/v1/triggers/{trigger_id}",
        M,
        lambda t: Request(f"/v1/triggers/{t.ids['trigger']}", _trigger(t)),
        merchant_only,
    ),
    Row(
        "POST",
        "/v1/triggers/{trigger_id}/days/{day}",
        M,
        lambda t: Request(f"/v1/triggers/{t.ids['trigger']}/days/{YESTERDAY}"),
        merchant_only,
    ),
    Row(
        "GET",
        "/v1/associations/{association_id}/triggers",
        A,
        _get(_association("/triggers")),
        association_only,
    ),
    Row(
        "PUT",
        "/v1/associations/{association_id}/marketing-cap",
        A,
        _with(_association("/marketing-cap"), {"max_messages": 10, "per_days": 30}),
        association_only,
    ),
    # Segments of a merchant's file (MANAGER).
    Row(
        "POST",
        "/v1/associations/{association_id}/segments/size",
        M,
        _with(_association("/segments/size"), _merchant),
        merchant_only,
    ),
    Row("PUT", SEG, M, lambda t: Request(_segment_path(t), _segment(t)), merchant_only),
    Row("GET", SEG, M, lambda t: Request(_segment_path(t)), merchant_only),
    Row(
        "GET",
        "/v1/associations/{association_id}/segments",
        M,
        _get(_association("/segments"), _merchant),
        merchant_only,
    ),
    Row("GET", SEG + "/size", M, lambda t: Request(_segment_path(t) + "/size"), merchant_only),
    Row(
        "GET",
        SEG + "/customers.csv",
        M,
        lambda t: Request(_segment_path(t) + "/customers.csv"),
        merchant_only,
    ),
    Row(
        "GET",
        SEG + "/customers.xlsx",
        M,
        lambda t: Request(_segment_path(t) + "/customers.xlsx"),
        merchant_only,
    ),
    # Campaigns to a merchant's file (MANAGER).
    Row(
        "PUT",
        "/v1/campaigns/{campaign_id}",
        M,
        lambda t: Request(f"/v1/campaigns/{t.ids['campaign']}", _campaign(t)),
        merchant_only,
    ),
    Row(
        "GET",
        "/v1/campaigns/{campaign_id}",
        M,
        lambda t: Request(f"/v1/campaigns/{t.ids['campaign']}"),
        merchant_only,
    ),
    Row(
        "POST",
        "/v1/campaigns/{campaign_id}/days/{day}",
        M,
        lambda t: Request(f"/v1/campaigns/{t.ids['campaign']}/days/{YESTERDAY}"),
        merchant_only,
    ),
    Row(
        "PUT",
        "/v1/campaigns/{campaign_id}/send-at",
        M,
        lambda t: Request(
            f"/v1/campaigns/{t.ids['campaign']}/send-at",
            {"send_at": (clock.now() + timedelta(days=2)).isoformat()},
        ),
        merchant_only,
    ),
    Row(
        "POST",
        "/v1/campaigns/{campaign_id}/cancel",
        M,
        lambda t: Request(f"/v1/campaigns/{t.ids['campaign']}/cancel"),
        merchant_only,
    ),
    Row(
        "POST",
        "/v1/campaigns/{campaign_id}/send",
        M,
        lambda t: Request(f"/v1/campaigns/{t.ids['campaign']}/send"),
        merchant_only,
    ),
    # Sponsorship: the network's code check and programmes (NETWORK), the association's
    # programme and figures (ASSOCIATION), a merchant's programme (MANAGER).
    Row(
        "GET",
        "/v1/associations/{association_id}/referral-codes/{code}",
        N,
        _get(_association(f"/referral-codes/{CODE}")),
        association_only,
    ),
    Row(
        "PUT",
        "/v1/associations/{association_id}/sponsorship-programme",
        A,
        _with(_association("/sponsorship-programme"), {"reward_at": "enrolment"}),
        association_only,
    ),
    Row(
        "PUT",
        "/v1/associations/{association_id}/merchants/{merchant_id}/sponsorship-programme",
        M,
        lambda t: Request(
            f"/v1/associations/{t.association_id}/merchants/{t.merchant_id}/sponsorship-programme",
            {"reward_at": "enrolment"},
        ),
        merchant_only,
    ),
    Row(
        "GET",
        "/v1/associations/{association_id}/sponsorship-programmes",
        N,
        _get(_association("/sponsorship-programmes")),
        association_only,
    ),
    Row(
        "GET",
        "/v1/associations/{association_id}/sponsors",
        A,
        _get(_association("/sponsors"), lambda _t: PERIOD),
        association_only,
    ),
    # A merchant's statistics (MANAGER).
    Row("GET", "/v1/statistics", M, _get(lambda _t: "/v1/statistics", _stats), merchant_only),
    Row(
        "GET",
        "/v1/statistics/{figure}.csv",
        M,
        _get(lambda _t: "/v1/statistics/sales.csv", _stats),
        merchant_only,
    ),
    Row(
        "GET",
        "/v1/statistics/{figure}.xlsx",
        M,
        _get(lambda _t: "/v1/statistics/customers.xlsx", _stats),
        merchant_only,
    ),
    # Last: what deletes or erases.
    Row("DELETE", SEG, M, lambda t: Request(_segment_path(t)), merchant_only),
    Row(
        "DELETE",
        C + "/consents/{consent_id}",
        H,
        lambda t: Request(f"/v1/customers/{t.account_id}/consents/{t.ids['consent']}"),
    ),
    Row("POST", C + "/erasure", H, _get(_customer("/erasure"))),
]
