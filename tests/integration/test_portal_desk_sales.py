"""Bookings at the front desk (issue 15, item 3, CARD), against the running services: a
merchant's staff member records a purchase (booked once under a double submit, seen in cards'
account history, in clearing's books and in crm's visits exactly as a till's sale), a spend
from the cagnotte and a return; bad input is said on the page and books nothing; an
enrolment sent twice with its form's id is one; another merchant's staff is refused."""

from __future__ import annotations

import asyncio
import re
import signal
import uuid
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared.access import Principal, dev_token
from shared.client import AdminClient
from tests import harness
from tests.conftest import Network, NetworkFactory, eventually
from tests.people import CARDS, call, file_of, new_email, new_phone
from tests.portal import Browser, Page, person

pytestmark = pytest.mark.timeout(180)
TERMINALS = harness.url("terminals")


async def _staff(
    http: aiohttp.ClientSession, association: uuid.UUID, merchant: uuid.UUID
) -> Browser:
    email, password = await person(http, "staff", association, merchant)
    browser = Browser(http)
    assert (await browser.sign_in(email, password)).status == 303
    assert (await browser.get("/desk")).status == 200
    return browser


def _field(page: Page, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page.text)
    assert found, (name, page.text)
    return found.group(1)


async def _customer(net: Network, http: aiohttp.ClientSession) -> tuple[str, str]:
    """A customer enrolled at the merchant's till, with a first purchase there; the account
    and the till's sale."""
    till, phone = net.terminals[0], new_phone()
    enrolled = await till.enrol(phone, first_name="Capucine")
    assert enrolled.status == 201, enrolled
    sale = await till.sale(phone, 2000, "fleurs")
    assert sale.status == 201, sale
    await file_of(http, enrolled.body["account_id"])
    return enrolled.body["account_id"], sale.body["sale_id"]


async def _network(make_network: NetworkFactory, merchants: int = 1) -> Network:
    net = await make_network(merchants=merchants)
    for mid in net.merchants:
        r = await net.admin.call(
            "PUT", f"{CARDS}/v1/merchants/{mid}/families/fleurs", {"label": "Fleurs"}
        )
        assert r.status in (200, 201), r
        r = await net.admin.call(
            "PUT",
            f"{CARDS}/v1/merchants/{mid}/families/tabac",
            {"label": "Tabac", "tobacco": True},
        )
        assert r.status in (200, 201), r
    return net


async def _desk_requests(db: asyncpg.Connection, merchant: uuid.UUID) -> int:
    """How many requests the merchant's desk terminal ever sent (refused ones included)."""
    return int(
        await db.fetchval(
            """SELECT count(*) FROM terminals.requests r
               JOIN terminals.terminals t ON t.id = r.terminal_id
               WHERE t.merchant_id = $1 AND t.desk""",
            merchant,
        )
    )


