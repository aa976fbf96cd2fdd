"""The front desk in the portal (issue 15, item 3, CARD): a merchant's staff member signed in
finds a customer by phone, card or name, sees the account, what a purchase earns and why,
enrols a customer, resends the details link and blocks a lost card, all through the
services with their own scope token; another association's staff is refused, and says so;
no search term reaches a URL or a log."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.people import CARDS, CRM, call, card_issued, file_of, messages_of, new_email, new_phone
from tests.portal import Browser, person

pytestmark = pytest.mark.timeout(120)


async def _staff(
    http: aiohttp.ClientSession, association: uuid.UUID, merchant: uuid.UUID
) -> Browser:
    email, password = await person(http, "staff", association, merchant)
    browser = Browser(http)
    assert (await browser.sign_in(email, password)).status == 303
    assert (await browser.get("/desk")).status == 200  # the session's CSRF token for the forms
    return browser


async def test_a_staff_member_finds_sees_rewards_resends_and_blocks(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    phone, email, name = new_phone(), new_email(), f"Léonie{uuid.uuid4().hex[:6]}"
    till = net.terminals[0]
    enrolled = await till.enrol(phone, email=email, first_name=name)
    assert enrolled.status == 201, enrolled
    account = enrolled.body["account_id"]
    assert (await till.sale(phone, 2500)).status == 201
    card = await card_issued(http, net.association_id, account, "Martin", f"desk {account}")
    await file_of(http, account)
    desk = await _staff(http, net.association_id, net.merchants[0])

    home = await desk.get("/desk")
    assert home.status == 200 and "Comptoir (CARD)" in home.text and "Inscrire" in home.text
    where = f"/desk/customers/{account}"
    for term in (phone, card["formatted_number"], name):
        found = await desk.post("/desk/find", {"term": term})
        assert (found.status, found.headers.get("Location")) == (303, where), (term, found.text)

    page = await desk.get(where)
    assert page.status == 200, page.text
    facts = page.text[page.text.index("<dl") : page.text.index("</dl>")]
    assert "<dt>Cagnotte</dt><dd>0,75\xa0€</dd>" in facts, facts  # 3 % of 25,00 €
    assert "<dt>En attente</dt><dd>0,00\xa0€</dd>" in facts, facts
    assert "code postal" in page.text  # the file's "à remplir" fields
    assert card["formatted_number"] in page.text and "<script" not in page.text

    reward = await desk.post(where + "/purchase", {"amount": "25,00", "family": ""})
    assert reward.status == 200, reward.text
    assert "Récompense" in reward.text and "0,75\xa0€" in reward.text  # 300 bp of 25,00 €
    # cards' explanation, the why: in French, the amounts as the portal writes them
    assert "Un achat de 25,00\xa0€ rapporte 0,75\xa0€ dans la cagnotte à 300 pb : " in reward.text
    assert "A sale of" not in reward.text
    not_a_price = await desk.post(where + "/purchase", {"amount": "douze"})
    assert not_a_price.status == 422 and "pas un prix" in not_a_price.text

    before = len(await messages_of(http, account, "details_link"))
    resent = await desk.post(where + "/details-link", {})
    assert resent.status == 200 and "être envoyé" in resent.text

    async def sent_again() -> bool:
        return len(await messages_of(http, account, "details_link")) > before

    await eventually(sent_again, what="the details link sent again")

    blocked = await desk.post(where + "/block", {"number": card["number"], "reason": "lost"})
    assert blocked.status == 200 and "La carte est bloquée" in blocked.text
    status, now = await call(http, "GET", f"{CARDS}/v1/cards/{card['number']}")
    assert (status, now["status"], now["blacklisted"]) == (200, "lost", True)

    # The search terms went in POST bodies: none is in a URL the portal logged, nor elsewhere
    # in its log; the phone, e-mail and name are in no log of the services it asked either
    # (a card number is: the services' own events are keyed "card/<number>").
    for service in ("portal", "cards", "crm"):
        log = (services.logs / f"{service}.log").read_text(errors="replace")
        terms = (phone, name, email) + ((card["number"],) if service == "portal" else ())
        for term in terms:
            assert term not in log, (service, term)


async def test_a_name_two_customers_share_lists_both_and_a_wildcard_is_a_letter(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    name = f"Odile{uuid.uuid4().hex[:6]}"
    accounts = []
    for _ in range(2):
        enrolled = await net.terminals[0].enrol(new_phone(), first_name=name)
        assert enrolled.status == 201, enrolled
        accounts.append(enrolled.body["account_id"])
        await file_of(http, accounts[-1])
    desk = await _staff(http, net.association_id, net.merchants[0])

    one_file = ("crm", "GET", "/v1/customers/{account_id}")
    files_read = await harness.requests_served(http, *one_file)
    found = await desk.post("/desk/find", {"term": name.upper()})
    assert found.status == 200 and "Clients trouvés" in found.text
    assert all(f'href="/desk/customers/{a}"' in found.text for a in accounts)
    assert name in found.text  # each one's name, to choose from
    # listed from the search's answer: no call to crm per file found
    assert await harness.requests_served(http, *one_file) == files_read
    # crm reads the words as letters: "%" finds nobody, however many files there are
    status, body = await call(
        http, "GET", f"{CRM}/v1/associations/{net.association_id}/customers?name=%25%25"
    )
    assert (status, body) == (200, {"customers": []})


async def test_a_staff_member_enrols_by_email_and_the_same_address_is_already_enrolled(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    desk = await _staff(http, net.association_id, net.merchants[0])
    await desk.get("/desk")
    email = new_email()
    enrolled = await desk.post("/desk/enrol", {"contact": email, "first_name": "Zoé"})
    assert enrolled.status == 303, enrolled.text
    account = enrolled.headers["Location"].rsplit("/", 1)[1]
    file = await file_of(http, account)  # crm opened the file from cards' account.opened
    assert (file["email"], file["first_name"]) == (email, "Zoé")

    async def link_sent() -> bool:
        return bool(await messages_of(http, account, "details_link"))

    await eventually(link_sent, what="the details link after an enrolment at the desk")
    page = await desk.get(enrolled.headers["Location"])
    assert page.status == 200 and "Zoé" in page.text

    await desk.get("/desk")
    again = await desk.post("/desk/enrol", {"contact": email.upper()})
    assert again.status == 409 and "Ce client est déjà inscrit." in again.text
    assert f'href="/desk/customers/{account}"' in again.text  # on with the customer found
    by_phone = await desk.post("/desk/enrol", {"contact": new_phone()})
    assert by_phone.status == 303, by_phone.text
    nothing = await desk.post("/desk/enrol", {"contact": "Zoé"})
    assert nothing.status == 422 and "numéro de mobile ou une adresse e-mail" in nothing.text


async def test_another_associations_staff_is_refused_and_the_page_says_so(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net, other = await make_network(merchants=1), await make_network(merchants=1)
    phone = new_phone()
    enrolled = await net.terminals[0].enrol(phone)
    assert enrolled.status == 201, enrolled
    account = enrolled.body["account_id"]
    stranger = await _staff(http, other.association_id, other.merchants[0])

    refused = await stranger.get(f"/desk/customers/{account}")
    assert refused.status == 403 and refused.headers["X-Problem-Reason"] == "out_of_scope"
    assert "hors du périmètre de votre accès" in refused.text
    resend = await stranger.post(f"/desk/customers/{account}/details-link", {})
    assert resend.status == 403 and "hors du périmètre" in resend.text
    # their own association has no customer with this phone: nobody found, nothing leaked
    await stranger.get("/desk")
    found = await stranger.post("/desk/find", {"term": phone})
    assert found.status == 404 and "été trouvé" in found.text

    english = await stranger.request(
        "GET", f"/desk/customers/{account}", headers={"Accept-Language": "en"}
    )
    assert english.status == 403  # the session's language (fr) holds: chosen at sign-in
    await stranger.post("/language", {"language": "en"})
    chosen = await stranger.get(f"/desk/customers/{account}")
    assert "This is outside what your access reaches." in chosen.text


async def test_the_desk_is_for_a_merchants_people_only(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    email, password = await person(http, "association_admin", net.association_id)
    admin = Browser(http)
    assert (await admin.sign_in(email, password)).status == 303
    assert (await admin.get("/desk")).status == 303  # sent to sign in as a merchant's person
    desk = await _staff(http, net.association_id, net.merchants[0])
    await desk.get("/desk")
    no_token = await desk.post("/desk/find", {"term": new_phone()}, csrf=False)
    assert no_token.status == 403 and no_token.headers["X-Problem-Reason"] == "csrf"
