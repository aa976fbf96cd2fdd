"""A sale and a redemption through the gateway, seen in the three books, with the five
services running as separate processes over the real broker and database."""

from __future__ import annotations

import json
import signal
import uuid
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock, signing
from tests import harness
from tests.bookkeeping import assert_exactly_once
from tests.conftest import NetworkFactory, eventually

pytestmark = pytest.mark.e2e


async def test_a_sale_at_one_merchant_and_a_redemption_at_another_reach_the_three_books(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    # A restaurant at 5 % and a bakery on the network rate of 3 %; the operator takes 0.5 %.
    net = await make_network(
        merchants=2,
        rate_mode="merchant",
        taux_client_bps=300,
        taux_uc_bps=50,
        merchant_rates=[500, None],
    )
    restaurant, bakery = net.terminals

    sale = await restaurant.sale("06 12 34 56 78", 2460, product_family="menu")
    # 24.60 € × 5 % = 1.23 €; fee 24.60 € × 0.5 % = 0.123 → 0.12 €
    assert sale.status == 201, sale
    assert (sale.body["reward_cents"], sale.body["balance_cents"], sale.body["account_opened"]) == (
        123,
        123,
        True,
    )
    account = sale.body["account_id"]

    second = await bakery.sale("+33612345678", 1219)  # 12.19 € × 3 % = 0.3657 → 0.37 €
    assert (second.status, second.body["reward_cents"], second.body["balance_cents"]) == (
        201,
        37,
        160,
    )
    assert second.body["account_id"] == account and not second.body["account_opened"]

    redeem = await bakery.redeem("0612345678", 150)
    assert redeem.status == 201, redeem
    assert (redeem.body["amount_cents"], redeem.body["balance_cents"]) == (150, 10)

    # cards: the cagnotte
    r = await net.admin.call("GET", f"{harness.url('cards')}/v1/accounts/{account}")
    assert r.body["balance_cents"] == 10
    assert [
        (e["kind"], e["amount_cents"], e["balance_after_cents"]) for e in r.body["entries"]
    ] == [("decagnottage", -150, 10), ("cagnottage", 37, 160), ("cagnottage", 123, 123)]

    # clearing: restaurant owes 1.23 + 0.12; bakery owes 0.37 + 0.06 and is owed 1.50
    async def booked() -> bool:
        r = await net.admin.call(
            "GET", f"{harness.url('clearing')}/v1/associations/{net.association_id}/balances"
        )
        return r.status == 200 and sum(a["postings"] for a in r.body["accounts"]) == 8

    await eventually(booked, what="clearing entries")
    r = await net.admin.call(
        "GET", f"{harness.url('clearing')}/v1/associations/{net.association_id}/balances"
    )
    by_account = {(a["kind"], a["merchant_id"]): a["balance_cents"] for a in r.body["accounts"]}
    assert by_account == {
        ("merchant", str(net.merchants[0])): 135,
        ("merchant", str(net.merchants[1])): 43 - 150,
        ("customer_liability", None): -10,
        ("operator_fees", None): -18,
    }
    assert (r.body["customer_liability_cents"], r.body["net_cents"]) == (10, 0)

    # crm: two visits, 36.79 € spent, one per merchant
    async def visited() -> bool:
        r = await net.admin.call("GET", f"{harness.url('crm')}/v1/customers/{account}")
        return r.status == 200 and r.body["visit_count"] == 2 and r.body.get("phone") is not None

    await eventually(visited, what="crm visits")
    r = await net.admin.call("GET", f"{harness.url('crm')}/v1/customers/{account}")
    assert (r.body["total_spent_cents"], r.body["phone"], len(r.body["merchants"])) == (
        3679,
        "+33612345678",
        2,
    )

    await assert_exactly_once(
        db,
        net.association_id,
        [uuid.UUID(sale.body["sale_id"]), uuid.UUID(second.body["sale_id"])],
        [uuid.UUID(redeem.body["redemption_id"])],
    )


async def test_network_mode_gives_every_merchant_the_network_rate(
    make_network: NetworkFactory,
) -> None:
    net = await make_network(
        merchants=2, rate_mode="network", taux_client_bps=250, merchant_rates=[500, None]
    )
    a = await net.terminals[0].sale("0611111111", 10_000)
    b = await net.terminals[1].sale("0611111111", 10_000)
    assert (a.body["reward_cents"], b.body["reward_cents"], b.body["balance_cents"]) == (
        250,
        250,
        500,
    )


async def test_a_redemption_above_the_balance_is_refused_and_changes_nothing(
    make_network: NetworkFactory,
) -> None:
    net = await make_network()
    await net.terminals[0].sale("0622222222", 1000)  # 30 cents at 3 %
    r = await net.terminals[1].redeem("0622222222", 31)
    assert r.status == 422
    assert (r.body["reason"], r.body["available_cents"], r.body["type"]) == (
        "insufficient_balance",
        30,
        "https://comptoir.dev/problems/insufficient-balance",
    )
    unknown = await net.terminals[1].redeem("0699999990", 1)
    assert (unknown.status, unknown.body["reason"]) == (422, "unknown_account")
    ok = await net.terminals[1].redeem("0622222222", 30)
    assert (ok.status, ok.body["balance_cents"]) == (201, 0)


async def test_enrolment_at_the_till_then_a_second_enrolment_is_answered_with_the_account(
    make_network: NetworkFactory,
) -> None:
    net = await make_network()
    first = await net.terminals[0].enrol(
        "07 00 00 00 01", first_name="Ana", email="ana@example.org"
    )
    assert first.status == 201, first
    again = await net.terminals[1].enrol("+33700000001")
    assert (again.status, again.body["reason"], again.body["account_id"]) == (
        409,
        "already_enrolled",
        first.body["account_id"],
    )
    sale = await net.terminals[1].sale("0700000001", 500)
    assert sale.body["account_id"] == first.body["account_id"] and not sale.body["account_opened"]


async def test_a_retry_with_the_same_sale_id_gets_the_same_answer_and_books_once(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network()
    t = net.terminals[0]
    sale_id = str(uuid.uuid4())
    first = await t.sale("0633333333", 5000, sale_id=sale_id)
    retry = await t.sale("0633333333", 5000, sale_id=sale_id)  # new nonce, same sale
    assert first.status == retry.status == 201 and first.body == retry.body
    other = await t.sale("0633333333", 9999, sale_id=sale_id)
    assert (other.status, other.body["type"]) == (409, "https://comptoir.dev/problems/id-conflict")
    await assert_exactly_once(db, net.association_id, [uuid.UUID(sale_id)])


async def _raw_post(
    http: aiohttp.ClientSession, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(harness.url("terminals") + path, data=body, headers=headers) as r:
        assert r.headers["Content-Type"].startswith("application/problem+json") or r.status < 300
        return r.status, json.loads(await r.read())


async def test_bad_requests_get_problem_json_and_book_nothing(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network()
    t = net.terminals[0]
    body = json.dumps(
        {"sale_id": str(uuid.uuid4()), "customer": {"phone": "0644444444"}, "amount_cents": 100}
    ).encode()
    good = signing.headers(t.terminal_id, t.secret, "POST", "/v1/sales", body)

    status, p = await _raw_post(http, "/v1/sales", body, {})
    assert (status, p["title"]) == (401, "Unsigned request")
    status, p = await _raw_post(http, "/v1/sales", body, {**good, signing.SIGNATURE: "0" * 64})
    assert (status, p["title"]) == (401, "Bad signature")
    status, p = await _raw_post(http, "/v1/sales", body + b" ", good)  # body changed after signing
    assert (status, p["title"]) == (401, "Bad signature")
    status, p = await _raw_post(
        http, "/v1/sales", body, {**good, signing.TERMINAL: str(uuid.uuid4())}
    )
    assert (status, p["title"]) == (401, "Unknown terminal")
    stale_ts = str(int(clock.now().timestamp()) - 3600)
    stale = {
        **good,
        signing.TIMESTAMP: stale_ts,
        signing.SIGNATURE: signing.sign(
            t.secret, "POST", "/v1/sales", stale_ts, good[signing.NONCE], body
        ),
    }
    status, p = await _raw_post(http, "/v1/sales", body, stale)
    assert (status, p["title"]) == (401, "Stale request")

    status, p = await _raw_post(http, "/v1/sales", body, good)
    assert status == 201
    status, p = await _raw_post(http, "/v1/sales", body, good)  # the very same request again
    assert (status, p["type"]) == (409, "https://comptoir.dev/problems/replay")

    for payload, field in [
        ({"sale_id": "x", "customer": {"phone": "0644444444"}, "amount_cents": 100}, "sale_id"),
        (
            {"sale_id": str(uuid.uuid4()), "customer": {"phone": "12"}, "amount_cents": 100},
            "customer.phone",
        ),
        (
            {"sale_id": str(uuid.uuid4()), "customer": {"phone": "0644444444"}, "amount_cents": 0},
            "amount_cents",
        ),
        (
            {
                "sale_id": str(uuid.uuid4()),
                "customer": {"phone": "0644444444"},
                "amount_cents": 1.5,
            },
            "amount_cents",
        ),
        (
            {
                "sale_id": str(uuid.uuid4()),
                "customer": {"phone": "0644444444"},
                "amount_cents": 100,
                "tip": 1,
            },
            "tip",
        ),
    ]:
        r = await t.request("POST", "/v1/sales", payload)
        assert r.status == 422 and r.body["title"] == "Invalid request body", r
        assert field in [e["field"] for e in r.body["errors"]], r.body
    r = await t.request("POST", "/v1/sales", None)
    assert r.status == 422


async def test_every_service_serves_health_ready_and_metrics(
    http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network()
    await net.terminals[0].sale("0655555555", 100)
    for name in harness.SERVICES:
        async with http.get(harness.url(name) + "/health") as r:
            assert r.status == 200
        async with http.get(harness.url(name) + "/ready") as r:
            assert (r.status, (await r.json())["checks"]) == (
                200,
                {"database": "ok", "broker": "ok", "migrations": "ok"},
            )
        async with http.get(harness.url(name) + "/metrics") as r:
            text = await r.text()
            assert "comptoir_outbox_backlog" in text and "comptoir_http_requests_total" in text
    async with http.get(harness.url("cards") + "/metrics") as r:
        assert (
            'comptoir_events_handled_total{outcome="processed",service="cards",type="comptoir.sale.recorded.v1"}'
            in await r.text()
        )
    async with http.get(harness.url("terminals") + "/metrics") as r:
        assert 'route="/v1/sales",service="terminals",status="201"' in await r.text()


async def test_back_office_endpoints_need_the_admin_token(http: aiohttp.ClientSession) -> None:
    async with http.get(harness.url("clearing") + f"/v1/associations/{uuid.uuid4()}/balances") as r:
        assert r.status == 401 and r.content_type == "application/problem+json"
    async with http.put(
        harness.url("terminals") + f"/v1/terminals/{uuid.uuid4()}",
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"},
        data=b"{}",
    ) as r:
        body = await r.json(content_type=None)
        assert r.status == 422 and {e["field"] for e in body["errors"]} >= {
            "association_id",
            "merchant_id",
        }


async def test_a_correlation_id_follows_a_sale_across_the_services(
    make_network: NetworkFactory, services: harness.Services
) -> None:
    net = await make_network()
    corr = f"corr-{uuid.uuid4()}"
    r = await net.terminals[0].request(
        "POST",
        "/v1/sales",
        {"sale_id": str(uuid.uuid4()), "customer": {"phone": "0666666666"}, "amount_cents": 100},
        headers={"X-Correlation-Id": corr},
    )
    assert r.status == 201

    async def everywhere() -> bool:
        return all(
            corr in (services.logs / f"{s}.log").read_text()
            for s in ("terminals", "cards", "clearing", "crm")
        )

    await eventually(everywhere, timeout=10, what=f"{corr} in every service's log")


async def test_sigterm_stops_a_service_cleanly(services: harness.Services) -> None:
    assert services.kill("notifications", signal.SIGTERM) == 0
    log = services.tail("notifications", 5)
    assert '"event":"service_stopped"' in log
    services.start("notifications")
    await services.wait_ready("notifications")
