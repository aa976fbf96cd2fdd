"""The services call each other as themselves (shared/peers.py): each with a scope token it
signs with its own key, so that the admin token stays the operator's bootstrap and every
call between services is recorded under the service that made it (the `actor` of the
`http_request` log line)."""

from __future__ import annotations

import json

import aiohttp
import pytest

from shared.access import Signer, dev_service_key, service_principal
from tests import harness
from tests.conftest import NetworkFactory
from tests.portal import Browser
from tests.space import holder_with_a_purchase

pytestmark = pytest.mark.timeout(120)


def _actors(services: harness.Services, service: str, path_part: str) -> list[str]:
    lines = (services.logs / f"{service}.log").read_text(errors="replace").splitlines()
    found = []
    for line in lines:
        if path_part not in line or '"http_request"' not in line:
            continue
        entry = json.loads(line)
        found.append(str(entry.get("actor")))
    return found


async def test_the_portal_asks_cards_as_itself_not_with_the_admin_token(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    holder = await holder_with_a_purchase(http, net, "Noé")
    browser = Browser(http)
    await browser.get(f"/holder/{net.association_id}")
    # the portal finds the account the address names before anyone is signed in
    sent = await browser.post(f"/holder/{net.association_id}", {"address": holder.email})
    assert sent.status == 303, sent
    actors = _actors(services, "cards", f"/v1/associations/{net.association_id}/accounts")
    assert actors and set(actors) == {"service:portal"}, actors


async def test_a_service_key_is_its_own_and_cannot_speak_for_another(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    url = f"{harness.url('cards')}/v1/associations/{net.association_id}/merchants"
    crm = Signer(dev_service_key("crm"))
    own = crm.issue(service_principal("crm"))
    async with http.get(url, headers={"Authorization": f"Bearer {own}"}) as r:
        assert r.status == 200, await r.text()
    posing = crm.issue(service_principal("clearing"))
    async with http.get(url, headers={"Authorization": f"Bearer {posing}"}) as r:
        assert r.status == 401 and (await r.json())["reason"] == "invalid_token"
