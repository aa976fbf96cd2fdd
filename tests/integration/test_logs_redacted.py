"""No signed link, e-mail address or phone number in the services' request logs: a customer's
journey through crm's public routes (the details link, the e-mail consent's confirmation, the
one-click unsubscribe), each reached by the link crm really sent, and paths carrying an e-mail
address or a phone number; crm's log file keeps each request, with the route's shape instead."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests import harness
from tests.conftest import NetworkFactory
from tests.people import call as _call
from tests.people import customer as _customer
from tests.people import file_of as _file
from tests.watch import watching

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")


async def _link(
    http: aiohttp.ClientSession, account: str, method: str, path: str, body: Any, template: str
) -> dict[str, Any]:
    """The message crm asks notifications for after ``method path``."""
    async with watching("message.requested.v1") as watch:
        status, answer = await _call(http, method, f"{CRM}{path}", body)
        assert status in (201, 202), answer
        found: dict[str, Any] = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == template
        )
    return found


def _requests_logged(services: harness.Services) -> list[dict[str, Any]]:
    # The lines written whole: crm may be writing the last one as it is read.
    text = (services.logs / "crm.log").read_bytes().decode(errors="replace")
    records = []
    for line in text.split("\n")[:-1]:
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise AssertionError(f"not a JSON line in crm's log: {line!r}") from exc
    return [r for r in records if r.get("event") == "http_request"]


async def test_the_request_logs_keep_no_link_token_address_or_phone(
    services: harness.Services, make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    account = await _customer(net, http)
    file = await _file(http, account)
    email, phone = file["email"], file["phone"]

    details = await _link(
        http,
        account,
        "POST",
        f"/v1/customers/{account}/details-link",
        {"channel": "email"},
        "details_link",
    )
    consent = await _link(
        http,
        account,
        "POST",
        f"/v1/customers/{account}/consents",
        {"channel": "email", "how": "till"},
        "consent_email_confirm",
    )
    urls = [details["variables"]["url"], consent["variables"]["url"]]
    assert (await _call(http, "GET", urls[0], admin=False))[0] == 200
    assert (await _call(http, "GET", urls[1], admin=False))[0] == 200
    assert (await _call(http, "POST", urls[1], admin=False))[0] == 200
    news = await _link(
        http,
        account,
        "POST",
        f"/v1/customers/{account}/messages",
        {"channel": "email", "template": "quick_news", "variables": {}},
        "quick_news",
    )
    urls.append(news["unsubscribe_url"])
    assert (await _call(http, "GET", urls[2], admin=False))[0] == 200
    async with http.post(urls[2], data={"List-Unsubscribe": "One-Click"}) as r:
        assert r.status == 200, await r.text()
    # An address or a number where a path has an id or a token: refused, and logged.
    for path in (
        f"/v1/public/details/{email}",
        f"/v1/lookup/{email}",
        f"/v1/customers/{phone}",
        "/v1/x/0612345678",
    ):
        async with http.get(f"{CRM}{path}", headers={"Authorization": "Bearer x"}) as r:
            assert r.status >= 400

    tokens = [urlsplit(u).path.rsplit("/", 1)[-1] for u in urls]
    logged = _requests_logged(services)
    text = "\n".join(json.dumps(r) for r in logged)
    for secret in [*tokens, email, phone, phone.lstrip("+"), "0612345678"]:
        assert secret not in text, f"{secret} in crm's request log"
    raw = (services.logs / "crm.log").read_text(errors="replace")
    for token in tokens:
        assert token not in raw, "a link's token in crm's log"
    # Each request was logged all the same, its path with the route's shape.
    paths = [r["path"] for r in logged]
    for shape in ("/v1/public/details/{token}", "/v1/public/consents/{token}"):
        assert paths.count(shape) >= 1, shape
    assert paths.count("/v1/public/unsubscribe/{token}") >= 2
    assert "/v1/lookup/{email}" in paths
    assert "/v1/customers/{phone}" in paths
    assert f"/v1/customers/{account}/details-link" in paths  # ids are kept
