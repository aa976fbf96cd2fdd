"""The kiosk's steps in the browser (F27, docs/kiosk.md): a manager makes a screen the shop's
kiosk, the kiosk waits, a card is presented at its reader (the reader's call) or a code from
the cardholder's space is typed, and the kiosk shows the cagnotte, then waits again. In
French (the browser's language). No step takes a pytest fixture, so that the "Done when"
test chains them (tests/e2e/test_browser_kiosk.py runs them at three widths)."""

from __future__ import annotations

import aiohttp

from tests import harness
from tests.browser import Screen
from tests.portal import PORTAL

WAITING = "Présentez votre carte au lecteur."
# The kiosk's script asks every second; the balance stays the services' KIOSK_SHOWN_S
# (COMPTOIR_KIOSK_SHOWN_S, docs/kiosk.md), then up to 15 s more on a loaded machine.
SEEN_WITHIN_MS = 10_000
BACK_WITHIN_MS = harness.KIOSK_SHOWN_S * 1000 + 15_000


def _words(text: str) -> str:
    """A text's words, one plain space between them (a no-break space included)."""
    return " ".join(text.split())


async def manager_makes_the_kiosk(screen: Screen, email: str, password: str) -> str:
    """On the kiosk's own screen: the shop's manager (``email``, ``password``: a person of
    role ``manager``, e.g. made by tests.portal.person) signs in, opens Borne in the menu and
    makes this screen the kiosk; the card reader's key shown once (for `card_presented`). The
    manager is signed out of the screen after it."""
    page = screen.page
    await screen.goto("/sign-in")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url("**/")
    await page.get_by_role("link", name="Borne").click()
    await page.wait_for_url("**/kiosk/setup")
    await page.get_by_role("button", name="Faire de cet écran la borne").click()
    key = (await page.locator("#kiosk-key").inner_text()).strip()
    assert key.startswith("kio_"), key
    return key


async def kiosk_waits_for_a_card(screen: Screen) -> None:
    """The kiosk's page (on the screen `manager_makes_the_kiosk` made the kiosk) is open and
    waits: the invitation to present a card, the code form."""
    page = screen.page
    if not page.url.endswith("/kiosk"):
        await screen.goto("/kiosk")
    await page.get_by_text(WAITING).wait_for()
    await page.get_by_label("Ou tapez le code qu'affiche votre espace porteur").wait_for()


async def card_presented(http: aiohttp.ClientSession, key: str, number: str) -> None:
    """The card ``number`` put in the kiosk's reader: what ``python -m terminal kiosk`` posts
    with the reader ``key`` (the real reader path is tested in
    tests/integration/test_portal_kiosk.py)."""
    async with http.post(
        f"{PORTAL}/v1/kiosk/cards",
        json={"number": number},
        headers={"Authorization": f"Bearer {key}"},
    ) as r:
        assert r.status == 202, await r.text()


async def kiosk_shows_the_cagnotte(screen: Screen, first_name: str, euros: str) -> None:
    """The waiting kiosk turns, by itself (its script), to the card's page: "Bonjour
    ``first_name``" and the cagnotte ``euros`` as written in French ("1,28 €")."""
    page = screen.page
    heading = page.get_by_role("heading", level=1, name=f"Bonjour {first_name}")
    await heading.wait_for(timeout=SEEN_WITHIN_MS)
    amount = _words(await page.locator(".kiosk-amount").inner_text())
    assert amount == _words(euros), (amount, euros)


async def kiosk_goes_back_to_waiting(screen: Screen, press_done: bool = False) -> None:
    """The card's page leaves the screen: by itself after its seconds, or at once when the
    customer presses Terminé (``press_done``)."""
    page = screen.page
    if press_done:
        await page.get_by_role("button", name="Terminé").click()
    await page.get_by_text(WAITING).wait_for(timeout=BACK_WITHIN_MS)


async def holder_shows_a_kiosk_code(screen: Screen) -> str:
    """From their space (signed in: `holder_signs_in`), the cardholder opens "Un code pour la
    borne" and asks one; its six digits."""
    page = screen.page
    if not page.url.endswith("/space"):
        await screen.goto("/space")
    await page.get_by_role("link", name="Un code pour la borne").click()
    await page.wait_for_url("**/space/kiosk")
    await page.get_by_role("button", name="Afficher un code").click()
    code = "".join((await page.locator("#kiosk-code").inner_text()).split())
    assert len(code) == 6 and code.isdigit(), code
    return code


async def code_typed_at_the_kiosk(screen: Screen, code: str) -> None:
    """On the waiting kiosk, the customer types ``code`` and asks their balance."""
    page = screen.page
    await page.get_by_label("Ou tapez le code qu'affiche votre espace porteur").fill(code)
    await page.get_by_role("button", name="Voir mon solde").click()