async def test_a_purchase_at_the_desk_is_booked_once_and_seen_as_a_tills_sale(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    net = await _network(make_network)
    mid = net.merchants[0]
    account, till_sale = await _customer(net, http)
    desk = await _staff(http, net.association_id, mid)
    where = f"/desk/customers/{account}"
    page = await desk.get(where)
    assert page.status == 200 and 'id="record-purchase"' in page.text, page.text
    sale_id = _field(page, "sale_id")

    # A double submit: the same form twice at once books one sale, both see the same page.
    form = {"amount": "25,00", "family": "fleurs", "sale_id": sale_id}
    first, second = await asyncio.gather(
        desk.post(where + "/sales", form), desk.post(where + "/sales", form)
    )
    assert (first.status, second.status) == (303, 303), (first.text, second.text)
    location = f"{where}/sales/{sale_id}?family=fleurs"
    assert first.headers["Location"] == second.headers["Location"] == location
    again = await desk.post(where + "/sales", form)  # a retry later: the same answer
    assert (again.status, again.headers["Location"]) == (303, location)

    booked = await desk.get(location)
    assert booked.status == 200, booked.text
    reward = re.search(r'<h2 id="reward">(.*?)</h2>', booked.text, re.S)
    assert reward, booked.text
    text = re.sub(r"[ \t\n]+", " ", reward.group(1)).strip()
    assert text == "Enregistré : un achat de 25,00\xa0€. Récompense : 0,75\xa0€", text  # 3 %
    # the why: cards' rules engine, in the page's language, amounts as the portal writes them
    assert (
        "Un achat de 25,00\xa0€ rapporte 0,75\xa0€ dans la cagnotte à 300 pb : taux client de "
        "300 pb du réseau"
    ) in booked.text, booked.text
    assert "le commerce paie une commission de 0,13\xa0€ (50 pb)." in booked.text
    assert "A sale of" not in booked.text and "25.00 €" not in booked.text
    assert 'id="return"' in booked.text

    # Booked once, by the merchant's desk terminal, the staff member recorded as its sender.
    sid = uuid.UUID(sale_id)
    row = await db.fetchrow(
        """SELECT r.kind, r.status, t.desk, t.merchant_id, t.shop_id, t.id AS terminal_id,
                  d.actor
           FROM terminals.requests r JOIN terminals.terminals t ON t.id = r.terminal_id
           JOIN terminals.desk_requests d ON d.request_id = r.id WHERE r.id = $1""",
        sid,
    )
    assert row is not None
    assert (row["kind"], row["status"], row["desk"], row["merchant_id"]) == (
        "sale",
        "accepted",
        True,
        mid,
    )
    assert row["actor"] and not row["actor"].startswith("operator"), row["actor"]
    assert await _desk_requests(db, mid) == 1

    # cards: one entry for the sale, from the desk terminal, in the account's history.
    status, detail = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert status == 200, detail
    entries = [e for e in detail["entries"] if e["reference_id"] == sale_id]
    assert [(e["kind"], e["amount_cents"], e["purchase_cents"]) for e in entries] == [
        ("cagnottage", 75, 2500)
    ], entries
    assert entries[0]["terminal_id"] == str(row["terminal_id"])
    assert entries[0]["product_family"] == "fleurs"
    assert detail["balance_cents"] == 60 + 75  # the till's 20,00 € and the desk's 25,00 €

    # clearing and crm: the desk's sale exactly as the till's (the same rows, same shop).
    async def in_the_books() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM clearing.journal_entries WHERE reference_id = ANY($1)",
            [sid, uuid.UUID(till_sale)],
        )
        visits = await db.fetchval(
            "SELECT count(*) FROM crm.visits WHERE sale_id = ANY($1)", [sid, uuid.UUID(till_sale)]
        )
        return bool(n == 2 and visits == 2)

    await eventually(in_the_books, what="clearing and crm see both sales")
    books = {
        r["reference_id"]: r
        for r in await db.fetch(
            """SELECT reference_id, kind, association_id, merchant_id, purchase_cents
               FROM clearing.journal_entries WHERE reference_id = ANY($1)""",
            [sid, uuid.UUID(till_sale)],
        )
    }
    desk_row, till_row = books[sid], books[uuid.UUID(till_sale)]
    assert (desk_row["kind"], desk_row["association_id"], desk_row["merchant_id"]) == (
        till_row["kind"],
        till_row["association_id"],
        till_row["merchant_id"],
    )
    assert (desk_row["purchase_cents"], till_row["purchase_cents"]) == (2500, 2000)
    visits = {
        r["sale_id"]: r
        for r in await db.fetch(
            """SELECT sale_id, account_id, merchant_id, shop_id, amount_cents, product_family
               FROM crm.visits WHERE sale_id = ANY($1)""",
            [sid, uuid.UUID(till_sale)],
        )
    }
    seen = [
        (str(v["account_id"]), v["merchant_id"], v["shop_id"], v["product_family"])
        for v in (visits[sid], visits[uuid.UUID(till_sale)])
    ]
    assert seen[0] == seen[1] == (account, mid, row["shop_id"], "fleurs"), seen
    assert visits[sid]["amount_cents"] == 2500

    # Tobacco earns nothing by law: the page says so, and why, in French.
    page = await desk.get(where)
    form = {"amount": "10,00", "family": "tabac", "sale_id": _field(page, "sale_id")}
    tabac = await desk.post(where + "/sales", form)
    assert tabac.status == 303, tabac.text
    refused = await desk.get(tabac.headers["Location"])
    assert refused.status == 200 and "Pas de récompense pour cet achat." in refused.text
    law = "la famille Tabac est du tabac : aucune récompense de fidélité selon la loi"
    assert f"Un achat de 10,00\xa0€ ne rapporte rien car {law} ;" in refused.text, refused.text
    assert f"Non acquis : {law}" in refused.text, refused.text


