"""Accounts and cards through the cards service's back-office API, against the running services:
issuance and print batches (F3), identifiers linked to one account (F2), the blacklist,
dormancy, replacement and renewal (F4), and the events each change publishes."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import aio_pika
import aiohttp
import asyncpg
import orjson
import pytest
import pytest_asyncio

from services.cards.adapters import cagnotte
from services.cards.domain import Movement
from services.cards.domain.cards import add_months
from shared import clock
from shared.client import AdminClient, Reply, TerminalClient
from shared.events import unpack
from shared.rules.codes import format_card_number, luhn_check_digit, parse_card_number
from tests import harness
from tests.conftest import WRITTEN_BY_HAND

pytestmark = pytest.mark.e2e

CARDS = harness.url("cards")
ROUTING_KEYS = (
    "card.issued.v1",
    "account.opened.v1",
    "blacklist.changed.v1",
    "account.adjusted.v1",
)


# --- fixtures -------------------------------------------------------------------------------


@dataclass
class Events:
    """Every cards event published while the module runs, from a queue of the test's own."""

    seen: list[dict[str, Any]] = field(default_factory=list)

    async def wait(
        self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = 15
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [e for e in self.seen if match(e)]
            if found:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no event {what} within {timeout} s")
            await asyncio.sleep(0.05)

    def of(self, type_: str, **data: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.seen
            if e["type"] == f"comptoir.{type_}"
            and all(e["data"].get(k) == v for k, v in data.items())
        ]


@pytest_asyncio.fixture(scope="module")
async def events(services: harness.Services) -> AsyncIterator[Events]:
    connection = await aio_pika.connect_robust(harness.AMQP_URL)
    channel = await connection.channel()
    exchange = await channel.get_exchange("comptoir.events")
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    for key in ROUTING_KEYS:
        await queue.bind(exchange, key)
    out = Events()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            out.seen.extend(unpack(message.body))

    await queue.consume(on_message)
    yield out
    await connection.close()


@pytest_asyncio.fixture
async def cards_db(clean_infrastructure: None) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(harness.DATABASE_URL, server_settings={"search_path": "cards"})
    yield conn
    await conn.close()


@dataclass
class Network:
    admin: AdminClient
    association_id: uuid.UUID
    name: str
    prefix: str
    merchant_id: uuid.UUID

    async def call(self, method: str, path: str, payload: Any = None) -> Reply:
        return await self.admin.call(method, CARDS + path, payload)

    async def issue(self, **body: Any) -> Reply:
        body.setdefault("issue_id", str(uuid.uuid4()))
        return await self.call("POST", f"/v1/associations/{self.association_id}/cards", body)

    async def card(self, number: str) -> dict[str, Any]:
        r = await self.call("GET", f"/v1/cards/{number}")
        assert r.status == 200, r
        return dict(r.body)

    async def account(self, account_id: str) -> dict[str, Any]:
        r = await self.call("GET", f"/v1/accounts/{account_id}")
        assert r.status == 200, r
        return dict(r.body)

    async def lookup(self, **query: str) -> Reply:
        url = f"{CARDS}/v1/associations/{self.association_id}/accounts"
        async with self.admin.session.get(url, params=query, headers=self.admin.headers) as r:
            return Reply(r.status, orjson.loads(await r.read()))


async def _network(
    services: harness.Services, http: aiohttp.ClientSession, prefix: str | None = "random"
) -> Network:
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    aid, mid = uuid.uuid4(), uuid.uuid4()
    name = f"Cœur de test {aid.hex[:6]}"
    body: dict[str, Any] = {
        "name": name,
        "rate_mode": "merchant",
        "taux_client_bps": 300,
        "taux_uc_bps": 50,
    }
    if prefix == "random":
        prefix = f"{900000 + secrets.randbelow(100000)}"
    if prefix is not None:
        body["issuer_prefix"] = prefix
    r = await admin.call("PUT", f"{CARDS}/v1/associations/{aid}", body)
    assert r.status == 201, r
    r = await admin.call(
        "PUT", f"{CARDS}/v1/associations/{aid}/merchants/{mid}", {"name": "Le Bistrot"}
    )
    assert r.status == 201, r
    return Network(admin, aid, name, prefix or "", mid)


@pytest_asyncio.fixture
async def net(services: harness.Services, http: aiohttp.ClientSession) -> Network:
    return await _network(services, http)


async def _credit(cards_db: asyncpg.Connection, account_id: str, movements: list[Movement]) -> None:
    """Money on an account the way the sales path writes it: cagnotte entries and buckets,
    in cards alone (clearing never hears of it: see WRITTEN_BY_HAND)."""
    WRITTEN_BY_HAND.add(
        await cards_db.fetchval(
            "SELECT association_id FROM accounts WHERE id = $1", uuid.UUID(account_id)
        )
    )
    async with cards_db.transaction():
        await cagnotte.post(cards_db, uuid.UUID(account_id), uuid.uuid4(), movements, clock.now())


async def _blacklist(net: Network, since: int, limit: int | None = None) -> dict[str, Any]:
    query = f"?since={since}" + (f"&limit={limit}" if limit else "")
    r = await net.call("GET", f"/v1/blacklist{query}")
    assert r.status == 200, r
    return dict(r.body)


# --- issuance -------------------------------------------------------------------------------


async def test_an_issued_card_numbers_the_association_prefix_a_serial_and_a_luhn_digit(
    net: Network, events: Events
) -> None:
    r = await net.issue(
        first_name="Léa", last_name="Martin", issued_by_merchant=str(net.merchant_id)
    )
    assert r.status == 201, r
    card = r.body
    number = card["number"]
    assert number == f"{net.prefix}000000001" + luhn_check_digit(f"{net.prefix}000000001")
    assert parse_card_number(card["formatted_number"]) == number
    assert card["formatted_number"] == format_card_number(number)
    assert (card["status"], card["dormant"], card["blacklisted"], card["expires_on"]) == (
        "active",
        False,
        False,
        None,  # the default card type has no validity period
    )
    assert (card["first_name"], card["last_name"]) == ("Léa", "Martin")

    # a new account was opened for it, with the card as its identifier
    account = await net.account(card["account_id"])
    assert (account["phone"], account["first_name"], account["balance_cents"]) == (None, "Léa", 0)
    assert [c["number"] for c in account["cards"]] == [number]
    assert {"kind": "card", "value": number} in [
        {"kind": i["kind"], "value": i["value"]} for i in account["identifiers"]
    ]

    # the next card takes the next serial: no gap
    second = await net.issue()
    assert second.status == 201, second
    assert second.body["number"][6:15] == "000000002"
    assert second.body["account_id"] != card["account_id"]

    opened = await events.wait(
        lambda e: (
            e["type"] == "comptoir.account.opened.v1"
            and e["data"]["account_id"] == card["account_id"]
        ),
        "account.opened",
    )
    assert opened["data"]["request_kind"] == "issuance"
    assert opened["data"]["merchant_id"] == str(net.merchant_id)
    issued = await events.wait(
        lambda e: e["type"] == "comptoir.card.issued.v1" and e["data"]["card_number"] == number,
        "card.issued",
    )
    assert issued["data"]["account_id"] == card["account_id"]
    assert issued["data"]["first_name"] == "Léa"


async def test_a_retried_issuance_answers_the_same_card_and_takes_no_serial(
    net: Network, events: Events
) -> None:
    issue_id = str(uuid.uuid4())
    first = await net.issue(issue_id=issue_id, last_name="Durand")
    again = await net.issue(issue_id=issue_id, last_name="Durand")
    assert (first.status, again.status) == (201, 200), (first, again)
    assert again.body["number"] == first.body["number"]
    assert again.body["account_id"] == first.body["account_id"]

    other = await net.issue(issue_id=issue_id, last_name="Dupont")
    assert other.status == 409, other
    assert other.body["title"] == "issue_id already used"

    after = await net.issue()
    assert int(after.body["number"][6:15]) == int(first.body["number"][6:15]) + 1

    await events.wait(
        lambda e: (
            e["type"] == "comptoir.card.issued.v1"
            and e["data"]["card_number"] == after.body["number"]
        ),
        "card.issued of the later card",
    )
    assert len(events.of("card.issued.v1", card_number=first.body["number"])) == 1


async def test_an_association_without_issuer_prefix_is_told_how_to_set_one(
    services: harness.Services, http: aiohttp.ClientSession
) -> None:
    net = await _network(services, http, prefix=None)
    r = await net.issue()
    assert r.status == 409, r
    assert "issuer_prefix" in r.body["detail"]
    r = await net.call(
        "POST",
        f"/v1/associations/{net.association_id}/card-batches",
        {"batch_id": str(uuid.uuid4()), "size": 2},
    )
    assert r.status == 409, r


async def test_a_batch_numbers_cards_on_new_anonymous_accounts_and_prints_as_csv(
    net: Network, events: Events
) -> None:
    batch_id = str(uuid.uuid4())
    r = await net.call(
        "POST",
        f"/v1/associations/{net.association_id}/card-batches",
        {"batch_id": batch_id, "size": 25},
    )
    assert r.status == 201, r
    batch = r.body
    assert batch["size"] == 25
    assert batch["first_number"][6:15] == "000000001"
    assert batch["last_number"][6:15] == "000000025"

    again = await net.call(
        "POST",
        f"/v1/associations/{net.association_id}/card-batches",
        {"batch_id": batch_id, "size": 25},
    )
    assert again.status == 200, again
    assert again.body == batch
    bigger = await net.call(
        "POST",
        f"/v1/associations/{net.association_id}/card-batches",
        {"batch_id": batch_id, "size": 26},
    )
    assert bigger.status == 409, bigger

    async with net.admin.session.get(CARDS + batch["csv"], headers=net.admin.headers) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/csv"
        text = await resp.text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "number",
        "raw_number",
        "card_type",
        "association",
        "expires_on",
        "first_name",
        "last_name",
    ]
    lines = rows[1:]
    assert len(lines) == 25
    raw = [line[1] for line in lines]
    assert raw == [
        f"{net.prefix}{s:09d}" + luhn_check_digit(f"{net.prefix}{s:09d}") for s in range(1, 26)
    ]
    assert all(line[0] == format_card_number(line[1]) for line in lines)
    assert {line[3] for line in lines} == {net.name}
    assert all(line[2] for line in lines)

    # each card is on an account of its own, with nothing but the card
    first = await net.card(raw[0])
    last = await net.card(raw[-1])
    assert first["account_id"] != last["account_id"]
    assert first["batch_id"] == batch_id
    account = await net.account(first["account_id"])
    assert (account["phone"], [c["number"] for c in account["cards"]]) == (None, [raw[0]])

    await events.wait(
        lambda e: e["type"] == "comptoir.card.issued.v1" and e["data"]["card_number"] == raw[-1],
        "card.issued of the batch's last card",
    )

    unknown = await net.call("GET", f"/v1/card-batches/{uuid.uuid4()}.csv")
    assert unknown.status == 404


