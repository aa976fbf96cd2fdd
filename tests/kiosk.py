"""The kiosk's tests' helpers (docs/kiosk.md): a card issued to a cardholder's account, a
kiosk set up by a manager of a shop (its browser and its reader key), a card presented with
the key, a code shown in the cardholder's space."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

import aiohttp

from tests import harness
from tests.conftest import BOOKS_START, Network
from tests.portal import ADMIN, PORTAL, Browser, person

CARDS = harness.url("cards")
_KEY = re.compile(r'id="kiosk-key">(kio_[A-Za-z0-9_-]+)<')
_CODE = re.compile(r'id="kiosk-code">(\d{3}) (\d{3})<')


async def _issuer_prefix(http: aiohttp.ClientSession, net: Network) -> None:
    """The network's card numbers' first digits (unique across networks: drawn again if
    taken), as make_network's association with them."""
    url = f"{CARDS}/v1/associations/{net.association_id}"
    async with http.get(url, headers=ADMIN) as r:
        current = await r.json()
    if current.get("issuer_prefix"):
        return
    for _ in range(20):
        body = {
            "name": current["name"],
            "rate_mode": current["rate_mode"],
            "taux_client_bps": current["taux_client_bps"],
            "taux_uc_bps": current["taux_uc_bps"],
            "books_start": BOOKS_START,
            "issuer_prefix": f"{secrets.randbelow(900_000) + 100_000}",
        }
        async with http.put(url, json=body, headers=ADMIN) as r:
            if r.status in (200, 201):
                return
            assert r.status == 409, await r.text()
    raise AssertionError("no free issuer prefix")


async def card_for(http: aiohttp.ClientSession, net: Network, account_id: str) -> str:
    """A new card of the network, issued to this account: its number."""
    await _issuer_prefix(http, net)
    body = {"issue_id": str(uuid.uuid4()), "account_id": account_id}
    async with http.post(
        f"{CARDS}/v1/associations/{net.association_id}/cards", json=body, headers=ADMIN
    ) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["number"])


@dataclass
class Kiosk:
    screen: Browser  # the kiosk's own browser (its cookie)
    key: str  # its reader's key


async def kiosk_of(http: aiohttp.ClientSession, net: Network, merchant: int = 0) -> Kiosk:
    """The kiosk a manager of ``net.merchants[merchant]`` sets up on a fresh browser."""
    email, password = await person(http, "manager", net.association_id, net.merchants[merchant])
    screen = Browser(http)
    signed = await screen.sign_in(email, password)
    assert signed.status == 303, signed.text
    await screen.get("/kiosk/setup")
    made = await screen.post("/kiosk/setup", {})
    assert made.status == 200, made.text
    found = _KEY.search(made.text)
    assert found, made.text
    return Kiosk(screen, found.group(1))


async def present(http: aiohttp.ClientSession, key: str, number: str) -> tuple[int, str]:
    """The reader's call: (status, the problem's reason or "")."""
    async with http.post(
        f"{PORTAL}/v1/kiosk/cards",
        json={"number": number},
        headers={"Authorization": f"Bearer {key}"},
    ) as r:
        body = await r.json(content_type=None) if r.content_length != 0 else None
        return r.status, str((body or {}).get("reason", "")) if r.status != 202 else ""


async def kiosk_code(holder: Browser) -> str:
    """A code the cardholder's space shows for the kiosk."""
    await holder.get("/space/kiosk")
    page = await holder.post("/space/kiosk", {})
    assert page.status == 200, page.text
    found = _CODE.search(page.text)
    assert found, page.text
    return found.group(1) + found.group(2)
