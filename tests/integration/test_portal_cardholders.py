"""A cardholder signs in to the portal with a one-time code sent by e-mail or SMS (issue 15,
docs/access.md): the account is found through cards, the code works once, a wrong one counts
against the rate limit, and an unknown address gets the same page and no message."""

from __future__ import annotations

import re
import uuid

import aiohttp
import pytest

from tests import harness
from tests.conftest import NetworkFactory
from tests.messaging import KannelHandle, Mailbox
from tests.portal import Browser

pytestmark = pytest.mark.timeout(120)


def _code(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, text
    return found.group(1)


async def test_a_cardholder_signs_in_with_a_code_sent_by_email(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)
    email = f"holder-{uuid.uuid4().hex[:10]}@example.org"
    till = net.terminals[0]
    enrolled = await till.request(
        "POST",
        "/v1/enrolments",
        {"enrolment_id": str(uuid.uuid4()), "email": email, "first_name": "Léa"},
    )
    assert enrolled.status == 201, enrolled
    account = enrolled.body["account_id"]

    browser = Browser(http)
    start = await browser.get(f"/holder/{net.association_id}")
    assert start.status == 200 and "Recevoir un code" in start.text
    sent = await browser.post(f"/holder/{net.association_id}", {"address": email.upper()})
    assert (sent.status, sent.headers["Location"]) == (303, "/holder-code")
    challenge = browser.jar["__Host-comptoir_code"]  # the challenge rides in a cookie
    mail = await mailbox.wait_for_subject(email, "Votre code de connexion")
    code = _code(str(mail["Subject"]))

    entry = await browser.get("/holder-code")
    assert entry.status == 200
    wrong = "000000" if code != "000000" else "111111"
    refused = await browser.post("/holder-code", {"code": wrong})
    assert refused.status == 401 and "Code incorrect ou expiré." in refused.text
    signed = await browser.post("/holder-code", {"code": code})
    assert (signed.status, signed.headers["Location"]) == (303, "/space")
    home = await browser.get("/")
    assert home.status == 200 and "porteur de carte" in home.text and account in home.text

    # the code is spent: the same challenge and code again sign nobody in
    again = Browser(http, jar={"__Host-comptoir_code": challenge})
    await again.get("/holder-code")
    assert (await again.post("/holder-code", {"code": code})).status == 401


async def test_a_cardholder_signs_in_with_a_code_sent_by_sms(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    kannel: KannelHandle,
) -> None:
    net = await make_network(merchants=1)
    local = f"06{uuid.uuid4().int % 10**8:08d}"
    sale = await net.terminals[0].sale(local, 1500)
    assert sale.status == 201, sale
    browser = Browser(http)
    await browser.get(f"/holder/{net.association_id}")
    sent = await browser.post(f"/holder/{net.association_id}", {"address": local})
    assert sent.status == 303
    number = "+33" + local[1:]
    # the sale sent its own SMS (the link to complete one's details): the code's is the next
    for count in range(1, 4):
        texts = [s.text for s in await kannel.wait_for(number, count)]
        codes = [t for t in texts if t.startswith("Votre code Comptoir : ")]
        if codes:
            break
    [text] = codes
    await browser.get("/holder-code")
    signed = await browser.post("/holder-code", {"code": _code(text)})
    assert signed.status == 303
    home = await browser.get("/")
    assert home.status == 200 and sale.body["account_id"] in home.text


async def test_an_unknown_address_gets_the_same_page_and_no_message(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)
    nobody = f"nobody-{uuid.uuid4().hex[:10]}@example.org"
    browser = Browser(http)
    await browser.get(f"/holder/{net.association_id}")
    sent = await browser.post(f"/holder/{net.association_id}", {"address": nobody})
    assert (sent.status, sent.headers["Location"]) == (303, "/holder-code")
    page = await browser.get("/holder-code")
    assert "Si une carte du réseau a cette adresse" in page.text
    assert (await browser.post("/holder-code", {"code": "123456"})).status == 401
    assert mailbox.to(nobody) == []


async def test_codes_sent_to_one_address_are_limited(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    target = f"target-{uuid.uuid4().hex[:10]}@example.org"
    browser = Browser(http)
    for _ in range(5):  # COMPTOIR_LOGIN_MAX_PER_ACCOUNT's default, within the window
        await browser.get(f"/holder/{net.association_id}")
        sent = await browser.post(f"/holder/{net.association_id}", {"address": target})
        assert sent.status == 303
    await browser.get(f"/holder/{net.association_id}")
    limited = await browser.post(f"/holder/{net.association_id}", {"address": target})
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