async def test_identifiers_phone_card_email_and_token_lead_to_one_account(
    net: Network, http: aiohttp.ClientSession
) -> None:
    # a cardless account, enrolled at the till with a phone number only
    tid, secret = uuid.uuid4(), secrets.token_hex(24)
    r = await net.admin.call(
        "PUT",
        f"{harness.url('terminals')}/v1/terminals/{tid}",
        {
            "association_id": str(net.association_id),
            "merchant_id": str(net.merchant_id),
            "shop_id": str(net.merchant_id),
            "label": "till",
            "secret": secret,
        },
    )
    assert r.status == 201, r
    till = TerminalClient(http, harness.url("terminals"), str(tid), secret)
    enrolment_id = str(uuid.uuid4())
    r = await till.request(
        "POST", "/v1/enrolments", {"enrolment_id": enrolment_id, "phone": "06 11 22 33 44"}
    )
    for _ in range(100):
        if r.status != 202:
            break
        await asyncio.sleep(0.1)
        r = await till.request("GET", f"/v1/enrolments/{enrolment_id}")
    assert r.status in (200, 201), r

    found = await net.lookup(phone="0611223344")
    assert found.status == 200, found
    account_id = found.body["id"]
    assert (await net.account(account_id))["cards"] == []

    # the cardless account gets a card
    card = await net.issue(phone="+33 6 11 22 33 44")
    assert card.status == 201, card
    assert card.body["account_id"] == account_id
    by_card = await net.lookup(card=format_card_number(card.body["number"]))
    assert (by_card.status, by_card.body["id"]) == (200, account_id)

    # an e-mail address and a bank-card token, linked once
    path = f"/v1/accounts/{account_id}/identifiers"
    r = await net.call("POST", path, {"kind": "email", "value": "Lea.Martin@example.org"})
    assert (r.status, r.body["value"]) == (201, "lea.martin@example.org"), r
    r = await net.call("POST", path, {"kind": "email", "value": "lea.martin@example.org"})
    assert r.status == 200, r
    r = await net.call("POST", path, {"kind": "token", "value": "tok_4242_visa"})
    assert r.status == 201, r
    for query in ({"email": "LEA.martin@example.org"}, {"token": "tok_4242_visa"}):
        got = await net.lookup(**query)
        assert (got.status, got.body["id"]) == (200, account_id), (query, got)

    # another account may not take them
    other = await net.issue(phone="0655667788")
    assert other.status == 201, other
    other_path = f"/v1/accounts/{other.body['account_id']}/identifiers"
    for kind, value in (("email", "lea.martin@example.org"), ("token", "tok_4242_visa")):
        r = await net.call("POST", other_path, {"kind": kind, "value": value})
        assert r.status == 409, (kind, r)
        assert r.body["account_id"] == account_id
    r = await net.call(
        "PATCH", f"/v1/accounts/{other.body['account_id']}", {"phone": "06 11 22 33 44"}
    )
    assert r.status == 409, r
    r = await net.call(
        "PATCH", f"/v1/accounts/{other.body['account_id']}", {"email": "lea.martin@example.org"}
    )
    assert r.status == 409, r

    # the holder completes the details
    r = await net.call(
        "PATCH",
        f"/v1/accounts/{account_id}",
        {
            "title": "MME",
            "first_name": "Léa",
            "last_name": "Martin",
            "birth_date": "1990-04-12",
            "postal_code": "75011",
            "email": "lea@example.org",
        },
    )
    assert r.status == 200, r
    assert (r.body["title"], r.body["last_name"], r.body["birth_date"], r.body["phone"]) == (
        "MME",
        "Martin",
        "1990-04-12",
        "+33611223344",
    )
    r = await net.call("PATCH", f"/v1/accounts/{account_id}", {"postal_code": "7501"})
    assert r.status == 422, r

    account = await net.account(account_id)
    assert {(i["kind"], i["value"]) for i in account["identifiers"]} == {
        ("phone", "+33611223344"),
        ("email", "lea@example.org"),
        ("email", "lea.martin@example.org"),
        ("token", "tok_4242_visa"),
        ("card", card.body["number"]),
    }

    r = await net.lookup(phone="0611223344", email="lea@example.org")
    assert r.status == 400, r
    r = await net.lookup(card="1234 5678")
    assert r.status == 400, r


