"""The portal's e-mails in English (issue 15: French first, English available): a person
created in English gets their password link in English; a visitor who chose English gets the
reset link and a cardholder's code in English, with nothing left in French."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import aiohttp
import pytest

from tests import harness
from tests.conftest import NetworkFactory
from tests.messaging import Mailbox
from tests.portal import ADMIN, PORTAL, Browser
from tests.space import holder_with_a_purchase

pytestmark = pytest.mark.timeout(120)
FRENCH = ("Bonjour", "Votre", "mot de passe", "valable", "Ne le communiquez")


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None, "a text and an HTML part"
    return str(text.get_content()), str(html.get_content())


def _english(message: EmailMessage, *words: str) -> None:
    text, html = _parts(message)
    for part in (text, html):
        for word in words:
            assert word in part, (word, part)
    for part in (text, html, str(message["Subject"])):
        for french in FRENCH:
            assert french not in part, (french, part)


async def _english_browser(http: aiohttp.ClientSession) -> Browser:
    browser = Browser(http)
    await browser.get("/sign-in")
    chosen = await browser.post("/language", {"language": "en"})
    assert chosen.status == 303, chosen
    page = await browser.get("/sign-in")
    assert 'lang="en"' in page.text
    return browser


async def test_a_person_created_in_english_gets_the_link_and_its_reset_in_english(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)
    email = f"en-{uuid.uuid4().hex[:10]}@example.org"
    body = {
        "email": email,
        "name": "Sam Taylor",
        "role": "manager",
        "association_id": str(net.association_id),
        "merchant_id": str(net.merchants[0]),
        "language": "en",
    }
    async with http.put(f"{PORTAL}/v1/people/{uuid.uuid4()}", json=body, headers=ADMIN) as r:
        assert r.status == 201, await r.text()
    made = await mailbox.wait_for_subject(email, "Your access to Comptoir")
    _english(made, "Hello Sam Taylor", "To choose your password and reach Comptoir", "/password/")

    browser = await _english_browser(http)
    await browser.get("/forgot")
    asked = await browser.post("/forgot", {"email": email})
    assert asked.status in (200, 303), asked
    reset = await mailbox.wait_for_subject(email, "Your new Comptoir password")
    _english(reset, "To choose a new password", "/password/")


async def test_a_cardholder_on_the_english_page_gets_the_code_in_english(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)
    holder = await holder_with_a_purchase(http, net, "Robin")
    browser = await _english_browser(http)
    await browser.get(f"/holder/{net.association_id}")
    sent = await browser.post(f"/holder/{net.association_id}", {"address": holder.email})
    assert sent.status == 303, sent
    code = await mailbox.wait_for_subject(holder.email, "Your sign-in code:")
    _english(code, "Your code to enter your loyalty card space", "Share it with nobody")
