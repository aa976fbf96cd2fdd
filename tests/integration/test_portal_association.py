"""The association back office in the portal (issue 15, item 3), at the HTTP level against the
five services: the treasurer of a network whose last month has a sale and two card
transactions held in quarantine reviews them (one approved and booked, one rejected: each
recorded as theirs, a second click doing nothing again), closes the month after its
confirmation (a second close showing what the first wrote), downloads its SEPA files (valid
pain.008 and pain.001 whose totals are the settlement's) and runs the reconciliation; another
association's administrator cannot decide on that network's transactions, and a merchant's
manager cannot open the back office at all. Then the merchants' and webhooks' forms."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import aiohttp
import asyncpg
import openpyxl
import pytest
import sepaxml
import xmlschema

from shared import clock
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.journeys.association import (
    CARDS,
    CLEARING,
    HELD_CENTS,
    SALE_CENTS,
    books_to_close,
    iban,
    issues_cards,
)
from tests.people import new_phone
from tests.portal import PORTAL, Browser, person

pytestmark = pytest.mark.timeout(180)
SCHEMAS = Path(sepaxml.__file__).parent / "schemas"


async def _signed_in(http: aiohttp.ClientSession, email: str, password: str) -> Browser:
    browser = Browser(http)
    assert (await browser.sign_in(email, password)).status == 303
    return browser


async def _lines(net_admin: object, aid: uuid.UUID, status: str) -> list[dict[str, object]]:
    r = await net_admin.call(  # type: ignore[attr-defined]
        "GET", f"{CARDS}/v1/associations/{aid}/card-quarantine?status={status}"
    )
    assert r.status == 200, r
    return list(r.body["lines"])


@dataclass(frozen=True)
class File:
    status: int
    headers: Any
    body: bytes


async def _file(browser: Browser, http: aiohttp.ClientSession, path: str) -> File:
    """A download through the portal, as bytes (the Browser reads text)."""
    async with http.post(
        PORTAL + path,
        data={"csrf": browser.csrf},
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in browser.jar.items())},
        allow_redirects=False,
    ) as r:
        return File(r.status, r.headers, await r.read())


def _sum(xml: bytes) -> Decimal:
    root = ElementTree.fromstring(xml)
    [total] = [e for e in root.iter() if e.tag.endswith("CtrlSum")][:1]
    return Decimal(total.text or "0")


async def test_the_treasurer_reviews_the_quarantine_closes_the_month_and_downloads_the_files(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    books = await books_to_close(http, make_network)
    net, aid, month = books.network, books.association_id, books.month
    treasurer = await _signed_in(http, books.email, books.password)

    page = await treasurer.get("/association")
    assert page.status == 200, page.text
    assert "La comptabilité" in page.text and 'href="/dashboard"' in page.text
    assert "Rien n&#39;est encore clôturé." in page.text

    # The quarantine: both held, each with why.
    page = await treasurer.get("/association/quarantine")
    assert page.status == 200, page.text
    assert f'id="line-{books.approvable}"' in page.text
    assert f'id="line-{books.rejectable}"' in page.text
    assert "récompense différente de celle des règles" in page.text
    assert "carte inconnue du réseau" in page.text
    ids = {str(line["transaction_id"]): line["id"] for line in await _lines(net.admin, aid, "held")}
    # A page of older lines: those before a line's id (newest first, 50 a page).
    newer = max(ids, key=lambda tx: int(ids[tx]))  # type: ignore[call-overload]
    older = min(ids, key=lambda tx: int(ids[tx]))  # type: ignore[call-overload]
    page = await treasurer.get(f"/association/quarantine?before={ids[newer]}")
    assert f'id="line-{older}"' in page.text and f'id="line-{newer}"' not in page.text
    assert "Plus anciennes" not in page.text  # no page after this one
    approve = f"/association/quarantine/{ids[books.approvable]}/approve"
    reject = f"/association/quarantine/{ids[books.rejectable]}/reject"

    short = await treasurer.post(approve, {"reason": "ok"})
    assert short.status == 422 and "au moins 5 caractères" in short.text
    # The stranger's card cannot be booked: the page says so and it stays held.
    refused = await treasurer.post(
        f"/association/quarantine/{ids[books.rejectable]}/approve", {"reason": "je valide"}
    )
    assert refused.status == 409, refused.text
    assert refused.headers["X-Problem-Reason"] == "unknown_card"
    assert "Cette carte est inconnue" in refused.text

    done = await treasurer.post(approve, {"reason": "vu avec le commerçant"})
    assert (done.status, done.headers["Location"]) == (303, "/association/quarantine?done=approved")
    again = await treasurer.post(approve, {"reason": "vu avec le commerçant"})
    assert (again.status, again.headers["Location"]) == (
        303,
        "/association/quarantine?done=already",
    )
    page = await treasurer.get("/association/quarantine?done=already")
    assert "était déjà décidée : rien n&#39;a été refait" in page.text
    rejected = await treasurer.post(reject, {"reason": "carte étrangère", "card_at_fault": "yes"})
    assert rejected.headers["Location"] == "/association/quarantine?done=rejected"

    [approved] = await _lines(net.admin, aid, "approved")
    [refusal] = await _lines(net.admin, aid, "rejected")
    actor = str(approved["decided_by"])
    assert actor.startswith("person:") and refusal["decided_by"] == actor
    assert approved["decision_reason"] == "vu avec le commerçant"
    assert await _lines(net.admin, aid, "held") == []
    page = await treasurer.get("/association/quarantine?status=approved")
    decided = page.text[page.text.index('class="decided-by"') :]
    assert decided.startswith('class="decided-by">vous<'), decided[:80]
    assert "vu avec le commerçant" in page.text

    async def booked() -> bool:  # the approved line reaches clearing's month
        r = await net.admin.call("GET", f"{CLEARING}/v1/associations/{aid}/statements/{month}")
        return r.status == 200 and r.body[0]["figures"]["purchases_cents"] == (
            SALE_CENTS + HELD_CENTS
        )

    await eventually(booked, what="the approved transaction in clearing's month")

    club = str(uuid.uuid4())  # a partner association: its statement of the month too
    r = await net.admin.call(
        "PUT", f"{CLEARING}/v1/associations/{aid}/partners/{club}", {"name": "Club de foot"}
    )
    assert r.status == 201, r

    # The close: a confirmation first, then what it wrote.
    bad = await treasurer.get("/association/close?period=2026-13")
    assert bad.status == 422 and "Saisissez un mois" in bad.text
    this_month = clock.today_paris().strftime("%Y-%m")
    early = await treasurer.post("/association/close", {"period": this_month})
    assert (early.status, early.headers["X-Problem-Reason"]) == (409, "period_not_over")
    assert "Ce mois n&#39;est pas terminé" in early.text
    confirm = await treasurer.get(f"/association/close?period={month}")
    assert confirm.status == 200, confirm.text
    assert "25,00\xa0€" in confirm.text and "définitivement" in confirm.text
    closed = await treasurer.post("/association/close", {"period": month})
    assert closed.status == 303, closed.text
    where = closed.headers["Location"]
    assert where == f"/association/periods/{month}?closed={month}&statements=1&shares=0", where
    page = await treasurer.get(where)
    assert page.status == 200, page.text
    assert "Clôturé :" in page.text and "1 relevé(s)" in page.text
    twice = await treasurer.post("/association/close", {"period": month})
    assert twice.headers["Location"] == f"/association/periods/{month}?already=1"
    page = await treasurer.get(f"/association/periods/{month}?already=1")
    assert "était déjà clôturé" in page.text
    books_page = await treasurer.get("/association")
    row = books_page.text[books_page.text.index(f'id="period-{month}"') :]
    row = row[: row.index("</tr>")]
    assert "<td>vous</td>" in row and "prêt" in row, row
    r = await net.admin.call("GET", f"{CLEARING}/v1/associations/{aid}/periods")
    assert [c["closed_by"] for c in r.body["closes"]] == [actor]

    # The settlement files, streamed through the portal.
    r = await net.admin.call("GET", f"{CLEARING}/v1/associations/{aid}/settlements/{month}")
    settlement = r.body
    assert settlement["status"] == "ready", settlement
    for kind, name, xsd, cents in (
        ("direct-debit", "pain008", "pain.008.001.08.xsd", settlement["collections_cents"]),
        ("credit-transfer", "pain001", "pain.001.001.09.xsd", settlement["transfers_cents"]),
    ):
        answer = await _file(treasurer, http, f"/association/periods/{month}/files/{kind}")
        assert answer.status == 200, kind
        assert answer.headers["Content-Type"].startswith("application/xml")
        assert f'filename="{name}-{month}.xml"' in answer.headers["Content-Disposition"]
        xml = answer.body
        xmlschema.XMLSchema(SCHEMAS / xsd).validate(io.BytesIO(xml))
        assert _sum(xml) == Decimal(cents) / 100 and cents > 0, (kind, cents)
    unknown = await _file(treasurer, http, "/association/periods/2001-01/files/direct-debit")
    assert unknown.status == 404
    mid = books.merchant_id
    workbook = await _file(treasurer, http, f"/association/periods/{month}/statements/{mid}.xlsx")
    assert workbook.status == 200 and "spreadsheetml" in workbook.headers["Content-Type"]
    assert f"releve-{mid}-{month}.xlsx" in workbook.headers["Content-Disposition"]
    sheets = openpyxl.load_workbook(io.BytesIO(workbook.body)).sheetnames
    assert sheets == ["Rapport", "Classement", "Détails"], sheets
    lines = await _file(treasurer, http, f"/association/periods/{month}/statements/{mid}.csv")
    assert lines.status == 200 and lines.headers["Content-Type"].startswith("text/csv")
    page = await treasurer.get(f"/association/periods/{month}")
    assert f"/association/periods/{month}/partners/{club}.xlsx" in page.text
    theirs = await _file(treasurer, http, f"/association/periods/{month}/partners/{club}.xlsx")
    assert theirs.status == 200 and "spreadsheetml" in theirs.headers["Content-Type"]
    assert openpyxl.load_workbook(io.BytesIO(theirs.body)).sheetnames == ["Rapport", "Détails"]

    # The closed month corrected by an adjustment, once whatever the retries.
    page = await treasurer.get(f"/association/periods/{month}")
    found = re.search(r'name="adjustment_id" value="([^"]+)"', page.text)
    assert found, page.text
    form = {
        "adjustment_id": found.group(1),
        "merchant_id": str(mid),
        "direction": "owes",
        "amount": "5,00",
        "reason": "erreur de caisse",
    }
    this_month = clock.today_paris().strftime("%Y-%m")
    for _ in range(2):
        adjusted = await treasurer.post(f"/association/periods/{month}/adjustments", form)
        assert adjusted.headers.get("Location") == (
            f"/association/periods/{month}?adjusted={this_month}"
        ), adjusted.text
    page = await treasurer.get(f"/association/periods/{month}?adjusted={this_month}")
    assert "La régularisation est comptabilisée en" in page.text
    r = await net.admin.call("GET", f"{CLEARING}/v1/associations/{aid}/statements/{this_month}")
    assert [s["figures"]["adjustments_cents"] for s in r.body] == [500], r.body

    # The reconciliation of the association's books.
    ran = await treasurer.post("/association/reconciliation", {})
    assert ran.headers["Location"] == "/association/reconciliation?ran=1"
    page = await treasurer.get("/association/reconciliation?ran=1")
    assert "Le rapprochement a été exécuté." in page.text
    assert re.search(r"Tous les contrôles concordent|Des contrôles ne concordent pas", page.text)
    assert "card_lines" in page.text

    # English, when chosen.
    treasurer.jar["comptoir_lang"] = "en"
    page = await treasurer.get("/association/quarantine?status=rejected")
    assert "Card transactions in quarantine" in page.text, page.text
    assert "a card the network never issued" in page.text and ">you<" in page.text
    page = await treasurer.get(f"/association/periods/{month}")
    assert "Download the direct debits (SEPA pain.008)" in page.text


async def test_another_associations_admin_and_a_manager_are_refused(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    books = await books_to_close(http, make_network)
    net, aid = books.network, books.association_id
    [line] = [
        x
        for x in await _lines(net.admin, aid, "held")
        if str(x["transaction_id"]) == books.approvable
    ]
    other = await make_network(merchants=1)
    stranger = await _signed_in(
        http, *await person(http, "association_admin", other.association_id)
    )
    page = await stranger.get("/association/quarantine")
    assert page.status == 200 and books.approvable not in page.text
    refused = await stranger.post(
        f"/association/quarantine/{line['id']}/approve", {"reason": "pas mon réseau"}
    )
    assert refused.status == 403, refused.text
    assert 'role="alert"' in refused.text
    # Their own association has no such month closed: no file of the other's.
    file = await _file(stranger, http, f"/association/periods/{books.month}/files/direct-debit")
    assert file.status == 404

    manager = await _signed_in(http, *await person(http, "manager", aid, books.merchant_id))
    for path in ("/association", "/association/quarantine", f"/association/periods/{books.month}"):
        page = await manager.get(path)
        assert (page.status, page.headers.get("Location")) == (303, "/sign-in"), path
    page = await manager.get("/")
    assert 'href="/association"' not in page.text
    tried = await manager.post(
        f"/association/quarantine/{line['id']}/approve", {"reason": "je suis gérant"}
    )
    assert (tried.status, tried.headers.get("Location")) == (303, "/sign-in")
    closing = await manager.post("/association/close", {"period": books.month})
    assert closing.status == 303 and closing.headers.get("Location") == "/sign-in"
    assert str(line["id"]) in {str(x["id"]) for x in await _lines(net.admin, aid, "held")}
    r = await net.admin.call("GET", f"{CLEARING}/v1/associations/{aid}/periods")
    assert r.body["closes"] == [], r.body


async def test_the_treasurer_adds_and_edits_a_merchant_and_subscribes_a_webhook(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    db: asyncpg.Connection,
) -> None:
    net = await make_network(merchants=1)
    aid = net.association_id
    await issues_cards(net)
    treasurer = await _signed_in(http, *await person(http, "association_admin", aid))

    page = await treasurer.get("/association/merchants")
    assert page.status == 200 and "merchant 0" in page.text
    new_id = re.search(r'name="merchant_id" value="([^"]+)"', page.text)
    assert new_id
    mid = new_id.group(1)
    wrong = await treasurer.post(
        "/association/merchants", {"merchant_id": mid, "name": "Fleurs", "taux_client_bps": "abc"}
    )
    assert wrong.status == 422 and "Un taux est un pourcentage" in wrong.text
    form = {"merchant_id": mid, "name": "Fleurs d'Ava", "taux_client_bps": "2,5", "email": ""}
    for _ in range(2):  # a retry of the same form saves the same merchant
        saved = await treasurer.post("/association/merchants", form)
        assert saved.headers["Location"] == "/association/merchants?saved=1", saved.text
    r = await net.admin.call("GET", f"{CARDS}/v1/associations/{aid}/merchants")
    mine = [m for m in r.body if m["name"] == "Fleurs d'Ava"]
    assert [(m["id"], m["taux_client_bps"]) for m in mine] == [(mid, 250)]
    page = await treasurer.get(f"/association/merchants/{mid}")
    assert 'value="2,5"' in page.text
    edited = await treasurer.post(
        f"/association/merchants/{mid}",
        {"name": "Fleurs d'Ava", "taux_client_bps": "", "taux_uc_bps": "0,75"},
    )
    assert edited.headers["Location"] == f"/association/merchants/{mid}?saved=1"
    r = await net.admin.call("GET", f"{CARDS}/v1/associations/{aid}/merchants/{mid}")
    assert (r.body["taux_client_bps"], r.body["taux_uc_bps"]) == (None, 75)
    # Another association's merchant is not found through this one.
    other = await make_network(merchants=1)
    page = await treasurer.get(f"/association/merchants/{other.merchants[0]}")
    assert page.status == 404

    # A stamps programme: added (twice with one form: one programme), then changed.
    page = await treasurer.get("/association/programmes")
    new_programme = re.search(r'name="programme_id" value="([^"]+)"', page.text)
    assert page.status == 200 and new_programme, page.text
    pid = new_programme.group(1)
    stamps = {"programme_id": pid, "name": "Carte à tampons", "kind": "stamps"}
    incomplete = await treasurer.post("/association/programmes", stamps)
    assert incomplete.status == 422 and "combien font une récompense" in incomplete.text
    stamps |= {"visit_threshold": "1", "units_per_reward": "10", "reward": "5,00"}
    for _ in range(2):
        added = await treasurer.post("/association/programmes", stamps)
        assert added.headers.get("Location") == "/association/programmes?saved=1", added.text
    r = await net.admin.call("GET", f"{CARDS}/v1/associations/{aid}/programs")
    mine = [(p["kind"], p["units_per_reward"], p["reward_cents"]) for p in r.body if p["id"] == pid]
    assert mine == [("stamps", 10, 500)], r.body
    page = await treasurer.get(f"/association/programmes/{pid}")
    assert 'value="5,00"' in page.text and "tampons" in page.text
    changed = await treasurer.post(
        f"/association/programmes/{pid}",
        {"name": "Tampons", "kind": "stamps", "units_per_reward": "8", "reward": "4"},
    )
    assert changed.headers.get("Location") == f"/association/programmes/{pid}?saved=1"
    r = await net.admin.call("GET", f"{CARDS}/v1/associations/{aid}/programs/{pid}")
    assert (r.body["name"], r.body["units_per_reward"], r.body["reward_cents"]) == (
        "Tampons",
        8,
        400,
    )
    page = await treasurer.get("/association/partners")
    partner = re.search(r'name="partner_id" value="([^"]+)"', page.text)
    assert page.status == 200 and partner, page.text
    for _ in range(2):  # one partner whatever the retries
        added = await treasurer.post(
            "/association/partners", {"partner_id": partner.group(1), "name": "Club de foot"}
        )
        assert added.headers.get("Location") == "/association/partners?saved=1", added.text
    r = await net.admin.call("GET", f"{CLEARING}/v1/associations/{aid}/partners")
    assert [(x["partner_id"], x["name"]) for x in r.body] == [(partner.group(1), "Club de foot")]
    page = await treasurer.get("/association/partners?saved=1")
    assert f'id="partner-{partner.group(1)}"' in page.text and "Club de foot" in page.text

    # Card types: the default one's own rate at a merchant; another association's accepted.
    page = await treasurer.get("/association/card-types")
    assert page.status == 200, page.text
    linked = re.search(r'href="/association/card-types/([0-9a-f-]{36})"', page.text)
    assert linked
    ctid = linked.group(1)
    rated = await treasurer.post(
        f"/association/card-types/{ctid}/rates",
        {"merchant_id": str(net.merchants[0]), "taux_client_bps": "4", "taux_uc_bps": ""},
    )
    assert rated.headers.get("Location") == f"/association/card-types/{ctid}?done=saved", rated.text
    page = await treasurer.get(f"/association/card-types/{ctid}?done=saved")
    row = page.text[page.text.index(f'id="rate-{net.merchants[0]}"') :]
    assert "merchant 0" in row[:200] and ">4<" in row[:300], row[:300]
    await issues_cards(other)
    r = await net.admin.call("GET", f"{CARDS}/v1/associations/{other.association_id}/card-types")
    theirs = r.body[0]["id"]
    assert (await treasurer.get(f"/association/card-types/{theirs}")).status == 404
    for accept, done in (("yes", "accepted"), ("no", "withdrawn")):
        answer = await treasurer.post(
            "/association/acceptances",
            {"card_type_id": theirs, "merchant_id": "", "accept": accept},
        )
        assert answer.headers.get("Location") == f"/association/card-types?done={done}", answer.text
        r = await net.admin.call("GET", f"{CARDS}/v1/card-types/{theirs}")
        accepting = {x["association_id"] for x in r.body["acceptances"]}
        assert (str(aid) in accepting) == (accept == "yes"), r.body

    # A batch of cards for the printer and one of gift vouchers, each once whatever the retries.
    page = await treasurer.get("/association/issuance")
    assert page.status == 200, page.text
    found = re.search(r'name="batch_id" value="([^"]+)"', page.text)
    assert found
    form = {"batch_id": found.group(1), "card_type_id": "", "size": "3"}
    batches = [await treasurer.post("/association/card-batches", form) for _ in range(2)]
    assert [m.status for m in batches] == [201, 201], batches[0].text
    numbers = [
        re.search(r"3 cartes créées, numéros ([0-9 ]+) à ([0-9 ]+)\.", m.text) for m in batches
    ]
    assert numbers[0] and numbers[1] and numbers[0].groups() == numbers[1].groups()
    printer = await _file(treasurer, http, f"/association/cards/{found.group(1)}.csv")
    assert printer.status == 200 and printer.headers["Content-Type"].startswith("text/csv")
    lines = printer.body.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("number"), lines
    vouchers = re.findall(r'name="batch_id" value="([^"]+)"', page.text)[1]
    terms = {"batch_id": vouchers, "reason": "lottery", "value": "5", "size": "2"}
    past = await treasurer.post(
        "/association/voucher-batches", terms | {"expires_on": "2020-01-01"}
    )
    assert past.status == 422 and "expirent un jour à venir" in past.text
    until = (clock.today_paris() + timedelta(days=60)).isoformat()
    issued = await treasurer.post("/association/voucher-batches", terms | {"expires_on": until})
    assert issued.headers["Location"] == f"/association/voucher-batches/{vouchers}"
    page = await treasurer.get(issued.headers["Location"])
    assert "2 × 5,00\xa0€" in page.text and "tombola" in page.text, page.text
    codes = await _file(treasurer, http, f"/association/vouchers/{vouchers}.csv")
    assert len(codes.body.decode("utf-8-sig").strip().splitlines()) == 3

    # Bank details: checked by clearing, kept there, the IBAN never shown whole again.
    page = await treasurer.get("/association/bank-details")
    assert page.status == 200 and f'value="merchant:{net.merchants[0]}"' in page.text
    wrong_iban = await treasurer.post(
        "/association/bank-details",
        {"party": "association", "holder": "Asso", "iban": "FR7630004000010000000000113"},
    )
    assert wrong_iban.status == 422 and "Cet IBAN n&#39;est pas valide" in wrong_iban.text
    own = {
        "party": "association",
        "holder": "Asso",
        "iban": iban(7),
        "creditor_id": "FR72ZZZ123456",
    }
    saved = await treasurer.post("/association/bank-details", own)
    assert saved.headers.get("Location") == "/association/bank-details?saved=1", saved.text
    merchant_details = {
        "party": f"merchant:{net.merchants[0]}",
        "holder": "Épicerie",
        "iban": iban(8),
        "mandate_id": "CPT-EPI-1",
        "mandate_signed_on": "2026-01-15",
    }
    saved = await treasurer.post("/association/bank-details", merchant_details)
    assert saved.headers.get("Location") == "/association/bank-details?saved=1", saved.text
    stored = await db.fetch(
        "SELECT party_kind, holder, mandate_id FROM clearing.bank_details WHERE party_id = ANY($1)",
        [aid, net.merchants[0]],
    )
    assert sorted(tuple(r) for r in stored) == [
        ("association", "Asso", None),
        ("merchant", "Epicerie", "CPT-EPI-1"),  # in SEPA's character set
    ]
    page = await treasurer.get("/association/bank-details?saved=1")
    assert iban(8) not in page.text and iban(8)[-4:] in page.text and "CPT-EPI-1" in page.text

    # Webhooks: an address over plain HTTP is refused; an https one is shown with its secret.
    page = await treasurer.get("/association/webhooks")
    assert "Aucun abonnement." in page.text
    form_id = re.search(r'name="subscription_id" value="([^"]+)"', page.text)
    assert form_id
    sid = ("subscription_id", form_id.group(1))
    plain = await treasurer.request(
        "POST",
        "/association/webhooks",
        data=[
            ("csrf", treasurer.csrf),
            sid,
            ("url", "http://example.org/h"),
            ("events", "sale.booked"),
        ],  # type: ignore[arg-type]
    )
    assert plain.status == 422 and "commence par https://" in plain.text, plain.text
    none = await treasurer.post(
        "/association/webhooks", {"url": "https://example.org/h", "subscription_id": sid[1]}
    )
    assert none.status == 422 and "au moins un événement" in none.text
    made = await treasurer.request(
        "POST",
        "/association/webhooks",
        data=[
            ("csrf", treasurer.csrf),
            sid,
            ("url", "https://example.org/comptoir"),
            ("events", "sale.booked"),
            ("events", "statement.ready"),
            ("description", "la compta"),
        ],  # type: ignore[arg-type]
    )
    assert made.status == 201, made.text
    assert re.search(r"<code>whsec_[A-Za-z0-9+/=]{40,}</code>", made.text)
    async with http.get(
        f"{harness.url('notifications')}/v1/webhook-subscriptions",
        params={"association_id": str(aid)},
        headers=net.admin.headers,
    ) as listed:
        [sub] = await listed.json()
    assert sub["event_types"] == ["sale.booked", "statement.ready"]
    page = await treasurer.get("/association/webhooks")
    assert "https://example.org/comptoir" in page.text and "whsec_" not in page.text
    # Its page: the delivery of a sale made now, a new secret shown once.
    assert (await net.terminals[0].sale(new_phone(), 1_200)).status == 201

    async def logged() -> bool:
        shown = await treasurer.get(f"/association/webhooks/{sub['id']}")
        return shown.status == 200 and '<th scope="row">sale.booked</th>' in shown.text

    await eventually(logged, what="the sale's delivery in the webhook's log")
    rotated = await treasurer.post(f"/association/webhooks/{sub['id']}/rotate-secret", {})
    assert rotated.status == 200, rotated.text
    assert re.search(r"<code>whsec_[A-Za-z0-9+/=]{40,}</code>", rotated.text)
    assert "L&#39;ancien signe encore jusqu&#39;au" in rotated.text
    page = await treasurer.get(f"/association/webhooks/{sub['id']}")
    assert "whsec_" not in page.text
    stranger = await _signed_in(
        http, *await person(http, "association_admin", other.association_id)
    )
    assert (await stranger.get(f"/association/webhooks/{sub['id']}")).status == 404
    for _ in range(2):  # a second click finds it deleted: done all the same
        gone = await treasurer.post(f"/association/webhooks/{sub['id']}/delete", {})
        assert gone.headers.get("Location") == "/association/webhooks?deleted=1", gone.text
    page = await treasurer.get("/association/webhooks?deleted=1")
    assert "Aucun abonnement." in page.text


def _name_of(email: str) -> str:
    """The name tests/portal.py ``person`` gives: the role and 4 characters of its id."""
    role, rest = email.split("-", 1)
    return f"{role} {rest[:4]}"


async def test_who_closed_and_who_decided_are_said_by_name_never_as_an_actor_or_an_address(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    """A colleague of the treasurer reads who approved a held line and who closed the month
    by the treasurer's name; a line the operator's set-up token rejected says so in words."""
    books = await books_to_close(http, make_network)
    net, aid, month = books.network, books.association_id, books.month
    treasurer = await _signed_in(http, books.email, books.password)
    colleague_email, colleague_password = await person(http, "association_admin", aid)
    colleague = await _signed_in(http, colleague_email, colleague_password)
    ids = {str(line["transaction_id"]): line["id"] for line in await _lines(net.admin, aid, "held")}
    assert (await treasurer.get("/association/quarantine")).status == 200
    done = await treasurer.post(
        f"/association/quarantine/{ids[books.approvable]}/approve", {"reason": "vu avec lui"}
    )
    assert done.headers["Location"] == "/association/quarantine?done=approved", done.text
    r = await net.admin.call(
        "POST",
        f"{CARDS}/v1/card-quarantine/{ids[books.rejectable]}/reject",
        {"reason": "carte étrangère", "card_at_fault": False},
    )
    assert r.status == 200, r
    name = _name_of(books.email)
    page = await colleague.get("/association/quarantine?status=approved")
    decided = page.text[page.text.index('class="decided-by"') :]
    assert decided.startswith(f'class="decided-by">{name}<'), decided[:80]
    assert "person:" not in page.text and books.email not in page.text
    page = await treasurer.get("/association/quarantine?status=approved")
    assert 'class="decided-by">vous<' in page.text
    page = await colleague.get("/association/quarantine?status=rejected")
    decided = page.text[page.text.index('class="decided-by"') :]
    assert decided.startswith(
        'class="decided-by">l&#39;opérateur du réseau (jeton d&#39;installation)<'
    ), decided[:100]
    assert "operator:bootstrap" not in page.text
    # In English too.
    colleague.jar["comptoir_lang"] = "en"
    page = await colleague.get("/association/quarantine?status=rejected")
    assert "the network&#39;s operator (set-up token)" in page.text, page.text

    closed = await treasurer.post("/association/close", {"period": month})
    assert closed.status == 303, closed.text
    colleague.jar.pop("comptoir_lang")
    home = await colleague.get("/association")
    row = home.text[home.text.index(f'id="period-{month}"') :]
    row = row[: row.index("</tr>")]
    assert f"<td>{name}</td>" in row and "person:" not in row, row
    home = await treasurer.get("/association")
    row = home.text[home.text.index(f'id="period-{month}"') :]
    assert "<td>vous</td>" in row[: row.index("</tr>")]


async def test_a_webhook_form_sent_twice_makes_one_subscription(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    aid = net.association_id
    treasurer = await _signed_in(http, *await person(http, "association_admin", aid))
    page = await treasurer.get("/association/webhooks")
    found = re.search(r'name="subscription_id" value="([^"]+)"', page.text)
    assert found, page.text
    form = [
        ("csrf", treasurer.csrf),
        ("subscription_id", found.group(1)),
        ("url", "https://example.org/twice"),
        ("events", "sale.booked"),
    ]
    made = [
        await treasurer.request("POST", "/association/webhooks", data=form)  # type: ignore[arg-type]
        for _ in range(2)
    ]
    assert [m.status for m in made] == [201, 201], made[1].text
    secrets = [re.findall(r"<code>(whsec_[A-Za-z0-9+/=]{40,})</code>", m.text) for m in made]
    assert secrets[0] and secrets[0] == secrets[1]  # the first answer lost: shown again
    notifications = harness.url("notifications")
    async with http.get(
        f"{notifications}/v1/webhook-subscriptions",
        params={"association_id": str(aid)},
        headers=net.admin.headers,
    ) as listed:
        subs = await listed.json()
    assert [s["id"] for s in subs] == [found.group(1)], subs

    # The service: the same body again answers 200; another body under the id, 409; once
    # rotated, the secret is no longer given again.
    path = f"{notifications}/v1/webhook-subscriptions/{found.group(1)}"
    body: dict[str, Any] = {"association_id": str(aid), "url": "https://example.org/twice"}
    body["event_types"] = ["sale.booked"]
    async with http.put(path, json=body, headers=net.admin.headers) as r:
        assert r.status == 200 and (await r.json())["secret"] == secrets[0][0]

    async def put(sub_path: str) -> int:
        async with http.put(sub_path, json=body, headers=net.admin.headers) as r:
            return r.status

    fresh = f"{notifications}/v1/webhook-subscriptions/{uuid.uuid4()}"
    at_once = await asyncio.gather(put(fresh), put(fresh))  # sent twice at the same moment
    assert sorted(at_once) == [200, 201], at_once
    async with http.put(path, json=body | {"url": "https://example.org/other"}, headers=net.admin.headers) as r:  # fmt: skip
        problem = await r.json()
        assert (r.status, problem["reason"]) == (409, "subscription_id_taken"), problem
    rotated = await treasurer.post(f"/association/webhooks/{found.group(1)}/rotate-secret", {})
    assert rotated.status == 200, rotated.text
    third = await treasurer.request("POST", "/association/webhooks", data=form)  # type: ignore[arg-type]
    assert third.status == 201 and "whsec_" not in third.text
    assert "Déjà abonné. Son secret a été remplacé" in third.text
    other = await make_network(merchants=1)
    stranger = await _signed_in(
        http, *await person(http, "association_admin", other.association_id)
    )
    page = await stranger.get("/association/webhooks")
    taken = [("csrf", stranger.csrf), *form[1:]]
    refused = await stranger.request("POST", "/association/webhooks", data=taken)  # type: ignore[arg-type]
    assert refused.status == 403, refused.text


async def test_bank_details_are_read_back_masked_and_card_batches_are_listed(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    aid, mid = net.association_id, net.merchants[0]
    await issues_cards(net)
    treasurer = await _signed_in(http, *await person(http, "association_admin", aid))

    # Bank details: what is set shown, the IBAN masked but its last 4 characters; every
    # party's read in one call to clearing, not one per party.
    one_party = ("clearing", "GET", "/v1/bank-details/{party_kind}/{party_id}")
    every_party = ("clearing", "GET", "/v1/associations/{association_id}/bank-details")
    before = [await harness.requests_served(http, *r) for r in (one_party, every_party)]
    page = await treasurer.get("/association/bank-details")
    assert page.status == 200 and 'id="bank-set"' in page.text, page.text
    after = [await harness.requests_served(http, *r) for r in (one_party, every_party)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [0, 1]
    row = page.text[page.text.index(f'id="bank-merchant-{mid}"') :]
    assert "Non renseignées" in row[: row.index("</tr>")]
    own = {"party": "association", "holder": "Asso", "iban": iban(17)}
    own |= {"bic": "BNPAFRPP", "creditor_id": "FR72ZZZ123456"}
    saved = await treasurer.post("/association/bank-details", own)
    assert saved.headers.get("Location") == "/association/bank-details?saved=1", saved.text
    page = await treasurer.get("/association/bank-details?saved=1")
    row = page.text[page.text.index(f'id="bank-association-{aid}"') :]
    row = row[: row.index("</tr>")]
    masked = "•" * (len(iban(17)) - 4) + iban(17)[-4:]
    assert iban(17) not in page.text and f"••••&nbsp;{iban(17)[-4:]}" in row, row
    assert "Asso" in row and "BNPAFRPP" in row and "FR72ZZZ123456" in row, row
    clearing = harness.url("clearing")
    async with http.get(
        f"{clearing}/v1/bank-details/association/{aid}", headers=net.admin.headers
    ) as r:
        shown = await r.json()
    assert (shown["iban_masked"], shown["iban_last4"]) == (masked, iban(17)[-4:]), shown
    assert iban(17) not in str(shown)
    async with http.get(
        f"{clearing}/v1/bank-details/merchant/{mid}", headers=net.admin.headers
    ) as r:
        assert (r.status, (await r.json())["reason"]) == (404, "no_bank_details")
    async with http.get(
        f"{clearing}/v1/associations/{aid}/bank-details", headers=net.admin.headers
    ) as r:
        listed = (await r.json())["bank_details"]
    assert [(d["party_kind"], d["party_id"]) for d in listed] == [("association", str(aid))]
    assert listed[0] == shown  # as the party's own GET reads it back

    # Card batches: each one made is listed, its file downloadable again later.
    page = await treasurer.get("/association/issuance")
    assert "Aucun lot de cartes pour l&#39;instant." in page.text
    made = []
    for size in ("2", "3"):
        page = await treasurer.get("/association/issuance")
        found = re.search(r'name="batch_id" value="([^"]+)"', page.text)
        assert found
        answer = await treasurer.post(
            "/association/card-batches",
            {"batch_id": found.group(1), "card_type_id": "", "size": size},
        )
        assert answer.status == 201, answer.text
        made.append(found.group(1))
    page = await treasurer.get("/association/issuance")
    listed = re.findall(r'id="batch-([0-9a-f-]{36})"', page.text)
    assert listed == made[::-1], listed  # newest first
    assert f'action="/association/cards/{made[0]}.csv"' in page.text
    first = await _file(treasurer, http, f"/association/cards/{made[0]}.csv")
    assert first.status == 200
    assert len(first.body.decode("utf-8-sig").strip().splitlines()) == 3
    b = await net.admin.call("GET", f"{CARDS}/v1/associations/{aid}/card-batches?limit=1")
    assert b.status == 200 and [x["batch_id"] for x in b.body] == [made[1]], b.body
    before = b.body[0]["created_at"]
    b = await net.admin.call(
        "GET", f"{CARDS}/v1/associations/{aid}/card-batches?{urlencode({'before': before})}"
    )
    assert [x["batch_id"] for x in b.body] == [made[0]], b.body
    assert b.body[0]["csv"] == f"/v1/card-batches/{made[0]}.csv"
    other = await make_network(merchants=1)
    stranger = await _signed_in(
        http, *await person(http, "association_admin", other.association_id)
    )
    page = await stranger.get("/association/issuance")
    assert made[0] not in page.text