# --- the life cycle -------------------------------------------------------------------------


async def test_a_lost_card_is_blacklisted_and_leaves_the_blacklist_when_found(
    net: Network, events: Events
) -> None:
    number = (await net.issue()).body["number"]
    before = (await _blacklist(net, 0))["version"]

    r = await net.call("POST", f"/v1/cards/{number}/block", {"reason": "lost"})
    assert r.status == 200, r
    change = r.body["blacklist_change"]
    assert (change["version"], change["action"], change["reason"]) == (before + 1, "add", "lost")
    assert (r.body["card"]["status"], r.body["card"]["blacklisted"]) == ("lost", True)

    page = await _blacklist(net, before)
    assert page["version"] == before + 1
    assert [(c["card_number"], c["action"]) for c in page["changes"]] == [(number, "add")]
    assert page["next"] is None

    retry = await net.call("POST", f"/v1/cards/{number}/block", {"reason": "lost"})
    assert (retry.status, retry.body["blacklist_change"]) == (200, None)
    assert (await _blacklist(net, 0))["version"] == before + 1

    added = await events.wait(
        lambda e: (
            e["type"] == "comptoir.blacklist.changed.v1" and e["data"]["card_number"] == number
        ),
        "blacklist.changed (add)",
    )
    assert (added["data"]["blacklist_version"], added["data"]["reason"]) == (before + 1, "lost")

    found = await net.call("POST", f"/v1/cards/{number}/reactivation")
    assert found.status == 200, found
    assert (found.body["was_lost"], found.body["pending_lost_cents"]) == (True, 0)
    assert (found.body["card"]["status"], found.body["card"]["blacklisted"]) == ("active", False)
    removed = found.body["blacklist_change"]
    assert (removed["version"], removed["action"], removed["reason"]) == (
        before + 2,
        "remove",
        "found",
    )

    page = await _blacklist(net, before)
    assert [(c["version"], c["action"]) for c in page["changes"]] == [
        (before + 1, "add"),
        (before + 2, "remove"),
    ]
    first = await _blacklist(net, before, limit=1)
    assert ([c["version"] for c in first["changes"]], first["next"]) == ([before + 1], before + 1)
    await events.wait(
        lambda e: (
            e["type"] == "comptoir.blacklist.changed.v1"
            and e["data"]["blacklist_version"] == before + 2
        ),
        "blacklist.changed (remove)",
    )


