"""The customer file's rules, pure: what a visit is, which visits count once, and how visits
add up into the counters of a customer and of a customer at one merchant. No I/O here: the
use cases (service.py) feed these functions and hand their results to the adapters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, TypeVar
from uuid import UUID

K = TypeVar("K")


class Visit(NamedTuple):
    """One sale of a customer at a merchant: a row of the visit history, and the sale's line
    in the statistics (the reward it granted)."""

    sale_id: UUID
    account_id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    amount_cents: int
    product_family: str | None
    occurred_at: datetime
    reward_cents: int


class Cancellation(NamedTuple):
    """A cancelled sale (F16): its visit leaves the counters. A whole cancellation carries the
    sale's amount, so it can leave a placeholder visit when it arrives before the sale."""

    sale_id: UUID
    account_id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    amount_cents: int
    occurred_at: datetime


class Counted(NamedTuple):
    """A visit as the counters see it: who, where, how much, when."""

    account_id: UUID
    association_id: UUID
    merchant_id: UUID
    amount_cents: int
    occurred_at: datetime


class Enrolment(NamedTuple):
    """A customer file opened (or its details replaced) by an account's opening."""

    account_id: UUID
    association_id: UUID
    phone: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    enrolled_at: datetime
    enrolled_by_merchant: UUID | None
    title: str | None = None


class CustomerCard(NamedTuple):
    """A card of a customer, for the statements' detail lines; a replacement names the card
    it replaces."""

    card_number: str
    account_id: UUID
    issued_at: datetime
    replaces: str | None


@dataclass(slots=True)
class Tally:
    visits: int
    spent_cents: int
    first_at: datetime
    last_at: datetime

    def add(self, cents: int, at: datetime) -> None:
        self.visits += 1
        self.spent_cents += cents
        self.first_at = min(self.first_at, at)
        self.last_at = max(self.last_at, at)


def tally(visits: list[tuple[K, int, datetime]]) -> dict[K, Tally]:
    """Sum (key, amount, time) visits per key: one upsert per customer per batch."""
    out: dict[K, Tally] = {}
    for key, cents, at in visits:
        t = out.get(key)
        if t is None:
            out[key] = Tally(1, cents, at, at)
        else:
            t.add(cents, at)
    return out


def one_per_sale(visits: Iterable[Visit]) -> list[Visit]:
    """One visit per sale, the first seen: the same sale twice in a batch (re-sent under
    another event id) would make the upsert touch its row twice. Sorted by sale: the lock order
    of concurrent batches (by ``UUID.int``: the UUIDs' own order, compared in C rather than by
    ``UUID.__lt__``, a measurable part of crm's CPU on the sync storm)."""
    first: dict[UUID, Visit] = {}
    for v in visits:
        first.setdefault(v.sale_id, v)
    return sorted(first.values(), key=lambda v: v.sale_id.int)


def one_per_cancelled_sale(cancellations: Iterable[Cancellation]) -> list[Cancellation]:
    """As ``one_per_sale``, for cancellations."""
    first: dict[UUID, Cancellation] = {}
    for c in cancellations:
        first.setdefault(c.sale_id, c)
    return sorted(first.values(), key=lambda c: c.sale_id.int)


def counted(visits: Iterable[Visit]) -> list[Counted]:
    return [
        Counted(v.account_id, v.association_id, v.merchant_id, v.amount_cents, v.occurred_at)
        for v in visits
    ]


def by_customer(visits: Iterable[Counted]) -> list[tuple[UUID, UUID, Tally]]:
    """(account, association, tally) per customer, in account order: the order every batch
    takes the row locks in, so two batches cannot deadlock."""
    tallies = tally(
        [((c.account_id, c.association_id), c.amount_cents, c.occurred_at) for c in visits]
    )
    return [(a, assoc, t) for (a, assoc), t in sorted(tallies.items(), key=lambda kv: kv[0][0].int)]


def by_merchant(visits: Iterable[Counted]) -> list[tuple[UUID, UUID, Tally]]:
    """(account, merchant, tally) per customer at a merchant, in (account, merchant) order."""
    tallies = tally(
        [((c.account_id, c.merchant_id), c.amount_cents, c.occurred_at) for c in visits]
    )
    return [
        (a, m, t)
        for (a, m), t in sorted(tallies.items(), key=lambda kv: (kv[0][0].int, kv[0][1].int))
    ]
