"""People hear from their shops, end to end (issue 13's "done when"): the five services, the
real SMTP server (aiosmtpd) and Kannel with its fake operator, on a calendar the test sets.
Each step asserts what a person sees: an SMS, an e-mail and its headers, a page behind a link,
a voucher code, a spreadsheet.

The network "Les commerçants de Moulins" (rate mode family, network 3 %, taux UC 0.5 %): the
Boulangerie Martin (family "vienn", labelled "Viennoiseries", at 5 %; its e-mail address gets
its statements) and the Fleurs de Lys. A partner, the Club de basket, gets 10 % of its
members' purchases at the bakery. Gisèle is the customer followed; Paul, another customer of
the bakery, is who still hears from it when she no longer does.

| when (Paris)       | what                                                                 |
|--------------------|----------------------------------------------------------------------|
| Mon 2 March 10:00  | Gisèle enrols by phone at the bakery, completes her details through  |
|                    | the SMS's link, confirms her e-mail; 40.00 € of viennoiseries (5 %:  |
|                    | 2.00 €, fee 0.20 €): her receipt by e-mail                           |
| Fri 6 March 10:00  | her birthday: a 10.00 € voucher by e-mail (crm's daily jobs); at the |
|                    | florist she buys 30.00 € (3 %: 0.90 €), has the voucher validated    |
|                    | there and spends its 10.00 € at the till. Paul, a club member, buys  |
|                    | 50.00 € at the bakery with his card (3 %: 1.50 €, fee 0.25 €, the    |
|                    | club's share 5.00 €)                                                 |
| Sat 6 June 21:00   | three months without a visit: both reminded; Gisèle unsubscribes in  |
|                    | one click; the network's newsletter, sent by the daily jobs after it,|
|                    | reaches Paul, not her; her receipt of 12.00 € (3 %: 0.36 €) still    |
|                    | comes; she asks for erasure; Paul's SMS news is held till Monday     |
| Mon 8 June 08:00   | Paul's SMS leaves; March is closed: the bakery's statement e-mailed  |

Each change of the calendar restarts the five services with their clock at that instant
(``Calendar.move_to``): most of the test's time.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock
from shared.client import Reply, TerminalClient
from shared.clock import PARIS
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.messaging import KannelHandle, Mailbox, until_status
from tests.people import call, found_anywhere, new_phone, outboxes_empty
from tests.statements import french_csv, totals_are_the_report, workbook

pytestmark = pytest.mark.e2e

CRM = harness.url("crm")
CARDS = harness.url("cards")
CLEARING = harness.url("clearing")
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}

ENROLMENT = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)  # a Monday
BIRTHDAY = datetime(2026, 3, 6, 10, 0, tzinfo=PARIS)  # Gisèle's, a Friday
SATURDAY_NIGHT = datetime(2026, 6, 6, 21, 0, tzinfo=PARIS)  # three months after 6 March
MONDAY_MORNING = datetime(2026, 6, 8, 8, 0, tzinfo=PARIS)  # no public holiday on that weekend
# crm's daily jobs look for a day to run every second (the suite turns them off).
JOBS_ON = {"COMPTOIR_DAILY_CHECK_S": "1"}
NETWORK_NAME = "Les commerçants de Moulins"
BAKERY = "Boulangerie Martin"
LINK = re.compile(r"http://\S+")
VOUCHER = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{3}\b")


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None, mail
    return str(part.get_content())


def link_in(text: str) -> str:
    found = LINK.search(text)
    assert found, text
    return found.group(0)


async def decided(till: TerminalClient, reply: Reply, path: str) -> dict[str, Any]:
    """The till's answer: 201 at once, or (202, the machine busy) once the verdict is in."""
    deadline = asyncio.get_running_loop().time() + 30
    while reply.status == 202 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        reply = await till.request("GET", path)
    assert reply.status == 201, reply
    body: dict[str, Any] = reply.body
    return body


