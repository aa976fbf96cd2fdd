"""The shop's kiosk over HTTP (F27, docs/kiosk.md), against the running services: a manager
makes a screen the kiosk; a card presented through the reader's call (its key) shows that
account's balance on that kiosk only, with a first name and nothing more personal, for a few
seconds; a code from the cardholder's space works once, expires, and means nothing in
another network."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta

import aiohttp
import asyncpg
import pytest

from shared import clock
from shared.access import Principal, dev_token
from tests import harness
from tests.chipcards import VirtualCard
from tests.conftest import Network, NetworkFactory
from tests.kiosk import card_for, kiosk_code, kiosk_of, present
from tests.messaging import Mailbox
from tests.portal import ADMIN, PORTAL, Browser, person
from tests.space import holder_with_a_purchase, signed_in_holder

pytestmark = pytest.mark.timeout(120)
CARDS = harness.url("cards")
WAITING = "Présentez votre carte au lecteur."


async def _cagnotte(http: aiohttp.ClientSession, account_id: str) -> str:
    """The account's cagnotte as the kiosk writes it in French (cards' own figure)."""
    async with http.get(f"{CARDS}/v1/accounts/{account_id}", headers=ADMIN) as r:
        cents = int((await r.json())["balance_cents"])
    return f"{cents // 100},{cents % 100:02d} €"


async def _promotion(
    http: aiohttp.ClientSession, net: Network, name: str, merchant: int | None
) -> None:
    """A promotion live now: the network's (``merchant`` None) or a merchant's."""
    now = clock.now()
    body = {
        "name": name,
        "merchant_id": None if merchant is None else str(net.merchants[merchant]),
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
        "taux_client_bps": 900,
    }
    url = f"{CARDS}/v1/associations/{net.association_id}/promotions/{uuid.uuid4()}"
    async with http.put(url, json=body, headers=ADMIN) as r:
        assert r.status == 201, await r.text()


async def test_a_card_presented_with_the_key_shows_its_balance_with_a_first_name_only(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    lea = await holder_with_a_purchase(http, net, "Léa", 4250)
    await _promotion(http, net, "Triple week-end", None)
    await _promotion(http, net, "Fête du pain", 0)
    await _promotion(http, net, "Soldes d'ailleurs", 1)
    number = await card_for(http, net, lea.account_id)
    kiosk = await kiosk_of(http, net, 0)
    # the manager is signed out of the kiosk's screen: it holds the kiosk's cookie only
    assert set(kiosk.screen.jar) == {"__Host-comptoir_kiosk", "__Host-comptoir_csrf"}
    assert (await kiosk.screen.get("/")).headers["Location"] == "/sign-in"

    waiting = await kiosk.screen.get("/kiosk")
    assert waiting.status == 200 and WAITING in waiting.text
    csp = waiting.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert (
        "script-src" not in (await Browser(http).get("/sign-in")).headers["Content-Security-Policy"]
    )

    # a wrong key, or none, is refused and shows nothing
    assert await present(http, "kio_" + "x" * 43, number) == (401, "invalid_kiosk_key")
    assert (await present(http, "", number))[0] == 401
    assert WAITING in (await kiosk.screen.get("/kiosk")).text
    # a number the network does not know
    assert await present(http, kiosk.key, "9999999999999995") == (404, "unknown_card")

    assert await present(http, kiosk.key, number) == (202, "")
    shown = await kiosk.screen.get("/kiosk")
    assert shown.status == 200, shown.text
    assert "Bonjour Léa" in shown.text and await _cagnotte(http, lea.account_id) in shown.text
    assert "Cet écran s&#39;efface dans" in shown.text
    # without the script, a refresh brings the waiting screen back when the seconds are over
    refresh = re.search(
        r'<noscript><meta http-equiv="refresh" content="(\d+);url=/kiosk">', shown.text
    )
    # the services' COMPTOIR_KIOSK_SHOWN_S (harness.KIOSK_SHOWN_S), less the seconds gone since
    seconds = int(refresh[1]) if refresh else 0
    assert harness.KIOSK_SHOWN_S // 2 <= seconds <= harness.KIOSK_SHOWN_S, shown.text
    assert '<script src="/static/kiosk.js" defer></script>' in shown.text
    # the offers here: the network's and this shop's, not another shop's
    assert "<li>Triple week-end</li>" in shown.text and "<li>Fête du pain</li>" in shown.text
    assert "ailleurs" not in shown.text
    for personal in (lea.email, lea.phone, lea.phone[1:], number, lea.account_id):
        assert personal not in shown.text, personal
    state = await kiosk.screen.get("/kiosk/state.json")
    assert state.status == 200 and '"since":"' in state.text and lea.account_id not in state.text

    # another shop's kiosk shows nothing of it
    other = await kiosk_of(http, net, 1)
    assert WAITING in (await other.screen.get("/kiosk")).text
    assert '"since":null' in (await other.screen.get("/kiosk/state.json")).text

    # "Done": the waiting screen at once
    await kiosk.screen.post("/kiosk/done", {})
    assert WAITING in (await kiosk.screen.get("/kiosk")).text

    # a browser that is no kiosk is told so
    stranger = await Browser(http).get("/kiosk")
    assert stranger.status == 403 and "Cet écran n&#39;est pas une borne" in stranger.text


async def test_the_balance_leaves_the_screen_after_its_seconds(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    db: asyncpg.Connection,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa")
    number = await card_for(http, net, lea.account_id)
    kiosk = await kiosk_of(http, net)
    assert await present(http, kiosk.key, number) == (202, "")
    assert "Bonjour Léa" in (await kiosk.screen.get("/kiosk")).text
    # its seconds over (moved back rather than waited for)
    await db.execute(
        "UPDATE portal.kiosk_shown SET shown_until = shown_until - interval '1 minute'"
        " WHERE account_id = $1",
        uuid.UUID(lea.account_id),
    )
    page = await kiosk.screen.get("/kiosk")
    assert WAITING in page.text and "Léa" not in page.text
    assert '"since":null' in (await kiosk.screen.get("/kiosk/state.json")).text


async def test_a_reader_given_many_unknown_numbers_waits_and_another_kiosk_does_not(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    """A key used to try card numbers one after the other is slowed down (the portal's
    per-address limit, 30 in 15 minutes, counted per kiosk)."""
    net = await make_network(merchants=2)
    lea = await holder_with_a_purchase(http, net, "Léa")
    number = await card_for(http, net, lea.account_id)
    trying, other = await kiosk_of(http, net, 0), await kiosk_of(http, net, 1)
    answers = [(await present(http, trying.key, f"99999999{i:08d}"))[0] for i in range(30)]
    assert answers == [404] * 30
    assert await present(http, trying.key, number) == (429, "too_many_unknown_cards")
    assert WAITING in (await trying.screen.get("/kiosk")).text
    assert await present(http, other.key, number) == (202, "")


async def test_a_retired_kiosk_is_refused_its_key_and_its_screen(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    lea = await holder_with_a_purchase(http, net, "Léa")
    number = await card_for(http, net, lea.account_id)
    kiosk = await kiosk_of(http, net, 0)
    email, password = await person(http, "manager", net.association_id, net.merchants[0])
    manager = Browser(http)
    await manager.sign_in(email, password)
    listed = await manager.get("/kiosk/setup")
    assert listed.status == 200 and "Installée le" in listed.text
    [kiosk_id] = re.findall(r"/kiosk/setup/([0-9a-f-]{36})/retire", listed.text)
    # another shop's manager cannot retire it
    email1, password1 = await person(http, "manager", net.association_id, net.merchants[1])
    stranger = Browser(http)
    await stranger.sign_in(email1, password1)
    await stranger.get("/kiosk/setup")
    refused = await stranger.post(f"/kiosk/setup/{kiosk_id}/retire", {})
    assert refused.status == 404
    assert await present(http, kiosk.key, number) == (202, "")

    retired = await manager.post(f"/kiosk/setup/{kiosk_id}/retire", {})
    assert (retired.status, retired.headers["Location"]) == (303, "/kiosk/setup")
    assert "retirée" in (await manager.get("/kiosk/setup")).text
    assert (await present(http, kiosk.key, number))[0] == 401
    assert (await kiosk.screen.get("/kiosk")).status == 403
    # staff of the shop do not reach the set-up
    email2, password2 = await person(http, "staff", net.association_id, net.merchants[0])
    staff = Browser(http)
    await staff.sign_in(email2, password2)
    assert (await staff.get("/kiosk/setup")).headers["Location"] == "/sign-in"


async def test_a_code_from_the_space_works_once_expires_and_stays_in_its_network(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
    db: asyncpg.Connection,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa", 4250)
    holder = await signed_in_holder(http, mailbox, net, lea)
    kiosk = await kiosk_of(http, net)
    await kiosk.screen.get("/kiosk")

    code = await kiosk_code(holder)
    typed = await kiosk.screen.post("/kiosk/code", {"code": f"{code[:3]} {code[3:]}"})
    assert (typed.status, typed.headers["Location"]) == (303, "/kiosk"), typed.text
    shown = await kiosk.screen.get("/kiosk")
    assert "Bonjour Léa" in shown.text and lea.email not in shown.text
    await kiosk.screen.post("/kiosk/done", {})

    # spent: a second use is refused
    again = await kiosk.screen.post("/kiosk/code", {"code": code})
    assert again.status == 422 and "Code incorrect ou expiré." in again.text

    # a new code replaces the last
    first, second = await kiosk_code(holder), await kiosk_code(holder)
    if first != second:
        assert (await kiosk.screen.post("/kiosk/code", {"code": first})).status == 422

    # a kiosk of another network finds nothing with it (and it stays usable here)
    elsewhere = await kiosk_of(http, await make_network(merchants=1))
    await elsewhere.screen.get("/kiosk")
    assert (await elsewhere.screen.post("/kiosk/code", {"code": second})).status == 422

    # expired: refused
    await db.execute(
        "UPDATE portal.kiosk_codes SET expires_at = created_at WHERE account_id = $1",
        uuid.UUID(lea.account_id),
    )
    expired = await kiosk.screen.post("/kiosk/code", {"code": second})
    assert expired.status == 422

    # guessing is slowed down: after a few wrong codes the kiosk waits
    statuses = [
        (await kiosk.screen.post("/kiosk/code", {"code": "000000"})).status for _ in range(6)
    ]
    assert statuses[-1] == 429, statuses


async def test_a_card_put_in_the_terminal_programs_reader_shows_on_the_kiosk(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    virtual_card: Callable[..., VirtualCard],
) -> None:
    """The real reader path: a chip card in pcscd's reader (vpcd), read by
    ``python -m terminal kiosk``, posted with the key, shown on the kiosk's page."""
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa")
    number = await card_for(http, net, lea.account_id)
    kiosk = await kiosk_of(http, net)
    virtual_card(number)
    reader = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "terminal",
        "kiosk",
        "--once",
        "--portal",
        PORTAL,
        env={**os.environ, "COMPTOIR_KIOSK_KEY": kiosk.key},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(reader.communicate(), 60)
    said = out.decode()
    assert reader.returncode == 0, said
    assert "card shown on the kiosk" in said and number not in said
    shown = await kiosk.screen.get("/kiosk")
    assert "Bonjour Léa" in shown.text and number not in shown.text

    # a key refused stops the program (status 2): nothing could work
    refused = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "terminal",
        "kiosk",
        "--once",
        "--portal",
        PORTAL,
        "--key",
        "kio_" + "x" * 43,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 2 and "kiosk key is refused" in out.decode()


