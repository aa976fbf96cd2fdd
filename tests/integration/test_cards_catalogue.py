"""The cards service's catalogue and rules API against the running service: associations and
their defaults, merchants, product families, programs and their life cycle, promotions, card
types with their rates and acceptances, and the dry run of a sale, with the numbers worked by
hand."""

from __future__ import annotations

import random
import uuid
from typing import Any

import aiohttp
import orjson
import pytest

from shared.client import AdminClient
from shared.http import PROBLEM
from tests import harness

pytestmark = pytest.mark.e2e


def cards(path: str) -> str:
    return harness.url("cards") + path


@pytest.fixture
def admin(services: harness.Services, http: aiohttp.ClientSession) -> AdminClient:
    return AdminClient(http, harness.ADMIN_TOKEN)


async def call(admin: AdminClient, method: str, path: str, payload: Any = None) -> Any:
    """A call expected to succeed (200 or 201): its body."""
    r = await admin.call(method, cards(path), payload)
    assert r.status in (200, 201), (method, path, r)
    return r.body


async def problem(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    payload: Any = None,
    token: str | None = harness.ADMIN_TOKEN,
) -> tuple[int, dict[str, Any]]:
    """A call expected to fail: its status and problem+json body (checked as such)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if payload is None else orjson.dumps(payload)
    async with http.request(method, cards(path), data=data, headers=headers) as r:
        raw = await r.read()
        assert r.status >= 400, (method, path, r.status, raw)
        assert r.content_type == PROBLEM, (r.status, r.content_type, raw)
        body = orjson.loads(raw)
        assert body["status"] == r.status and body["title"], body
        return r.status, body


async def new_association(admin: AdminClient, **fields: Any) -> uuid.UUID:
    aid = uuid.uuid4()
    body = {
        "name": f"association {aid}",
        "rate_mode": "family",
        "taux_client_bps": 250,
        "taux_uc_bps": 50,
        **fields,
    }
    r = await admin.call("PUT", cards(f"/v1/associations/{aid}"), body)
    assert r.status == 201, r
    return aid


async def new_merchant(admin: AdminClient, aid: uuid.UUID, **fields: Any) -> uuid.UUID:
    mid = uuid.uuid4()
    r = await admin.call(
        "PUT",
        cards(f"/v1/associations/{aid}/merchants/{mid}"),
        {"name": f"merchant {mid}", **fields},
    )
    assert r.status == 201, r
    return mid


def free_prefix() -> str:
    return f"{random.randrange(10**6):06d}"


# --- associations ----------------------------------------------------------------------------


async def test_a_new_association_gets_its_default_program_and_card_type(
    admin: AdminClient,
) -> None:
    aid = uuid.uuid4()
    body = {
        "name": "Cœur de Ville",
        "rate_mode": "family",
        "taux_client_bps": 300,
        "taux_uc_bps": 50,
    }
    first = await admin.call("PUT", cards(f"/v1/associations/{aid}"), body)
    assert first.status == 201, first
    default_type = str(uuid.uuid5(aid, "default-card-type"))
    default_program = str(uuid.uuid5(aid, "default-program"))
    assert first.body["default_card_type_id"] == default_type
    assert first.body["default_program_id"] == default_program
    assert first.body["dormant_after_days"] == 183
    assert first.body["rate_mode"] == "family"
    assert first.body["issuer_prefix"] is None

    # A retried PUT changes nothing and creates nothing more.
    again = await admin.call("PUT", cards(f"/v1/associations/{aid}"), body)
    assert again.status == 200
    assert again.body == first.body
    assert await call(admin, "GET", f"/v1/associations/{aid}") == first.body

    card_type = await call(admin, "GET", f"/v1/card-types/{default_type}")
    assert card_type["kind"] == "association"
    assert card_type["program_id"] == default_program
    assert card_type["rates"] == [] and card_type["acceptances"] == []
    program = await call(admin, "GET", f"/v1/associations/{aid}/programs/{default_program}")
    assert (program["name"], program["kind"], program["status"]) == (
        "Cagnotte",
        "cagnotte",
        "active",
    )
    assert program["families"] is None and program["visit_threshold"] == 1
    assert [p["id"] for p in await call(admin, "GET", f"/v1/associations/{aid}/programs")] == [
        default_program
    ]
    assert [t["id"] for t in await call(admin, "GET", f"/v1/associations/{aid}/card-types")] == [
        default_type
    ]


async def test_an_issuer_prefix_is_unique_and_kept_when_omitted(
    admin: AdminClient, http: aiohttp.ClientSession
) -> None:
    prefix = free_prefix()
    a1 = await new_association(admin, issuer_prefix=prefix, dormant_after_days=90)
    status, p = await problem(
        http,
        "PUT",
        f"/v1/associations/{uuid.uuid4()}",
        {
            "name": "b",
            "rate_mode": "network",
            "taux_client_bps": 1,
            "taux_uc_bps": 1,
            "issuer_prefix": prefix,
        },
    )
    assert status == 409 and prefix in p["detail"] and str(a1) in p["detail"]

    kept = await call(
        admin,
        "PUT",
        f"/v1/associations/{a1}",
        {"name": "renamed", "rate_mode": "merchant", "taux_client_bps": 300, "taux_uc_bps": 50},
    )
    assert kept["issuer_prefix"] == prefix and kept["name"] == "renamed"
    assert kept["dormant_after_days"] == 183  # a PUT replaces: omitted is the default


async def test_association_errors_are_problems(
    http: aiohttp.ClientSession, admin: AdminClient
) -> None:
    aid = uuid.uuid4()
    good = {"name": "x", "rate_mode": "family", "taux_client_bps": 300, "taux_uc_bps": 50}
    status, p = await problem(http, "PUT", f"/v1/associations/{aid}", good, token=None)
    assert status == 401
    status, p = await problem(
        http, "PUT", f"/v1/associations/{aid}", {**good, "rate_mode": "points"}
    )
    assert status == 422 and p["errors"][0]["field"] == "rate_mode"
    status, p = await problem(
        http, "PUT", f"/v1/associations/{aid}", {**good, "issuer_prefix": "12345"}
    )
    assert status == 422
    status, p = await problem(
        http, "PUT", f"/v1/associations/{aid}", {**good, "dormant_after_days": 0}
    )
    assert status == 422
    status, p = await problem(http, "PUT", f"/v1/associations/{aid}", {**good, "name": "a\x00b"})
    assert status == 422
    status, p = await problem(http, "PUT", "/v1/associations/not-a-uuid", good)
    assert status == 400 and "association_id" in p["detail"]
    status, p = await problem(http, "GET", f"/v1/associations/{aid}")
    assert status == 404 and str(aid) in p["detail"]


# --- merchants -------------------------------------------------------------------------------


async def test_merchants_are_admitted_updated_and_listed(
    admin: AdminClient, http: aiohttp.ClientSession
) -> None:
    aid = await new_association(admin)
    mid = uuid.uuid4()
    r = await admin.call(
        "PUT",
        cards(f"/v1/associations/{aid}/merchants/{mid}"),
        {"name": "Bistrot", "taux_client_bps": 500},
    )
    assert r.status == 201
    assert r.body == {
        "id": str(mid),
        "association_id": str(aid),
        "name": "Bistrot",
        "taux_client_bps": 500,
        "taux_uc_bps": None,
        "closed_on": None,
        "email": None,
    }
    r = await admin.call(
        "PUT",
        cards(f"/v1/associations/{aid}/merchants/{mid}"),
        {"name": "Bistrot", "taux_uc_bps": 75},
    )
    assert r.status == 200 and r.body["taux_client_bps"] is None and r.body["taux_uc_bps"] == 75
    assert await call(admin, "GET", f"/v1/associations/{aid}/merchants") == [r.body]

    other = await new_association(admin)
    status, p = await problem(
        http, "PUT", f"/v1/associations/{other}/merchants/{mid}", {"name": "x"}
    )
    assert status == 409 and str(aid) in p["detail"]
    status, _ = await problem(
        http, "PUT", f"/v1/associations/{uuid.uuid4()}/merchants/{uuid.uuid4()}", {"name": "x"}
    )
    assert status == 404
    status, _ = await problem(http, "GET", f"/v1/associations/{uuid.uuid4()}/merchants")
    assert status == 404
    status, _ = await problem(
        http,
        "PUT",
        f"/v1/associations/{aid}/merchants/{mid}",
        {"name": "x", "taux_client_bps": 10_001},
    )
    assert status == 422


# --- product families ------------------------------------------------------------------------


async def test_product_families_are_set_listed_and_removed(
    admin: AdminClient, http: aiohttp.ClientSession
) -> None:
    aid = await new_association(admin)
    mid = await new_merchant(admin, aid)
    r = await admin.call(
        "PUT",
        cards(f"/v1/merchants/{mid}/families/livres"),
        {"label": "Livres", "taux_client_bps": 700, "book": True},
    )
    assert r.status == 201
    assert r.body == {
        "merchant_id": str(mid),
        "code": "livres",
        "label": "Livres",
        "taux_client_bps": 700,
        "tobacco": False,
        "gambling": False,
        "book": True,
    }
    r = await admin.call(
        "PUT", cards(f"/v1/merchants/{mid}/families/livres"), {"label": "Romans", "book": True}
    )
    assert r.status == 200 and r.body["label"] == "Romans" and r.body["taux_client_bps"] is None
    await call(
        admin, "PUT", f"/v1/merchants/{mid}/families/jeux.fdj", {"label": "FDJ", "gambling": True}
    )
    listed = await call(admin, "GET", f"/v1/merchants/{mid}/families")
    assert [f["code"] for f in listed] == ["jeux.fdj", "livres"]

    removed = await call(admin, "DELETE", f"/v1/merchants/{mid}/families/jeux.fdj")
    assert removed["gambling"] is True
    status, p = await problem(http, "DELETE", f"/v1/merchants/{mid}/families/jeux.fdj")
    assert status == 404 and "jeux.fdj" in p["detail"]
    status, p = await problem(
        http, "PUT", f"/v1/merchants/{uuid.uuid4()}/families/x", {"label": "x"}
    )
    assert status == 404 and p["title"] == "Unknown merchant"
    status, _ = await problem(http, "GET", f"/v1/merchants/{uuid.uuid4()}/families")
    assert status == 404
    status, _ = await problem(http, "PUT", f"/v1/merchants/{mid}/families/a%20b", {"label": "x"})
    assert status == 404  # not a product family code: no such route
    status, _ = await problem(
        http, "PUT", f"/v1/merchants/{mid}/families/x", {"label": "x", "taux_client_bps": -1}
    )
    assert status == 422


# --- programs --------------------------------------------------------------------------------


async def test_a_program_is_validated_and_moves_through_its_life_cycle(
    admin: AdminClient, http: aiohttp.ClientSession
) -> None:
    aid = await new_association(admin)
    pid = uuid.uuid4()
    path = f"/v1/associations/{aid}/programs/{pid}"
    points = {
        "name": "Points",
        "kind": "points",
        "families": ["menu", "livres"],
        "valid_from": "2026-01-01T00:00:00+01:00",
        "points_per_euro": 10,
        "units_per_reward": 100,
        "reward_cents": 500,
        "visit_threshold": 3,
        "visit_threshold_max_days": 30,
    }
    status, p = await problem(http, "PUT", path, {**points, "units_per_reward": 0})
    assert status == 422 and "units_per_reward > 0" in p["detail"]
    status, p = await problem(http, "PUT", path, {**points, "valid_until": "2025-01-01T00:00:00Z"})
    assert status == 422 and "valid_until must be after valid_from" in p["detail"]
    status, _ = await problem(http, "PUT", path, {**points, "valid_from": "2026-01-01T00:00:00"})
    assert status == 422  # no time zone
    status, _ = await problem(
        http, "PUT", f"/v1/associations/{uuid.uuid4()}/programs/{pid}", points
    )
    assert status == 404

    r = await admin.call("PUT", cards(path), points)
    assert r.status == 201
    assert r.body["status"] == "active" and r.body["families"] == ["livres", "menu"]
    assert r.body["visit_threshold"] == 3 and r.body["visit_threshold_max_days"] == 30
    r = await admin.call(
        "PUT", cards(path), {**points, "name": "Points fidélité", "families": None}
    )
    assert r.status == 200 and r.body["name"] == "Points fidélité" and r.body["families"] is None
    status, p = await problem(http, "PUT", path, {**points, "kind": "stamps"})
    assert status == 409 and "points" in p["detail"]
    other = await new_association(admin)
    status, _ = await problem(http, "PUT", f"/v1/associations/{other}/programs/{pid}", points)
    assert status == 409
    status, _ = await problem(http, "GET", f"/v1/associations/{other}/programs/{pid}")
    assert status == 404

    assert (await call(admin, "POST", path + "/suspend"))["status"] == "suspended"
    status, p = await problem(http, "POST", path + "/suspend")
    assert status == 409 and "suspended" in p["detail"]
    assert (await call(admin, "POST", path + "/resume"))["status"] == "active"
    status, _ = await problem(http, "POST", path + "/resume")
    assert status == 409
    assert (await call(admin, "DELETE", path))["status"] == "deleted"
    for method, tail in (("POST", "/resume"), ("POST", "/suspend"), ("DELETE", "")):
        status, _ = await problem(http, method, path + tail)
        assert status == 409
    status, p = await problem(http, "PUT", path, points)
    assert status == 409 and "deleted" in p["detail"]
    assert (await call(admin, "GET", path))["status"] == "deleted"
    status, _ = await problem(
        http, "POST", f"/v1/associations/{aid}/programs/{uuid.uuid4()}/suspend"
    )
    assert status == 404


# --- promotions ------------------------------------------------------------------------------


async def test_promotions_are_validated_listed_by_period_and_withdrawn(
    admin: AdminClient, http: aiohttp.ClientSession
) -> None:
    aid = await new_association(admin)
    mid = await new_merchant(admin, aid)
    prid = uuid.uuid4()
    path = f"/v1/associations/{aid}/promotions/{prid}"
    xmas = {
        "name": "Noël x2",
        "starts_at": "2026-12-01T00:00:00+01:00",
        "ends_at": "2027-01-01T00:00:00+01:00",
        "multiplier": {"numerator": 2},
    }
    status, p = await problem(http, "PUT", path, {**xmas, "taux_client_bps": 500})
    assert status == 422 and "exactly one" in p["detail"]
    status, _ = await problem(
        http, "PUT", path, {k: v for k, v in xmas.items() if k != "multiplier"}
    )
    assert status == 422
    status, p = await problem(http, "PUT", path, {**xmas, "ends_at": "2026-11-01T00:00:00Z"})
    assert status == 422 and "ends_at must be after starts_at" in p["detail"]
    status, _ = await problem(http, "PUT", path, {**xmas, "starts_at": "2026-12-01T00:00:00"})
    assert status == 422
    foreign = await new_merchant(admin, await new_association(admin))
    status, p = await problem(http, "PUT", path, {**xmas, "merchant_id": str(foreign)})
    assert status == 409 and str(foreign) in p["detail"]
    status, _ = await problem(http, "PUT", path, {**xmas, "merchant_id": str(uuid.uuid4())})
    assert status == 404

    r = await admin.call("PUT", cards(path), xmas)
    assert r.status == 201
    assert r.body["multiplier"] == {"numerator": 2, "denominator": 1}
    assert r.body["taux_client_bps"] is None and r.body["merchant_id"] is None
    opening = uuid.uuid4()
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/promotions/{opening}",
        {
            "name": "Ouverture",
            "merchant_id": str(mid),
            "families": ["menu"],
            "starts_at": "2026-11-02T00:00:00+01:00",
            "ends_at": "2026-11-09T00:00:00+01:00",
            "taux_client_bps": 1000,
        },
    )
    listed = await call(admin, "GET", f"/v1/associations/{aid}/promotions")
    assert [p["id"] for p in listed] == [str(opening), str(prid)]
    live = await call(
        admin, "GET", f"/v1/associations/{aid}/promotions?live_at=2026-12-24T12:00:00%2B01:00"
    )
    assert [p["id"] for p in live] == [str(prid)]
    # ends_at is excluded: midnight on 1 January is after the promotion.
    live = await call(
        admin, "GET", f"/v1/associations/{aid}/promotions?live_at=2027-01-01T00:00:00%2B01:00"
    )
    assert live == []
    status, _ = await problem(http, "GET", f"/v1/associations/{aid}/promotions?live_at=yesterday")
    assert status == 400
    status, _ = await problem(
        http, "GET", f"/v1/associations/{aid}/promotions?live_at=2026-12-24T12:00:00"
    )
    assert status == 400

    withdrawn = await call(admin, "DELETE", path)
    assert withdrawn["withdrawn_at"] is not None
    assert (await call(admin, "DELETE", path))["withdrawn_at"] == withdrawn["withdrawn_at"]
    assert len(await call(admin, "GET", f"/v1/associations/{aid}/promotions")) == 2  # never deleted
    live = await call(
        admin, "GET", f"/v1/associations/{aid}/promotions?live_at=2026-12-24T12:00:00Z"
    )
    assert live == []
    status, p = await problem(http, "PUT", path, xmas)
    assert status == 409 and "withdrawn" in p["detail"]
    status, _ = await problem(http, "DELETE", f"/v1/associations/{aid}/promotions/{uuid.uuid4()}")
    assert status == 404


# --- card types ------------------------------------------------------------------------------


async def test_card_types_their_rates_and_acceptances(
    admin: AdminClient, http: aiohttp.ClientSession
) -> None:
    aid = await new_association(admin)
    mid = await new_merchant(admin, aid)
    pid = uuid.uuid5(aid, "default-program")
    ctid = uuid.uuid4()
    path = f"/v1/associations/{aid}/card-types/{ctid}"
    generic = {"name": "Carte CE", "kind": "generic", "program_id": str(pid), "validity_months": 12}

    status, p = await problem(http, "PUT", path, {**generic, "program_id": None})
    assert status == 422 and "program_id" in p["detail"]
    status, p = await problem(
        http, "PUT", path, {"name": "Cadeau", "kind": "gift", "program_id": str(pid)}
    )
    assert status == 422 and "earns nothing" in p["detail"]
    status, _ = await problem(http, "PUT", path, {**generic, "kind": "merchant"})
    assert status == 422
    status, _ = await problem(http, "PUT", path, {**generic, "merchant_id": str(mid)})
    assert status == 422
    status, _ = await problem(http, "PUT", path, {**generic, "program_id": str(uuid.uuid4())})
    assert status == 404
    other = await new_association(admin)
    status, p = await problem(
        http, "PUT", path, {**generic, "program_id": str(uuid.uuid5(other, "default-program"))}
    )
    assert status == 409 and str(other) in p["detail"]
    default = uuid.uuid5(aid, "default-card-type")
    status, p = await problem(
        http,
        "PUT",
        f"/v1/associations/{aid}/card-types/{default}",
        {"name": "x", "kind": "prepaid"},
    )
    assert status == 409 and "default" in p["detail"]

    r = await admin.call("PUT", cards(path), generic)
    assert r.status == 201 and r.body["kind"] == "generic" and r.body["validity_months"] == 12
    r = await admin.call("PUT", cards(path), {**generic, "taux_client_bps": 400})
    assert r.status == 200 and r.body["taux_client_bps"] == 400
    gift = uuid.uuid4()
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/card-types/{gift}",
        {"name": "Cadeau", "kind": "gift"},
    )
    own = uuid.uuid4()
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/card-types/{own}",
        {
            "name": "Carte Bistrot",
            "kind": "merchant",
            "program_id": str(pid),
            "merchant_id": str(mid),
        },
    )
    listed = await call(admin, "GET", f"/v1/associations/{aid}/card-types")
    assert [t["id"] for t in listed] == [str(default), str(ctid), str(gift), str(own)]
    status, _ = await problem(http, "PUT", f"/v1/associations/{other}/card-types/{ctid}", generic)
    assert status == 409

    # Rates: at a merchant that accepts the card type only.
    rate = await admin.call(
        "PUT", cards(f"/v1/card-types/{ctid}/rates/{mid}"), {"taux_client_bps": 600}
    )
    assert rate.status == 201
    assert rate.body == {
        "card_type_id": str(ctid),
        "merchant_id": str(mid),
        "taux_client_bps": 600,
        "taux_uc_bps": None,
    }
    status, _ = await problem(http, "PUT", f"/v1/card-types/{ctid}/rates/{mid}", {})
    assert status == 422
    far = await new_merchant(admin, other)
    status, p = await problem(
        http, "PUT", f"/v1/card-types/{ctid}/rates/{far}", {"taux_client_bps": 600}
    )
    assert status == 409 and "accept" in p["detail"]
    status, _ = await problem(
        http, "PUT", f"/v1/card-types/{uuid.uuid4()}/rates/{mid}", {"taux_client_bps": 1}
    )
    assert status == 404
    status, _ = await problem(
        http, "PUT", f"/v1/card-types/{ctid}/rates/{uuid.uuid4()}", {"taux_client_bps": 1}
    )
    assert status == 404

    # Acceptances: the whole other association, or one of its merchants.
    accept = f"/v1/card-types/{ctid}/acceptances/{other}"
    r = await admin.call("PUT", cards(accept))
    assert r.status == 201 and r.body == {
        "card_type_id": str(ctid),
        "association_id": str(other),
        "merchant_id": None,
    }
    assert (await admin.call("PUT", cards(accept))).status == 200
    r = await admin.call("PUT", cards(f"{accept}?merchant_id={far}"))
    assert r.status == 201 and r.body["merchant_id"] == str(far)
    await call(admin, "PUT", f"/v1/card-types/{ctid}/rates/{far}", {"taux_uc_bps": 20})
    detail = await call(admin, "GET", f"/v1/card-types/{ctid}")
    assert detail["taux_client_bps"] == 400
    assert {
        (x["merchant_id"], x["taux_client_bps"], x["taux_uc_bps"]) for x in detail["rates"]
    } == {
        (str(mid), 600, None),
        (str(far), None, 20),
    }
    assert [(x["association_id"], x["merchant_id"]) for x in detail["acceptances"]] == [
        (str(other), None),
        (str(other), str(far)),
    ]
    status, p = await problem(http, "PUT", f"/v1/card-types/{ctid}/acceptances/{aid}")
    assert status == 409 and "already" in p["detail"]
    status, _ = await problem(http, "PUT", f"{accept}?merchant_id={mid}")
    assert status == 409  # mid is not a merchant of `other`
    status, _ = await problem(http, "PUT", f"/v1/card-types/{own}/acceptances/{other}")
    assert status == 409
    status, _ = await problem(http, "PUT", f"{accept}?merchant_id=nope")
    assert status == 400
    status, _ = await problem(http, "PUT", f"/v1/card-types/{ctid}/acceptances/{uuid.uuid4()}")
    assert status == 404

    removed = await call(admin, "DELETE", f"/v1/card-types/{ctid}/rates/{mid}")
    assert removed["taux_client_bps"] == 600
    status, _ = await problem(http, "DELETE", f"/v1/card-types/{ctid}/rates/{mid}")
    assert status == 404
    assert (await call(admin, "DELETE", f"{accept}?merchant_id={far}"))["merchant_id"] == str(far)
    status, _ = await problem(http, "DELETE", f"{accept}?merchant_id={far}")
    assert status == 404
    await call(admin, "DELETE", accept)
    assert (await call(admin, "GET", f"/v1/card-types/{ctid}"))["acceptances"] == []
    status, _ = await problem(http, "GET", f"/v1/card-types/{uuid.uuid4()}")
    assert status == 404


# --- the dry run -----------------------------------------------------------------------------

NOVEMBER = "2026-11-10T12:00:00+01:00"
DECEMBER = "2026-12-10T12:00:00+01:00"


async def test_the_dry_run_says_what_a_sale_earns_and_why(
    admin: AdminClient, http: aiohttp.ClientSession
) -> None:
    # Mode family; the network's taux client 250 bp, taux UC 50 bp.
    aid = await new_association(admin, rate_mode="family", taux_client_bps=250, taux_uc_bps=50)
    restaurant = await new_merchant(admin, aid, name="Bistrot", taux_client_bps=400)
    tobacconist = await new_merchant(admin, aid, name="Tabac")
    bookshop = await new_merchant(admin, aid, name="Librairie")
    await call(
        admin,
        "PUT",
        f"/v1/merchants/{restaurant}/families/menu",
        {"label": "Menu", "taux_client_bps": 800},
    )
    await call(
        admin,
        "PUT",
        f"/v1/merchants/{tobacconist}/families/tabac",
        {"label": "Tabac", "tobacco": True},
    )
    await call(
        admin,
        "PUT",
        f"/v1/merchants/{bookshop}/families/livres",
        {"label": "Livres", "taux_client_bps": 700, "book": True},
    )

    async def dry(**sale: Any) -> dict[str, Any]:
        body: dict[str, Any] = await call(admin, "POST", f"/v1/associations/{aid}/dry-run", sale)
        return body

    # Restaurant, menu, 25.00 €: the family's 800 bp, 2500 × 800 / 10 000 = 200 → 2.00 €;
    # fee 2500 × 50 / 10 000 = 12.5 → 13 cents (half up).
    menu = await dry(
        merchant_id=str(restaurant), product_family="menu", amount_cents=2500, at=NOVEMBER
    )
    assert menu["kind"] == "cagnotte" and menu["card_type_id"] == str(
        uuid.uuid5(aid, "default-card-type")
    )
    assert (
        menu["reward_cents"],
        menu["taux_client_bps"],
        menu["fee_cents"],
        menu["taux_uc_bps"],
    ) == (200, 800, 13, 50)
    assert menu["refusals"] == [] and menu["refused"] is False
    assert [s["rule"] for s in menu["steps"]] == ["rate.family"]
    assert menu["visit_threshold"] == {"visits_needed": 1, "max_days": None}
    assert menu["explanation"].startswith(
        "A sale of 25.00 € earns 2.00 € in the cagnotte at 800 bp"
    )
    assert "fee of 0.13 €" in menu["explanation"]
    version_before = menu["rules_version"]

    # A family the restaurant does not have: the merchant's own 400 bp, 2500 × 400 / 10 000 = 1.00 €.
    dessert = await dry(
        merchant_id=str(restaurant), product_family="dessert", amount_cents=2500, at=NOVEMBER
    )
    assert (dessert["reward_cents"], dessert["taux_client_bps"]) == (100, 400)
    assert [(s["rule"], s["applied"]) for s in dessert["steps"]] == [
        ("family.unknown", False),
        ("rate.merchant", True),
    ]

    # Tobacco, 10.00 €: nothing by law; the fee is still 1000 × 50 / 10 000 = 5 cents.
    tabac = await dry(
        merchant_id=str(tobacconist), product_family="tabac", amount_cents=1000, at=NOVEMBER
    )
    assert (tabac["reward_cents"], tabac["fee_cents"], tabac["refused"]) == (0, 5, True)
    assert [r["code"] for r in tabac["refusals"]] == ["legal_tobacco"]
    assert tabac["explanation"].startswith(
        "A sale of 10.00 € earns nothing because family tabac is tobacco"
    )

    # Books, 20.00 €: the family's 700 bp would give 1.40 €, capped at 500 bp: 2000 × 500 /
    # 10 000 = 1.00 €; the capped reward is still granted.
    book = await dry(
        merchant_id=str(bookshop), product_family="livres", amount_cents=2000, at=NOVEMBER
    )
    assert (book["reward_cents"], book["taux_client_bps"], book["refused"]) == (100, 500, False)
    assert [r["code"] for r in book["refusals"]] == ["legal_book_cap"]
    assert "1.40 € → 1.00 €" in book["refusals"][0]["detail"]
    assert [s["rule"] for s in book["steps"]] == ["rate.family", "legal.book_cap"]
    # Asked in French: the same evaluation said in French, amounts as Babel writes them.
    livre = await dry(
        merchant_id=str(bookshop),
        product_family="livres",
        amount_cents=2000,
        at=NOVEMBER,
        language="fr",
    )
    said = "les livres rapportent au plus 500 pb selon la loi : 700 pb plafonnés, 1,40\xa0€ → 1,00\xa0€"
    assert livre["explanation"] == (
        "Un achat de 20,00\xa0€ rapporte 1,00\xa0€ dans la cagnotte à 500 pb : taux client de "
        f"700 pb de la famille Livres (mode famille) ; {said} ; "  # its label, at its merchant
        "le commerce paie une commission de 0,10\xa0€ (50 pb)."
    )
    assert [r["said"] for r in livre["refusals"]] == [said]
    assert livre["refusals"][0]["detail"] == book["refusals"][0]["detail"]  # detail: English
    assert [s["said"] for s in book["steps"]] == [s["detail"] for s in book["steps"]]

    # A network promotion x2 for December only.
    xmas = uuid.uuid4()
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/promotions/{xmas}",
        {
            "name": "Noël x2",
            "starts_at": "2026-12-01T00:00:00+01:00",
            "ends_at": "2027-01-01T00:00:00+01:00",
            "multiplier": {"numerator": 2},
        },
    )
    # December: 800 × 2 = 1600 bp, 2500 × 1600 / 10 000 = 4.00 €.
    december = await dry(
        merchant_id=str(restaurant), product_family="menu", amount_cents=2500, at=DECEMBER
    )
    assert december["rules_version"] > version_before
    assert (december["reward_cents"], december["taux_client_bps"]) == (400, 1600)
    step = december["steps"][-1]
    assert (step["rule"], step["applied"], step["rate"]) == ("promotion.multiplier", True, 1600)
    assert str(xmas) in step["detail"] and "x2" in step["detail"]
    fr = await dry(
        merchant_id=str(restaurant),
        product_family="menu",
        amount_cents=2500,
        at=DECEMBER,
        language="fr",
    )
    assert fr["steps"][-1]["said"] == "promotion « Noël x2 » (réseau) : x2, 800 → 1600"  # its name
    # November: not live, still 2.00 €, and the step says why.
    november = await dry(
        merchant_id=str(restaurant), product_family="menu", amount_cents=2500, at=NOVEMBER
    )
    assert (november["reward_cents"], november["taux_client_bps"]) == (200, 800)
    step = november["steps"][-1]
    assert (step["rule"], step["applied"]) == ("promotion.period", False)
    # The period as stored, in UTC: midnight on 1 December in Paris is 23:00 UTC.
    assert "is not live: 2026-11-30T23:00:00+00:00 to" in step["detail"]
    assert "not applied: promotion" in november["explanation"]
    # Books in December: 700 × 2 = 1400 bp, still capped at 500 bp: 1.00 €.
    book = await dry(
        merchant_id=str(bookshop), product_family="livres", amount_cents=2000, at=DECEMBER
    )
    assert (book["reward_cents"], book["taux_client_bps"]) == (100, 500)

    # The default program suspended: nothing earned, with the reason; resumed: earns again.
    program = f"/v1/associations/{aid}/programs/{uuid.uuid5(aid, 'default-program')}"
    await call(admin, "POST", program + "/suspend")
    suspended = await dry(
        merchant_id=str(restaurant), product_family="menu", amount_cents=2500, at=NOVEMBER
    )
    assert (suspended["reward_cents"], suspended["fee_cents"], suspended["refused"]) == (
        0,
        13,
        True,
    )
    assert [r["code"] for r in suspended["refusals"]] == ["program_suspended"]
    await call(admin, "POST", program + "/resume")
    resumed = await dry(
        merchant_id=str(restaurant), product_family="menu", amount_cents=2500, at=NOVEMBER
    )
    assert resumed["reward_cents"] == 200

    # A points program: 10 points per euro, 100 points → 5.00 €, on a generic card type.
    points_program, points_type = uuid.uuid4(), uuid.uuid4()
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/programs/{points_program}",
        {
            "name": "Points",
            "kind": "points",
            "points_per_euro": 10,
            "units_per_reward": 100,
            "reward_cents": 500,
        },
    )
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/card-types/{points_type}",
        {"name": "Carte points", "kind": "generic", "program_id": str(points_program)},
    )
    # 12.34 € at 10 points per euro: 1234 × 1000 / 10 000 = 123.4 → 123 points.
    pts = await dry(
        merchant_id=str(restaurant),
        product_family="menu",
        amount_cents=1234,
        at=NOVEMBER,
        card_type_id=str(points_type),
    )
    assert (pts["kind"], pts["points"], pts["reward_cents"], pts["program_id"]) == (
        "points",
        123,
        0,
        str(points_program),
    )
    assert pts["explanation"].startswith("A sale of 12.34 € earns 123 points")
    # December, x2: 1234 × 2000 / 10 000 = 246.8 → 247 points.
    pts = await dry(
        merchant_id=str(restaurant),
        product_family="menu",
        amount_cents=1234,
        at=DECEMBER,
        card_type_id=str(points_type),
    )
    assert pts["points"] == 247
    # Books, 20.00 €: 200 points would be worth 10.00 €; 5 % of 20.00 € is 1.00 €, i.e. 20 points.
    pts = await dry(
        merchant_id=str(bookshop),
        product_family="livres",
        amount_cents=2000,
        at=NOVEMBER,
        card_type_id=str(points_type),
    )
    assert pts["points"] == 20 and [r["code"] for r in pts["refusals"]] == ["legal_book_cap"]

    # A stamps program: one stamp per item, 10 stamps → 3.00 €, available at the 3rd visit
    # within 30 days.
    stamps_program, stamps_type = uuid.uuid4(), uuid.uuid4()
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/programs/{stamps_program}",
        {
            "name": "Tampons",
            "kind": "stamps",
            "units_per_reward": 10,
            "reward_cents": 300,
            "visit_threshold": 3,
            "visit_threshold_max_days": 30,
        },
    )
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/card-types/{stamps_type}",
        {"name": "Carte tampons", "kind": "generic", "program_id": str(stamps_program)},
    )
    st = await dry(
        merchant_id=str(restaurant),
        amount_cents=1500,
        quantity=3,
        at=NOVEMBER,
        card_type_id=str(stamps_type),
    )
    assert (st["kind"], st["stamps"], st["points"], st["reward_cents"]) == ("stamps", 3, 0, 0)
    assert st["visit_threshold"] == {"visits_needed": 3, "max_days": 30}
    assert (
        "3 stamps, held pending until the customer's visit number 3 within 30 days"
        in st["explanation"]
    )
    # December, x2: 3 × 2 = 6 stamps.
    st = await dry(
        merchant_id=str(restaurant),
        amount_cents=1500,
        quantity=3,
        at=DECEMBER,
        card_type_id=str(stamps_type),
    )
    assert st["stamps"] == 6


async def test_a_dry_run_needs_a_card_type_accepted_at_the_merchant(
    admin: AdminClient, http: aiohttp.ClientSession
) -> None:
    aid = await new_association(admin, rate_mode="family", taux_client_bps=250, taux_uc_bps=50)
    home = await new_merchant(admin, aid)
    other = await new_association(admin)
    away = await new_merchant(admin, other)
    works_council = uuid.uuid4()
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/card-types/{works_council}",
        {
            "name": "Carte CE",
            "kind": "generic",
            "program_id": str(uuid.uuid5(aid, "default-program")),
        },
    )
    sale = {"merchant_id": str(away), "amount_cents": 1000, "card_type_id": str(works_council)}
    dry_run = f"/v1/associations/{aid}/dry-run"

    status, p = await problem(http, "POST", dry_run, sale)
    assert status == 422 and "not accepted" in p["detail"] and str(other) in p["detail"]
    # The second association accepts the works council's card; the card type's rate at that
    # merchant is 600 bp: 1000 × 600 / 10 000 = 60 cents.
    await call(admin, "PUT", f"/v1/card-types/{works_council}/acceptances/{other}")
    await call(
        admin, "PUT", f"/v1/card-types/{works_council}/rates/{away}", {"taux_client_bps": 600}
    )
    accepted = await call(admin, "POST", dry_run, sale)
    assert (accepted["reward_cents"], accepted["taux_client_bps"]) == (60, 600)
    # The association's own card is still not accepted there.
    status, _ = await problem(http, "POST", dry_run, {**sale, "card_type_id": None})
    assert status == 422

    gift = uuid.uuid4()
    await call(
        admin,
        "PUT",
        f"/v1/associations/{aid}/card-types/{gift}",
        {"name": "Cadeau", "kind": "gift"},
    )
    status, p = await problem(
        http,
        "POST",
        dry_run,
        {"merchant_id": str(home), "amount_cents": 1000, "card_type_id": str(gift)},
    )
    assert status == 422 and "earns nothing" in p["detail"]
    status, _ = await problem(
        http, "POST", f"/v1/associations/{other}/dry-run", {**sale, "merchant_id": str(home)}
    )
    assert status == 409  # the card type is the first association's
    status, _ = await problem(http, "POST", dry_run, {**sale, "merchant_id": str(uuid.uuid4())})
    assert status == 404
    status, _ = await problem(http, "POST", dry_run, {**sale, "card_type_id": str(uuid.uuid4())})
    assert status == 404
    status, _ = await problem(http, "POST", f"/v1/associations/{uuid.uuid4()}/dry-run", sale)
    assert status == 404
    status, _ = await problem(http, "POST", dry_run, {**sale, "amount_cents": 0})
    assert status == 422
    status, _ = await problem(http, "POST", dry_run, {**sale, "at": "2026-12-10T12:00:00"})
    assert status == 422
