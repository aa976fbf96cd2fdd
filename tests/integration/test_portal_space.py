"""The cardholder space over HTTP (issue 15): what a signed-in cardholder sees is their own
account's, never another's, even when they name another's consent in a form; a change
(a consent withdrawn, the erasure asked) needs the session's current CSRF token; the data's
download passes crm's file on without the account in the URL."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests import harness
from tests.conftest import NetworkFactory
from tests.messaging import KannelHandle, Mailbox
from tests.portal import Browser
from tests.space import ask_sms_consent, consent_status, holder_with_a_purchase, signed_in_holder

pytestmark = pytest.mark.timeout(120)


async def test_a_cardholder_sees_their_own_space_and_never_another_s(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa", 4250)
    tom = await holder_with_a_purchase(http, net, "Tom", 1999)
    toms_consent = await ask_sms_consent(http, tom)
    browser = await signed_in_holder(http, mailbox, net, lea)

    space = await browser.get("/space")
    assert space.status == 200, space.text
    assert "Bonjour Léa" in space.text and lea.email in space.text
    assert "achat de 42,50 €" in space.text  # the purchase at the till, in the history
    # the network's shops (cards' directory, which a cardholder reaches), its name beside it
    assert "<ul><li>merchant 0</li></ul>" in space.text
    assert "<td>merchant 0</td>" in space.text
    assert tom.email not in space.text and "Tom" not in space.text

    browser.jar["comptoir_lang"] = "en"  # English, the visitor's choice
    english = await browser.get("/space")
    assert "Hello Léa" in english.text and "purchase of €42.50" in english.text
    del browser.jar["comptoir_lang"]

    # Tom's consent named in Léa's form: crm refuses it (it is not Léa's), it stays asked
    refused = await browser.post(f"/space/consents/{toms_consent}/withdraw", {})
    assert refused.status == 404 and tom.email not in refused.text
    assert await consent_status(http, tom, toms_consent) == "pending"

    # the download is Léa's, and the account's id is in no URL the portal made
    download = await browser.get("/space/data.json")
    assert download.status == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="my-data.json"'
    data = json.loads(download.text)
    assert lea.email in download.text and tom.email not in download.text
    assert lea.account_id in json.dumps(data)
    assert lea.account_id not in (await browser.get("/space/data")).text
    csv = await browser.get("/space/data.csv")
    assert csv.status == 200 and lea.email in csv.text and tom.email not in csv.text

    # another role's session, or none, does not reach the space
    assert (await Browser(http).get("/space")).headers["Location"] == "/sign-in"


async def test_a_stale_csrf_token_is_refused_on_a_withdrawal_and_the_erasure(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa")
    consent = await ask_sms_consent(http, lea)
    first = await signed_in_holder(http, mailbox, net, lea)
    await first.get("/space")
    stale = first.csrf
    await first.post("/sign-out", {})
    again = await signed_in_holder(http, mailbox, net, lea)
    await again.get("/space")
    assert again.csrf != stale

    for path, fields in (
        (f"/space/consents/{consent}/withdraw", {}),
        ("/space/erasure", {"confirm": "yes"}),
    ):
        refused = await again.post(path, {**fields, "csrf": stale}, csrf=False)
        assert refused.status == 403, (path, refused.status)
        assert refused.headers["X-Problem-Reason"] == "csrf"
        missing = await again.post(path, fields, csrf=False)
        assert missing.status == 403, (path, missing.status)
    assert await consent_status(http, lea, consent) == "pending"
    assert lea.email in (await again.get("/space")).text  # not erased

    # "Origin: null": the portal's own form under no-referrer (Sec-Fetch-Site: same-origin)
    # passes the origin check; from a sandboxed frame or another site, refused
    path = f"/space/consents/{consent}/withdraw"
    for site in (None, "cross-site"):
        headers = {"Origin": "null"} | ({"Sec-Fetch-Site": site} if site else {})
        framed = await again.request("POST", path, {"csrf": again.csrf}, headers=headers)
        assert (framed.status, framed.headers["X-Problem-Reason"]) == (403, "csrf"), site
    assert await consent_status(http, lea, consent) == "pending"

    # with the session's own token, from its own page: the withdrawal is done
    own = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    done = await again.request("POST", path, {"csrf": again.csrf}, headers=own)
    assert (done.status, done.headers["Location"]) == (303, "/space/done/withdrawn")
    assert await consent_status(http, lea, consent) == "withdrawn"


async def test_the_erasure_asks_a_confirmation_then_erases_and_signs_out(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa")
    browser = await signed_in_holder(http, mailbox, net, lea)
    page = await browser.get("/space/erasure")
    assert page.status == 200 and "Effacer mes données" in page.text
    unconfirmed = await browser.post("/space/erasure", {})
    assert unconfirmed.status == 422 and "Cochez la case" in unconfirmed.text
    assert lea.email in (await browser.get("/space")).text
    erased = await browser.post("/space/erasure", {"confirm": "yes"})
    assert erased.status == 200 and "Vos données sont effacées." in erased.text
    assert (await browser.get("/space")).headers["Location"] == "/sign-in"


async def test_a_cardholder_gives_an_sms_consent_with_the_code_the_sms_brings(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
    kannel: KannelHandle,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa")
    browser = await signed_in_holder(http, mailbox, net, lea)
    await browser.get("/space")
    asked = await browser.post("/space/consents", {"channel": "sms"})
    assert asked.status == 303, asked.text
    code_page = asked.headers["Location"]
    consent = code_page.split("/")[3]
    assert await consent_status(http, lea, consent) == "pending"
    number = "+33" + lea.phone[1:]
    # the purchase may have sent its own SMS (the link to complete one's details) first
    for count in range(1, 4):
        texts = [s.text for s in await kannel.wait_for(number, count)]
        codes = [t for t in texts if t.startswith("Votre code de confirmation")]
        if codes:
            break
    [text] = codes
    await browser.get(code_page)
    wrong = await browser.post(code_page, {"code": "000000" if "000000" not in text else "111111"})
    assert wrong.status == 422 and "Code incorrect ou expiré." in wrong.text
    confirmed = await browser.post(code_page, {"code": text[-6:]})
    assert (confirmed.status, confirmed.headers["Location"]) == (303, "/space/done/confirmed")
    assert await consent_status(http, lea, consent) == "confirmed"
    space = await browser.get("/space")
    assert "SMS — donné" in space.text