async def test_a_dormant_card_reactivated_loses_its_pending_rewards_once(
    net: Network, events: Events, cards_db: asyncpg.Connection
) -> None:
    card = (await net.issue()).body
    number, account_id = card["number"], card["account_id"]
    await _credit(
        cards_db,
        account_id,
        [Movement("cagnottage", "pending", 250), Movement("cagnottage", "available", 120)],
    )
    await cards_db.execute(  # dormancy is judged on the services' clock, not the database's
        "UPDATE cards SET last_used_at = $2 WHERE number = $1",
        number,
        clock.now() - timedelta(days=200),
    )
    assert (await net.card(number))["dormant"] is True

    r = await net.call("POST", f"/v1/cards/{number}/reactivation")
    assert r.status == 200, r
    assert (r.body["was_dormant"], r.body["was_lost"], r.body["pending_lost_cents"]) == (
        True,
        False,
        250,
    )
    assert r.body["card"]["dormant"] is False
    assert r.body["card"]["reactivated_at"] is not None
    reference = r.body["cagnotte_reference"]

    account = await net.account(account_id)
    assert (account["pending_cents"], account["balance_cents"]) == (0, 120)
    lost = account["entries"][0]
    assert (lost["kind"], lost["bucket"], lost["amount_cents"], lost["balance_after_cents"]) == (
        "pending_lost",
        "pending",
        -250,
        0,
    )
    assert (lost["reference_id"], lost["card_number"], lost["actor"]) == (
        reference,
        number,
        "operator:bootstrap",  # who signed in: the tests' admin token
    )

    adjusted = await events.wait(
        lambda e: (
            e["type"] == "comptoir.account.adjusted.v1" and e["data"]["account_id"] == account_id
        ),
        "account.adjusted",
    )
    assert {
        k: adjusted["data"][k]
        for k in ("kind", "purse", "bucket", "amount_cents", "balance_cents", "movement_id")
    } == {
        "kind": "pending_lost",
        "purse": "cagnotte",
        "bucket": "pending",
        "amount_cents": -250,
        "balance_cents": 0,
        "movement_id": reference,
    }

    # a retry finds an active card in use: nothing more is lost
    again = await net.call("POST", f"/v1/cards/{number}/reactivation")
    assert (again.status, again.body["was_dormant"], again.body["pending_lost_cents"]) == (
        200,
        False,
        0,
    )
    kinds = [e["kind"] for e in (await net.account(account_id))["entries"]]
    assert kinds.count("pending_lost") == 1


