"""The cards service's part of the statements and partnerships (F18, F19), against the running
services: merchants registered with clearing (with the rates their sales earn by default, and
their closing day), partner associations consumed from the broker, members' donations to
them, the cardholders' titles on account.opened, and the liability by association that
clearing's reconciliation reads."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aio_pika
import aiohttp
import asyncpg
import orjson
import pytest
import pytest_asyncio

from shared import clock
from shared.access import Principal, dev_token
from shared.client import AdminClient, Reply
from shared.contracts import PartnerRegistered
from shared.events import Event, new_event, pack, unpack
from tests import harness
from tests.conftest import Network, NetworkFactory, eventually

pytestmark = pytest.mark.e2e

CARDS = harness.url("cards")
ROUTING_KEYS = ("merchant.registered.v1", "account.adjusted.v1", "account.opened.v1")


# --- fixtures ----------------------------------------------------------------------------------


@dataclass
class Events:
    """Every event of ROUTING_KEYS published while the module runs, from a queue of its own."""

    seen: list[dict[str, Any]] = field(default_factory=list)

    def of(self, type_: str, **data: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.seen
            if e["type"] == f"comptoir.{type_}"
            and all(e["data"].get(k) == v for k, v in data.items())
        ]

    async def wait(
        self, type_: str, what: str, timeout: float = 15, count: int = 1, **data: Any
    ) -> list[dict[str, Any]]:
        """The events of ``type_`` whose data has ``data``, once there are ``count`` of them."""

        async def arrived() -> bool:
            return len(self.of(type_, **data)) >= count

        await eventually(arrived, timeout, what)
        return self.of(type_, **data)


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
async def broker(services: harness.Services) -> AsyncIterator[aio_pika.abc.AbstractExchange]:
    """The events exchange, to publish as clearing does."""
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        yield await channel.get_exchange("comptoir.events")


@pytest.fixture
def admin(services: harness.Services, http: aiohttp.ClientSession) -> AdminClient:
    return AdminClient(http, harness.ADMIN_TOKEN)


# --- helpers -----------------------------------------------------------------------------------


async def _association(
    admin: AdminClient, aid: uuid.UUID, rate_mode: str, client: int, uc: int, **extra: Any
) -> Reply:
    return await admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{aid}",
        {
            "name": f"partners {aid}",
            "rate_mode": rate_mode,
            "taux_client_bps": client,
            "taux_uc_bps": uc,
            **extra,
        },
    )


async def _merchant(admin: AdminClient, aid: uuid.UUID, mid: uuid.UUID, **body: Any) -> Reply:
    return await admin.call("PUT", f"{CARDS}/v1/associations/{aid}/merchants/{mid}", body)


async def _sentinel(admin: AdminClient, events: Events, aid: uuid.UUID) -> None:
    """Admit one more merchant and wait for its registration: the outbox is published in
    order, so what an earlier change wrote (if anything) has been published by then."""
    mid = uuid.uuid4()
    r = await _merchant(admin, aid, mid, name="sentinel")
    assert r.status == 201, r
    await events.wait("merchant.registered.v1", "the sentinel's registration", merchant_id=str(mid))


def _registered(events: Events, mid: uuid.UUID) -> list[dict[str, Any]]:
    return [e["data"] for e in events.of("merchant.registered.v1", merchant_id=str(mid))]


def _rates(data: dict[str, Any]) -> tuple[int, int]:
    return data["taux_client_bps"], data["taux_uc_bps"]


def _phone() -> str:
    return "06" + f"{secrets.randbelow(10**8):08d}"


async def _import(http: aiohttp.ClientSession, aid: uuid.UUID, text: str) -> Reply:
    async with http.post(
        f"{CARDS}/v1/associations/{aid}/imports",
        data=text.encode(),
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}", "Content-Type": "text/csv"},
    ) as r:
        return Reply(r.status, await r.json(content_type=None))


async def _imported_account(
    http: aiohttp.ClientSession, db: asyncpg.Connection, aid: uuid.UUID, balance: str
) -> uuid.UUID:
    phone = _phone()
    r = await _import(http, aid, f"telephone;solde\n{phone};{balance}\n")
    assert r.status == 200 and r.body["counts"]["created"] == 1, r
    account: uuid.UUID = await db.fetchval(
        "SELECT id FROM cards.accounts WHERE association_id = $1 AND phone = $2",
        aid,
        "+33" + phone[1:],
    )
    return account


async def _publish(
    exchange: aio_pika.abc.AbstractExchange, events: list[Event[PartnerRegistered]]
) -> None:
    await exchange.publish(
        aio_pika.Message(
            pack([e.to_json() for e in events]), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
        ),
        routing_key=PartnerRegistered.routing_key(),
    )


def _partner_event(
    partner_id: uuid.UUID,
    association_id: uuid.UUID,
    name: str,
    active: bool = True,
    at: datetime | None = None,
) -> Event[PartnerRegistered]:
    e = new_event(
        "clearing",
        PartnerRegistered(
            partner_id=partner_id, association_id=association_id, partner_name=name, active=active
        ),
        f"partner/{partner_id}",
    )
    return dataclasses.replace(e, time=at) if at else e


async def _partner_row(db: asyncpg.Connection, partner_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await db.fetchrow(
        "SELECT association_id, partner_name, active FROM cards.partners WHERE partner_id = $1",
        partner_id,
    )
    return row


async def _until_partner(
    db: asyncpg.Connection, partner_id: uuid.UUID, check: Callable[[asyncpg.Record], bool]
) -> asyncpg.Record:
    async def seen() -> bool:
        row = await _partner_row(db, partner_id)
        return row is not None and check(row)

    await eventually(seen, 15, f"partner {partner_id} consumed by cards")
    row = await _partner_row(db, partner_id)
    assert row is not None
    return row


async def _available(db: asyncpg.Connection, account: uuid.UUID) -> int:
    value: int = await db.fetchval(
        "SELECT balance_cents FROM cards.accounts WHERE id = $1", account
    )
    return value


# --- MerchantRegistered ------------------------------------------------------------------------


async def test_merchant_mode_registers_each_merchant_with_its_own_rates_else_the_network_ones(
    admin: AdminClient, events: Events, db: asyncpg.Connection
) -> None:
    aid = uuid.uuid4()
    assert (await _association(admin, aid, "merchant", 300, 50)).status == 201
    restaurant, bakery = uuid.uuid4(), uuid.uuid4()
    r = await _merchant(admin, aid, restaurant, name="Le Bistrot", taux_client_bps=500)
    assert r.status == 201 and r.body["closed_on"] is None, r
    r = await _merchant(admin, aid, bakery, name="Boulangerie")
    assert r.status == 201, r

    (first,) = await events.wait(
        "merchant.registered.v1", "the restaurant", merchant_id=str(restaurant)
    )
    assert first["data"] == {
        "merchant_id": str(restaurant),
        "association_id": str(aid),
        "merchant_name": "Le Bistrot",
        "taux_client_bps": 500,
        "taux_uc_bps": 50,
        "created_at": first["data"]["created_at"],
        "closed_on": None,
        "email": None,
    }
    assert datetime.fromisoformat(first["data"]["created_at"]) == await db.fetchval(
        "SELECT created_at FROM cards.merchants WHERE id = $1", restaurant
    )
    (bread,) = await events.wait("merchant.registered.v1", "the bakery", merchant_id=str(bakery))
    assert _rates(bread["data"]) == (300, 50)  # no rate of its own: the network's

    # The same PUT again changes nothing and publishes nothing.
    r = await _merchant(admin, aid, restaurant, name="Le Bistrot", taux_client_bps=500)
    assert r.status == 200, r
    await _sentinel(admin, events, aid)
    assert len(_registered(events, restaurant)) == 1

    # A rate of its own: published with it.
    r = await _merchant(admin, aid, bakery, name="Boulangerie", taux_uc_bps=80)
    assert r.status == 200, r
    later = await events.wait("merchant.registered.v1", "the fee", count=2, merchant_id=str(bakery))
    assert _rates(later[-1]["data"]) == (300, 80)
    # New network rates: each merchant is published with what follows them (the bakery's
    # taux client, the restaurant's taux UC).
    assert (await _association(admin, aid, "merchant", 250, 60)).status == 200
    changed = await events.wait(
        "merchant.registered.v1", "the new network rate", count=3, merchant_id=str(bakery)
    )
    assert _rates(changed[-1]["data"]) == (250, 80)
    await _sentinel(admin, events, aid)
    assert [_rates(d) for d in _registered(events, restaurant)] == [(500, 50), (500, 60)]


async def test_network_mode_registers_every_merchant_with_the_network_taux_client(
    admin: AdminClient, events: Events
) -> None:
    aid = uuid.uuid4()
    assert (await _association(admin, aid, "network", 300, 50)).status == 201
    own, plain = uuid.uuid4(), uuid.uuid4()
    assert (await _merchant(admin, aid, own, name="own rates", taux_client_bps=500)).status == 201
    assert (await _merchant(admin, aid, plain, name="plain")).status == 201
    (a,) = await events.wait("merchant.registered.v1", "own", merchant_id=str(own))
    (b,) = await events.wait("merchant.registered.v1", "plain", merchant_id=str(plain))
    # Its own taux client does not apply in network mode.
    assert _rates(a["data"]) == _rates(b["data"]) == (300, 50)

    # The same association again: nothing. New network rates: both merchants.
    assert (await _association(admin, aid, "network", 300, 50)).status == 200
    await _sentinel(admin, events, aid)
    assert len(_registered(events, own)) == len(_registered(events, plain)) == 1
    assert (await _association(admin, aid, "network", 400, 70)).status == 200
    for mid in (own, plain):
        seen = await events.wait("merchant.registered.v1", "400", count=2, merchant_id=str(mid))
        assert _rates(seen[-1]["data"]) == (400, 70)

    # Into merchant mode: the merchant with a rate of its own earns it now; the other one's
    # rates do not change, and it is not published again.
    assert (await _association(admin, aid, "merchant", 400, 70)).status == 200
    seen = await events.wait("merchant.registered.v1", "own rate", count=3, merchant_id=str(own))
    assert _rates(seen[-1]["data"]) == (500, 70)
    await _sentinel(admin, events, aid)
    assert len(_registered(events, plain)) == 2


async def test_a_closed_merchant_is_registered_with_its_closing_day_and_stays_listed(
    admin: AdminClient, events: Events
) -> None:
    aid, mid = uuid.uuid4(), uuid.uuid4()
    assert (await _association(admin, aid, "merchant", 300, 50)).status == 201
    assert (await _merchant(admin, aid, mid, name="Fleuriste", taux_client_bps=400)).status == 201
    await events.wait("merchant.registered.v1", "admitted", merchant_id=str(mid))

    r = await _merchant(
        admin, aid, mid, name="Fleuriste", taux_client_bps=400, closed_on="2026-03-31"
    )
    assert r.status == 200 and r.body["closed_on"] == "2026-03-31", r
    seen = await events.wait("merchant.registered.v1", "closed", count=2, merchant_id=str(mid))
    assert seen[-1]["data"]["closed_on"] == "2026-03-31"
    assert _rates(seen[-1]["data"]) == (400, 50)
    assert seen[-1]["data"]["created_at"] == seen[0]["data"]["created_at"]

    # closed_on left out keeps the day; a renamed merchant is published with it.
    r = await _merchant(admin, aid, mid, name="Fleuriste Rose", taux_client_bps=400)
    assert r.status == 200 and r.body["closed_on"] == "2026-03-31", r
    seen = await events.wait("merchant.registered.v1", "renamed", count=3, merchant_id=str(mid))
    assert (seen[-1]["data"]["merchant_name"], seen[-1]["data"]["closed_on"]) == (
        "Fleuriste Rose",
        "2026-03-31",
    )
    listed = await admin.call("GET", f"{CARDS}/v1/associations/{aid}/merchants")
    assert [(m["id"], m["closed_on"]) for m in listed.body] == [(str(mid), "2026-03-31")]

    # null reopens it.
    r = await _merchant(admin, aid, mid, name="Fleuriste Rose", taux_client_bps=400, closed_on=None)
    assert r.status == 200 and r.body["closed_on"] is None, r
    seen = await events.wait("merchant.registered.v1", "reopened", count=4, merchant_id=str(mid))
    assert seen[-1]["data"]["closed_on"] is None
    bad = await _merchant(admin, aid, mid, name="Fleuriste", closed_on="0900-01-01")
    assert bad.status == 422, bad


# --- AccountOpened.title -----------------------------------------------------------------------


async def test_an_imported_customer_is_announced_with_the_title(
    admin: AdminClient, events: Events, http: aiohttp.ClientSession
) -> None:
    aid = uuid.uuid4()
    assert (await _association(admin, aid, "merchant", 300, 50)).status == 201
    phone = _phone()
    r = await _import(http, aid, f"civilité;nom;prénom;téléphone\nMme;Martin;Anne;{phone}\n")
    assert r.status == 200 and r.body["counts"]["created"] == 1, r
    (opened,) = await events.wait(
        "account.opened.v1", "the imported account", association_id=str(aid)
    )
    data = opened["data"]
    assert (data["title"], data["first_name"], data["last_name"], data["request_kind"]) == (
        "Mme",
        "Anne",
        "Martin",
        "import",
    )


# --- partners and donations --------------------------------------------------------------------


async def test_partners_are_consumed_idempotently_and_the_newest_registration_wins(
    broker: aio_pika.abc.AbstractExchange, db: asyncpg.Connection
) -> None:
    aid, pid = uuid.uuid4(), uuid.uuid4()
    first = _partner_event(pid, aid, "US Rugby")
    await _publish(broker, [first, first])  # twice in one message
    await _publish(broker, [first])  # and once more later
    row = await _until_partner(db, pid, lambda r: True)
    assert tuple(row) == (aid, "US Rugby", True)
    assert await db.fetchval("SELECT count(*) FROM cards.partners WHERE partner_id = $1", pid) == 1

    renamed = _partner_event(pid, aid, "US Rugby Club", active=False)
    older = _partner_event(pid, aid, "stale", at=first.time - timedelta(hours=1))
    await _publish(broker, [renamed])
    await _until_partner(db, pid, lambda r: r["partner_name"] == "US Rugby Club")
    # An older registration arriving late changes nothing (with a marker in the same message,
    # handled in the same transaction).
    marker = uuid.uuid4()
    await _publish(broker, [older, _partner_event(marker, aid, "marker")])
    await _until_partner(db, marker, lambda r: True)
    row = await _partner_row(db, pid)
    assert row is not None and tuple(row) == (aid, "US Rugby Club", False)


async def test_a_donation_moves_the_available_cagnotte_once_and_is_announced_with_the_partner(
    admin: AdminClient,
    events: Events,
    broker: aio_pika.abc.AbstractExchange,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    aid = uuid.uuid4()
    assert (await _association(admin, aid, "merchant", 300, 50)).status == 201
    account = await _imported_account(http, db, aid, "20,00")
    club, school, other, unknown = (uuid.uuid4() for _ in range(4))
    await _publish(
        broker,
        [
            _partner_event(club, aid, "US Rugby"),
            _partner_event(school, aid, "APE École Jaurès", active=False),
            _partner_event(other, uuid.uuid4(), "Club d'ailleurs"),
        ],
    )
    for pid in (club, school, other):
        await _until_partner(db, pid, lambda r: True)
    url = f"{CARDS}/v1/accounts/{account}/donations"
    donation_id = uuid.uuid4()
    donation: dict[str, Any] = {
        "donation_id": str(donation_id),
        "partner_id": str(club),
        "amount_cents": 500,
    }
    # The member gives from their own space: the actor recorded is who signed in, never a
    # field of the body (issue 15).
    member = AdminClient(
        http, dev_token(Principal("member", "cardholder", aid, account_id=account))
    )
    said = await member.call("POST", url, donation | {"actor": "someone else"})
    assert (said.status, said.body["reason"]) == (422, "malformed"), said

    first = await member.call("POST", url, donation)
    assert first.status == 201, first
    assert first.body == first.body | {
        "donation_id": str(donation_id),
        "account_id": str(account),
        "partner_id": str(club),
        "amount_cents": 500,
        "balance_cents": 1500,
    }
    repeat = await admin.call("POST", url, donation)  # another one retrying: the same donation
    assert repeat.status == 200 and repeat.body == first.body, repeat
    assert await _available(db, account) == 1500
    for other_terms in ({"amount_cents": 600}, {"partner_id": str(school)}):
        reused = await admin.call("POST", url, donation | other_terms)
        assert reused.status == 409 and reused.body["reason"] == "id_reused", reused

    (announced,) = await events.wait(
        "account.adjusted.v1", "the donation", movement_id=str(donation_id)
    )
    assert announced["data"] == announced["data"] | {
        "kind": "donation",
        "account_id": str(account),
        "association_id": str(aid),
        "partner_id": str(club),
        "purse": "cagnotte",
        "bucket": "available",
        "amount_cents": -500,
        "balance_cents": 1500,
        "actor": "member",
        "reason": "donation to US Rugby",
    }
    entry = await db.fetchrow(
        "SELECT kind, bucket, amount_cents, balance_after_cents, partner_id "
        "FROM cards.cagnotte_entries WHERE reference_id = $1",
        donation_id,
    )
    assert tuple(entry) == ("donation", "available", -500, 1500, club)

    refusals: dict[str, dict[str, Any]] = {
        "unknown_partner": {"partner_id": str(unknown)},
        "partner_inactive": {"partner_id": str(school)},
        "partner_not_in_association": {"partner_id": str(other)},
        "insufficient_balance": {"amount_cents": 1501},
    }
    for reason, change in refusals.items():
        refused = await admin.call(
            "POST", url, donation | {"donation_id": str(uuid.uuid4())} | change
        )
        assert refused.status == 422, (reason, refused)
        assert refused.body["reason"] == reason, refused
    missing = await admin.call(
        "POST", f"{CARDS}/v1/accounts/{uuid.uuid4()}/donations", donation | {"amount_cents": 1}
    )
    assert missing.status == 404, missing
    for bad in ({"amount_cents": 0}, {"amount_cents": -5}, {"partner_id": "nope"}):
        invalid = await admin.call("POST", url, donation | {"donation_id": str(uuid.uuid4())} | bad)
        assert invalid.status == 422, (bad, invalid)
    assert await _available(db, account) == 1500

    # All that is left may be given.
    rest = await admin.call(
        "POST",
        url,
        {"donation_id": str(uuid.uuid4()), "partner_id": str(club), "amount_cents": 1500},
    )
    assert rest.status == 201 and rest.body["balance_cents"] == 0, rest
    assert await _available(db, account) == 0


async def test_concurrent_donations_never_take_more_than_the_available(
    admin: AdminClient,
    broker: aio_pika.abc.AbstractExchange,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    aid, club = uuid.uuid4(), uuid.uuid4()
    assert (await _association(admin, aid, "merchant", 300, 50)).status == 201
    account = await _imported_account(http, db, aid, "10,00")
    await _publish(broker, [_partner_event(club, aid, "US Rugby")])
    await _until_partner(db, club, lambda r: True)
    url = f"{CARDS}/v1/accounts/{account}/donations"
    answers = await asyncio.gather(
        *(
            admin.call(
                "POST",
                url,
                {"donation_id": str(uuid.uuid4()), "partner_id": str(club), "amount_cents": 300},
            )
            for _ in range(5)
        )
    )
    assert sorted(a.status for a in answers) == [201, 201, 201, 422, 422], answers
    assert await _available(db, account) == 100


# --- liability ---------------------------------------------------------------------------------


async def _liability(admin: AdminClient, aid: uuid.UUID, as_of: str | None = None) -> Reply:
    url = f"{CARDS}/v1/associations/{aid}/liability"
    params = {"as_of": as_of} if as_of else {}
    async with admin.session.get(url, params=params, headers=admin.headers) as r:
        return Reply(r.status, orjson.loads(await r.read()))


async def _owed(db: asyncpg.Connection, aid: uuid.UUID) -> dict[str, int]:
    """What the accounts' balances say (the cache of their entries)."""
    row = await db.fetchrow(
        """SELECT coalesce(sum(balance_cents + pending_cents), 0)::bigint AS cagnotte_cents,
                  coalesce(sum(stored_value_cents), 0)::bigint AS stored_value_cents,
                  count(*) AS accounts
           FROM cards.accounts WHERE association_id = $1""",
        aid,
    )
    return dict(row)


