"""The merchant's back office as a manager goes through it (issue 15, item 3, MANAGER), one
step per thing they do or see, each on a `tests.browser.Screen` already open at the width the
test chose. The steps know no fixture: tests/e2e/test_browser_manage.py runs them at three
widths, and the "Done when" test chains them after a purchase at a till ("the manager sees it
in the dashboard and sends a campaign to a segment")."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.numbers import format_currency

from tests.browser import Screen

# The back office's pages, by the name of their screenshot (``manage-<name>-<width>.png``).
PAGES = {
    "home": "/manage",
    "campaigns": "/manage/campaigns",
    "compose": "/manage/campaigns/new",
    "families": "/manage/families",
    "promotions": "/manage/promotions",
    "customers": "/manage/customers",
    "statements": "/manage/statements",
    "staff": "/manage/staff",
    "terminals": "/manage/terminals",
}


def _euros(cents: int) -> str:
    return format_currency(cents / 100, "EUR", locale="fr_FR")


async def manager_signs_in(screen: Screen, email: str, password: str) -> None:
    """The manager (``email``, ``password``: a person of role manager with a password set)
    signs in on /sign-in and lands on a page with the back office's link."""
    page = screen.page
    await screen.goto("/sign-in")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_load_state()
    assert await page.locator('header a[href="/manage"]').count() == 1, page.url


async def sees_the_dashboard(screen: Screen, revenue_cents: int, timeout: float = 30) -> None:
    """The dashboard of this month shows ``revenue_cents`` (the purchases made before at the
    merchant's tills, in cents) as the period's revenue; crm counts a sale a moment after the
    till's answer, so the page is loaded again until it does (``timeout`` seconds)."""
    page = screen.page
    await screen.goto("/manage")
    await page.get_by_role("link", name="Tableau de bord").first.click()
    await page.wait_for_url("**/dashboard**")
    expected = _euros(revenue_cents)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        cell = page.locator("#fig-revenue_cents td").first
        shown = (await cell.inner_text()).replace("\u202f", "\xa0") if await cell.count() else ""
        if shown == expected.replace("\u202f", "\xa0"):
            break
        assert asyncio.get_running_loop().time() < deadline, (shown, expected)
        await asyncio.sleep(0.5)
        await screen.goto("/dashboard?preset=this_month")
    await screen.accessible("the dashboard")
    await screen.screenshot("manage-dashboard")


async def composes_a_campaign(
    screen: Screen,
    name: str,
    message: str,
    channel: str = "email",
    min_spent: str = "",
    seen_within_days: str = "",
) -> None:
    """Opens a new campaign and fills it in: its ``name``, its ``message`` (the quick news'
    text), its ``channel`` ("email" or "sms"), and the segment's filters: ``min_spent`` (euros
    as typed, "30" or "12,50"; empty: any) and ``seen_within_days`` (came in the last N days;
    empty: any). Nothing is sent yet."""
    page = screen.page
    await screen.goto("/manage/campaigns")
    await page.get_by_role("link", name="Nouvelle campagne").click()
    await page.wait_for_url("**/manage/campaigns/new")
    await page.get_by_label("Nom", exact=True).fill(name)
    await page.get_by_label("SMS" if channel == "sms" else "e-mail", exact=True).check()
    await page.get_by_label("Message", exact=True).fill(message)
    await page.get_by_label("Ont dépensé au moins (€)").fill(min_spent)
    await page.get_by_label("Venus dans les … derniers jours").fill(seen_within_days)


async def previews_its_size(screen: Screen) -> int:
    """Asks the segment's size of the campaign being composed (its fields stay as typed);
    answers how many customers would receive it (those of the segment who agreed to the
    channel; the page shows both numbers)."""
    page = screen.page
    await page.get_by_role("button", name="Voir la taille").click()
    await page.wait_for_load_state()
    size = page.locator("#segment-size")
    await size.wait_for()
    await screen.accessible("the campaign's form with its size")
    await screen.screenshot("manage-compose")
    text = await size.inner_text()
    assert re.search(r"\d+ client\(s\), dont \d+ la recevraient", text), text
    return int(await size.get_attribute("data-consenting") or "-1")