async def test_a_stolen_card_cannot_be_reactivated_only_replaced(net: Network) -> None:
    number = (await net.issue()).body["number"]
    r = await net.call("POST", f"/v1/cards/{number}/block", {"reason": "stolen"})
    assert (r.status, r.body["card"]["status"]) == (200, "stolen"), r
    r = await net.call("POST", f"/v1/cards/{number}/reactivation")
    assert r.status == 409, r
    assert "replace" in r.body["detail"]
    r = await net.call("POST", f"/v1/cards/{number}/block", {"reason": "lost"})
    assert r.status == 409, r
    assert (await net.card(number))["blacklisted"] is True


async def test_a_replacement_takes_over_the_account_and_balance_and_blacklists_the_old_card(
    net: Network, events: Events, cards_db: asyncpg.Connection
) -> None:
    old = (await net.issue(first_name="Paul", last_name="Roux")).body
    await _credit(cards_db, old["account_id"], [Movement("cagnottage", "available", 500)])
    before = (await _blacklist(net, 0))["version"]

    r = await net.call("POST", f"/v1/cards/{old['number']}/replacement", {})
    assert r.status == 201, r
    new = r.body["card"]
    assert new["number"] != old["number"]
    assert (new["account_id"], new["card_type_id"], new["first_name"], new["last_name"]) == (
        old["account_id"],
        old["card_type_id"],
        "Paul",
        "Roux",
    )
    assert new["replaces"] == old["number"]
    replaced = r.body["replaced"]
    assert (replaced["status"], replaced["replaced_by"], replaced["blacklisted"]) == (
        "replaced",
        new["number"],
        True,
    )
    change = r.body["blacklist_change"]
    assert (change["version"], change["card_number"], change["reason"]) == (
        before + 1,
        old["number"],
        "replaced",
    )

    account = await net.account(old["account_id"])
    assert account["balance_cents"] == 500
    assert {c["number"]: c["status"] for c in account["cards"]} == {
        old["number"]: "replaced",
        new["number"]: "active",
    }
    by_new = await net.lookup(card=new["number"])
    assert by_new.body["id"] == old["account_id"]

    retry = await net.call("POST", f"/v1/cards/{old['number']}/replacement")
    assert (retry.status, retry.body["card"]["number"]) == (200, new["number"]), retry
    assert (await _blacklist(net, 0))["version"] == before + 1

    issued = await events.wait(
        lambda e: (
            e["type"] == "comptoir.card.issued.v1" and e["data"]["card_number"] == new["number"]
        ),
        "card.issued of the replacement",
    )
    assert issued["data"]["replaces"] == old["number"]
    await events.wait(
        lambda e: (
            e["type"] == "comptoir.blacklist.changed.v1"
            and e["data"]["card_number"] == old["number"]
            and e["data"]["reason"] == "replaced"
        ),
        "blacklist.changed (replaced)",
    )