async def test_a_return_and_a_spend_at_the_desk_and_what_each_refuses(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    net = await _network(make_network)
    mid = net.merchants[0]
    account, till_sale = await _customer(net, http)  # 0,60 € in the cagnotte
    desk = await _staff(http, net.association_id, mid)
    where = f"/desk/customers/{account}"
    page = await desk.get(where)
    sale = await desk.post(
        where + "/sales", {"amount": "25,00", "family": "", "sale_id": _field(page, "sale_id")}
    )
    assert sale.status == 303, sale.text
    sale_page = await desk.get(sale.headers["Location"])
    assert sale_page.status == 200 and "0,75\xa0€" in sale_page.text  # 1,35 € now
    sale_id = sale.headers["Location"].rsplit("/", 1)[1]
    return_id = _field(sale_page, "return_id")
    requests_before = await _desk_requests(db, mid)

    # A return of more than was bought: said, booked as refused by cards, nothing moved.
    too_much = await desk.post(
        f"{where}/sales/{sale_id}/returns",
        {"amount": "30,00", "reason": "returned", "return_id": return_id},
    )
    assert too_much.status == 422, too_much.text
    assert "est plus que le montant acheté." in too_much.text
    assert too_much.headers["X-Problem-Reason"] == "return_exceeds_sale"
    _, detail = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert detail["balance_cents"] == 135

    returned = await desk.post(
        f"{where}/sales/{sale_id}/returns",
        {"amount": "10,00", "reason": "returned", "return_id": str(uuid.uuid4())},
    )
    assert returned.status == 303, returned.text
    shown = await desk.get(returned.headers["Location"])
    assert "Enregistré : un retour de 10,00\xa0€" in shown.text, shown.text
    assert "Récompense reprise : 0,30\xa0€" in shown.text  # 3 % of 10,00 €
    # The till's sale is returned at the desk too (a customer back with the goods).
    page = await desk.get(where)
    assert f'href="{where}/sales/{till_sale}"' in page.text
    tills = await desk.get(f"{where}/sales/{till_sale}")
    assert tills.status == 200 and 'id="return"' in tills.text and 'id="reward"' not in tills.text
    till_return = await desk.post(
        f"{where}/sales/{till_sale}/returns",
        {"amount": "20,00", "reason": "cancelled", "return_id": str(uuid.uuid4())},
    )
    assert till_return.status == 303, till_return.text
    _, detail = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert detail["balance_cents"] == 135 - 30 - 60

    # A spend of more than the cagnotte: said, nothing sent; then one within it, once.
    page = await desk.get(where)
    redemption_id = _field(page, "redemption_id")
    sent = await _desk_requests(db, mid)
    greedy = await desk.post(
        where + "/redemptions", {"amount": "5,00", "redemption_id": redemption_id}
    )
    assert greedy.status == 422 and "La cagnotte ne contient pas autant." in greedy.text
    assert await _desk_requests(db, mid) == sent
    form = {"amount": "0,40", "redemption_id": redemption_id}
    spent, twice = await asyncio.gather(
        desk.post(where + "/redemptions", form), desk.post(where + "/redemptions", form)
    )
    assert (spent.status, twice.status) == (303, 303), (spent.text, twice.text)
    assert spent.headers["Location"] == twice.headers["Location"]
    shown = await desk.get(spent.headers["Location"])
    assert "Enregistré : utilisé sur la cagnotte 0,40\xa0€" in shown.text, shown.text
    _, detail = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert detail["balance_cents"] == 45 - 40
    assert await _desk_requests(db, mid) == requests_before + 4  # 2 returns refused/booked,
    # the till's sale's return, one spend


async def test_bad_input_is_said_on_the_page_and_books_nothing(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    net = await _network(make_network)
    mid = net.merchants[0]
    account, _ = await _customer(net, http)
    desk = await _staff(http, net.association_id, mid)
    where = f"/desk/customers/{account}"
    page = await desk.get(where)
    sale_id = _field(page, "sale_id")
    for amount in ("0", "0,00", "-3", "100000,01", "douze", ""):
        bad = await desk.post(where + "/sales", {"amount": amount, "sale_id": sale_id})
        assert bad.status == 422, (amount, bad.text)
        assert "Donnez un montant entre 0,01 et 100 000 euros" in bad.text, amount
    unknown = await desk.post(
        where + "/sales", {"amount": "12,50", "family": "bijoux", "sale_id": sale_id}
    )
    assert unknown.status == 422 and "Choisissez une famille de produits" in unknown.text
    for amount in ("0", "-1", "douze"):
        bad = await desk.post(where + "/redemptions", {"amount": amount})
        assert bad.status == 422, (amount, bad.text)
    assert await _desk_requests(db, mid) == 0  # nothing reached the gateway
    _, detail = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert detail["balance_cents"] == 60 and len(detail["entries"]) == 1

    # The same form id used for another amount: refused, not booked twice nor changed.
    first = await desk.post(where + "/sales", {"amount": "10,00", "sale_id": sale_id})
    assert first.status == 303, first.text
    other = await desk.post(where + "/sales", {"amount": "11,00", "sale_id": sale_id})
    assert other.status == 409 and "rechargez la page" in other.text, other.text
    _, detail = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert detail["balance_cents"] == 60 + 30


async def test_an_enrolment_sent_twice_with_its_form_id_is_one(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await _network(make_network)
    desk = await _staff(http, net.association_id, net.merchants[0])
    home = await desk.get("/desk")
    form = {"contact": new_phone(), "first_name": "Anatole", "enrolment_id": "x"}
    form["enrolment_id"] = _field(home, "enrolment_id")
    first, second = await asyncio.gather(
        desk.post("/desk/enrol", form), desk.post("/desk/enrol", form)
    )
    assert (first.status, second.status) == (303, 303), (first.text, second.text)
    assert first.headers["Location"] == second.headers["Location"]
    retry = await desk.post("/desk/enrol", form)
    assert (retry.status, retry.headers["Location"]) == (303, first.headers["Location"])
    account = first.headers["Location"].rsplit("/", 1)[1]
    assert (await file_of(http, account))["first_name"] == "Anatole"
    # The enrolment's own page (where a slow answer is awaited) leads to the customer.
    answered = await desk.get(f"/desk/enrolments/{form['enrolment_id']}")
    assert (answered.status, answered.headers["Location"]) == (303, first.headers["Location"])
    unknown = await desk.get(f"/desk/enrolments/{uuid.uuid4()}")
    assert unknown.status == 404, unknown.text

    # Another enrolment (a new form) with the same phone: the clear 409, on with the customer.
    home = await desk.get("/desk")
    other = {**form, "enrolment_id": _field(home, "enrolment_id")}
    taken = await desk.post("/desk/enrol", other)
    assert taken.status == 409 and "Ce client est déjà inscrit." in taken.text, taken.text
    assert f'href="/desk/customers/{account}"' in taken.text
    by_email = await desk.post(
        "/desk/enrol", {"contact": new_email(), "enrolment_id": _field(home, "enrolment_id")}
    )
    assert by_email.status == 409  # the id names the phone's enrolment: not another


async def test_another_merchants_staff_is_refused(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    net = await _network(make_network, merchants=2)
    other = await _network(make_network)
    account, till_sale = await _customer(net, http)
    own, neighbour = net.merchants
    sale = {
        "sale_id": str(uuid.uuid4()),
        "customer": {"phone": new_phone()},
        "amount_cents": 1000,
    }
    # At the gateway: the neighbour's staff cannot book at this merchant's desk, nor read it.
    neighbours_staff = AdminClient(
        http, dev_token(Principal("staff@neighbour", "staff", net.association_id, neighbour))
    )
    for path in ("sales", "redemptions", "returns", "enrolments"):
        r = await neighbours_staff.call("POST", f"{TERMINALS}/v1/merchants/{own}/desk/{path}", {})
        assert (r.status, r.body["reason"]) == (403, "out_of_scope"), (path, r)
    r = await neighbours_staff.call(
        "GET", f"{TERMINALS}/v1/merchants/{own}/desk/sales/{uuid.uuid4()}"
    )
    assert r.status == 403, r
    cardholder = AdminClient(
        http,
        dev_token(
            Principal("holder", "cardholder", net.association_id, account_id=uuid.UUID(account))
        ),
    )
    r = await cardholder.call("POST", f"{TERMINALS}/v1/merchants/{own}/desk/sales", sale)
    assert r.status == 403, r
    assert await _desk_requests(db, own) == 0

    # In the portal, the neighbour's staff books at their own desk only: the till's sale of
    # this merchant is not theirs to return.
    desk = await _staff(http, net.association_id, neighbour)
    where = f"/desk/customers/{account}"
    returned = await desk.post(
        f"{where}/sales/{till_sale}/returns", {"amount": "5,00", "reason": "returned"}
    )
    assert returned.status == 422 and "inconnue dans ce commerce" in returned.text, returned.text
    # Another association's staff reaches neither the customer nor their sales.
    stranger = await _staff(http, other.association_id, other.merchants[0])
    refused = await stranger.get(f"{where}/sales/{till_sale}")
    assert refused.status == 403 and "hors du périmètre" in refused.text
    booked = await stranger.post(f"{where}/sales", {"amount": "5,00"})
    assert booked.status == 403, booked.text
    await eventually(lambda: _none_booked(db, own), what="nothing booked at the own desk")


async def _none_booked(db: asyncpg.Connection, merchant: uuid.UUID) -> bool:
    return await _desk_requests(db, merchant) == 0


async def test_the_desk_terminal_is_the_gateways_own(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    """Registered once on first use (two first uses at once too), in the merchant's list of
    terminals but not in the sync registry (it never syncs), and no manager can set its
    secret to sign as it."""
    net = await _network(make_network)
    aid, mid = net.association_id, net.merchants[0]
    manager = AdminClient(http, dev_token(Principal("manager@shop", "manager", aid, mid)))
    bodies = [
        {"sale_id": str(uuid.uuid4()), "customer": {"email": new_email()}, "amount_cents": 100}
        for _ in range(2)
    ]
    first = await asyncio.gather(
        *(manager.call("POST", f"{TERMINALS}/v1/merchants/{mid}/desk/sales", b) for b in bodies)
    )
    assert [r.status for r in first] == [422, 422], first  # nobody holds the e-mail
    assert {r.body["reason"] for r in first} == {"unknown_account"}
    desks = await db.fetch(
        "SELECT id, shop_id, label FROM terminals.terminals WHERE merchant_id = $1 AND desk", mid
    )
    assert len(desks) == 1, desks
    desk_id = desks[0]["id"]

    scope = f"?association_id={aid}&merchant_id={mid}"
    listed = await manager.call("GET", f"{TERMINALS}/v1/terminals{scope}")
    assert listed.status == 200 and str(desk_id) in {t["id"] for t in listed.body}
    registry = await manager.call("GET", f"{TERMINALS}/v1/sync/registry{scope}")
    assert registry.status == 200, registry
    assert str(desk_id) not in {t["terminal_id"] for t in registry.body}
    assert len(registry.body) == 1  # the till

    taken = await manager.call(
        "PUT",
        f"{TERMINALS}/v1/terminals/{desk_id}",
        {
            "association_id": str(aid),
            "merchant_id": str(mid),
            "shop_id": str(mid),
            "label": "mine now",
            "secret": "x" * 40,
        },
    )
    assert (taken.status, taken.body["reason"]) == (409, "desk_terminal"), taken
    assert await db.fetchval("SELECT label FROM terminals.terminals WHERE id = $1", desk_id) == (
        "Front desk"
    )


async def test_a_manager_records_a_purchase_at_their_desk_too(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    net = await _network(make_network)
    mid = net.merchants[0]
    account, _ = await _customer(net, http)
    email, password = await person(http, "manager", net.association_id, mid)
    manager = Browser(http)
    assert (await manager.sign_in(email, password)).status == 303
    where = f"/desk/customers/{account}"
    page = await manager.get(where)
    assert page.status == 200, page.text
    sale = await manager.post(
        where + "/sales", {"amount": "10,00", "family": "", "sale_id": _field(page, "sale_id")}
    )
    assert sale.status == 303, sale.text
    shown = await manager.get(sale.headers["Location"])
    assert "Enregistré : un achat de 10,00\xa0€" in shown.text
    actor = await db.fetchval(
        "SELECT actor FROM terminals.desk_requests WHERE request_id = $1",
        uuid.UUID(sale.headers["Location"].rsplit("/", 1)[1]),
    )
    staff = await _staff(http, net.association_id, mid)
    page = await staff.get(where)
    other = await staff.post(
        where + "/sales", {"amount": "10,00", "family": "", "sale_id": _field(page, "sale_id")}
    )
    assert other.status == 303, other.text
    staff_actor = await db.fetchval(
        "SELECT actor FROM terminals.desk_requests WHERE request_id = $1",
        uuid.UUID(other.headers["Location"].rsplit("/", 1)[1]),
    )
    assert actor and staff_actor and actor != staff_actor  # who sent each, recorded
    await manager.post("/language", {"language": "en"})
    english = await manager.get(sale.headers["Location"])
    assert "Recorded: a purchase of €10.00. Reward:" in english.text, english.text
    # the why in English too, amounts as the portal writes them in English
    assert (
        "Why:</strong> <span>A sale of €10.00 earns €0.30 in the cagnotte at 300 bp: "
        in english.text
    )
    assert "the merchant pays a fee of €0.05 (50 bp)." in english.text, english.text


@pytest.fixture
async def gateway_without_a_wait(services: harness.Services) -> Any:
    """The gateway restarted to answer at once, before cards has decided (202, pending);
    back on its usual wait afterwards, for the other tests."""
    services.kill("terminals", signal.SIGTERM)
    services.start("terminals", {"COMPTOIR_OUTCOME_TIMEOUT_S": "0"})
    await services.wait_ready("terminals")
    try:
        yield services
    finally:
        services.kill("terminals", signal.SIGTERM)
        services.start("terminals")
        await services.wait_ready("terminals")


async def test_a_booking_cards_has_not_answered_yet_is_shown_once_it_has(
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    gateway_without_a_wait: Any,
) -> None:
    net = await _network(make_network)
    desk = await _staff(http, net.association_id, net.merchants[0])
    home = await desk.get("/desk")
    enrolment_id = _field(home, "enrolment_id")
    sent = await desk.post("/desk/enrol", {"contact": new_phone(), "enrolment_id": enrolment_id})
    # The gateway answered 202: the enrolment's own page, which leads on once cards answers.
    assert (sent.status, sent.headers["Location"]) == (303, f"/desk/enrolments/{enrolment_id}")
    answered: list[str] = []

    async def enrolled() -> bool:
        page = await desk.get(sent.headers["Location"])
        assert page.status in (202, 303), page.text
        if page.status == 202:
            assert "en cours d'enregistrement" in page.text.replace("&#39;", "'")
            return False
        answered.append(page.headers["Location"])
        return True

    await eventually(enrolled, what="the enrolment answered")
    where = answered[0]
    page = await desk.get(where)
    sale = await desk.post(
        where + "/sales", {"amount": "20,00", "family": "", "sale_id": _field(page, "sale_id")}
    )
    assert sale.status == 303, sale.text

    async def booked() -> bool:
        shown = await desk.get(sale.headers["Location"])
        assert shown.status == 200, shown.text
        if 'id="reward"' not in shown.text:
            assert "actualisez cette page" in shown.text, shown.text
            return False
        return "Enregistré : un achat de 20,00\xa0€" in shown.text

    await eventually(booked, what="the sale answered")
