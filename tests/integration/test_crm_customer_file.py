"""The customer file (issue 13, item 1; F20, F16) against the running services: quick
enrolment at the till, the link by SMS, the customer completing their own file through the
public route, strict validation, "à remplir", a name change reaching cards' card records and
clearing's statement lines, a member joining another merchant's file only with consent."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from services.crm.domain import tokens
from shared import clock
from shared.settings import DEV_LINK_KEY
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.people import call as _call
from tests.people import card_issued
from tests.people import file_of as _file
from tests.people import new_phone as _phone
from tests.watch import watching

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
CARDS = harness.url("cards")
CLEARING = harness.url("clearing")
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}


async def test_quick_enrolment_sends_the_link_and_the_customer_completes_their_file(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    phone = _phone()
    async with watching("message.requested.v1") as watch:
        enrolled = await net.terminals[0].enrol(phone)
        assert enrolled.status == 201, enrolled
        account = enrolled.body["account_id"]
        link = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == "details_link",
            what="the details link",
        )
    assert (link["channel"], link["category"], link["to"]) == ("sms", "transactional", phone)
    assert link["merchant_id"] == str(net.merchants[0])
    file = await _file(http, account)
    assert file["to_fill"] == ["title", "last_name", "first_name", "postal_code"]
    assert [m["merchant_id"] for m in file["merchants"]] == [str(net.merchants[0])]

    url = link["variables"]["url"]
    status, form = await _call(http, "GET", url, admin=False)
    assert status == 200 and form["phone"] == phone and form["to_fill"] == file["to_fill"]
    details = {
        "title": "MME",
        "first_name": "Gisèle",
        "last_name": "Buis",
        "postal_code": "03000",
        "town": "Moulins",
        "email": "G.Buis@Example.fr",
        "birth_date": "1980-05-17",
        "spouse_birthday": "1979-11-02",
        "children_birthdays": ["2010-02-03", "2013-07-14"],
        "language": "fr",
    }
    status, form = await _call(http, "PUT", url, details, admin=False)
    assert status == 200, form
    assert (form["to_fill"], form["email"], form["children_birthdays"]) == (
        [],
        "g.buis@example.fr",
        ["2010-02-03", "2013-07-14"],
    )
    file = await _file(http, account)
    assert (file["last_name"], file["birth_date"], file["to_fill"]) == ("Buis", "1980-05-17", [])
    # the public form may not write the merchant's notes
    status, problem = await _call(http, "PUT", url, {"notes": "x"}, admin=False)
    assert (status, problem["reason"]) == (422, "malformed")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"postal_code": 3000}, "postal_code"),  # strict: a number is not a postal code
        ({"phone": "06 12 34"}, "phone"),
        ({"email": "gisele@"}, "email"),
        ({"email": "a b@example.fr"}, "email"),
        ({"birth_date": "17/05/1980"}, "birth_date"),
        ({"title": "Dr"}, "title"),
        ({"first_name": "Zo\u202eé"}, "first_name"),
        ({"children_birthdays": "2010-02-03"}, "children_birthdays"),
        ({"shoe_size": 42}, "shoe_size"),
    ],
)
async def test_the_file_refuses_what_is_not_a_detail(
    make_network: NetworkFactory, http: aiohttp.ClientSession, body: dict[str, Any], field: str
) -> None:
    net = await make_network(merchants=1)
    enrolled = await net.terminals[0].enrol(_phone())
    account = enrolled.body["account_id"]
    await _file(http, account)
    status, problem = await _call(http, "PATCH", f"{CRM}/v1/customers/{account}", body)
    assert (status, problem["reason"]) == (422, "malformed"), problem
    assert [e["field"].split(".")[0] for e in problem["errors"]] == [field]


async def test_a_bad_or_expired_link_is_refused_with_its_reason(
    http: aiohttp.ClientSession, services: harness.Services
) -> None:
    key = bytes.fromhex(DEV_LINK_KEY)
    someone = uuid.uuid4()
    expired = tokens.sign(key, "details", someone, clock.now() - timedelta(seconds=1))
    forged = tokens.sign(b"\x00" * 32, "details", someone, clock.now() + timedelta(days=1))
    other = tokens.sign(key, "unsubscribe", someone, clock.now() + timedelta(days=1))
    for token, status, reason in (
        (expired, 410, "expired_token"),
        (forged, 404, "bad_token"),
        (other, 404, "bad_token"),
        ("garbage", 404, "bad_token"),
    ):
        got, problem = await _call(http, "GET", f"{CRM}/v1/public/details/{token}", admin=False)
        assert (got, problem["reason"]) == (status, reason)


def _rows(text: str) -> list[dict[str, str]]:
    text = text.removeprefix("\ufeff")
    head = text.split("\n", 1)[0]
    return list(csv.DictReader(io.StringIO(text), delimiter=";" if ";" in head else ","))


async def test_a_name_changed_by_marriage_reaches_the_card_records_and_the_statement_lines(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    till, mid = net.terminals[0], net.merchants[0]
    phone = _phone()
    enrolled = await till.enrol(phone, first_name="Anne", last_name="Roux")
    account = enrolled.body["account_id"]
    card = await card_issued(http, net.association_id, account, "Roux", "crm")
    assert (await till.sale(phone, 2500)).status == 201
    await _file(http, account)

    new_phone = _phone()
    status, file = await _call(
        http,
        "PATCH",
        f"{CRM}/v1/customers/{account}",
        {"last_name": "Martin", "title": "MME", "phone": new_phone},
    )
    assert status == 200 and file["last_name"] == "Martin", file

    async def cards_know() -> bool:
        _, a = await _call(http, "GET", f"{CARDS}/v1/accounts/{account}")
        _, c = await _call(http, "GET", f"{CARDS}/v1/cards/{card['number']}")
        return bool(a["last_name"] == "Martin" and c["last_name"] == "Martin")

    await eventually(cards_know, what="the new name on the account and card record")
    # the new mobile is the one the till finds the customer by
    sale = await till.sale(new_phone, 1000)
    assert (sale.status, sale.body["account_id"]) == (201, account), sale
    period = clock.today_paris().strftime("%Y-%m")
    url = f"{CLEARING}/v1/merchants/{mid}/statements/{period}.csv"

    async def statement_knows() -> bool:
        async with http.get(url, headers=ADMIN) as r:
            lines = [x for x in _rows(await r.text()) if x.get("NOM")]
        return bool(lines) and all(x["NOM"] == "Martin" and x["PRENOM"] == "Anne" for x in lines)

    await eventually(statement_knows, what="the new name on the statement's lines")


async def test_a_member_joins_another_merchants_file_only_with_their_consent(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    phone, email = _phone(), f"{uuid.uuid4().hex[:8]}@example.fr"
    enrolled = await net.terminals[0].enrol(phone, email=email)
    account = enrolled.body["account_id"]
    await _file(http, account)
    other = net.merchants[1]
    url = f"{CRM}/v1/merchants/{other}/customers"
    status, problem = await _call(http, "POST", url, {"account_id": account, "channels": []})
    assert (status, problem["reason"]) == (422, "consent_required")
    file = await _file(http, account)
    assert str(other) not in [m["merchant_id"] for m in file["merchants"]]

    async with watching("message.requested.v1") as watch:
        status, member = await _call(
            http, "POST", url, {"account_id": account, "channels": ["sms"]}
        )
        assert status == 201, member
        code = await watch.wait_for(
            lambda d: d["account_id"] == account and d["template"] == "consent_sms_code",
            what="the SMS code",
        )
    assert (member["joined_how"], member["messages_requested"]) == ("import", 1)
    assert code["merchant_id"] == str(other) and code["category"] == "transactional"
    file = await _file(http, account)
    assert str(other) in [m["merchant_id"] for m in file["merchants"]]
    status, found = await _call(http, "GET", f"{CRM}/v1/customers/{account}/consents")
    assert [(c["channel"], c["merchant_id"], c["status"]) for c in found["consents"]] == [
        ("sms", str(other), "pending")
    ]
    assert [(p["action"], p["how"]) for p in found["proofs"]] == [("requested", "till")]

    # the other merchant sees the mobile (SMS consented), not the e-mail; the first sees both
    seen = f"{CRM}/v1/merchants/{{}}/customers/{account}"
    status, view = await _call(http, "GET", seen.format(other))
    assert status == 200, view
    assert (view["joined_how"], view["details"]["phone"], view["details"]["email"]) == (
        "import",
        phone,
        None,
    )
    status, view = await _call(http, "GET", seen.format(net.merchants[0]))
    assert (view["joined_how"], view["details"]["phone"], view["details"]["email"]) == (
        "enrolment",
        phone,
        email,
    )
    status, page = await _call(http, "GET", f"{CRM}/v1/merchants/{other}/customers")
    assert (status, page["accounts"], page["next_after"]) == (200, [account], None)


async def test_the_dashboard_names_its_best_customers_in_one_call(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    """crm names the accounts given (a dashboard's best customers) in one call: those of the
    association only; an empty or too long list, or not ids, is refused."""
    net, other = await make_network(merchants=1), await make_network(merchants=1)
    ours = []
    for first in ("Ambre", "Basile"):
        r = await net.terminals[0].enrol(_phone(), first_name=first, last_name="Rivière")
        assert r.status == 201, r
        ours.append(str(r.body["account_id"]))
        await _file(http, ours[-1])
    r = await other.terminals[0].enrol(_phone(), first_name="Cyril", last_name="Autre")
    assert r.status == 201, r
    theirs = str(r.body["account_id"])
    await _file(http, theirs)

    url = f"{CRM}/v1/associations/{net.association_id}/customers/names"
    status, body = await _call(http, "POST", url, {"account_ids": [*ours, theirs]})
    assert status == 200, body
    named = {c["account_id"]: c["first_name"] for c in body["customers"]}
    assert named == {ours[0]: "Ambre", ours[1]: "Basile"}  # not the other network's
    refused: list[dict[str, Any]] = [
        {},
        {"account_ids": []},
        {"account_ids": ours * 26},
        {"account_ids": ["x"]},
    ]
    for bad in refused:
        status, body = await _call(http, "POST", url, bad)
        assert (status, body["reason"]) == (422, "malformed") or status == 400, (bad, body)
