"""The cardholder's space as a cardholder goes through it (issue 15, item 3), one step per
thing they do or see, each on a `tests.browser.Screen` already open at the width the test
chose. tests/e2e/test_browser_cardholder.py runs them at three widths, and the "Done when"
test chains them ("a cardholder signs in with a code, sees the purchase, withdraws an SMS
consent and downloads their data")."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.browser import Screen


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
