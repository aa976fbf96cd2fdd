"""The cardholder's space as a cardholder goes through it (issue 15, item 3), one step per
thing they do or see, each on a `tests.browser.Screen` already open at the width the test
chose. tests/e2e/test_browser_cardholder.py runs them at three widths, and the "Done when"
test chains them ("a cardholder signs in with a code, sees the purchase, withdraws an SMS
consent and downloads their data"); the details corrected and a message to a shop, read in
the shop's inbox (tests/e2e/test_browser_space_changes.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.browser import Screen

# The details form's fields by their French labels.
DETAILS = {
    "first_name": "Prénom",
    "last_name": "Nom",
    "address": "Adresse",
    "postal_code": "Code postal",
    "town": "Ville",
    "landline": "Téléphone fixe",
}


async def holder_signs_in(
    screen: Screen, association_id: str, address: str, code_sent: Callable[[], Awaitable[str]]
) -> None:
    """A cardholder signs in to their space with a one-time code: ``address`` (their e-mail
    or mobile) given on the network's page; ``code_sent()`` answers the code the message
    brought (e.g. tests.space.next_code over the mailbox). Lands on /space."""
    page = screen.page
    await screen.goto(f"/holder/{association_id}")
    await screen.accessible("the cardholder's sign-in page")
    await screen.screenshot("holder-sign-in")
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(address)
    await page.get_by_role("button", name="Recevoir un code").click()
    await page.wait_for_url("**/holder-code")
    await screen.accessible("the code page")
    await page.get_by_label("Code reçu").fill(await code_sent())
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/space")


async def holder_sees_a_purchase(screen: Screen, first_name: str, entry: str) -> None:
    """On their space: greeted by ``first_name``, and the history lists ``entry`` (its words
    as shown, e.g. "achat de 42,50 €")."""
    page = screen.page
    if not page.url.endswith("/space"):
        await screen.goto("/space")
    await screen.accessible("the cardholder space")
    await screen.screenshot("space")
    assert await page.get_by_role("heading", level=1).inner_text() == f"Bonjour {first_name}"
    history = await page.locator("#history").inner_text()
    assert entry in history.replace("\u202f", " ").replace("\xa0", " "), history


async def holder_withdraws_a_consent(screen: Screen, channel: str = "SMS") -> None:
    """On their space, withdraws their consent of ``channel`` ("SMS", "e-mail") in one click;
    lands on the page that says so."""
    page = screen.page
    if not page.url.endswith("/space"):
        await screen.goto("/space")
    await page.get_by_role("button", name=f"Retirer — {channel}").click()
    await page.wait_for_url("**/space/done/withdrawn")
    await screen.accessible("the page after a change")


async def holder_downloads_the_data(screen: Screen) -> dict[str, Any]:
    """From the data page, downloads everything held about them (JSON) through the portal;
    the document, read."""
    page = screen.page
    await screen.goto("/space/data")
    await screen.accessible("the data page")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Télécharger (JSON)").click()
    download = await info.value
    assert download.suggested_filename == "my-data.json"
    return _read(await download.path())


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def holder_changes_details(screen: Screen, **fields: str) -> None:
    """From their space (signed in: `holder_signs_in`), the cardholder opens "Modifier vos
    coordonnées", types ``fields`` (keys of DETAILS: ``first_name="Léa-Marie"``,
    ``town="Lyon"``...) and saves; the confirmation is shown."""
    page = screen.page
    await screen.goto("/space")
    await page.get_by_role("link", name="Modifier vos coordonnées").click()
    await page.wait_for_url("**/space/details")
    for name, value in fields.items():
        await page.get_by_label(DETAILS[name], exact=True).fill(value)
    await page.get_by_role("button", name="Enregistrer mes coordonnées").click()
    await page.wait_for_url("**/space/done/details")
    await page.get_by_text("Vos coordonnées sont enregistrées.").wait_for()


async def holder_writes_to_a_shop(screen: Screen, shop: str, text: str) -> None:
    """From their space, the cardholder opens "Écrire à un commerce", chooses ``shop`` (its
    name in the network's directory), writes ``text`` and sends it; the confirmation shown."""
    page = screen.page
    await screen.goto("/space")
    await page.get_by_role("link", name="Écrire à un commerce").click()
    await page.wait_for_url("**/space/messages")
    await page.get_by_label("Commerce").select_option(label=shop)
    await page.get_by_label("Votre message").fill(text)
    await page.get_by_role("button", name="Envoyer").click()
    await page.wait_for_url("**/space/done/message")
    await page.get_by_text("Votre message est envoyé au commerce.").wait_for()


async def shop_reads_its_inbox(screen: Screen, first_name: str, text: str) -> None:
    """A person of the shop (staff or manager, signed in) opens Messages in the menu and sees
    ``text`` from a customer named ``first_name``."""
    page = screen.page
    await screen.goto("/")
    await page.get_by_role("link", name="Messages", exact=True).click()
    await page.wait_for_url("**/inbox")
    message = page.locator("ul.inbox li").filter(has_text=text)
    await message.wait_for()
    assert first_name in await message.inner_text()
