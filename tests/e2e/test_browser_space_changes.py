"""The cardholder space's own details and a message to a shop in Chromium (issue 15,
"Cardholder space"), at a phone's, a tablet's and a desktop's width: the cardholder signs in
with a code, corrects their details, writes to a shop; the shop's staff read it in their
inbox. axe-core on each page; screenshots space-details, space-messages, inbox."""

from __future__ import annotations

import aiohttp
import pytest

from tests import harness
from tests.browser import Screen, ScreenFactory
from tests.conftest import NetworkFactory
from tests.journeys.holder import (
    holder_changes_details,
    holder_signs_in,
    holder_writes_to_a_shop,
    shop_reads_its_inbox,
)
from tests.messaging import Mailbox
from tests.portal import ADMIN, person
from tests.space import codes_sent, holder_with_a_purchase, next_code

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
CRM = harness.url("crm")


async def _signs_in(screen: Screen, email: str, password: str) -> None:
    page = screen.page
    await screen.goto("/sign-in")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/")


async def test_a_cardholder_corrects_their_details_and_writes_to_a_shop_that_reads_it(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
    screen: Screen,
    screens: ScreenFactory,
) -> None:
    net = await make_network(merchants=2)
    lea = await holder_with_a_purchase(http, net, "Léa", 4250)
    before = codes_sent(mailbox, lea.email)
    await holder_signs_in(
        screen, str(net.association_id), lea.email, lambda: next_code(mailbox, lea.email, before)
    )

    await screen.goto("/space/details")
    await screen.accessible("the details form")
    await screen.screenshot("space-details")
    await holder_changes_details(screen, last_name="Martin", town="Lyon", postal_code="69001")
    async with http.get(f"{CRM}/v1/customers/{lea.account_id}", headers=ADMIN) as r:
        file = await r.json()
    assert (file["last_name"], file["town"], file["postal_code"]) == ("Martin", "Lyon", "69001")

    await screen.goto("/space/messages")
    await screen.accessible("the message form")
    await screen.screenshot("space-messages")
    text = "Gardez-moi deux baguettes pour samedi, s'il vous plaît."
    await holder_writes_to_a_shop(screen, "merchant 0", text)
    await screen.goto("/space/messages")
    assert text in await screen.page.locator("#sent-h + ul").inner_text()

    shop = await screens(screen.width)
    email, password = await person(http, "staff", net.association_id, net.merchants[0])
    await _signs_in(shop, email, password)
    await shop_reads_its_inbox(shop, "Léa", text)
    await shop.accessible("the shop's inbox")
    await shop.screenshot("inbox")