def _figures(r: Reply) -> dict[str, int]:
    assert r.status == 200, r
    return {k: r.body[k] for k in ("cagnotte_cents", "stored_value_cents", "accounts")}


async def _prefix(admin: AdminClient, net: Network) -> None:
    """Give the association an issuer prefix (unique: drawn again if taken)."""
    for _ in range(20):
        r = await _association(
            admin,
            net.association_id,
            "merchant",
            300,
            50,
            issuer_prefix=f"{secrets.randbelow(900_000) + 100_000}",
        )
        if r.status == 200:
            return
        assert r.status == 409, r
    raise AssertionError("no free issuer prefix")


async def test_the_liability_is_what_the_accounts_hold_and_as_of_leaves_later_entries_out(
    make_network: NetworkFactory,
    admin: AdminClient,
    broker: aio_pika.abc.AbstractExchange,
    db: asyncpg.Connection,
) -> None:
    net = await make_network(merchants=2, rate_mode="merchant", merchant_rates=[500, None])
    aid = net.association_id
    started = clock.now()
    assert _figures(await _liability(admin, aid)) == {
        "cagnotte_cents": 0,
        "stored_value_cents": 0,
        "accounts": 0,
    }
    # Rewards wait for the second visit: pending, then available.
    program = (await admin.call("GET", f"{CARDS}/v1/associations/{aid}")).body["default_program_id"]
    r = await admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{aid}/programs/{program}",
        {"name": "Cagnotte", "kind": "cagnotte", "visit_threshold": 2},
    )
    assert r.status == 200, r
    alice, bob = _phone(), _phone()
    for terminal, phone, amount in ((0, alice, 10_000), (1, alice, 5_000), (1, bob, 2_000)):
        sale = await net.terminals[terminal].sale(phone, amount)
        assert sale.status == 201, sale
    # Money on a gift card: stored value.
    await _prefix(admin, net)
    gift = uuid.uuid4()
    r = await admin.call(
        "PUT", f"{CARDS}/v1/associations/{aid}/card-types/{gift}", {"name": "Gift", "kind": "gift"}
    )
    assert r.status == 201, r
    card = await admin.call(
        "POST",
        f"{CARDS}/v1/associations/{aid}/cards",
        {"issue_id": str(uuid.uuid4()), "card_type_id": str(gift)},
    )
    assert card.status == 201, card
    r = await admin.call(
        "POST",
        f"{CARDS}/v1/cards/{card.body['number']}/loads",
        {"load_id": str(uuid.uuid4()), "merchant_id": str(net.merchants[0]), "amount_cents": 2500},
    )
    assert r.status == 201, r

    before = await _liability(admin, aid)
    # alice: 500 + 150, available at her second visit; bob: 60 pending; 25 € on the gift card.
    assert (
        _figures(before)
        == await _owed(db, aid)
        == {
            "cagnotte_cents": 710,
            "stored_value_cents": 2500,
            "accounts": 3,
        }
    )
    cut = before.body["as_of"]
    assert before.body["association_id"] == str(aid)

    # Later: a donation and another sale.
    club = uuid.uuid4()
    await _publish(broker, [_partner_event(club, aid, "US Rugby")])
    await _until_partner(db, club, lambda r: True)
    account = await db.fetchval(
        "SELECT id FROM cards.accounts WHERE association_id = $1 AND phone = $2",
        aid,
        "+33" + alice[1:],
    )
    r = await admin.call(
        "POST",
        f"{CARDS}/v1/accounts/{account}/donations",
        {"donation_id": str(uuid.uuid4()), "partner_id": str(club), "amount_cents": 200},
    )
    assert r.status == 201, r
    sale = await net.terminals[1].sale(bob, 1_000)  # bob's second visit: 60 + 30 available
    assert sale.status == 201, sale

    after = await _liability(admin, aid)
    assert (
        _figures(after)
        == await _owed(db, aid)
        == {
            "cagnotte_cents": 710 - 200 + 30,
            "stored_value_cents": 2500,
            "accounts": 3,
        }
    )
    # At the earlier cut-off, the later entries are left out; before anything, nothing.
    assert _figures(await _liability(admin, aid, cut)) == _figures(before)
    assert _figures(await _liability(admin, aid, started.isoformat())) == {
        "cagnotte_cents": 0,
        "stored_value_cents": 0,
        "accounts": 0,
    }

    unknown = await _liability(admin, uuid.uuid4())
    assert unknown.status == 404, unknown
    naive = await _liability(admin, aid, "2026-01-01T00:00:00")
    assert naive.status == 400, naive