async def sends_it(screen: Screen) -> None:
    """Sends the campaign being composed now; lands on the campaign's page."""
    page = screen.page
    await page.get_by_role("button", name="Envoyer maintenant").click()
    await page.wait_for_url(re.compile(r".*/manage/campaigns/[0-9a-f-]{36}$"))


async def schedules_it(screen: Screen, when: datetime) -> None:
    """Chooses "send later" for the campaign being composed (after `composes_a_campaign`) at
    ``when`` (an aware instant, to come: typed as its day and time in Paris, to the minute),
    sends it and lands on the campaign's page, which shows it scheduled for that time."""
    page = screen.page
    local = when.astimezone(ZoneInfo("Europe/Paris"))
    await page.get_by_label("Une fois, plus tard", exact=False).check()
    await page.get_by_label("Jour", exact=True).fill(local.date().isoformat())
    await page.get_by_label("Heure", exact=True).fill(local.strftime("%H:%M"))
    await page.get_by_role("button", name="Envoyer maintenant ou à l'heure choisie").click()
    await page.wait_for_url(re.compile(r".*/manage/campaigns/[0-9a-f-]{36}$"))
    assert await page.locator("#campaign-state").inner_text() == "programmée"
    shown = await page.locator("#campaign-send-at").inner_text()
    assert shown == local.strftime("%d/%m/%Y %H:%M"), shown
    await screen.accessible("the campaign scheduled")
    await screen.screenshot("manage-campaign-scheduled")


async def cancels_it(screen: Screen) -> None:
    """On a scheduled campaign's page (after `schedules_it`), cancels it: the page says it
    is cancelled and offers neither cancel nor a time any more."""
    page = screen.page
    await page.get_by_role("button", name="Annuler la campagne").click()
    await page.wait_for_load_state()
    assert await page.locator("#campaign-state").inner_text() == "annulée"
    assert await page.locator("#cancel").count() == 0
    assert await page.locator("#schedule").count() == 0


async def sees_it_sent(screen: Screen, name: str, messages: int, timeout: float = 30) -> None:
    """On the campaign's page (after `sends_it`), waits until crm has sent it all, then sees
    its ``name``, that ``messages`` messages went out, and the campaign in the list."""
    page = screen.page
    deadline = asyncio.get_running_loop().time() + timeout

    async def counts() -> list[int]:
        return [
            int(n) for n in re.findall(r": (\d+)", await page.locator("#messages").inner_text())
        ]

    # crm says the campaign sent once it has asked notifications for every message; their
    # statuses, notifications', come a moment after
    while (await page.locator("#campaign-state").inner_text()) != "envoyée" or sum(
        await counts()
    ) != messages:
        assert asyncio.get_running_loop().time() < deadline, ("not sent", await counts())
        await asyncio.sleep(0.5)
        await page.reload()
    assert await page.get_by_role("heading", level=1).inner_text() == name
    await screen.accessible("the campaign sent")
    await screen.screenshot("manage-campaign")
    await page.get_by_role("link", name="Campagnes").first.click()
    await page.wait_for_url("**/manage/campaigns")
    row = page.locator("#campaigns tr", has_text=name)
    assert "envoyée" in await row.inner_text()


async def visits_every_page(screen: Screen) -> None:
    """Opens each page of the back office (the signed-in manager's), runs axe-core on it and
    takes its screenshot ``manage-<page>``; each answers 200 and links the others."""
    for name, path in PAGES.items():
        await screen.goto(path)
        assert await screen.page.locator('a[href="/dashboard"]').count() >= 1, path
        await screen.accessible(f"the back office's {name} page")
        await screen.screenshot(f"manage-{name}")
