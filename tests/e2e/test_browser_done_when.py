"""Issue 15's "Done when", in Chromium against the five services and the portal started as
separate processes, one person after another, each in a browser context of their own:

1. a merchant's staff member enrols a customer at the front desk and records a purchase;
2. the customer completes their details and agrees to the shop's e-mails (double opt-in);
3. the merchant's manager sees the purchase in the dashboard and sends a campaign to a
   segment (who spent at least 30 €), which reaches the customer by e-mail;
4. the association's treasurer reviews the quarantined card transactions of last month,
   closes the month and downloads the settlement files;
5. the cardholder signs in with a code, sees the purchase, withdraws an SMS consent and
   downloads their data;
6. the shop's kiosk shows the card's balance when it is presented at the reader.

Each step is a journey step of tests/journeys (the same the portals' own browser tests run
at three widths); axe-core runs on every page they open. The widths differ per person, as
they would in a shop: the desk on a tablet, the back offices on a PC, the cardholder on a
phone, the kiosk on a tablet."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests import harness
from tests.browser import ScreenFactory
from tests.conftest import NetworkFactory, eventually
from tests.journeys import association as treasurer
from tests.journeys import desk, kiosk, manage
from tests.journeys import holder as cardholder
from tests.kiosk import card_for
from tests.messaging import Mailbox
from tests.people import call, email_consent, new_phone
from tests.portal import person
from tests.space import Holder, ask_sms_consent, codes_sent, consent_status, next_code

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
CRM, CARDS = harness.url("crm"), harness.url("cards")


async def test_issue_15_done_when(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    mailbox: Mailbox,
    screens: ScreenFactory,
    tmp_path: Path,
) -> None:
    # A network of one shop whose last month holds a sale and two card transactions held in
    # quarantine, with its treasurer (tests/journeys/association.books_to_close).
    books = await treasurer.books_to_close(http, make_network)
    aid, mid = books.association_id, books.merchant_id
    staff_login = await person(http, "staff", aid, mid)
    manager_login = await person(http, "manager", aid, mid)
    email = f"lea-{mid.hex[:8]}@example.org"

    # 1. the front desk: enrolment, then a purchase of 42,50 €
    counter = await screens("tablet")
    await desk.staff_signs_in(counter, *staff_login)
    account = await desk.staff_enrols(counter, email, first_name="Léa")
    booked = await desk.staff_records_a_purchase(counter, "42,50")
    assert booked.startswith("Enregistré : un achat de 42,50 €"), booked
    reward = await _cagnotte(http, account)  # booked through the till's path into cards
    assert reward != "0,00 €" and f"Récompense : {reward}" in booked, (reward, booked)

    # 2. Léa completes her details (her mobile) and agrees to the shop's e-mails; the network
    # asks her SMS consent too (pending its code)
    phone = new_phone()
    status, body = await call(http, "PATCH", f"{CRM}/v1/customers/{account}", {"phone": phone})
    assert status == 200, body
    await email_consent(http, account, str(mid))
    lea = Holder(account, email, phone, "Léa")
    sms = await ask_sms_consent(http, lea)

    # 3. the manager: the purchase in the dashboard, a campaign to those who spent 30 € or more
    office = await screens("desktop")
    await manage.manager_signs_in(office, *manager_login)
    await manage.sees_the_dashboard(office, 4_250)
    await manage.composes_a_campaign(
        office, "Arrivage", "Les truffes sont arrivées.", min_spent="30"
    )
    assert await manage.previews_its_size(office) == 1
    await manage.sends_it(office)
    await manage.sees_it_sent(office, "Arrivage", messages=1)
    await eventually(
        lambda: _received(mailbox, email, "Les truffes sont arrivées."), what="the campaign"
    )

    # 4. the treasurer: the quarantine reviewed, last month closed, its SEPA files downloaded
    books_office = await screens("desktop")
    await treasurer.admin_signs_in(books_office, books.email, books.password)
    await treasurer.reviews_the_quarantine(
        books_office, approve=[books.approvable], reject=[books.rejectable]
    )
    await treasurer.closes_the_month(books_office, books.month)
    files = await treasurer.downloads_the_settlement_files(books_office, tmp_path, books.month)
    assert {f.suffix for f in files} == {".xml"} and len(files) == 2, files

    # 5. Léa in her space, on her phone
    phone_screen = await screens("phone")
    before = codes_sent(mailbox, email)
    await cardholder.holder_signs_in(
        phone_screen, str(aid), email, lambda: next_code(mailbox, email, before)
    )
    await cardholder.holder_sees_a_purchase(phone_screen, "Léa", "achat de 42,50 €")
    await cardholder.holder_withdraws_a_consent(phone_screen, "SMS")
    assert await consent_status(http, lea, sms) == "withdrawn"
    data = await cardholder.holder_downloads_the_data(phone_screen)
    assert email in str(data) and account in str(data)

    # 6. the kiosk in the shop: Léa's card at the reader shows her cagnotte, first name only
    number = await card_for(http, books.network, account)
    screen = await screens("tablet")
    key = await kiosk.manager_makes_the_kiosk(screen, *manager_login)
    await kiosk.kiosk_waits_for_a_card(screen)
    await kiosk.card_presented(http, key, number)
    await kiosk.kiosk_shows_the_cagnotte(screen, "Léa", reward)
    shown = await screen.page.locator("main").inner_text()
    assert email not in shown and number not in shown and phone not in shown


async def _cagnotte(http: aiohttp.ClientSession, account: str) -> str:
    """The account's cagnotte in cards, as the pages write it ("1,27 €")."""
    status, body = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert status == 200, body
    cents = int(body["balance_cents"])
    return f"{cents // 100},{cents % 100:02d} €"


async def _received(mailbox: Mailbox, address: str, text: str) -> bool:
    """An e-mail to ``address`` whose text part says ``text`` (decoded)."""
    for m in mailbox.to(address):
        body = m.get_body(("plain",))
        if body is not None and text in str(body.get_content()):
            return True
    return False
