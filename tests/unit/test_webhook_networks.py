"""The webhooks' queue skips, unparsed, the events no live subscription can want: which ones
(domain/webhooks.unwanted, from the raw envelope), and the process's view of the subscribing
networks (service/webhook_networks.LiveNetworks): read again after its freshness, at once after
this process subscribed, never trusted when a change came during its read, and skipping
nothing when the database cannot be read."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson

from services.notifications.domain import webhooks as rules
from services.notifications.service.webhook_networks import LiveNetworks
from shared.broker import QUEUES
from shared.contracts import AccountOpened, BookedTransaction, ConsentChanged, TransactionsBooked
from shared.events import TYPE_PREFIX, new_event

A, B = uuid.uuid4(), uuid.uuid4()
KA, KB = str(A), str(B)  # the view's keys


def booked(association: uuid.UUID) -> dict[str, Any]:
    fact = TransactionsBooked(
        origin="online",
        association_id=association,
        merchant_id=uuid.uuid4(),
        shop_id=uuid.uuid4(),
        terminal_id=uuid.uuid4(),
        transactions=[
            BookedTransaction.model_validate(
                {
                    "transaction_id": uuid.uuid4(),
                    "account_id": uuid.uuid4(),
                    "kind": "sale",
                    "occurred_at": "2031-03-04T10:00:00+01:00",
                    "amount_cents": 1000,
                    "reward_cents": 30,
                    "purse": "cagnotte",
                }
            )
        ],
    )
    raw: dict[str, Any] = orjson.loads(new_event("cards", fact).to_json())
    return raw


def test_an_event_is_unwanted_unless_its_network_subscribes_to_its_type() -> None:
    wanting = {KA: rules.sources_of(["sale.booked", "consent.changed"]), KB: rules.sources_of([])}
    assert not rules.unwanted(booked(A), wanting)
    assert rules.unwanted(booked(B), wanting)  # subscribes to nothing
    assert rules.unwanted(booked(uuid.uuid4()), wanting)  # no subscription at all
    only_statements = {KA: rules.sources_of(["statement.ready"])}
    assert rules.unwanted(booked(A), only_statements)
    # redemption.booked comes from the same event as sale.booked
    assert not rules.unwanted(booked(A), {KA: rules.sources_of(["redemption.booked"])})
    assert rules.sources_of(["customer.enrolled"]) == {"comptoir.account.opened.v1"}
    assert ConsentChanged.type() in rules.sources_of(["consent.changed"])


def opened(association: uuid.UUID) -> dict[str, Any]:
    fact = AccountOpened(
        account_id=uuid.uuid4(),
        association_id=association,
        phone="+33612345678",
        opened_at="2031-03-04T10:00:00+01:00",  # type: ignore[arg-type]
        request_id=uuid.uuid4(),
        request_kind="sale",
    )
    raw: dict[str, Any] = orjson.loads(new_event("cards", fact).to_json())
    return raw


def test_an_account_opened_is_skipped_unless_its_network_hears_of_enrolments() -> None:
    """A quick enrolment at the till opens an account: as many as a network's new customers,
    each parsed, inboxed and committed for no delivery before they were skipped too."""
    assert rules.unwanted(opened(A), {})
    assert rules.unwanted(opened(A), {KA: rules.sources_of(["sale.booked"])})
    assert rules.unwanted(opened(B), {KA: rules.sources_of(["customer.enrolled"])})
    assert not rules.unwanted(opened(A), {KA: rules.sources_of(["customer.enrolled"])})


def test_an_event_not_read_with_certainty_goes_the_full_way() -> None:
    """What the full path would dead-letter is not skipped: it still is dead-lettered."""
    good = booked(B)
    assert rules.unwanted(good, {})
    for broken in (
        good | {"specversion": "0.3"},
        good | {"id": "not a uuid"},
        good | {"type": "comptoir.transactions.booked.v9"},
        good | {"type": ["a list"]},
        good | {"data": None},
        good | {"data": good["data"] | {"association_id": "nobody"}},
        # another spelling of a UUID pydantic would take: not looked up, parsed
        good | {"data": good["data"] | {"association_id": KB.upper()}},
        good | {"data": good["data"] | {"association_id": B.hex}},
        good | {"id": good["id"].upper()},
        good | {"data": {k: v for k, v in good["data"].items() if k != "association_id"}},
        [good],
    ):
        assert not rules.unwanted(broken, {}), broken


def test_only_events_another_queue_takes_too_are_skipped() -> None:
    """An event whose only consumer is this queue (a consent change) is parsed whoever
    subscribes, so a malformed one is dead-lettered here; the skipped ones (booked facts, accounts
    opened) are taken by another queue, which dead-letters them if malformed."""
    assert {TransactionsBooked.type(), AccountOpened.type()} == rules.SKIPPABLE
    consent = booked(B) | {"type": ConsentChanged.type()}
    assert not rules.unwanted(consent, {})
    for source in rules.SKIPPABLE:
        key = source.removeprefix(TYPE_PREFIX)
        takers = [q.name for q in QUEUES.values() if key in q.routing_keys]
        assert set(takers) - {QUEUES["notifications.webhooks"].name}, (key, takers)


class FakePool:
    """The subscriptions' table as the view reads it; ``gate`` holds a read in the middle."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.reads = 0
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def fetch(self, sql: str) -> list[dict[str, Any]]:
        assert "deleted_at IS NULL" in sql
        self.reads += 1
        if self.fail:
            raise OSError("database away")
        rows = list(self.rows)
        if self.gate is not None:
            await self.gate.wait()
        return rows


def subscribed(pool: FakePool, network: uuid.UUID, *types: str) -> None:
    pool.rows.append({"association_id": network, "event_types": list(types)})


async def test_the_view_is_read_again_after_its_freshness_or_a_change_here() -> None:
    pool = FakePool()
    view = LiveNetworks(lambda: pool, fresh_s=0.3)
    assert await view.skips([booked(A), booked(B)]) == [True, True]
    subscribed(pool, A, "sale.booked")  # at another replica: this one does not know yet
    assert await view.skips([booked(A)]) == [True]
    assert pool.reads == 1
    await asyncio.sleep(0.35)  # past the freshness: read again, A is heard of
    assert await view.skips([booked(A), booked(B)]) == [False, True]
    assert pool.reads == 2

    subscribed(pool, B, "redemption.booked")  # here: invalidated at once
    view.invalidate()
    assert await view.skips([booked(B)]) == [False]
    assert pool.reads == 3


async def test_a_change_during_a_read_makes_the_next_use_read_again() -> None:
    pool = FakePool()
    view = LiveNetworks(lambda: pool, fresh_s=60)
    pool.gate = asyncio.Event()
    reading = asyncio.create_task(view.skips([booked(A)]))
    await asyncio.sleep(0.01)  # the read has its rows, without A
    subscribed(pool, A, "sale.booked")
    view.invalidate()
    pool.gate.set()
    assert await reading == [True]  # taken before the subscription was
    pool.gate = None
    assert await view.skips([booked(A)]) == [False]
    assert pool.reads == 2


async def test_an_unreadable_view_skips_nothing() -> None:
    pool = FakePool()
    view = LiveNetworks(lambda: pool, fresh_s=60)
    pool.fail = True
    assert await view.skips([booked(A), booked(B)]) == [False, False]
    pool.fail = False
    assert await view.skips([booked(A), booked(B)]) == [True, True]
