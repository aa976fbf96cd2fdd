"""The portal's sign-in with a password (issue 15, docs/access.md): the session cookie and its
flags, the pages' security headers, the rate limit, CSRF, a password link used once that
ends the old sessions, and the scope token the portal signs for a person."""

from __future__ import annotations

import json
import re
import uuid

import aiohttp
import pytest

from shared.access import DEV_PUBLIC_KEYS, Verifier
from tests import harness
from tests.conftest import NetworkFactory
from tests.messaging import Mailbox
from tests.portal import ADMIN, PORTAL, Browser, person

pytestmark = pytest.mark.timeout(120)
SESSION = "__Host-comptoir"


async def test_the_right_password_signs_in_with_a_strict_cookie_and_the_wrong_one_does_not(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    email, password = await person(http, "manager", net.association_id, net.merchants[0])
    browser = Browser(http)

    page = await browser.get("/sign-in")
    assert page.status == 200 and 'lang="fr"' in page.text and "Se connecter" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "unsafe" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "<script" not in page.text and "style=" not in page.text

    wrong = await browser.post("/sign-in", {"email": email, "password": password + "x"})
    assert wrong.status == 401 and SESSION not in wrong.cookies
    assert "Adresse e-mail ou mot de passe incorrect." in wrong.text

    right = await browser.post("/sign-in", {"email": email.upper(), "password": password})
    assert (right.status, right.headers["Location"]) == (303, "/")
    cookie = right.cookies[SESSION]
    flags = cookie["raw"].lower()
    assert "httponly" in flags and "secure" in flags and "samesite=lax" in flags
    assert cookie["path"] == "/" and "domain" not in flags
    assert email.split("@")[0] not in cookie["raw"]  # an opaque id, nothing of the person

    home = await browser.get("/")
    assert home.status == 200 and "gérant (MANAGER)" in home.text
    # the association's name as cards gives it to the person's scope token (its id until cards
    # authorises the route for a manager)
    assert str(net.association_id) in home.text
    assert home.headers["Cache-Control"] == "no-store"

    out = await browser.post("/sign-out", {})
    assert out.status == 303 and out.cookies[SESSION]["max-age"] == "0"
    assert (await browser.get("/")).status == 303


async def test_english_is_served_by_accept_language_or_by_choice(
    services: harness.Services, http: aiohttp.ClientSession
) -> None:
    browser = Browser(http)
    page = await browser.request("GET", "/sign-in", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert 'lang="en"' in page.text and ">Sign in<" in page.text
    chosen = await browser.post("/language", {"language": "fr"})
    assert chosen.status == 303
    page = await browser.request("GET", "/sign-in", headers={"Accept-Language": "en"})
    assert 'lang="fr"' in page.text


async def test_failed_sign_ins_are_limited_per_account_with_retry_after(
    services: harness.Services, http: aiohttp.ClientSession
) -> None:
    email, password = await person(http, "operator")
    browser = Browser(http)
    await browser.get("/sign-in")
    for _ in range(5):  # COMPTOIR_LOGIN_MAX_PER_ACCOUNT's default
        page = await browser.post("/sign-in", {"email": email, "password": "not it"})
        assert page.status == 401
    limited = await browser.post("/sign-in", {"email": email, "password": password})
    assert limited.status == 429, limited.text
    assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60
    # Another account from the same address is not held by this one's failures.
    other, other_password = await person(http, "operator")
    assert (
        await browser.post("/sign-in", {"email": other, "password": other_password})
    ).status == 303


async def test_a_state_changing_request_without_its_csrf_token_is_refused(
    services: harness.Services, http: aiohttp.ClientSession
) -> None:
    email, password = await person(http, "operator")
    browser = Browser(http)
    await browser.get("/sign-in")
    no_token = await browser.post("/sign-in", {"email": email, "password": password}, csrf=False)
    assert (no_token.status, no_token.headers["X-Problem-Reason"]) == (403, "csrf")
    assert "Le formulaire a expiré" in no_token.text  # a page, in the visitor's language
    assert (await browser.sign_in(email, password)).status == 303

    # a JSON call of a signed-in session: the CSRF header is required
    body = {"name": "till", "role": "operator"}
    refused = await browser.request("POST", "/v1/api-tokens", json=body)
    assert refused.status == 403
    await browser.get("/")
    made = await browser.request(
        "POST", "/v1/api-tokens", json=body, headers={"X-CSRF-Token": browser.csrf}
    )
    assert made.status == 201, made.text
    # from another site, even with the token
    foreign = await browser.request(
        "POST",
        "/v1/api-tokens",
        json=body,
        headers={"X-CSRF-Token": browser.csrf, "Origin": "https://evil.example"},
    )
    assert foreign.status == 403


def _link(text: str) -> str:
    found = re.search(r"(http://\S+/password/[A-Za-z0-9_\-]+)", text)
    assert found, text
    return found.group(1).removeprefix(PORTAL)


async def test_a_reset_link_sets_the_password_once_and_ends_the_old_sessions(
    services: harness.Services, http: aiohttp.ClientSession, mailbox: Mailbox
) -> None:
    email, old = await person(http, "operator")
    before = Browser(http)
    assert (await before.sign_in(email, old)).status == 303
    assert (await before.get("/")).status == 200

    asking = Browser(http)
    await asking.get("/forgot")
    sent = await asking.post("/forgot", {"email": email})
    assert sent.status == 200 and "Si un compte a cette adresse" in sent.text
    mail = await mailbox.wait_for_subject(email, "Votre nouveau mot de passe Comptoir")
    path = _link(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]

    form = await asking.get(path)
    assert form.status == 200 and "Choisissez votre mot de passe" in form.text
    new = f"new-{uuid.uuid4().hex}"
    short = await asking.post(path, {"password": "short", "again": "short"})
    assert short.status == 422
    await asking.get(path)
    done = await asking.post(path, {"password": new, "again": new})
    assert done.status == 200 and "Mot de passe enregistré" in done.text

    await asking.get("/sign-in")
    assert (await asking.get(path)).status == 410  # used once
    again = await asking.post(path, {"password": new + "2", "again": new + "2"})
    assert again.status == 410
    assert (await before.get("/")).status == 303  # the old session is revoked
    assert (await Browser(http).sign_in(email, old)).status == 401
    assert (await Browser(http).sign_in(email, new)).status == 303
    # neither the address nor the link's token reached the portal's log
    logged = (services.logs / "portal.log").read_text()
    assert email not in logged and path.rsplit("/", 1)[1] not in logged
    assert '"path":"/password/{token}"' in logged


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    services: harness.Services, http: aiohttp.ClientSession, mailbox: Mailbox
) -> None:
    browser = Browser(http)
    await browser.get("/forgot")
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    page = await browser.post("/forgot", {"email": nobody})
    assert page.status == 200 and "Si un compte a cette adresse" in page.text
    assert mailbox.to(nobody) == []


async def test_the_portal_signs_a_scope_token_every_service_verifies(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    email, password = await person(http, "manager", net.association_id, net.merchants[0])
    browser = Browser(http)
    assert (await browser.sign_in(email, password)).status == 303
    await browser.get("/")
    made = await browser.request(
        "POST",
        "/v1/api-tokens",
        json={
            "name": "caisse",
            "role": "staff",
            "association_id": str(net.association_id),
            "merchant_id": str(net.merchants[0]),
        },
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert made.status == 201, made.text
    secret = json.loads(made.text)["secret"]
    async with http.post(f"{PORTAL}/v1/tokens", headers={"Authorization": f"Bearer {secret}"}) as r:
        assert r.status == 200, await r.text()
        answer = await r.json()
    p = Verifier(DEV_PUBLIC_KEYS).verify(answer["access_token"])
    assert (p.role, p.association_id, p.merchant_id, p.machine) == (
        "staff",
        net.association_id,
        net.merchants[0],
        True,
    )
    assert answer["expires_in"] <= 900 and answer["token_type"] == "Bearer"
    # a service authenticates it (what it then reaches is the authorisation matrix's test)
    token = {"Authorization": f"Bearer {answer['access_token']}"}
    own = f"{harness.url('cards')}/v1/associations/{net.association_id}/merchants/"
    async with http.get(own + str(net.merchants[0]), headers=token) as r:
        assert r.status != 401, await r.text()


async def test_a_machine_token_is_revoked_and_then_refused(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    body = {
        "name": "export",
        "role": "association_admin",
        "association_id": str(net.association_id),
    }
    async with http.post(f"{PORTAL}/v1/api-tokens", json=body, headers=ADMIN) as r:
        assert r.status == 201, await r.text()
        made = await r.json()
    bearer = {"Authorization": f"Bearer {made['secret']}"}
    async with http.post(f"{PORTAL}/v1/tokens", headers=bearer) as r:
        assert r.status == 200
    async with http.get(f"{PORTAL}/v1/api-tokens", headers=ADMIN) as r:
        listed = {t["id"]: t for t in await r.json()}
    assert listed[made["id"]]["last_used_at"] is not None and "secret" not in listed[made["id"]]
    async with http.delete(f"{PORTAL}/v1/api-tokens/{made['id']}", headers=ADMIN) as r:
        assert r.status == 200 and (await r.json())["revoked_at"] is not None
    async with http.post(f"{PORTAL}/v1/tokens", headers=bearer) as r:
        assert (r.status, (await r.json())["reason"]) == (401, "invalid_api_token")


async def test_a_manager_creates_staff_of_their_merchant_only(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    email, password = await person(http, "manager", net.association_id, net.merchants[0])
    browser = Browser(http)
    assert (await browser.sign_in(email, password)).status == 303
    await browser.get("/")

    async def create(role: str, merchant: uuid.UUID | None) -> int:
        body = {
            "email": f"new-{uuid.uuid4().hex[:10]}@example.org",
            "name": "Nouvelle recrue",
            "role": role,
            "association_id": str(net.association_id),
        }
        if merchant is not None:
            body["merchant_id"] = str(merchant)
        page = await browser.request(
            "PUT",
            f"/v1/people/{uuid.uuid4()}",
            json=body,
            headers={"X-CSRF-Token": browser.csrf},
        )
        return page.status

    assert await create("staff", net.merchants[0]) == 201
    assert await create("staff", net.merchants[1]) == 403  # another merchant's
    assert await create("manager", net.merchants[0]) == 403  # a peer
    assert await create("association_admin", None) == 403  # wider

    listed = await browser.get("/v1/people")
    seen = {p["email"]: p["role"] for p in json.loads(listed.text)}
    assert seen[email] == "manager" and set(seen.values()) == {"manager", "staff"}
    assert len(seen) == 2  # themselves and the staff member they made, nobody else


async def test_a_scope_names_a_merchant_of_its_own_association(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    ours, theirs = await make_network(merchants=1), await make_network(merchants=1)
    body = {
        "email": f"mix-{uuid.uuid4().hex[:10]}@example.org",
        "name": "Mélange",
        "role": "manager",
        "association_id": str(ours.association_id),
        "merchant_id": str(theirs.merchants[0]),
    }
    async with http.put(f"{PORTAL}/v1/people/{uuid.uuid4()}", json=body, headers=ADMIN) as r:
        assert (r.status, (await r.json())["reason"]) == (422, "unknown_scope")
    token = {"name": "x", **{k: body[k] for k in ("role", "association_id", "merchant_id")}}
    async with http.post(f"{PORTAL}/v1/api-tokens", json=token, headers=ADMIN) as r:
        assert (r.status, (await r.json())["reason"]) == (422, "unknown_scope")
