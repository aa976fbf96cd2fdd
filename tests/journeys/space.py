"""The cardholder space's steps in the browser (issue 15, "Cardholder space"), in French (the
browser's language): the cardholder signs in with a code, corrects their details, writes to a
shop; the shop's people read it in their inbox. No step takes a pytest fixture, so that the
"Done when" test chains them (tests/e2e/test_browser_space_changes.py runs them at three
widths)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
    brought (e.g. tests.space.next_code over the mailbox)."""
    page = screen.page
    await screen.goto(f"/holder/{association_id}")
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(address)
    await page.get_by_role("button", name="Recevoir un code").click()
    await page.wait_for_url("**/holder-code")
    await page.get_by_label("Code reçu").fill(await code_sent())
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/space")


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