async def ok(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    status, answer = await call(http, method, url, body)
    assert status in (200, 201, 202), (method, url, status, answer)
    return answer


async def until_ok(
    http: aiohttp.ClientSession, method: str, url: str, body: Any, what: str
) -> None:
    """A back-office call that needs another service to have heard of something first."""

    async def done() -> bool:
        return (await call(http, method, url, body))[0] in (200, 201)

    await eventually(done, what=what)


async def sms_when(kannel: KannelHandle, number: str, count: int) -> tuple[str, datetime]:
    """The ``count``-th SMS to ``number`` as the operator received it, and when, on the test's
    clock (never behind the services')."""
    deadline = asyncio.get_running_loop().time() + 30
    while len(found := kannel.sms_to(number)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{len(found)} SMS to {number}"
        await asyncio.sleep(0.05)
    return found[count - 1].text, clock.now()


async def test_a_customer_hears_from_their_shops_from_enrolment_to_erasure(
    calendar: Calendar,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    mailbox: Mailbox,
    kannel: KannelHandle,
    db: asyncpg.Connection,
) -> None:
    await calendar.move_to(ENROLMENT)
    net = await make_network(merchants=2, rate_mode="family", taux_client_bps=300)
    aid = net.association_id
    bakery, florist = net.merchants
    bakery_till, florist_till = net.terminals
    await ok(
        http,
        "PUT",
        f"{CARDS}/v1/associations/{aid}",
        {
            "name": NETWORK_NAME,
            "rate_mode": "family",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "issuer_prefix": f"{800000 + secrets.randbelow(100000)}",
        },
    )
    tag = uuid.uuid4().hex[:8]
    accounts_email = f"compta-{tag}@boulangerie-martin.example"
    for mid, name, email in ((bakery, BAKERY, accounts_email), (florist, "Fleurs de Lys", None)):
        await ok(
            http,
            "PUT",
            f"{CARDS}/v1/associations/{aid}/merchants/{mid}",
            {"name": name, "email": email},
        )
    await ok(
        http,
        "PUT",
        f"{CARDS}/v1/merchants/{bakery}/families/vienn",
        {"label": "Viennoiseries", "taux_client_bps": 500},
    )
    club = uuid.uuid4()
    await ok(
        http, "PUT", f"{CLEARING}/v1/associations/{aid}/partners/{club}", {"name": "Club de basket"}
    )
    await until_ok(
        http,
        "PUT",
        f"{CLEARING}/v1/partners/{club}/partnerships/{bakery}",
        {"rate_bps": 1000, "starts_on": "2026-03-01"},
        "the bakery known to clearing",
    )
    triggers = f"{CRM}/v1/triggers"
    scope = {"association_id": str(aid), "channel": "email"}
    await ok(
        http,
        "PUT",
        f"{triggers}/{uuid.uuid4()}",
        scope | {"merchant_id": str(bakery), "kind": "receipt", "params": {"shop_name": BAKERY}},
    )
    await ok(
        http,
        "PUT",
        f"{triggers}/{uuid.uuid4()}",
        scope
        | {
            "kind": "birthday",
            "params": {
                "shop_name": NETWORK_NAME,
                "voucher_cents": 1000,
                "voucher_days": 30,
                "offer_text": "Votre bon d'achat de 10 € :",
            },
        },
    )
    await ok(
        http,
        "PUT",
        f"{triggers}/{uuid.uuid4()}",
        scope
        | {
            "kind": "we_miss_you",
            "params": {"months": 3, "shop_name": NETWORK_NAME, "body": "Un café vous attend."},
        },
    )

    # --- 1. Gisèle enrols by phone at the till; the SMS's link; her details; her e-mail -------
    gisele = {
        "phone": new_phone(),
        "email": f"gisele.{tag}@example.fr",
        "first_name": f"Gisèle{tag}",
        "last_name": f"Buis{tag}",
    }
    enrolment_id = str(uuid.uuid4())
    enrolled = await decided(
        bakery_till,
        await bakery_till.request(
            "POST", "/v1/enrolments", {"enrolment_id": enrolment_id, "phone": gisele["phone"]}
        ),
        f"/v1/enrolments/{enrolment_id}",
    )
    account = enrolled["account_id"]
    [sms] = await kannel.wait_for(gisele["phone"])
    assert "complétez vos coordonnées de fidélité" in sms.text, sms.text
    form_url = link_in(sms.text)
    status, form = await call(http, "GET", form_url, admin=False)
    assert (status, form["phone"]) == (200, gisele["phone"]), form
    assert form["to_fill"] == ["title", "last_name", "first_name", "postal_code"]
    status, form = await call(
        http,
        "PUT",
        form_url,
        {
            "title": "MME",
            "first_name": gisele["first_name"],
            "last_name": gisele["last_name"],
            "postal_code": "03000",
            "town": "Moulins",
            "email": gisele["email"],
            "birth_date": "1985-03-06",
            "language": "fr",
        },
        admin=False,
    )
    assert (status, form["to_fill"], form["email"]) == (200, [], gisele["email"]), form
    # The bakery sends her the e-mail that validates her address (double opt-in, seed 003).
    status, consent = await call(
        http,
        "POST",
        f"{CRM}/v1/customers/{account}/consents",
        {"channel": "email", "how": "back_office"},
    )
    assert (status, consent["status"]) == (201, "pending"), consent
    mail = await mailbox.wait_for_subject(gisele["email"], "Confirmez votre adresse e-mail")
    confirm_url = link_in(text_of(mail))
    status, seen = await call(http, "GET", confirm_url, admin=False)  # a mail scanner's GET
    assert (status, seen["status"]) == (200, "pending")
    status, seen = await call(http, "POST", confirm_url, admin=False)  # her click
    assert (status, seen["status"]) == (200, "confirmed"), seen

    # Paul: a customer of the bakery, named in the back office after his enrolment, a card,
    # a member of the club; his e-mail and SMS consents confirmed (the code read from the SMS).
    paul = {"phone": new_phone(), "email": f"paul.{tag}@example.fr"}
    paul_id = str(uuid.uuid4())
    paul_account = (
        await decided(
            bakery_till,
            await bakery_till.request(
                "POST", "/v1/enrolments", {"enrolment_id": paul_id, "phone": paul["phone"]}
            ),
            f"/v1/enrolments/{paul_id}",
        )
    )["account_id"]
    await kannel.wait_for(paul["phone"])  # his own link
    await ok(
        http,
        "PATCH",
        f"{CRM}/v1/customers/{paul_account}",
        {
            "title": "M",
            "first_name": "Paul",
            "last_name": f"Lebrun{tag}",
            "postal_code": "03000",
            "email": paul["email"],
        },
    )
    card = await ok(
        http,
        "POST",
        f"{CARDS}/v1/associations/{aid}/cards",
        {"issue_id": str(uuid.uuid4()), "account_id": paul_account},
    )
    await until_ok(
        http,
        "PUT",
        f"{CLEARING}/v1/partners/{club}/members/{paul_account}",
        {"since": "2026-03-01"},
        "Paul known to clearing",
    )
    await ok(http, "POST", f"{CRM}/v1/customers/{paul_account}/consents", {"channel": "email"})
    mail = await mailbox.wait_for_subject(paul["email"], "Confirmez votre adresse e-mail")
    status, seen = await call(http, "POST", link_in(text_of(mail)), admin=False)
    assert (status, seen["status"]) == (200, "confirmed"), seen
    paul_sms = await ok(
        http, "POST", f"{CRM}/v1/customers/{paul_account}/consents", {"channel": "sms"}
    )
    [_, code_sms] = await kannel.wait_for(paul["phone"], 2)
    code = code_sms.text[-6:]
    assert code.isdigit() and "par SMS" in code_sms.text, code_sms.text
    confirmed = await ok(
        http,
        "POST",
        f"{CRM}/v1/customers/{paul_account}/consents/{paul_sms['id']}/code",
        {"code": code},
    )
    assert confirmed["status"] == "confirmed", confirmed

    # --- 2. A purchase at the bakery: the receipt by e-mail ----------------------------------
    sold = await decided(
        bakery_till,
        await bakery_till.sale(gisele["phone"], 4000, "vienn", sale_id=(sale := str(uuid.uuid4()))),
        f"/v1/sales/{sale}",
    )
    assert (sold["account_id"], sold["reward_cents"]) == (account, 200), sold
    receipt = await mailbox.wait_for_subject(gisele["email"], f"Votre achat chez {BAKERY}")
    said = text_of(receipt)
    assert "40,00\u00a0€" in said and "2,00\u00a0€" in said, said
    assert f"Bonjour {gisele['first_name']}" in said and "List-Unsubscribe" not in receipt

    # --- 3. Her birthday: the voucher by e-mail, used at the florist ----------------------
    await calendar.move_to(BIRTHDAY, JOBS_ON)
    offer = await mailbox.wait_for_subject(
        gisele["email"], f"Joyeux anniversaire {gisele['first_name']}"
    )
    [voucher] = VOUCHER.findall(text_of(offer))
    assert "Votre bon d'achat de 10 € :" in text_of(offer)
    assert offer["List-Unsubscribe"] and offer["List-Unsubscribe-Post"]
    bought = await decided(
        florist_till,
        await florist_till.sale(gisele["phone"], 3000, sale_id=(sale := str(uuid.uuid4()))),
        f"/v1/sales/{sale}",
    )
    assert (bought["reward_cents"], bought["balance_cents"]) == (90, 290), bought
    # The florist validates the code she shows (F11: at any merchant of the network; through
    # cards' back-office route, the till's gateway has none) ...
    validated = await ok(
        http,
        "POST",
        f"{CARDS}/v1/vouchers/{voucher}/validation",
        {"merchant_id": str(florist), "account_id": account},
    )
    assert validated["balance_cents"] == 1290, validated
    # ... and she pays with it at the florist's till.
    spent = await decided(
        florist_till,
        await florist_till.redeem(gisele["phone"], 1000, (spend := str(uuid.uuid4()))),
        f"/v1/redemptions/{spend}",
    )
    assert spent["balance_cents"] == 290, spent
    # Paul buys at the bakery with his card.
    paid = await decided(
        bakery_till,
        await bakery_till.sale(
            None, 5000, sale_id=(sale := str(uuid.uuid4())), card_number=card["number"]
        ),
        f"/v1/sales/{sale}",
    )
    assert paid["reward_cents"] == 150, paid

    # The books are right: clearing's journal balances and agrees with cards' balances.
    async def books_right() -> bool:
        status, verdict = await call(
            http, "POST", f"{CLEARING}/v1/associations/{aid}/reconciliation", {"settle_seconds": 0}
        )
        owed = await db.fetchval(
            "SELECT sum(balance_cents + pending_cents) FROM cards.accounts WHERE association_id = $1",
            aid,
        )
        return status == 200 and bool(verdict["ok"]) and owed == 290 + 150

    await eventually(books_right, what="clearing's books to balance and agree with cards")

    # --- 4. Three months without a visit: reminded --------------------------------------------
    await calendar.move_to(SATURDAY_NIGHT, JOBS_ON)
    reminder = await mailbox.wait_for_subject(
        gisele["email"], f"Vous nous manquez chez {NETWORK_NAME}"
    )
    assert "Un café vous attend." in text_of(reminder)
    await mailbox.wait_for_subject(paul["email"], f"Vous nous manquez chez {NETWORK_NAME}")

    # --- 5. One click unsubscribes her: no more marketing, receipts still -----------------
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(reminder["List-Unsubscribe"]).strip("<>")
    async with http.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["status"] == "withdrawn"
    # The network's monthly newsletter, made since, goes out through the daily jobs on its
    # day, this very evening: Paul receives it, she does not.
    newsletter = str(uuid.uuid4())
    made = await ok(
        http,
        "PUT",
        f"{CRM}/v1/campaigns/{newsletter}",
        {
            "association_id": str(aid),
            "template": "newsletter",
            "variables": {"shop_name": NETWORK_NAME, "body": "Les fraisiers sont là !"},
            "segment": {"channel": "email"},
            "monthly_day": 6,
        },
    )
    assert (made["size"], made["consenting"]) == (2, 1), made
    news = await mailbox.wait_for_subject(paul["email"], f"Les nouvelles de {NETWORK_NAME}")
    assert "Les fraisiers sont là !" in text_of(news)

    async def newsletter_done() -> bool:
        status, c = await call(http, "GET", f"{CRM}/v1/campaigns/{newsletter}")
        return status == 200 and sum(c["messages"].values()) == 1

    await eventually(newsletter_done, what="the newsletter's day run by crm's daily jobs")
    assert not [m for m in mailbox.to(gisele["email"]) if "fraisiers" in text_of(m)]
    _, asked = await call(http, "GET", f"{CRM}/v1/customers/{account}/messages")
    assert [m["template"] for m in asked["messages"] if m["category"] == "marketing"] == [
        "birthday_offer",
        "we_miss_you",
    ]
    receipts = len(mailbox.to(gisele["email"]))
    await decided(
        bakery_till,
        await bakery_till.sale(gisele["phone"], 1200, sale_id=(sale := str(uuid.uuid4()))),
        f"/v1/sales/{sale}",
    )
    await mailbox.wait_for(gisele["email"], receipts + 1)
    late_receipt = mailbox.to(gisele["email"])[-1]
    assert str(late_receipt["Subject"]) == f"Votre achat chez {BAKERY}"
    assert "12,00\u00a0€" in text_of(late_receipt) and "List-Unsubscribe" not in late_receipt

    # --- 6. Erasure: found nowhere but pseudonymised -------------------------------------------
    status, erased = await call(http, "POST", f"{CRM}/v1/customers/{account}/erasure")
    assert status == 200, erased
    needles = [gisele[k] for k in ("phone", "email", "first_name", "last_name")]
    needles.append(gisele["phone"].replace("+33", "0"))

    async def gone() -> bool:
        return await outboxes_empty(db) and not await found_anywhere(db, needles)

    try:
        await eventually(gone, what="the erasure in every service")
    finally:
        print("still found:", await found_anywhere(db, needles))
    _, held = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert (held["last_name"], held["phone"], held["balance_cents"]) == (
        erased["pseudonym"],
        None,
        290 + 36,  # the amounts stay: 12.00 € of no family at the network's 3 %
    ), held

    # --- 7. A marketing SMS due on Saturday at 21:00 leaves on Monday at 08:00 ---------------
    status, quick = await call(
        http,
        "POST",
        f"{CRM}/v1/customers/{paul_account}/messages",
        {
            "channel": "sms",
            "template": "quick_news",
            "variables": {"shop_name": BAKERY, "body": "Galettes des rois tout le mois"},
        },
    )
    assert status == 202, quick
    held_sms = await until_status(http, uuid.UUID(quick["message_id"]), "deferred")
    assert datetime.fromisoformat(held_sms["due_at"]) == MONDAY_MORNING
    assert len(kannel.sms_to(paul["phone"])) == 2
    await calendar.move_shortly_before(MONDAY_MORNING)
    text, received = await sms_when(kannel, paul["phone"], 3)
    assert text == f"{BAKERY} : Galettes des rois tout le mois STOP au 38000", text
    assert MONDAY_MORNING <= received < MONDAY_MORNING + timedelta(minutes=1), received
    sent = await until_status(http, uuid.UUID(quick["message_id"]), "delivered")
    assert datetime.fromisoformat(sent["sent_at"]) >= MONDAY_MORNING

    # --- 8. March closed: the bakery's statement by e-mail, its XLSX and CSV -------------------
    closed = await ok(
        http,
        "POST",
        f"{CLEARING}/v1/associations/{aid}/periods/2026-03/close",
        {"actor": "la trésorière"},
    )
    assert "2026-03" in closed["periods"], closed
    statement = await mailbox.wait_for_subject(
        accounts_email, f"Relevé {BAKERY} du 1 mars 2026 au 31 mars 2026"
    )
    [attachment] = list(statement.iter_attachments())
    assert attachment.get_filename() == "releve-2026-03.xlsx"
    w = workbook(attachment.get_content())
    # Who: the title and names given after the accounts opened (Paul's in the back office);
    # Gisèle under her pseudonym, her amounts kept; Paul's card number, all its digits.
    assert [(x["TYPE"], x["CIVILITE"], x["NOM"], x["PRENOM"], x["N° CARTE"]) for x in w.lines] == [
        ("Achat", None, erased["pseudonym"], None, None),
        ("Achat", "M.", f"Lebrun{tag}", "Paul", card["number"]),
        ("Partenariat", None, None, None, None),
    ]
    # What and why: the family's label, not its code; the rate applied and the rule that set it.
    assert [(x["VALEUR"], x["UNIVERS"], x["TAUX (%)"], x["ORIGINE DU TAUX"]) for x in w.lines] == [
        (40, "Viennoiseries", 5, "taux de la famille"),
        (50, None, 3, "taux du réseau"),
        (50, None, 10, "partenariat"),  # the partner's line: its base and its rate
    ]
    assert w.lines[2]["NET"] == 5 and "Club de basket" in w.lines[2]["REMARQUE"]
    # The totals are the report's columns, FRAIS UC's among them (0.20 + 0.25 €).
    totals_are_the_report(w)
    assert (w.totals["TOTAL"]["VALEUR"], w.totals["TOTAL"]["FRAIS UC"]) == (90, 0.45)
    # The ranking's number of purchases: the bakery's 2 against the florist's 1.
    assert w.ranking["Nb d'achats"][1:] == (1, 2, 1, 2, 1.5)

    # The same statement as CSV, as French Excel opens it: a byte-order mark, ";" between the
    # cells, decimal commas, the card number as text.
    async with http.get(
        f"{CLEARING}/v1/merchants/{bakery}/statements/2026-03.csv", headers=ADMIN
    ) as r:
        assert r.status == 200
        table = french_csv(await r.read())
    rows = [dict(zip(table[0], line, strict=True)) for line in table[1:]]
    assert table[0][:6] == ["DATE", "TYPE", "CIVILITE", "NOM", "PRENOM", "N° CARTE"]
    lines = [x for x in rows if x["DATE"]]
    assert [(x["NOM"], x["PRENOM"], x["VALEUR"], x["TAUX (%)"]) for x in lines] == [
        (erased["pseudonym"], "", "40,00", "5,00"),
        (f"Lebrun{tag}", "Paul", "50,00", "3,00"),
        ("", "", "50,00", "10,00"),
    ]
    assert (
        lines[0]["UNIVERS"] == "Viennoiseries" and lines[1]["ORIGINE DU TAUX"] == "taux du réseau"
    )
    assert lines[1]["N° CARTE"] == f'="{card["number"]}"'
    total = next(x for x in rows if x["TYPE"].startswith("TOTAL"))
    assert (total["VALEUR"], total["CAGNOTTE"], total["FRAIS UC"], total["NET"]) == (
        "90,00",
        "3,50",
        "0,45",
        "8,95",
    )
