"""The merchant's back office in the portal (issue 15, item 3, MANAGER) against the running
services: a manager composes a campaign to a segment of their customers, previews its size,
sends it (once, though the form is posted twice) and sees its results; each back-office page
answers the manager and refuses another merchant's manager; a form's mistakes are said field by
field."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
import pytest

from shared import clock
from shared.clock import PARIS
from tests import harness
from tests.conftest import Network, NetworkFactory, eventually
from tests.people import customer, email_consent, file_of, messages_of
from tests.portal import Browser, person

pytestmark = pytest.mark.timeout(180)


async def _manager(http: aiohttp.ClientSession, net: Network, index: int = 0) -> Browser:
    email, password = await person(http, "manager", net.association_id, net.merchants[index])
    browser = Browser(http)
    assert (await browser.sign_in(email, password)).status == 303
    return browser


def _form_id(text: str) -> str:
    found = re.search(r'name="form_id" value="([0-9a-f-]{36})"', text)
    assert found, text
    return found.group(1)


def _campaign(**fields: str) -> dict[str, str]:
    return {
        "name": "Truffes de saison",
        "channel": "email",
        "template": "quick_news",
        "body": "Arrivage de truffes ce samedi.",
        "offer": "",
        "seen_within_days": "",
        "not_seen_for_days": "",
        "min_spent": "",
        "min_visits": "",
        "family": "",
        "when": "now",
        "monthly_day": "",
    } | fields


async def test_a_manager_composes_previews_and_sends_a_campaign_once_and_sees_its_results(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    mid = str(net.merchants[0])
    # three customers of the merchant: two spent 40 €, of whom one agreed to e-mails; one spent 5 €
    big, quiet, small = [await customer(net, http) for _ in range(3)]
    await email_consent(http, big, mid)
    await email_consent(http, small, mid)
    for account, cents in ((big, 4_000), (quiet, 4_000), (small, 500)):
        phone = (await file_of(http, account))["phone"]
        assert (await net.terminals[0].sale(phone, cents)).status == 201

    async def counted() -> bool:
        return all([(await file_of(http, a))["visit_count"] == 1 for a in (big, quiet, small)])

    await eventually(counted, what="the visits")

    manager = await _manager(http, net)
    home = await manager.get("/manage")
    assert home.status == 200 and 'href="/dashboard"' in home.text
    assert 'href="/manage/campaigns"' in home.text
    compose = await manager.get("/manage/campaigns/new")
    assert compose.status == 200, compose.text
    form_id = _form_id(compose.text)
    fields = _campaign(form_id=form_id, min_spent="30")

    preview = await manager.post("/manage/campaigns/new", fields | {"action": "preview"})
    assert preview.status == 200, preview.text
    assert 'data-size="2" data-consenting="1"' in preview.text, preview.text
    assert "2 client(s), dont 1 la recevraient." in preview.text
    assert _form_id(preview.text) == form_id  # the same form goes on: the same campaign

    # a double submit of "send now": the same campaign, sent once
    first = await manager.post("/manage/campaigns/new", fields | {"action": "send"})
    second = await manager.post("/manage/campaigns/new", fields | {"action": "send"})
    where = f"/manage/campaigns/{form_id}"
    assert (first.status, first.headers["Location"]) == (303, where), first.text
    assert (second.status, second.headers["Location"]) == (303, where), second.text

    async def sent() -> bool:
        page = await manager.get(where)
        return page.status == 200 and 'id="campaign-state">envoyée<' in page.text

    await eventually(sent, what="the campaign sent")
    assert len(await messages_of(http, big, "quick_news")) == 1
    assert await messages_of(http, small, "quick_news") == []  # spent too little
    assert await messages_of(http, quiet, "quick_news") == []  # did not consent

    seen = await manager.get(where)
    assert "Truffes de saison" in seen.text and "Arrivage de truffes ce samedi." in seen.text
    shown = r'<li data-status="(requested|queued|sent|delivered)">(demandés|en file|envoyés|délivrés) : 1</li>'
    assert re.search(shown, seen.text), seen.text
    assert re.search(r"Demandé le</dt><dd>\d\d/\d\d/20\d\d \d\d:\d\d</dd>", seen.text)
    listed = await manager.get("/manage/campaigns")
    assert listed.status == 200
    assert f'href="{where}">Truffes de saison</a>' in listed.text and "envoyée" in listed.text
    # posted again from the campaign's page: nothing more is sent
    again = await manager.post(f"{where}/send", {})
    assert again.status == 303
    assert len(await messages_of(http, big, "quick_news")) == 1

    # another merchant's manager reaches neither the campaign nor its list
    other = await _manager(http, net, 1)
    refused = await other.get(where)
    assert refused.status == 403, refused.text
    assert "hors du périmètre" in refused.text and "Truffes" not in refused.text
    assert (await other.post(f"{where}/send", {})).status == 403
    theirs = await other.get("/manage/campaigns")
    assert theirs.status == 200 and "Truffes" not in theirs.text


async def test_the_campaign_forms_mistakes_are_said_field_by_field(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    manager = await _manager(http, net)
    form_id = _form_id((await manager.get("/manage/campaigns/new")).text)
    bad = _campaign(
        form_id=form_id,
        name="",
        body="",
        seen_within_days="9999",
        min_spent="douze",
        family="inconnue",
    )
    page = await manager.post("/manage/campaigns/new", bad | {"action": "send"})
    assert page.status == 422, page.text
    assert "Vérifiez les champs signalés ci-dessous." in page.text
    for field, words in (
        ("name", "Donnez un nom à la campagne"),
        ("body", "Écrivez le message."),
        ("seen_within_days", "Un nombre de jours, de 1 à 3650."),
        ("min_spent", "Ce montant n&#39;est pas un prix"),
        ("family", "Choisissez une de vos familles de produits."),
    ):
        assert f'id="{field}-error">{words}' in page.text, (field, page.text)
        assert f'aria-describedby="{field}-error"' in page.text
    assert 'value="douze"' in page.text  # what was typed is given back
    listed = await manager.get("/manage/campaigns")
    assert "Aucune campagne" in listed.text  # nothing was made

    manager.jar["comptoir_lang"] = "en"  # the same page in English
    english = await manager.post("/manage/campaigns/new", bad | {"action": "send"})
    assert "Check the fields marked below." in english.text
    assert 'id="body-error">Write the message.' in english.text and "Send now" in english.text

    contradicts = _campaign(form_id=form_id, seen_within_days="10", not_seen_for_days="30")
    page = await manager.post("/manage/campaigns/new", contradicts | {"action": "preview"})
    assert page.status == 422 and 'id="not_seen_for_days-error"' in page.text


async def test_a_monthly_newsletter_is_saved_for_its_day_and_sends_nothing_now(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    reader = await customer(net, http)
    await email_consent(http, reader, str(net.merchants[0]))
    manager = await _manager(http, net)
    form_id = _form_id((await manager.get("/manage/campaigns/new")).text)
    fields = _campaign(form_id=form_id, name="La lettre", template="newsletter", when="monthly")
    wrong = await manager.post("/manage/campaigns/new", fields | {"action": "send"})
    assert wrong.status == 422 and 'id="monthly_day-error">Un jour du mois' in wrong.text
    made = await manager.post(
        "/manage/campaigns/new", fields | {"monthly_day": "5", "action": "send"}
    )
    assert (made.status, made.headers["Location"]) == (303, f"/manage/campaigns/{form_id}")
    page = await manager.get(f"/manage/campaigns/{form_id}")
    assert 'id="campaign-state">mensuelle<' in page.text
    assert 'id="campaign-day">Chaque mois, le 5<' in page.text
    assert "Envoyer maintenant" not in page.text  # it goes on its day
    assert await messages_of(http, reader, "newsletter") == []


async def test_staff_and_visitors_are_kept_out_of_the_back_office(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    email, password = await person(http, "staff", net.association_id, net.merchants[0])
    staff = Browser(http)
    assert (await staff.sign_in(email, password)).status == 303
    for path in ("/manage", "/manage/campaigns", "/manage/campaigns/new"):
        page = await staff.get(path)
        assert (page.status, page.headers.get("Location")) == (303, "/sign-in"), path
    anonymous = Browser(http)
    assert (await anonymous.get("/manage")).status == 303


PAGES = (
    "/manage",
    "/manage/campaigns",
    "/manage/campaigns/new",
    "/manage/families",
    "/manage/promotions",
    "/manage/customers",
    "/manage/statements",
    "/manage/staff",
    "/manage/terminals",
)


async def test_each_back_office_page_answers_its_manager_and_keeps_another_merchants_out(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    account = await customer(net, http, first_name="Ambroise", last_name="Lenoir")
    phone = (await file_of(http, account))["phone"]
    assert (await net.terminals[0].sale(phone, 2_500)).status == 201

    async def visited() -> bool:
        return bool((await file_of(http, account))["visit_count"] == 1)

    await eventually(visited, what="the visit")
    mine, theirs = await _manager(http, net, 0), await _manager(http, net, 1)
    for path in PAGES:
        page = await mine.get(path)
        assert page.status == 200, (path, page.text)
        assert "<script" not in page.text and "style=" not in page.text, path
    home = (await mine.get("/manage")).text
    for path in PAGES[1:]:
        assert f'href="{path}"' in home or path.endswith("/new"), path

    # the customer file: theirs lists only their own customers; one file is refused them
    listed = await mine.get("/manage/customers")
    assert f'href="/manage/customers/{account}">Ambroise Lenoir</a>' in listed.text
    assert "à remplir" in listed.text  # the file lacks its title and postal code
    assert "Ambroise" not in (await theirs.get("/manage/customers")).text
    found = await mine.post("/manage/customers/find", {"term": "lenoir"})
    assert found.status == 200 and "Ambroise Lenoir" in found.text
    assert "Ambroise" not in (await theirs.post("/manage/customers/find", {"term": "lenoir"})).text
    for _ in range(2):  # the file's segment is saved again, not a second time
        exported = await mine.post("/manage/customers/export", {"format": "csv"})
        assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
        assert "LENOIR" in exported.text.upper(), exported.text
    other = await theirs.post("/manage/customers/export", {"format": "csv"})
    assert other.status == 200 and "LENOIR" not in other.text.upper()
    where = f"/manage/customers/{account}"
    one = await mine.get(where)
    assert one.status == 200 and "Ambroise Lenoir" in one.text and "25,00" in one.text
    refused = await theirs.get(where)
    assert refused.status in (403, 404) and "Ambroise" not in refused.text, refused.text
    # a note, posted twice: one line; another merchant's manager may not add one
    for _ in range(2):
        assert (await mine.post(f"{where}/notes", {"note": "Aime les truffes"})).status == 303
    notes = (await file_of(http, account))["notes"]
    assert notes.count("Aime les truffes") == 1 and notes.endswith("— Aime les truffes")
    assert "Aime les truffes</li>" in (await mine.get(where)).text
    assert (await theirs.post(f"{where}/notes", {"note": "intrus"})).status in (403, 404)
    empty = await mine.post(f"{where}/notes", {"note": "  "})
    assert empty.status == 422 and 'id="note-error">Écrivez la note' in empty.text
    assert "intrus" not in str((await file_of(http, account))["notes"])

    # product families: made by the manager, theirs alone
    code = f"fleurs-{account[:6]}"
    saved = await mine.post(
        "/manage/families", {"code": code, "label": "Fleurs", "rate": "4,5", "book": "on"}
    )
    assert saved.status == 303, saved.text
    families = (await mine.get("/manage/families")).text
    assert f'<th scope="row">{code}</th><td>Fleurs</td><td>4,5\u202f%</td>' in families
    assert code not in (await theirs.get("/manage/families")).text
    wrong = await mine.post("/manage/families", {"code": "a b", "label": "", "rate": "cent"})
    assert wrong.status == 422
    for field in ("code", "label", "rate"):
        assert f'id="{field}-error"' in wrong.text, field
    assert (await theirs.post(f"/manage/families/{code}/delete", {})).status == 303
    assert code in (await mine.get("/manage/families")).text  # theirs deleted nothing of mine
    assert (await mine.post(f"/manage/families/{code}/delete", {})).status == 303
    assert code not in (await mine.get("/manage/families")).text

    # promotions: one made under a double submit, ended by its manager alone
    form_id = _form_id((await mine.get("/manage/promotions")).text)
    promotion = {
        "form_id": form_id,
        "name": "Double cagnotte",
        "starts": "2026-12-01",
        "ends": "2026-12-24",
        "kind": "times",
        "times": "2",
        "rate": "",
        "family": "",
    }
    for _ in range(2):
        assert (await mine.post("/manage/promotions", promotion)).status == 303
    promos = (await mine.get("/manage/promotions")).text
    assert promos.count('<th scope="row">Double cagnotte</th>') == 1 and "×2" in promos
    assert "Double cagnotte" not in (await theirs.get("/manage/promotions")).text
    ended = await theirs.post(f"/manage/promotions/{form_id}/end", {})
    assert ended.status == 404 and "Introuvable." in ended.text  # not among theirs
    assert (await mine.post(f"/manage/promotions/{form_id}/end", {})).status == 303
    assert "Terminée" in (await mine.get("/manage/promotions")).text
    late = await mine.post(
        "/manage/promotions", promotion | {"form_id": str(net.merchants[0]), "ends": "2026-11-01"}
    )
    assert late.status == 422 and 'id="ends-error">Le dernier jour vient après' in late.text

    # staff: one made under a double submit, seen by their manager alone
    form_id = _form_id((await mine.get("/manage/staff")).text)
    email = f"staff-{form_id[:8]}@example.org"
    member = {"form_id": form_id, "name": "Camille Vendeuse", "email": email}
    for _ in range(2):
        assert (await mine.post("/manage/staff", member)).status == 303
    staff = (await mine.get("/manage/staff")).text
    assert staff.count(email) == 1 and "Camille Vendeuse" in staff
    assert email not in (await theirs.get("/manage/staff")).text
    taken = await mine.post("/manage/staff", member | {"form_id": str(net.merchants[1])})
    assert taken.status == 409 and "déjà celle d&#39;une autre personne" in taken.text
    bad = await mine.post("/manage/staff", member | {"email": "pas-un-mail", "name": ""})
    assert bad.status == 422 and 'id="email-error"' in bad.text and 'id="name-error"' in bad.text

    # statements and terminals: the merchant's own
    this_month = (await mine.get("/manage/statements")).text
    period = re.search(r'href="/manage/statements/([0-9]{4}-[0-9]{2})"', this_month)
    assert period, this_month
    doc = await mine.get(f"/manage/statements/{period.group(1)}")
    assert doc.status == 200 and "merchant 0" not in doc.text and "Achats" in doc.text
    assert "25,00" in doc.text, doc.text
    download = await mine.post(f"/manage/statements/{period.group(1)}/download", {"format": "csv"})
    assert download.status == 200 and download.headers["Content-Type"].startswith("text/csv")
    assert (await mine.get("/manage/statements/2026-13")).status == 404
    tills = (await mine.get("/manage/terminals")).text
    assert "till 0" in tills and "En service" in tills and "till 1" not in tills
    assert "till 0" not in (await theirs.get("/manage/terminals")).text


async def test_an_association_administrator_opens_the_back_office_of_one_of_its_merchants(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    elsewhere = await make_network(merchants=1)
    account = await customer(net, http, first_name="Berthe", last_name="Morisot")
    phone = (await file_of(http, account))["phone"]
    assert (await net.terminals[0].sale(phone, 1_000)).status == 201

    async def visited() -> bool:
        return bool((await file_of(http, account))["visit_count"] == 1)

    await eventually(visited, what="the visit")
    email, password = await person(http, "association_admin", net.association_id)
    admin = Browser(http)
    assert (await admin.sign_in(email, password)).status == 303
    # no merchant chosen yet: the pages send them to choose one
    first = await admin.get("/manage/customers")
    assert (first.status, first.headers["Location"]) == (303, "/manage")
    home = await admin.get("/manage")
    assert home.status == 200 and "merchant 0" in home.text and "merchant 1" in home.text
    assert 'href="/manage/customers"' not in home.text

    other = await _manager(http, net, 1)
    draft = _form_id((await other.get("/manage/campaigns/new")).text)
    saved = await other.post("/manage/campaigns/new", _campaign(form_id=draft) | {"action": "save"})
    assert saved.status == 303, saved.text
    assert (await admin.post("/manage/shop", {"merchant": str(net.merchants[1])})).status == 303
    assert "Berthe" not in (await admin.get("/manage/customers")).text
    assert (await admin.get(f"/manage/customers/{account}")).status == 404
    assert (await admin.post("/manage/shop", {"merchant": str(net.merchants[0])})).status == 303
    home = await admin.get("/manage")
    assert f'href="/dashboard?merchant={net.merchants[0]}"' in home.text
    listed = await admin.get("/manage/customers")
    assert listed.status == 200 and "Berthe Morisot" in listed.text
    for path in PAGES:
        assert (await admin.get(path)).status == 200, path
    assert "till 0" in (await admin.get("/manage/terminals")).text
    # merchant 1's campaign is not merchant 0's back office's, though crm lets the admin read it
    assert (await admin.get(f"/manage/campaigns/{draft}")).status == 404
    assert (await admin.post(f"/manage/campaigns/{draft}/send", {})).status == 404

    # a merchant of another association: not theirs, back to the choice
    theirs = await admin.post("/manage/shop", {"merchant": str(elsewhere.merchants[0])})
    assert theirs.status == 303
    refused = await admin.get("/manage/terminals")
    assert (refused.status, refused.headers["Location"]) == (303, "/manage")


def _paris(days: int, hour: int) -> tuple[str, str]:
    """A day ``days`` from today in Paris and a time on it, as the form takes them."""
    day = clock.now().astimezone(PARIS).date() + timedelta(days=days)
    return day.isoformat(), f"{hour:02d}:30"


async def test_a_manager_schedules_a_campaign_changes_its_time_and_cancels_it(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    reader = await customer(net, http)
    await email_consent(http, reader, str(net.merchants[0]))
    manager = await _manager(http, net)
    form_id = _form_id((await manager.get("/manage/campaigns/new")).text)
    day, at = _paris(2, 10)
    fields = _campaign(form_id=form_id, name="Les truffes samedi", when="later")
    # the day and time: both given, and to come
    for typed in ({}, {"send_date": day}, {"send_date": _paris(-1, 10)[0], "send_time": at}):
        wrong = await manager.post("/manage/campaigns/new", fields | typed | {"action": "send"})
        assert wrong.status == 422 and 'id="send_date-error"' in wrong.text, wrong.text
    wrong = await manager.post(
        "/manage/campaigns/new",
        fields | {"send_date": _paris(400, 10)[0], "send_time": at, "action": "send"},
    )
    assert "Choisissez une heure dans l&#39;année qui vient." in wrong.text, wrong.text
    # "send later", posted twice: one campaign, scheduled, nothing sent now
    where = f"/manage/campaigns/{form_id}"
    for _ in range(2):
        made = await manager.post(
            "/manage/campaigns/new",
            fields | {"send_date": day, "send_time": at, "action": "send"},
        )
        assert (made.status, made.headers["Location"]) == (303, where), made.text
    shown = "/".join(reversed(day.split("-"))) + f" {at}"
    page = await manager.get(where)
    assert 'data-status="scheduled" id="campaign-state">programmée<' in page.text, page.text
    assert f'id="campaign-send-at">{shown}<' in page.text
    assert f'value="{day}"' in page.text and f'value="{at}"' in page.text  # the change form
    listed = await manager.get("/manage/campaigns")
    assert f"programmée : {shown}" in listed.text, listed.text
    # re-timed: a day later (a time past is refused, said by the field)
    later_day, later_at = _paris(3, 18)
    past = await manager.post(
        f"{where}/send-at", {"send_date": _paris(0, 0)[0], "send_time": "00:00"}
    )
    assert past.status == 422 and "Choisissez une heure à venir." in past.text, past.text
    moved = await manager.post(f"{where}/send-at", {"send_date": later_day, "send_time": later_at})
    assert moved.status == 303, moved.text
    shown = "/".join(reversed(later_day.split("-"))) + f" {later_at}"
    assert f'id="campaign-send-at">{shown}<' in (await manager.get(where)).text
    # another merchant's manager can neither cancel nor re-time it
    other = await _manager(http, net, 1)
    assert (await other.post(f"{where}/cancel", {})).status == 403
    stolen = await other.post(f"{where}/send-at", {"send_date": day, "send_time": at})
    assert stolen.status == 403
    # cancelled (twice: the same), then it can no longer be scheduled
    for _ in range(2):
        assert (await manager.post(f"{where}/cancel", {})).status == 303
    page = await manager.get(where)
    assert 'id="campaign-state">annulée<' in page.text and 'id="cancel"' not in page.text
    again = await manager.post(f"{where}/send-at", {"send_date": day, "send_time": at})
    assert again.status == 409 and "Cette campagne a été annulée." in again.text, again.text
    assert await messages_of(http, reader, "quick_news") == []
    # "save as a draft" with a time: a draft, not scheduled
    draft_id = _form_id((await manager.get("/manage/campaigns/new")).text)
    saved = await manager.post(
        "/manage/campaigns/new",
        fields | {"form_id": draft_id, "send_date": day, "send_time": at, "action": "save"},
    )
    assert saved.status == 303
    page = await manager.get(f"/manage/campaigns/{draft_id}")
    assert 'id="campaign-state">brouillon<' in page.text and "Envoyer plus tard" in page.text
