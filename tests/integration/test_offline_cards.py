"""What chip cards did offline, synced to the running services: the cards service checks every
transaction (certificate, card, date, clone, chain by ATC, reward) and books it, clearing and
crm follow; a transaction that fails a check is held in quarantine, not booked, until the back
office approves or rejects it. Chunks are published on the broker as the gateway's outbox does
(CardTransactionsSynced)."""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aio_pika
import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from shared import clock
from shared.access import Principal, dev_token
from shared.client import AdminClient
from shared.contracts import (
    CardTransaction,
    CardTransactionsSynced,
    SaleRecorded,
    card_transaction_id,
)
from shared.events import BATCH_CONTENT_TYPE, Event, new_event, pack, unpack
from tests import harness
from tests.bookkeeping import assert_books_agree
from tests.cardtx import SimCard
from tests.conftest import Network, NetworkFactory, eventually

pytestmark = pytest.mark.e2e

CARDS = harness.url("cards")
WATCHED = (
    "blacklist.changed.v1",
    "transactions.booked.v1",
    "terminal.parameters.published.v1",
)


@dataclass
class Seen:
    events: list[dict[str, Any]] = field(default_factory=list)

    def of(self, type_: str, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == f"comptoir.{type_}.v1" and match(e["data"])]


@pytest_asyncio.fixture(scope="module")
async def broker(
    services: harness.Services,
) -> AsyncIterator[tuple[aio_pika.abc.AbstractExchange, Seen]]:
    connection = await aio_pika.connect_robust(harness.AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange("comptoir.events")
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    for key in WATCHED:
        await queue.bind(exchange, key)
    seen = Seen()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            seen.events.extend(unpack(message.body))

    await queue.consume(on_message)
    yield exchange, seen
    await connection.close()


@pytest_asyncio.fixture
async def cards_db(db: asyncpg.Connection) -> asyncpg.Connection:
    return db


@dataclass
class Shop:
    merchant_id: uuid.UUID
    terminal_id: uuid.UUID
    seq: int = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


@dataclass
class World:
    net: Network
    shops: list[Shop]
    exchange: aio_pika.abc.AbstractExchange
    seen: Seen
    http: aiohttp.ClientSession

    async def issue(self) -> SimCard:
        r = await self.net.admin.call(
            "POST",
            f"{CARDS}/v1/associations/{self.net.association_id}/cards",
            {"issue_id": str(uuid.uuid4())},
        )
        assert r.status == 201, r
        return SimCard(r.body["number"])

    def chunk(self, shop: Shop, txs: list[CardTransaction]) -> Event[CardTransactionsSynced]:
        return new_event(
            "terminals",
            CardTransactionsSynced(
                chunk_id=uuid.uuid4(),
                association_id=self.net.association_id,
                merchant_id=shop.merchant_id,
                shop_id=shop.merchant_id,
                terminal_id=shop.terminal_id,
                synced_at=clock.now(),
                transactions=txs,
            ),
            subject=f"terminal/{shop.terminal_id}",
        )

    async def publish(
        self, *events: Event[Any], routing_key: str = "card.transactions.synced.v1"
    ) -> None:
        """As the gateway's outbox relay: a batch of envelopes in one persistent message."""
        await self.exchange.publish(
            aio_pika.Message(
                pack([e.to_json() for e in events]),
                content_type=BATCH_CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
            mandatory=True,
        )

    async def handled(self, db: asyncpg.Connection, *events: Event[Any]) -> None:
        ids = [uuid.UUID(e.id) for e in events]

        async def done() -> bool:
            n = await db.fetchval("SELECT count(*) FROM cards.inbox WHERE event_id = ANY($1)", ids)
            return bool(n == len(ids))

        await eventually(done, what="the chunks handled by cards")

    async def account(self, number: str) -> dict[str, Any]:
        r = await self.net.admin.call("GET", f"{CARDS}/v1/cards/{number}")
        assert r.status == 200, r
        card = r.body
        r = await self.net.admin.call("GET", f"{CARDS}/v1/accounts/{card['account_id']}")
        assert r.status == 200, r
        return dict(r.body) | {"card": card}

    async def held(self, **query: str) -> list[dict[str, Any]]:
        """The association's quarantine, newest first."""
        async with self.http.get(
            f"{CARDS}/v1/associations/{self.net.association_id}/card-quarantine",
            params=query,
            headers=self.net.admin.headers,
        ) as r:
            assert r.status == 200, await r.text()
            return list((await r.json())["lines"])

    async def decide(self, line_id: int, decision: str, by: str, **body: Any) -> Any:
        """Decided by ``by``, the association's administrator signed in (issue 15: the actor
        recorded is the principal's, not the body's)."""
        treasurer = Principal(by, "association_admin", self.net.association_id)
        return await AdminClient(self.http, dev_token(treasurer)).call(
            "POST", f"{CARDS}/v1/card-quarantine/{line_id}/{decision}", body
        )

    async def anomalies(self, **query: str) -> list[dict[str, Any]]:
        async with self.http.get(
            f"{CARDS}/v1/card-anomalies", params=query, headers=self.net.admin.headers
        ) as r:
            assert r.status == 200, await r.text()
            return list((await r.json())["anomalies"])


@pytest_asyncio.fixture
async def world(
    make_network: NetworkFactory,
    broker: tuple[aio_pika.abc.AbstractExchange, Seen],
    http: aiohttp.ClientSession,
) -> World:
    # Merchant 0 gives 5 %, merchant 1 the network's 3 %; the fee is 0.5 %.
    net = await make_network(merchants=2, merchant_rates=[500, None])
    r = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{net.association_id}",
        {
            "name": f"offline {net.association_id}",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "issuer_prefix": f"{800000 + secrets.randbelow(100000)}",
        },
    )
    assert r.status in (200, 201), r
    shops = [Shop(m, uuid.uuid4()) for m in net.merchants]
    return World(net, shops, broker[0], broker[1], http)


# Minutes before the tests: inside the date window and after the books start of an association
# created now, whatever the date the suite runs at (00:30 on the first of a month included).
T0 = clock.now().replace(microsecond=0) - timedelta(minutes=20)


async def test_a_card_spent_at_two_shops_and_synced_backwards_ends_equal_to_the_card(
    world: World, db: asyncpg.Connection
) -> None:
    a, b = world.shops
    card = await world.issue()
    at = [T0 + timedelta(minutes=m) for m in range(4)]
    a1 = card.sale(a.terminal_id, a.next_seq(), 2000, 100, at[0])  # 5 %
    b1 = card.sale(b.terminal_id, b.next_seq(), 1000, 30, at[1])  # 3 %
    b2 = card.redeem(b.terminal_id, b.next_seq(), 120, at[2])  # spends A's reward at B
    a2 = card.sale(a.terminal_id, a.next_seq(), 4000, 200, at[3], family="bread")
    chunk_b, chunk_a = world.chunk(b, [b1, b2]), world.chunk(a, [a1, a2])
    # B syncs first: its redemption arrives before the sale that funded it.
    await world.publish(chunk_b)
    await world.handled(db, chunk_b)
    await world.publish(chunk_a)
    await world.handled(db, chunk_a)

    account = await world.account(card.number)
    assert (account["balance_cents"], account["pending_cents"], account["units"]) == (
        card.available,
        card.pending,
        card.units,
    )
    assert card.available == 210 and account["visits"] == card.visits
    assert account["card"]["last_used_at"] is not None
    assert await world.anomalies(card_number=card.number) == []

    sales = [card_transaction_id(s.terminal_id, tx.seq) for s, tx in ((a, a1), (b, b1), (a, a2))]
    synced = [
        card_transaction_id(c.data.terminal_id, t.seq)
        for c in (chunk_a, chunk_b)
        for t in c.data.transactions
    ]

    async def followed() -> bool:
        visits = await db.fetchval("SELECT count(*) FROM crm.visits WHERE sale_id = ANY($1)", sales)
        entries = await db.fetchval(
            """SELECT count(*) FROM clearing.journal_entries WHERE reference_id = ANY($1)
               AND kind IN ('accrual', 'redemption')""",
            synced,
        )
        # Each transaction booked once, like the same sale or redemption made online.
        return bool(visits == 3 and entries == len(synced))

    await eventually(followed, what="clearing and crm booking the chunks")
    await assert_books_agree(db, world.net.association_id)
    fees = await db.fetchval(
        """SELECT -sum(p.amount_cents) FROM clearing.postings p
           JOIN clearing.pivot_accounts l ON l.id = p.account_id
           WHERE l.association_id = $1 AND l.kind = 'operator_fees'""",
        world.net.association_id,
    )
    assert fees == 10 + 5 + 20  # 0.5 % of each sale, by the server's rules
    customer = await db.fetchrow(
        "SELECT visit_count, total_spent_cents FROM crm.customers WHERE account_id = $1",
        uuid.UUID(account["id"]),
    )
    assert (customer["visit_count"], customer["total_spent_cents"]) == (3, 7000)

    def booked() -> list[dict[str, Any]]:
        return world.seen.of(
            "transactions.booked", lambda d: d["chunk_id"] == str(chunk_a.data.chunk_id)
        )

    async def seen() -> bool:
        return bool(booked())

    await eventually(seen, what="TransactionsBooked of A's chunk")
    assert [t["fee_cents"] for t in booked()[0]["data"]["transactions"]] == [10, 20]


async def test_the_same_chunk_twice_is_booked_once(world: World, db: asyncpg.Connection) -> None:
    a = world.shops[0]
    card = await world.issue()
    txs = [
        card.sale(a.terminal_id, a.next_seq(), 1000 * (i + 1), 50 * (i + 1), T0) for i in range(3)
    ]
    chunk = world.chunk(a, txs)
    again = new_event("terminals", chunk.data)  # the same chunk under another event id
    await world.publish(chunk)
    await world.publish(again, chunk)  # and the very same envelope redelivered
    await world.handled(db, chunk, again)
    account = await world.account(card.number)
    assert account["balance_cents"] == card.available == 300
    entries = await db.fetchval(
        "SELECT count(*) FROM cards.cagnotte_entries WHERE card_number = $1", card.number
    )
    assert entries == 3
    await eventually(lambda: _visits(db, txs, a), what="crm's visits")
    await asyncio.sleep(0.3)
    booked = world.seen.of(
        "transactions.booked", lambda d: d["chunk_id"] == str(chunk.data.chunk_id)
    )
    assert len(booked) == 1
    await assert_books_agree(db, world.net.association_id)


async def _visits(db: asyncpg.Connection, txs: list[CardTransaction], shop: Shop) -> bool:
    visits = await db.fetchval(
        "SELECT count(*) FROM crm.visits WHERE sale_id = ANY($1)",
        [card_transaction_id(shop.terminal_id, t.seq) for t in txs],
    )
    return bool(visits == len(txs))


async def _clone_metric(http: aiohttp.ClientSession) -> float:
    async with http.get(f"{CARDS}/metrics") as r:
        text = await r.text()
    m = re.search(r'^comptoir_card_anomalies_total\{kind="clone"\} ([0-9.e+]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


async def test_a_cloned_card_spending_at_two_shops_is_caught_and_blacklisted(
    world: World, db: asyncpg.Connection
) -> None:
    a, b = world.shops
    card = await world.issue()
    first = card.sale(a.terminal_id, a.next_seq(), 2000, 100, T0)
    clone = card.copy()
    genuine = card.redeem(a.terminal_id, a.next_seq(), 100, T0 + timedelta(minutes=1))
    forged = clone.redeem(b.terminal_id, b.next_seq(), 100, T0 + timedelta(minutes=2))
    assert genuine.atc == forged.atc
    before = await _clone_metric(world.http)
    chunk_a, chunk_b = world.chunk(a, [first, genuine]), world.chunk(b, [forged])
    await world.publish(chunk_a)
    await world.handled(db, chunk_a)
    await world.publish(chunk_b)
    await world.handled(db, chunk_b)

    account = await world.account(card.number)
    assert account["card"]["status"] == "cloned" and account["card"]["blacklisted"]
    assert account["balance_cents"] == card.available == 0  # the clone's spend is not booked
    found = await world.anomalies(card_number=card.number, kind="clone")
    assert len(found) == 1 and found[0]["terminal_id"] == str(b.terminal_id)
    assert not found[0]["booked"]
    # The association's administrator sees it among its shops' anomalies; another's, not.
    mine = str(world.net.association_id)
    assert await world.anomalies(card_number=card.number, association_id=mine) == found
    elsewhere = str(uuid.uuid4())
    assert await world.anomalies(card_number=card.number, association_id=elsewhere) == []
    held = await world.held(terminal_id=str(b.terminal_id))
    assert [(x["seq"], x["reasons"], x["status"]) for x in held] == [
        (forged.seq, ["clone"], "held")
    ]
    change = await db.fetchrow(
        "SELECT action, reason FROM cards.blacklist_changes WHERE card_number = $1", card.number
    )
    assert (change["action"], change["reason"]) == ("add", "cloned")

    async def announced() -> bool:
        return bool(
            world.seen.of(
                "blacklist.changed",
                lambda d: d["card_number"] == card.number and d["reason"] == "cloned",
            )
        )

    await eventually(announced, what="BlacklistChanged for the cloned card")
    assert await _clone_metric(world.http) == before + 1
    r = await world.net.admin.call("POST", f"{CARDS}/v1/cards/{card.number}/reactivation")
    assert r.status == 409, r  # a cloned card is replaced, never reactivated


async def _metric(http: aiohttp.ClientSession, name: str, label: str, value: str) -> float:
    async with http.get(f"{CARDS}/metrics") as r:
        text = await r.text()
    m = re.search(rf'^{name}\{{{label}="{value}"\}} ([0-9.e+]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


async def test_a_forged_certificate_is_held_with_an_alert_naming_card_and_terminal(
    world: World, db: asyncpg.Connection
) -> None:
    a = world.shops[0]
    card = await world.issue()
    good = card.sale(a.terminal_id, a.next_seq(), 2000, 100, T0)
    genuine = card.sale(a.terminal_id, a.next_seq(), 2000, 100, T0)
    forged = genuine.model_copy(
        update={"available_delta": 10_000, "available_after": 10_100, "reward_cents": 10_000}
    )
    stranger = SimCard("4" * 15 + "1").sale(a.terminal_id, a.next_seq(), 500, 25, T0)
    quarantined = "comptoir_card_quarantined_total"
    before = await _metric(world.http, quarantined, "reason", "bad_certificate")
    chunk = world.chunk(a, [good, forged, stranger])
    await world.publish(chunk)
    await world.handled(db, chunk)
    account = await world.account(card.number)
    assert account["balance_cents"] == 100
    kinds = {x["kind"]: x for x in await world.anomalies(card_number=card.number)}
    assert set(kinds) == {"bad_certificate"} and not kinds["bad_certificate"]["booked"]
    assert kinds["bad_certificate"]["terminal_id"] == str(a.terminal_id)
    assert [x["kind"] for x in await world.anomalies(card_number=stranger.card_number)][:1] == [
        "unknown_card"
    ]
    assert not await db.fetchval(
        "SELECT count(*) FROM cards.cagnotte_entries WHERE reference_id = $1",
        card_transaction_id(a.terminal_id, forged.seq),
    )
    held = {x["seq"]: x["reasons"] for x in await world.held(terminal_id=str(a.terminal_id))}
    assert held == {forged.seq: ["bad_certificate"], stranger.seq: ["unknown_card"]}
    assert await _metric(world.http, quarantined, "reason", "bad_certificate") == before + 1


async def _cleared(db: asyncpg.Connection, transaction_id: uuid.UUID) -> int:
    n: int = await db.fetchval(
        "SELECT count(*) FROM clearing.journal_entries WHERE reference_id = $1", transaction_id
    )
    return n


async def test_a_reward_the_rules_do_not_give_is_held_until_approved(
    world: World, db: asyncpg.Connection
) -> None:
    a, b = world.shops
    card = await world.issue()
    right = card.sale(a.terminal_id, a.next_seq(), 2000, 100, T0)
    greedy = card.sale(b.terminal_id, b.next_seq(), 2000, 400, T0)  # 20 % where 3 % is due
    chunk_a, chunk_b = world.chunk(a, [right]), world.chunk(b, [greedy])
    await world.publish(chunk_a, chunk_b)
    await world.handled(db, chunk_a, chunk_b)
    found = await world.anomalies(card_number=card.number)
    assert [(x["kind"], x["seq"], x["booked"]) for x in found] == [
        ("reward_mismatch", greedy.seq, False)
    ]
    assert "60" in found[0]["detail"]
    # Held: the server's account has the honest sale only, and clearing hears nothing of it.
    assert (await world.account(card.number))["balance_cents"] == 100
    greedy_id = card_transaction_id(b.terminal_id, greedy.seq)
    right_id = card_transaction_id(a.terminal_id, right.seq)
    await eventually(lambda: _has_entry(db, right_id), what="clearing booking the honest sale")
    assert await _cleared(db, greedy_id) == 0
    assert not world.seen.of(
        "transactions.booked", lambda d: d["chunk_id"] == str(chunk_b.data.chunk_id)
    )
    [line] = await world.held(status="held", reason="reward_mismatch")
    assert (line["transaction_id"], line["card_number"]) == (str(greedy_id), card.number)

    r = await world.decide(line["id"], "approve", by="treasurer", reason="promotion by phone")
    assert r.status == 200, r
    assert (r.body["status"], r.body["decided_by"]) == ("approved", "treasurer")
    assert (await world.account(card.number))["balance_cents"] == card.available == 500
    await eventually(lambda: _has_entry(db, greedy_id), what="clearing booking the approved line")
    await assert_books_agree(db, world.net.association_id)
    again = await world.decide(line["id"], "reject", by="x", reason="changed my mind",
                               card_at_fault=False)  # fmt: skip
    assert (again.status, again.body["reason"]) == (409, "already_decided")


async def _has_entry(db: asyncpg.Connection, transaction_id: uuid.UUID) -> bool:
    return await _cleared(db, transaction_id) > 0


async def test_a_jump_in_the_card_counter_is_held(world: World, db: asyncpg.Connection) -> None:
    a = world.shops[0]
    card = await world.issue()
    first = card.sale(a.terminal_id, a.next_seq(), 1000, 50, T0)
    card.atc += 80  # sales made at terminals that never synced
    later = card.sale(a.terminal_id, a.next_seq(), 1000, 50, T0)
    chunk = world.chunk(a, [first, later])
    await world.publish(chunk)
    await world.handled(db, chunk)
    kinds = sorted(x["kind"] for x in await world.anomalies(card_number=card.number))
    assert kinds == ["atc_gap"]
    assert (await world.account(card.number))["balance_cents"] == 50
    assert [x["seq"] for x in await world.held(reason="atc_gap")] == [later.seq]


async def test_the_anomaly_list_refuses_bad_filters(world: World) -> None:
    for query in ({"kind": "bogus"}, {"card_number": "12"}, {"limit": "0"}):
        async with world.http.get(
            f"{CARDS}/v1/card-anomalies", params=query, headers=world.net.admin.headers
        ) as r:
            assert r.status == 400
            assert r.content_type == "application/problem+json"


async def test_each_merchant_gets_its_terminal_parameters(world: World) -> None:
    merchant = world.net.merchants[0]

    async def published() -> bool:
        return bool(
            world.seen.of(
                "terminal.parameters.published", lambda d: d["merchant_id"] == str(merchant)
            )
        )

    await eventually(published, what="TerminalParametersPublished for the new merchant")
    event = world.seen.of(
        "terminal.parameters.published", lambda d: d["merchant_id"] == str(merchant)
    )[-1]
    document = event["data"]["document"]
    assert document["merchant_id"] == str(merchant)
    assert document["card_types"] and document["card_types"][0]["merchant_rates"] == {
        "taux_client_bps": 500,
        "taux_uc_bps": None,
    }


async def _no_entry(db: asyncpg.Connection, card: SimCard) -> bool:
    n = await db.fetchval(
        "SELECT count(*) FROM cards.cagnotte_entries WHERE card_number = $1", card.number
    )
    return bool(n == 0)


async def test_a_card_of_another_association_redeemed_offline_is_held(
    world: World, db: asyncpg.Connection, make_network: NetworkFactory
) -> None:
    a = world.shops[0]
    card = await world.issue()
    funded = card.sale(a.terminal_id, a.next_seq(), 20_000, 1_000, T0)
    await world.publish(chunk := world.chunk(a, [funded]))
    await world.handled(db, chunk)
    # A terminal of association B takes A's card offline and spends its cagnotte.
    other = await make_network(merchants=1)
    b = Shop(other.merchants[0], uuid.uuid4())
    spend = card.redeem(b.terminal_id, b.next_seq(), 1_000, T0 + timedelta(minutes=1))
    theirs = new_event(
        "terminals",
        chunk.data.model_copy(
            update={
                "chunk_id": uuid.uuid4(),
                "association_id": other.association_id,
                "merchant_id": b.merchant_id,
                "shop_id": b.merchant_id,
                "terminal_id": b.terminal_id,
                "transactions": [spend],
            }
        ),
        subject=f"terminal/{b.terminal_id}",
    )
    await world.publish(theirs)
    await world.handled(db, theirs)
    assert (await world.account(card.number))["balance_cents"] == 1_000
    assert await _cleared(db, card_transaction_id(b.terminal_id, spend.seq)) == 0
    held = await db.fetchrow(
        "SELECT association_id, reasons FROM cards.card_quarantine WHERE transaction_id = $1",
        card_transaction_id(b.terminal_id, spend.seq),
    )
    assert held is not None
    assert (held["association_id"], held["reasons"]) == (
        other.association_id,
        ["card_of_another_association"],
    )


async def test_a_card_blocked_before_the_transaction_is_held_and_one_blocked_after_is_not(
    world: World, db: asyncpg.Connection
) -> None:
    a = world.shops[0]
    card = await world.issue()
    before_block = card.sale(a.terminal_id, a.next_seq(), 1000, 50, T0)
    r = await world.net.admin.call(
        "POST", f"{CARDS}/v1/cards/{card.number}/block", {"reason": "stolen"}
    )
    assert r.status == 200, r
    after_block = card.sale(
        a.terminal_id,
        a.next_seq(),
        1000,
        50,
        clock.now().replace(microsecond=0) + timedelta(seconds=2),
    )
    await world.publish(chunk := world.chunk(a, [before_block, after_block]))
    await world.handled(db, chunk)
    assert (await world.account(card.number))["balance_cents"] == 50
    held = await world.held()
    assert [(x["seq"], x["reasons"]) for x in held] == [(after_block.seq, ["card_blocked"])]


async def test_dates_out_of_the_window_are_held(world: World, db: asyncpg.Connection) -> None:
    a = world.shops[0]
    card, later = await world.issue(), await world.issue()
    old = card.sale(a.terminal_id, a.next_seq(), 1000, 50, T0.replace(year=2020))
    ahead = later.sale(a.terminal_id, a.next_seq(), 1000, 50, clock.now() + timedelta(days=1))
    await world.publish(chunk := world.chunk(a, [old, ahead]))
    await world.handled(db, chunk)
    assert await _no_entry(db, card) and await _no_entry(db, later)
    held = {x["seq"]: x["reasons"] for x in await world.held()}
    assert held == {
        old.seq: ["occurred_too_long_ago"],
        ahead.seq: ["occurred_in_future"],
    }


async def test_rejecting_the_line_of_a_card_at_fault_blocks_the_card_and_books_nothing(
    world: World, db: asyncpg.Connection
) -> None:
    a = world.shops[0]
    card = await world.issue()
    good = card.sale(a.terminal_id, a.next_seq(), 2000, 100, T0)
    genuine = card.sale(a.terminal_id, a.next_seq(), 2000, 100, T0)
    forged = genuine.model_copy(
        update={"available_delta": 50_000, "available_after": 50_100, "reward_cents": 50_000}
    )
    await world.publish(chunk := world.chunk(a, [good, forged]))
    await world.handled(db, chunk)
    [line] = await world.held()
    r = await world.decide(
        line["id"], "reject", by="treasurer", reason="forged certificate", card_at_fault=True
    )
    assert r.status == 200, r
    assert (r.body["status"], r.body["card_blocked"]) == ("rejected", True)
    assert r.body["card_claims"]["available_after"] == 50_100
    assert r.body["server_holds"]["available"] == 100
    account = await world.account(card.number)
    assert account["balance_cents"] == 100
    assert account["card"]["status"] == "cloned" and account["card"]["blacklisted"]
    refused = await world.decide(line["id"], "approve", by="x", reason="too late now")
    assert (refused.status, refused.body["reason"]) == (409, "already_decided")


async def test_a_terminal_that_synced_before_a_rate_change_is_not_at_fault(
    world: World, db: asyncpg.Connection
) -> None:
    a = world.shops[0]  # 5 %
    merchant = a.merchant_id

    async def version_published() -> int | None:
        v: int | None = await db.fetchval(
            """SELECT max(rules_version) FROM cards.terminal_parameters_history
               WHERE merchant_id = $1""",
            merchant,
        )
        return v

    async def published() -> bool:
        return await version_published() is not None

    await eventually(published, what="the merchant's parameters published")
    old = await version_published()
    assert old is not None
    r = await world.net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{world.net.association_id}/merchants/{merchant}",
        {"name": "merchant 0", "taux_client_bps": 200},
    )
    assert r.status == 200, r

    async def republished() -> bool:
        return bool((await version_published() or 0) > old)

    await eventually(republished, what="the new rate published")
    card, other = await world.issue(), await world.issue()
    on_old = card.sale(a.terminal_id, a.next_seq(), 2000, 100, T0)  # 5 %, as it knew
    behind = world.chunk(a, [on_old])
    behind = new_event("terminals", behind.data.model_copy(update={"params_version": old}))
    current = await version_published()
    on_new = other.sale(a.terminal_id, a.next_seq(), 2000, 100, T0)  # 5 % again: wrong now
    up_to_date = world.chunk(a, [on_new])
    up_to_date = new_event(
        "terminals", up_to_date.data.model_copy(update={"params_version": current})
    )
    await world.publish(behind, up_to_date)
    await world.handled(db, behind, up_to_date)
    assert (await world.account(card.number))["balance_cents"] == 100
    assert (await world.account(other.number))["balance_cents"] == 0
    assert [(x["seq"], x["reasons"]) for x in await world.held()] == [
        (on_new.seq, ["reward_mismatch"])
    ]


async def test_a_line_the_database_refuses_is_held_and_the_other_lines_of_its_chunk_booked(
    world: World, db: asyncpg.Connection
) -> None:
    a = world.shops[0]  # 5 %
    cards = [await world.issue() for _ in range(4)]
    lines = [c.sale(a.terminal_id, a.next_seq(), 1000, 50, T0) for c in cards]
    # A line the checks pass and the database refuses (here a trigger, for one card): the
    # chunk is redone one line at a time, that line held, the others booked.
    refused = cards[1].number
    await db.execute(
        f"""CREATE FUNCTION cards.refuse_{refused}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.card_number = '{refused}' THEN
                    RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_{refused} BEFORE INSERT ON cards.card_transactions
            FOR EACH ROW EXECUTE FUNCTION cards.refuse_{refused}();"""
    )
    try:
        await world.publish(chunk := world.chunk(a, lines))
        await world.handled(db, chunk)
    finally:
        await db.execute(
            f"""DROP TRIGGER refuse_{refused} ON cards.card_transactions;
                DROP FUNCTION cards.refuse_{refused}();"""
        )
    balances = [(await world.account(c.number))["balance_cents"] for c in cards]
    assert balances == [50, 0, 50, 50]
    [held] = await world.held()
    assert (held["seq"], held["reasons"]) == (lines[1].seq, ["unprocessable"])
    assert "refused for the test" in held["detail"]
    dead = await db.fetchval(
        "SELECT count(*) FROM cards.dead_letters WHERE event_id = $1", chunk.id
    )
    assert dead == 0
    for i, t in enumerate(lines):
        if i != 1:
            transaction_id = card_transaction_id(a.terminal_id, t.seq)

            async def cleared(transaction_id: uuid.UUID = transaction_id) -> bool:
                return await _has_entry(db, transaction_id)

            await eventually(cleared, what="clearing booking the other lines")


async def test_online_sales_batched_at_one_till_are_one_booked_fact(
    world: World, db: asyncpg.Connection
) -> None:
    """The sales of one batch give cards' consumer one booked fact per till, as a synced
    chunk does (not one a sale: an envelope and an inbox row less a sale in clearing, crm and
    notifications); each sale is still booked once, in clearing and crm alike."""
    a, b = world.shops
    card = await world.issue()

    def sale(shop: Shop, cents: int) -> Event[SaleRecorded]:
        return new_event(
            "terminals",
            SaleRecorded(
                association_id=world.net.association_id,
                merchant_id=shop.merchant_id,
                shop_id=shop.merchant_id,
                terminal_id=shop.terminal_id,
                occurred_at=T0,
                sale_id=uuid.uuid4(),
                amount_cents=cents,
                card_number=card.number,
            ),
            subject=f"terminal/{shop.terminal_id}",
        )

    sales = [sale(a, 1000), sale(b, 2000), sale(a, 3000), sale(a, 4000)]
    await world.publish(*sales, routing_key="sale.recorded.v1")
    await world.handled(db, *sales)
    ids = {str(e.data.sale_id) for e in sales}

    def booked() -> list[dict[str, Any]]:
        return world.seen.of(
            "transactions.booked",
            lambda d: any(t["transaction_id"] in ids for t in d["transactions"]),
        )

    async def all_seen() -> bool:
        return sum(len(e["data"]["transactions"]) for e in booked()) == len(sales)

    await eventually(all_seen, what="the booked facts of the batch")
    facts = {e["data"]["terminal_id"]: e for e in booked()}
    assert len(booked()) == 2 and set(facts) == {str(a.terminal_id), str(b.terminal_id)}
    at_a = facts[str(a.terminal_id)]
    assert [t["amount_cents"] for t in at_a["data"]["transactions"]] == [1000, 3000, 4000]
    assert at_a["subject"] == f"terminal/{a.terminal_id}"
    assert at_a["correlationid"] == sales[0].correlation_id  # its first sale's

    async def followed() -> bool:
        visits = await db.fetchval(
            "SELECT count(*) FROM crm.visits WHERE sale_id = ANY($1::uuid[])", list(ids)
        )
        entries = await db.fetchval(
            """SELECT count(*) FROM clearing.journal_entries
               WHERE reference_id = ANY($1::uuid[]) AND kind = 'accrual'""",
            list(ids),
        )
        return bool(visits == entries == len(sales))

    await eventually(followed, what="clearing and crm booking each sale once")
    await assert_books_agree(db, world.net.association_id)
