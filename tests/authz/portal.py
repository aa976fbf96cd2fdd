"""The portal's own back-office routes in the authorisation matrix (tests/authz/matrix.py):
people and machines' API tokens. Unlike the five services, the portal does not take a scope
token: a person calls it from a signed-in session (its cookie and CSRF header), so
``sessions`` signs in one real person per principal of the matrix (the cardholder with a code
sent by e-mail) and the test calls with their session's headers.

Creating a person or a token is the Need of the scope created (a staff member: MANAGER of
that merchant; a manager or an association's administrator: ASSOCIATION; an operator:
OPERATOR). The listings answer each caller what they reach (``anyone``); the password route
is the bootstrap admin token's alone (``bootstrap``)."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from shared.access import Need, Principal
from tests import harness
from tests.authz.matrix import (
    Request,
    Row,
    Target,
    World,
    association_only,
    merchant_only,
    no_association,
    principals,
)
from tests.messaging import Mailbox
from tests.portal import ADMIN, Browser, person
from tests.space import codes_sent, next_code

PORTAL = harness.url("portal")


def _person(role: str, with_merchant: bool) -> Any:
    def request(t: Target) -> Request:
        body: dict[str, str] = {
            "email": f"matrix-{uuid.uuid4().hex[:12]}@example.org",
            "name": f"matrix {role}",
            "role": role,
        }
        if role != "operator":
            body["association_id"] = str(t.association_id)
        if with_merchant:
            body["merchant_id"] = str(t.merchant_id)
        # a new id per call: each principal let through creates a person of its own
        return Request(f"/v1/people/{uuid.uuid4()}", body)

    return request


def _token(role: str) -> Any:
    def request(t: Target) -> Request:
        body = {
            "name": f"matrix {role}",
            "role": role,
            "association_id": str(t.association_id),
            "merchant_id": str(t.merchant_id),
        }
        return Request("/v1/api-tokens", body)

    return request


ROWS = [
    Row("PUT", "/v1/people/{person_id}", Need.MANAGER, _person("staff", True), merchant_only),
    Row(
        "PUT",
        "/v1/people/{person_id}",
        Need.ASSOCIATION,
        _person("manager", True),
        merchant_only,
        variant="a manager",
    ),
    Row(
        "PUT",
        "/v1/people/{person_id}",
        Need.ASSOCIATION,
        _person("association_admin", False),
        association_only,
        variant="an association's administrator",
    ),
    Row(
        "PUT",
        "/v1/people/{person_id}",
        Need.OPERATOR,
        _person("operator", False),
        no_association,
        variant="an operator",
    ),
    Row("GET", "/v1/people", Need.OPERATOR, lambda t: Request("/v1/people"), anyone=True),
    Row(
        "PUT",
        "/v1/people/{person_id}/password",
        Need.OPERATOR,
        lambda t: Request(f"/v1/people/{t.ids['person']}/password", {"password": "p" * 16}),
        no_association,
        bootstrap=True,
    ),
    Row("POST", "/v1/api-tokens", Need.MANAGER, _token("staff"), merchant_only),
    Row("GET", "/v1/api-tokens", Need.OPERATOR, lambda t: Request("/v1/api-tokens"), anyone=True),
    Row(
        "DELETE",
        "/v1/api-tokens/{token_id}",
        Need.MANAGER,
        lambda t: Request(f"/v1/api-tokens/{t.ids['token']}"),
        merchant_only,
    ),
]


async def prepare(world: World, http: aiohttp.ClientSession) -> None:
    """A staff member and a staff API token of each target's merchant, by the admin token."""
    for t in world.targets:
        email, _ = await person(http, "staff", t.association_id, t.merchant_id)
        async with http.get(f"{PORTAL}/v1/people", headers=ADMIN) as r:
            assert r.status == 200, await r.text()
            t.ids["person"] = next(p["id"] for p in await r.json() if p["email"] == email)
        async with http.post(
            f"{PORTAL}/v1/api-tokens", json=_token("staff")(t).body, headers=ADMIN
        ) as r:
            assert r.status == 201, await r.text()
            t.ids["token"] = (await r.json())["id"]


async def sessions(
    world: World, http: aiohttp.ClientSession, mailbox: Mailbox
) -> dict[Principal, dict[str, str]]:
    """The headers of a signed-in session for each principal of the matrix: a real person of
    the same role and scope (the cardholder: account X's holder, with a code by e-mail)."""
    made: dict[Principal, dict[str, str]] = {}
    for p in principals(world):
        browser = Browser(http)
        if p.role == "cardholder":
            net = world.networks["own"]
            email = world.own.ids["email"]
            before = codes_sent(mailbox, email)
            await browser.get(f"/holder/{net.association_id}")
            sent = await browser.post(f"/holder/{net.association_id}", {"address": email})
            assert sent.status == 303, sent
            code = await next_code(mailbox, email, before)
            await browser.get("/holder-code")
            signed = await browser.post("/holder-code", {"code": code})
            assert signed.status == 303, signed
            await browser.get("/space")
        else:
            email, password = await person(http, p.role, p.association_id, p.merchant_id)
            signed = await browser.sign_in(email, password)
            assert signed.status == 303, signed
            await browser.get(signed.headers["Location"])
        assert browser.csrf, f"no CSRF token on the {p.role}'s first page"
        made[p] = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in browser.jar.items()),
            "X-CSRF-Token": browser.csrf,
        }
    return made