async def test_renewal_extends_validity_and_refuses_a_date_in_the_past(net: Network) -> None:
    ctid = uuid.uuid4()
    r = await net.call(
        "PUT",
        f"/v1/associations/{net.association_id}/card-types/{ctid}",
        {"name": "Carte cadeau", "kind": "gift", "validity_months": 12},
    )
    assert r.status == 201, r
    issued = await net.issue(card_type_id=str(ctid))
    assert issued.status == 201, issued
    number = issued.body["number"]
    today = clock.now().date()
    assert issued.body["expires_on"] == add_months(today, 12).isoformat()
    assert issued.body["card_type_name"] == "Carte cadeau"

    past = await net.call(
        "POST",
        f"/v1/cards/{number}/renewal",
        {"expires_on": (today - timedelta(days=1)).isoformat()},
    )
    assert past.status == 422, past
    later = date(today.year + 3, 6, 30)
    r = await net.call("POST", f"/v1/cards/{number}/renewal", {"expires_on": later.isoformat()})
    assert (r.status, r.body["expires_on"]) == (200, later.isoformat()), r
    r = await net.call("POST", f"/v1/cards/{number}/renewal")
    assert (r.status, r.body["expires_on"]) == (200, add_months(today, 12).isoformat()), r


def test_months_are_added_on_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 11, 15), 14) == date(2026, 1, 15)


async def test_card_numbers_in_paths_are_checked_before_anything_is_read(net: Network) -> None:
    body = f"{net.prefix}123456789"
    wrong = body + str((int(luhn_check_digit(body)) + 1) % 10)
    for bad, status in (("1234", 400), (wrong, 400), (body + luhn_check_digit(body), 404)):
        r = await net.call("GET", f"/v1/cards/{bad}")
        assert r.status == status, (bad, r)
        r = await net.call("POST", f"/v1/cards/{bad}/block", {"reason": "lost"})
        assert r.status == status, (bad, r)
