"""Quick enrolment at the till by e-mail (issue 13, item 1; F3: "phone or e-mail only") against
the running services: the gateway takes a phone, an e-mail address or both (neither is
``contact_required``, a malformed one ``malformed``), cards opens the account with the e-mail as
its identifier and refuses an address already used (``already_enrolled``), crm opens the file
with it and e-mails the link to complete it (on the real SMTP server), and the till then finds
the customer by that address (the customer reference ``{"email": …}``)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator

from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.messaging import Mailbox

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
CARDS = harness.url("cards")
TERMINALS = harness.url("terminals")
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def _email() -> str:
    return f"Lea.{uuid.uuid4().hex[:10]}@Example.FR"  # as typed: crm and cards keep it lower-case


def _phone() -> str:
    return "+3361" + f"{uuid.uuid4().int % 10**7:07d}"


def _valid(schema: str, message: Any) -> None:
    validator = Draft202012Validator(
        json.loads((SCHEMAS / f"{schema}.schema.json").read_text()),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    validator.validate(message)


async def _get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Any]:
    async with http.get(url, headers=ADMIN, params=params) as r:
        return r.status, await r.json(content_type=None)


async def test_an_enrolment_by_email_only_opens_the_account_and_emails_the_details_link(
    make_network: NetworkFactory, http: aiohttp.ClientSession, mailbox: Mailbox
) -> None:
    net = await make_network(merchants=1)
    till = net.terminals[0]
    typed = _email()
    email = typed.lower()
    body = {"enrolment_id": str(uuid.uuid4()), "email": typed, "first_name": "Léa"}
    _valid("online-enrolment", body)
    enrolled = await till.request("POST", "/v1/enrolments", body)
    assert enrolled.status == 201, enrolled
    _valid("online-enrolment-reply", enrolled.body)
    assert (enrolled.body["phone"], enrolled.body["email"]) == (None, email)
    account = enrolled.body["account_id"]

    # cards: an account without a phone, found by its e-mail identifier
    status, found = await _get(
        http, f"{CARDS}/v1/associations/{net.association_id}/accounts", email=typed
    )
    assert (status, found["id"]) == (200, account), found
    status, detail = await _get(http, f"{CARDS}/v1/accounts/{account}")
    assert (detail["phone"], detail["email"]) == (None, email)
    assert ("email", email) in {(i["kind"], i["value"]) for i in detail["identifiers"]}

    # crm: the file opened with the e-mail, and the link to complete it sent by e-mail
    async def filed() -> bool:
        return (await _get(http, f"{CRM}/v1/customers/{account}"))[0] == 200

    await eventually(filed, what="the crm file")
    _, file = await _get(http, f"{CRM}/v1/customers/{account}")
    assert (file["email"], file["phone"], file["first_name"]) == (email, None, "Léa")
    assert file["to_fill"] == ["title", "last_name", "postal_code"]  # mobile_or_email given
    [mail] = await mailbox.wait_for(email)
    assert mail["Subject"] == "Complétez vos coordonnées"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Bonjour Léa," in text
    url = next(word for word in text.split() if "/v1/public/details/" in word)
    async with http.get(url) as r:
        form = await r.json(content_type=None)
    assert (r.status, form["email"], form["to_fill"]) == (200, email, file["to_fill"])

    # the till finds the customer by their address, however it is typed
    sale = await till.sale(None, 2500, email=typed.upper())
    assert (sale.status, sale.body["account_id"], sale.body["account_opened"]) == (
        201,
        account,
        False,
    ), sale
    paid = await till.redeem(None, 10, email=email)
    assert (paid.status, paid.body["account_id"]) == (201, account), paid
    # an address nobody enrolled opens nothing (a typo must not mail a stranger)
    stranger = f"x{email}"
    sale = await till.sale(None, 2500, email=stranger)
    assert (sale.status, sale.body["reason"]) == (422, "unknown_account"), sale
    status, _ = await _get(
        http, f"{CARDS}/v1/associations/{net.association_id}/accounts", email=stranger
    )
    assert status == 404

    # an erasure forgets the address in the enrolment answer the gateway keeps for retries
    async with http.post(f"{CRM}/v1/customers/{account}/erasure", headers=ADMIN) as r:
        erased = await r.json(content_type=None)
        assert r.status == 200, erased

    async def forgotten() -> bool:
        _, kept = await _get(http, f"{TERMINALS}/v1/people/{account}/enrolments")
        outcomes = [e["outcome"] for e in kept["enrolments"]]
        return outcomes == [{**enrolled.body, "email": erased["pseudonym"]}]

    await eventually(forgotten, what="the e-mail pseudonymised in the kept answer")


async def test_an_enrolment_by_phone_and_email_is_found_by_either_and_mailed(
    make_network: NetworkFactory, http: aiohttp.ClientSession, mailbox: Mailbox
) -> None:
    net = await make_network(merchants=1)
    till = net.terminals[0]
    phone, email = _phone(), _email().lower()
    enrolled = await till.enrol(phone, email=email)
    assert enrolled.status == 201, enrolled
    _valid("online-enrolment-reply", enrolled.body)
    assert (enrolled.body["phone"], enrolled.body["email"]) == (phone, email)
    account = enrolled.body["account_id"]
    for customer in ({"phone": phone}, {"email": email}):
        sale = await till.sale(customer.get("phone"), 1000, email=customer.get("email"))
        assert (sale.status, sale.body["account_id"]) == (201, account), (customer, sale)
    # the link goes by e-mail when one was given (docs/crm.md), not by SMS
    [mail] = await mailbox.wait_for(email)
    assert "/v1/public/details/" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_an_enrolment_without_a_contact_or_with_a_malformed_one_is_refused_with_its_code(
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    till = net.terminals[0]
    for body, status, reason, fields in (
        ({"first_name": "Léa"}, 422, "contact_required", [""]),
        ({"phone": None, "email": None}, 422, "contact_required", [""]),
        ({"email": "lea@"}, 422, "malformed", ["email"]),
        ({"email": "lea@example.1"}, 422, "malformed", ["email"]),
        ({"email": "lé a@example.fr"}, 422, "malformed", ["email"]),
        ({"email": 42}, 422, "malformed", ["email"]),
        ({"phone": "06 12 34"}, 422, "malformed", ["phone"]),
        ({"phone": "06 12 34", "email": "lea@example.fr"}, 422, "malformed", ["phone"]),
    ):
        enrolment_id = str(uuid.uuid4())
        r = await till.request("POST", "/v1/enrolments", {"enrolment_id": enrolment_id, **body})
        assert (r.status, r.body["reason"], r.body["code"]) == (status, reason, reason), (body, r)
        assert [e["field"] for e in r.body["errors"]] == fields, (body, r)
        # refused at the edge: nothing recorded
        assert (await till.request("GET", f"/v1/enrolments/{enrolment_id}")).status == 404
    # a customer reference names one customer: a phone and an e-mail at once is malformed
    r = await till.request(
        "POST",
        "/v1/sales",
        {
            "sale_id": str(uuid.uuid4()),
            "customer": {"phone": _phone(), "email": "lea@example.fr"},
            "amount_cents": 100,
        },
    )
    assert (r.status, r.body["reason"]) == (422, "malformed"), r


async def test_an_email_already_used_in_the_association_is_already_enrolled(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    first_till, other_till = net.terminals
    email = _email()
    first = await first_till.enrol(email=email)
    assert first.status == 201, first
    account = first.body["account_id"]

    # the same address, typed otherwise, at another shop of the association
    again = await other_till.enrol(email=email.upper())
    assert (again.status, again.body["reason"], again.body["account_id"]) == (
        409,
        "already_enrolled",
        account,
    ), again
    # with a new phone: refused all the same, and the phone opens no account
    phone = _phone()
    both = await other_till.enrol(phone, email=email)
    assert (both.status, both.body["reason"], both.body["account_id"]) == (
        409,
        "already_enrolled",
        account,
    ), both
    status, _ = await _get(
        http, f"{CARDS}/v1/associations/{net.association_id}/accounts", phone=phone
    )
    assert status == 404
    # an address linked to an account in the back office is taken too
    linked = _email().lower()
    phoned = await first_till.enrol(_phone())
    async with http.post(
        f"{CARDS}/v1/accounts/{phoned.body['account_id']}/identifiers",
        headers=ADMIN,
        json={"kind": "email", "value": linked},
    ) as r:
        assert r.status == 201
    taken = await other_till.enrol(email=linked)
    assert (taken.status, taken.body["account_id"]) == (409, phoned.body["account_id"]), taken

    # two tills enrolling one new address at the same moment: one account
    fresh = _email()
    answers = await asyncio.gather(
        first_till.enrol(email=fresh), other_till.enrol(email=fresh.lower())
    )
    assert sorted(a.status for a in answers) == [201, 409], answers
    opened = next(a for a in answers if a.status == 201)
    refused = next(a for a in answers if a.status == 409)
    assert refused.body["account_id"] == opened.body["account_id"]
    status, found = await _get(
        http, f"{CARDS}/v1/associations/{net.association_id}/accounts", email=fresh
    )
    assert (status, found["id"]) == (200, opened.body["account_id"]), found