# --- the cardholder space: one's details, a message to a shop ----------------------------------

CRM = harness.url("crm")
_FORM_ID = re.compile(r'name="form_id" value="([0-9a-f-]{36})"')


async def _file(http: aiohttp.ClientSession, account_id: str) -> dict[str, object]:
    async with http.get(f"{CRM}/v1/customers/{account_id}", headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        found: dict[str, object] = await r.json()
        return found


async def test_a_cardholder_corrects_their_details_in_crm_s_file(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa")
    holder = await signed_in_holder(http, mailbox, net, lea)
    page = await holder.get("/space/details")
    assert page.status == 200 and 'value="Léa"' in page.text and lea.email in page.text

    fields = {
        "title": "MME",
        "first_name": "Léa-Marie",
        "last_name": "Martin",
        "address": "3 rue des Lilas",
        "postal_code": "69001",
        "town": "Lyon",
        "landline": "",
        "birth_date": "1990-05-17",
        "language": "fr",
        "email": "someone-else@example.org",  # not a field of this form: left as it is
    }
    saved = await holder.post("/space/details", fields)
    assert (saved.status, saved.headers["Location"]) == (303, "/space/done/details"), saved.text
    file = await _file(http, lea.account_id)
    assert (file["first_name"], file["last_name"], file["town"], file["birth_date"]) == (
        "Léa-Marie",
        "Martin",
        "Lyon",
        "1990-05-17",
    )
    assert file["title"] == "MME" and file["email"] == lea.email
    assert "Bonjour Léa-Marie" in (await holder.get("/space")).text

    # a field crm refuses: the page names it, keeps what was typed, and nothing changes
    await holder.get("/space/details")
    wrong = await holder.post("/space/details", {**fields, "postal_code": "?!", "town": "Paris"})
    assert wrong.status == 422 and "Vérifiez ces champs : Code postal." in wrong.text
    assert 'value="Paris"' in wrong.text
    assert (await _file(http, lea.account_id))["town"] == "Lyon"


async def test_a_cardholder_writes_to_a_shop_and_its_people_read_it_in_the_inbox(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=2)
    lea = await holder_with_a_purchase(http, net, "Léa")
    holder = await signed_in_holder(http, mailbox, net, lea)
    page = await holder.get("/space/messages")
    assert page.status == 200 and "merchant 0" in page.text and "merchant 1" in page.text
    found = _FORM_ID.search(page.text)
    assert found, page.text
    text = "Avez-vous du pain sans gluten ? <b>merci</b>"
    message = {"form_id": found.group(1), "merchant_id": str(net.merchants[0]), "body": text}
    sent = await holder.post("/space/messages", message)
    assert (sent.status, sent.headers["Location"]) == (303, "/space/done/message"), sent.text
    again = await holder.post("/space/messages", message)  # the form sent twice: one message
    assert again.status == 303
    async with http.get(f"{CRM}/v1/customers/{lea.account_id}/shop-messages", headers=ADMIN) as r:
        assert len((await r.json())["messages"]) == 1
    listed = await holder.get("/space/messages")
    assert "Avez-vous du pain sans gluten ? &lt;b&gt;merci&lt;/b&gt;" in listed.text

    # the shop's people read it; another shop's do not
    email, password = await person(http, "staff", net.association_id, net.merchants[0])
    staff = Browser(http)
    await staff.sign_in(email, password)
    inbox = await staff.get("/inbox")
    assert inbox.status == 200, inbox.text
    assert "pain sans gluten ? &lt;b&gt;merci&lt;/b&gt;" in inbox.text and "Léa" in inbox.text
    assert f'href="/desk/customers/{lea.account_id}"' in inbox.text
    email1, password1 = await person(http, "manager", net.association_id, net.merchants[1])
    other = Browser(http)
    await other.sign_in(email1, password1)
    elsewhere = await other.get("/inbox")
    assert elsewhere.status == 200 and "gluten" not in elsewhere.text
    # a cardholder has no inbox
    assert (await holder.get("/inbox")).headers["Location"] == "/sign-in"

    # a shop of another network, an empty message: refused, nothing kept
    stranger = await make_network(merchants=1)
    await holder.get("/space/messages")
    fresh = {**message, "form_id": str(uuid.uuid4())}
    refused = await holder.post(
        "/space/messages", {**fresh, "merchant_id": str(stranger.merchants[0])}
    )
    assert refused.status == 422 and "Ce commerce n&#39;est pas de votre réseau." in refused.text
    empty = await holder.post("/space/messages", {**fresh, "body": "   "})
    assert empty.status == 422
    async with http.get(f"{CRM}/v1/customers/{lea.account_id}/shop-messages", headers=ADMIN) as r:
        assert len((await r.json())["messages"]) == 1

    # the person's words go with their file when they ask for the erasure
    await holder.get("/space/erasure")
    assert (await holder.post("/space/erasure", {"confirm": "yes"})).status == 200
    async with http.get(f"{CRM}/v1/customers/{lea.account_id}/shop-messages", headers=ADMIN) as r:
        assert (await r.json())["messages"] == []
    assert "gluten" not in (await staff.get("/inbox")).text


async def test_a_cardholder_s_token_does_not_write_the_shops_notes(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    """crm's correction of a file carries the merchants' notes too: a cardholder's own scope
    corrects their details, never those notes (the portal's form does not send them; crm
    refuses them all the same)."""
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa")
    holder = Principal(
        actor=f"holder:{lea.account_id}",
        role="cardholder",
        association_id=net.association_id,
        account_id=uuid.UUID(lea.account_id),
    )
    auth = {"Authorization": f"Bearer {dev_token(holder)}"}
    url = f"{CRM}/v1/customers/{lea.account_id}"
    async with http.patch(url, json={"notes": "VIP"}, headers=auth) as r:
        assert r.status == 403, await r.text()
    async with http.patch(url, json={"town": "Lyon"}, headers=auth) as r:
        assert r.status == 200, await r.text()
    async with http.patch(url, json={"notes": "aime le pain"}, headers=ADMIN) as r:
        assert r.status == 200, await r.text()
    file = await _file(http, lea.account_id)
    assert (file["town"], file["notes"]) == ("Lyon", "aime le pain")
