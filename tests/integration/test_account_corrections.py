"""A correction of an account holder's details in cards' back office (PATCH /v1/accounts/{id})
against the running services: crm, which owns personal data, takes it into the customer file
(``account.details_corrected.v1``) and tells every service as for its own changes
(``customer.details_changed.v1``), so crm's file, cards' account and card records and
clearing's statement lines agree; the correction goes round once (cards publishes nothing when
it applies crm's event); an erased customer is not written again; cards validates the details
as crm does."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

import aiohttp
import asyncpg
import pytest

from shared import clock
from shared.contracts import AccountDetailsCorrected, AccountOpened
from shared.events import new_event
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.people import ADMIN, card_issued
from tests.people import call as _call
from tests.people import new_phone as _phone
from tests.watch import publish, watching

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
CARDS = harness.url("cards")
CLEARING = harness.url("clearing")


def _rows(text: str) -> list[dict[str, str]]:
    text = text.removeprefix("\ufeff")
    head = text.split("\n", 1)[0]
    return list(csv.DictReader(io.StringIO(text), delimiter=";" if ";" in head else ","))


async def test_a_correction_in_cards_reaches_crms_file_the_card_records_and_the_statement(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    till, mid = net.terminals[0], net.merchants[0]
    phone = _phone()
    enrolled = await till.enrol(phone, first_name="Anne", last_name="Rouz")  # mistyped
    assert enrolled.status == 201, enrolled
    account = enrolled.body["account_id"]
    card = await card_issued(http, net.association_id, account, "Rouz", "corrections")
    assert (await till.sale(phone, 2500)).status == 201

    async def filed() -> bool:
        status, file = await _call(http, "GET", f"{CRM}/v1/customers/{account}")
        return status == 200 and file["last_name"] == "Rouz"

    await eventually(filed, what="the crm file")

    correction = {
        "title": "MME",
        "last_name": "Roux",
        "birth_date": "1980-05-17",
        "postal_code": "03000",
        "email": "Anne.Roux@Example.fr",
    }
    async with watching("account.details_corrected.v1", "customer.details_changed.v1") as watch:
        status, after = await _call(http, "PATCH", f"{CARDS}/v1/accounts/{account}", correction)
        assert status == 200, after
        assert (after["last_name"], after["email"]) == ("Roux", "anne.roux@example.fr")

        async def crm_knows() -> bool:
            _, file = await _call(http, "GET", f"{CRM}/v1/customers/{account}")
            return bool(file["last_name"] == "Roux")

        await eventually(crm_knows, what="the correction in crm's file")
        _, file = await _call(http, "GET", f"{CRM}/v1/customers/{account}")
        assert {k: file[k] for k in correction} == {
            **correction,
            "email": "anne.roux@example.fr",
        }
        assert (file["first_name"], file["phone"], file["to_fill"]) == ("Anne", phone, [])

        async def card_knows() -> bool:
            _, c = await _call(http, "GET", f"{CARDS}/v1/cards/{card['number']}")
            return bool(c["last_name"] == "Roux")

        await eventually(card_knows, what="crm's change on the card record")
        period = clock.today_paris().strftime("%Y-%m")
        url = f"{CLEARING}/v1/merchants/{mid}/statements/{period}.csv"

        async def statement_knows() -> bool:
            async with http.get(url, headers=ADMIN) as r:
                lines = [x for x in _rows(await r.text()) if x.get("NOM")]
            return bool(lines) and all(
                (x["CIVILITE"], x["NOM"], x["PRENOM"]) == ("Mme", "Roux", "Anne") for x in lines
            )

        await eventually(statement_knows, what="the corrected name on the statement's lines")
        # Once round: one correction, one change of the file, and nothing after (cards
        # applies crm's event and publishes nothing back).
        await asyncio.sleep(2)
        mine = sorted(
            ("corrected" if "corrected_at" in d else "changed", sorted(d["changed"]))
            for d in watch.seen
            if d["account_id"] == account
        )
        given = sorted(correction)
        assert mine == [("changed", given), ("corrected", given)], watch.seen

    # a correction that tells crm nothing new changes nothing there and publishes nothing more
    async with watching("customer.details_changed.v1") as watch:
        status, _ = await _call(
            http, "PATCH", f"{CARDS}/v1/accounts/{account}", {"last_name": "Roux"}
        )
        assert status == 200
        await asyncio.sleep(2)
        assert [d for d in watch.seen if d["account_id"] == account] == []


async def test_a_correction_crm_made_meanwhile_is_overtaken_by_cards_and_both_agree(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    """Two corrections of one name, one in each service, a moment apart: both services end on
    the same name, the one given last (crm's file is the reference, and cards follows it)."""
    net = await make_network(merchants=1)
    enrolled = await net.terminals[0].enrol(_phone(), last_name="Durand")
    account = enrolled.body["account_id"]

    async def filed() -> bool:
        return (await _call(http, "GET", f"{CRM}/v1/customers/{account}"))[0] == 200

    await eventually(filed, what="the crm file")
    status, _ = await _call(http, "PATCH", f"{CRM}/v1/customers/{account}", {"last_name": "Dupont"})
    assert status == 200
    status, _ = await _call(
        http, "PATCH", f"{CARDS}/v1/accounts/{account}", {"last_name": "Dupond"}
    )
    assert status == 200

    async def agree() -> bool:
        _, file = await _call(http, "GET", f"{CRM}/v1/customers/{account}")
        _, a = await _call(http, "GET", f"{CARDS}/v1/accounts/{account}")
        return bool(file["last_name"] == a["last_name"] == "Dupond")

    await eventually(agree, what="crm and cards on the name given last")


async def test_a_correction_handled_before_the_opening_ends_with_the_whole_names_everywhere(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    """cards publishes an account's opening, then a correction a moment later; crm handles the
    two messages concurrently, so the correction may commit first (it did in CI). crm's file
    then had no first name, and its change went out without one: clearing, having the opening's
    names already, put the statement's first name back to none. The opening now fills the file
    and publishes that change too, so every service ends on the whole names."""
    net = await make_network(merchants=1)
    aid, account = net.association_id, uuid.uuid4()
    now = clock.now()
    correction = AccountDetailsCorrected(
        account_id=account,
        association_id=aid,
        changed=["title", "last_name"],
        title="M",
        first_name="Bob",
        last_name="Durand-Leroy",
        corrected_at=now,
    )
    opening = AccountOpened(
        account_id=account,
        association_id=aid,
        phone=_phone(),
        first_name="Bob",
        last_name="Durand",
        opened_at=now,
        request_id=uuid.uuid4(),
        request_kind="enrolment",
    )

    async def holder() -> tuple[str | None, ...] | None:
        row = await db.fetchrow(
            "SELECT title, first_name, last_name FROM clearing.holders WHERE account_id = $1",
            account,
        )
        return None if row is None else tuple(row)

    async with watching("customer.details_changed.v1") as watch:
        await publish(new_event("cards", correction, str(account)))

        async def changed_once() -> bool:
            return await holder() == ("M", None, "Durand-Leroy")

        # clearing has crm's change, made from a file that lacked the opening's first name
        await eventually(changed_once, what="crm's change of the file the correction opened")
        await publish(new_event("cards", opening, str(account)))
        whole = await watch.wait_for(
            lambda d: d["account_id"] == str(account) and d["first_name"] == "Bob",
            what="crm's change once the opening filled the file",
        )
        assert (whole["title"], whole["last_name"], whole["phone"]) == (
            "M",
            "Durand-Leroy",
            opening.phone,
        )
        assert sorted(whole["changed"]) == ["first_name", "phone"], whole

    async def whole_names() -> bool:
        status, file = await _call(http, "GET", f"{CRM}/v1/customers/{account}")
        names = (file["title"], file["first_name"], file["last_name"])
        return status == 200 and names == await holder() == ("M", "Bob", "Durand-Leroy")

    await eventually(whole_names, what="the whole names in crm's file and clearing's")


async def test_cards_refuses_what_crm_would_refuse_and_an_erased_customer(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    enrolled = await net.terminals[0].enrol(_phone())
    account = enrolled.body["account_id"]
    url = f"{CARDS}/v1/accounts/{account}"
    for body, field in (
        ({"title": "Mme"}, "title"),  # crm's titles: M, MME, MX
        ({"email": "anne@example.1"}, "email"),
        ({"email": "anne roux@example.fr"}, "email"),
    ):
        status, problem = await _call(http, "PATCH", url, body)
        assert (status, [e["field"] for e in problem["errors"]]) == (422, [field]), problem

    async def filed() -> bool:
        return (await _call(http, "GET", f"{CRM}/v1/customers/{account}"))[0] == 200

    await eventually(filed, what="the crm file")
    status, erased = await _call(http, "POST", f"{CRM}/v1/customers/{account}/erasure")
    assert status == 200, erased

    async def cards_erased() -> bool:
        _, a = await _call(http, "GET", url)
        return bool(a["last_name"] == erased["pseudonym"])

    await eventually(cards_erased, what="the erasure at cards")
    status, problem = await _call(http, "PATCH", url, {"last_name": "Roux"})
    assert (status, problem["reason"]) == (409, "erased_customer"), problem
    _, a = await _call(http, "GET", url)
    assert a["last_name"] == erased["pseudonym"]
