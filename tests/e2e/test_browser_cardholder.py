"""The cardholder's journey in Chromium (issue 15, "Done when"), at a phone's, a tablet's and
a desktop's width, against the five services and the portal as separate processes: a
purchase at a till; the cardholder receives a code by e-mail, signs in, sees the purchase,
withdraws an SMS consent, downloads their data (its content checked), asks an SMS consent
again (the code page), and asks for the erasure. axe-core on every page on the way; the
main pages' screenshots in docs/screens/."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from tests import harness
from tests.browser import Screen
from tests.conftest import NetworkFactory
from tests.messaging import Mailbox
from tests.space import (
    ask_sms_consent,
    codes_sent,
    consent_status,
    holder_with_a_purchase,
    next_code,
)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


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

    # the code, by e-mail
    await screen.goto(f"/holder/{net.association_id}")
    await screen.accessible("the cardholder's sign-in page")
    await screen.screenshot("holder-sign-in")
    before = codes_sent(mailbox, lea.email)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(lea.email)
    await page.get_by_role("button", name="Recevoir un code").click()
    await page.wait_for_url("**/holder-code")
    await screen.accessible("the code page")
    code = await next_code(mailbox, lea.email, before)
    await page.get_by_label("Code reçu").fill(code)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/space")

    # the space: the purchase at the till, the consent asked at the back office
    await screen.accessible("the cardholder space")
    await screen.screenshot("space")
    assert await page.get_by_role("heading", level=1).inner_text() == "Bonjour Léa"
    history = page.locator("#history")
    assert "achat de 42,50 €" in await history.inner_text()
    await page.get_by_role("button", name="Retirer — SMS").click()
    await page.wait_for_url("**/space/done/withdrawn")
    await screen.accessible("the page after a change")
    assert await consent_status(http, lea, consent) == "withdrawn"

    # the data, downloaded through the portal
    await screen.goto("/space/data")
    await screen.accessible("the data page")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Télécharger (JSON)").click()
    download = await info.value
    assert download.suggested_filename == "my-data.json"
    data = json.loads(_read(await download.path()))
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
