"""The cardholder's journey in Chromium (issue 15, "Done when"), at a phone's, a tablet's and
a desktop's width, against the five services and the portal as separate processes: a
purchase at a till; the cardholder receives a code by e-mail, signs in, sees the purchase,
withdraws an SMS consent, downloads their data (its content checked), asks an SMS consent
again (the code page), and asks for the erasure. axe-core on every page on the way; the
main pages' screenshots in docs/screens/."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests import harness
from tests.browser import Screen
from tests.conftest import NetworkFactory
from tests.journeys import holder as h
from tests.messaging import Mailbox
from tests.space import (
    ask_sms_consent,
    codes_sent,
    consent_status,
    holder_with_a_purchase,
    next_code,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


async def test_a_cardholder_signs_in_sees_a_purchase_withdraws_a_consent_and_downloads(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
    screen: Screen,
) -> None:
    net = await make_network(merchants=1)
    lea = await holder_with_a_purchase(http, net, "Léa", 4250)
    consent = await ask_sms_consent(http, lea)
    page = screen.page

    await screen.goto("/sign-in")
    await screen.accessible("the sign-in page")
    await screen.screenshot("sign-in")

    # the code, by e-mail; the space: the purchase at the till, the consent asked
    before = codes_sent(mailbox, lea.email)
    await h.holder_signs_in(
        screen,
        str(net.association_id),
        lea.email,
        lambda: next_code(mailbox, lea.email, before),
    )
    await h.holder_sees_a_purchase(screen, "Léa", "achat de 42,50 €")
    await h.holder_withdraws_a_consent(screen, "SMS")
    assert await consent_status(http, lea, consent) == "withdrawn"

    # the data, downloaded through the portal
    data = await h.holder_downloads_the_data(screen)
    text = json.dumps(data, ensure_ascii=False)
    assert lea.email in text and lea.account_id in text and "Léa" in text

    # a consent given again: the SMS code's page (double opt-in)
    await screen.goto("/space")
    await page.get_by_label("Recevoir les nouvelles du réseau par").select_option("sms")
    await page.get_by_role("button", name="Donner mon consentement").click()
    await page.wait_for_url("**/space/consents/*/code")
    await screen.accessible("the SMS code page")

    # the erasure, with its confirmation step
    await screen.goto("/space/erasure")
    await screen.accessible("the erasure page")
    await screen.screenshot("space-erasure")
    await page.get_by_label("J'ai compris, effacez mes données").check()
    await page.get_by_role("button", name="Effacer mes données").click()
    await page.get_by_role("heading", name="Vos données sont effacées.").wait_for()
    await screen.accessible("the page after the erasure")
