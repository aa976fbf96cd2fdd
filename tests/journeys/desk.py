"""The front desk's steps in the browser (issue 15, item 3, CARD), each one thing a merchant's
staff member (or manager) does at the counter, in French (the browser's language). Each step
takes a `tests.browser.Screen` signed in as a merchant's person (after `staff_signs_in`) and
the data it needs; none takes a pytest fixture, so that the "Done when" test chains them
(tests/e2e/test_browser_desk.py runs them at three widths)."""

from __future__ import annotations

import re

from tests.browser import Screen

_CUSTOMER = re.compile(r"/desk/customers/([0-9a-f-]{36})")
_ON_CUSTOMER = re.compile(r"/desk/customers/[0-9a-f-]{36}$")
_BOOKED = {
    kind: re.compile(rf"/desk/customers/[0-9a-f-]{{36}}/{kind}/[0-9a-f-]{{36}}")
    for kind in ("sales", "returns", "redemptions")
}


def _words(text: str) -> str:
    """A text's words, one plain space between them (a no-break space included)."""
    return " ".join(text.split())


def _account(url: str) -> str:
    found = _CUSTOMER.search(url)
    assert found, url
    return found.group(1)


async def staff_signs_in(screen: Screen, email: str, password: str) -> None:
    """Signs in on /sign-in with ``email`` and ``password`` (a person of role ``staff`` or
    ``manager``, e.g. made by tests.portal.person) and opens the front desk, which the menu
    offers them."""
    page = screen.page
    await screen.goto("/sign-in")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(lambda url: "/sign-in" not in url)
    assert await page.get_by_role("link", name="Comptoir (CARD)").count() == 1
    await screen.goto("/desk")


async def staff_enrols(screen: Screen, phone_or_email: str, first_name: str = "") -> str:
    """Enrols a customer by their mobile or e-mail (``first_name`` optional) from the desk's
    page and lands on their page; the account's id. Fails if the desk refuses it (an address
    already enrolled: `staff_is_told` reads why)."""
    page = screen.page
    await screen.goto("/desk")
    await page.get_by_label("Mobile ou e-mail").fill(phone_or_email)
    if first_name:
        await page.get_by_label("Prénom (facultatif)").fill(first_name)
    await page.get_by_role("button", name="Inscrire").click()
    await page.wait_for_url(_ON_CUSTOMER)
    return _account(page.url)


async def staff_finds(screen: Screen, query: str) -> str:
    """Finds one customer by ``query`` (a card number, a mobile, an e-mail or a name that
    only they have) and lands on their page; the account's id."""
    page = screen.page
    await screen.goto("/desk")
    await page.get_by_label("Numéro de carte, mobile, e-mail ou nom").fill(query)
    await page.get_by_role("button", name="Chercher").click()
    await page.wait_for_url(_ON_CUSTOMER)
    return _account(page.url)


async def staff_records_a_purchase(screen: Screen, euros: str, family: str = "") -> str:
    """On a customer's page (after `staff_finds` or `staff_enrols`): records a purchase of
    ``euros`` (as typed at the counter, e.g. ``"25,00"``) in the product family whose code is
    ``family`` (empty: none), and lands on the purchase's page; what it says was booked, e.g.
    ``"Enregistré : un achat de 25,00 €. Récompense : 0,75 €"`` (words one space apart)."""
    page = screen.page
    assert _CUSTOMER.search(page.url), page.url
    await page.locator("#amount").fill(euros)
    await page.locator("#family").select_option(family)
    await page.get_by_role("button", name="Enregistrer l'achat").click()
    await page.wait_for_url(_BOOKED["sales"])
    return _words(await page.locator("#reward").inner_text())


async def staff_sees_why(screen: Screen) -> str:
    """On a purchase's page: the sentence that says why it earned what it earned, in the
    page's language (no-break spaces read as spaces); "" when the page shows none."""
    why = screen.page.locator("#booked #why span")
    return _words(await why.inner_text()) if await why.count() else ""


async def staff_records_a_return(screen: Screen, euros: str, cancelled: bool = False) -> str:
    """On a purchase's page (after `staff_records_a_purchase`): records the return of goods
    worth ``euros`` (or the sale's cancellation, ``cancelled``); what the return's page says
    was booked, e.g. ``"Enregistré : un retour de 10,00 €. Récompense reprise : 0,30 €."``."""
    page = screen.page
    await page.get_by_label("Montant rendu").fill(euros)
    await page.get_by_label("Type de retour").select_option(
        "cancelled" if cancelled else "returned"
    )
    await page.get_by_role("button", name="Enregistrer le retour").click()
    await page.wait_for_url(_BOOKED["returns"])
    return _words(await page.locator("#reward").inner_text())


async def staff_redeems(screen: Screen, account_id: str, euros: str) -> str:
    """Spends ``euros`` from the cagnotte of the customer ``account_id`` (their page is
    opened); what the spend's page says was booked, e.g. ``"Enregistré : utilisé sur la
    cagnotte 0,40 €."``. A spend of more than the cagnotte stays on the customer's page:
    `staff_is_told` reads why."""
    page = screen.page
    await screen.goto(f"/desk/customers/{account_id}")
    await page.get_by_label("Montant à utiliser", exact=False).fill(euros)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Utiliser", exact=True).click()
    if not _BOOKED["redemptions"].search(page.url):
        return ""
    return _words(await page.locator("#reward").inner_text())


async def staff_is_told(screen: Screen) -> str:
    """The refusal the page shows (one sentence), or "" if none."""
    alert = screen.page.get_by_role("alert")
    return (await alert.inner_text()).strip() if await alert.count() else ""


async def staff_sees_the_cagnotte(screen: Screen, account_id: str) -> str:
    """The cagnotte of the customer ``account_id`` as their page shows it, e.g. ``"0,75 €"``."""
    await screen.goto(f"/desk/customers/{account_id}")
    facts = screen.page.locator("dl.facts dd").first
    return _words(await facts.inner_text())
