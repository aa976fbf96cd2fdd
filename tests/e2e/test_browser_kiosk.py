"""The shop's kiosk in Chromium (F27), at a phone's, a tablet's and a desktop's width: a
manager makes the screen the kiosk; a card presented at its reader shows the cagnotte with
the first name (the page's script turns to it by itself), then the waiting screen comes back
by itself; a code from the cardholder's space, typed at the kiosk, shows it too. axe-core on
every kiosk page; screenshots kiosk-*."""

from __future__ import annotations

import aiohttp
import pytest

from tests import harness
from tests.browser import Screen, ScreenFactory
from tests.conftest import NetworkFactory
from tests.journeys.holder import holder_signs_in
from tests.journeys.kiosk import (
    card_presented,
    code_typed_at_the_kiosk,
    holder_shows_a_kiosk_code,
    kiosk_goes_back_to_waiting,
    kiosk_shows_the_cagnotte,
    kiosk_waits_for_a_card,
    manager_makes_the_kiosk,
)
from tests.kiosk import card_for
from tests.messaging import Mailbox
from tests.portal import ADMIN, person
from tests.space import codes_sent, holder_with_a_purchase, next_code

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
CARDS = harness.url("cards")


async def _cagnotte(http: aiohttp.ClientSession, account_id: str) -> str:
    async with http.get(f"{CARDS}/v1/accounts/{account_id}", headers=ADMIN) as r:
        cents = int((await r.json())["balance_cents"])
    return f"{cents // 100},{cents % 100:02d} €"


async def test_the_kiosk_shows_a_card_s_cagnotte_then_waits_again_and_takes_a_code(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
    screen: Screen,
    screens: ScreenFactory,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa", 4250)
    number = await card_for(http, net, lea.account_id)
    euros = await _cagnotte(http, lea.account_id)
    email, password = await person(http, "manager", net.association_id, net.merchants[0])

    key = await manager_makes_the_kiosk(screen, email, password)
    await screen.accessible("the kiosk's key page")
    await kiosk_waits_for_a_card(screen)
    await screen.accessible("the waiting kiosk")
    await screen.screenshot("kiosk-waiting")

    await card_presented(http, key, number)
    await kiosk_shows_the_cagnotte(screen, "Léa", euros)
    await screen.accessible("the kiosk showing a card")
    await screen.screenshot("kiosk-card")
    text = await screen.page.locator("main").inner_text()
    assert lea.email not in text and number not in text
    if screen.width == "desktop":  # once: the screen's seconds (KIOSK_SHOWN_S) are waited for
        await kiosk_goes_back_to_waiting(screen)
    else:
        await kiosk_goes_back_to_waiting(screen, press_done=True)

    holder = await screens(screen.width)
    before = codes_sent(mailbox, lea.email)
    await holder_signs_in(
        holder, str(net.association_id), lea.email, lambda: next_code(mailbox, lea.email, before)
    )
    code = await holder_shows_a_kiosk_code(holder)
    await holder.accessible("the space's kiosk code")
    await holder.screenshot("kiosk-space-code")
    await code_typed_at_the_kiosk(screen, code)
    await kiosk_shows_the_cagnotte(screen, "Léa", euros)
