"""The statistics' reading of crm's events: each event read into the facts the statistics
count, called by crm.events' handlers (entrypoints/consumers.py) in the transaction that
records the visits, so that a booked fact is parsed, taken into the inbox and committed once
for both; the roll-up (jobs.py) adds the facts to the sums (docs/statistics.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.crm.domain.statistics import Line
from services.crm.service import statistics as service
from shared.contracts import (
    AccountOpened,
    AnonymousSaleRecorded,
    RewardReversed,
    TransactionsBooked,
)
from shared.events import Event


async def on_booked(
    conn: asyncpg.Connection, events: list[Event[TransactionsBooked]]
) -> Sequence[Event[Any]]:
    """A redemption of rewards (stored value spent is no reward). A member's sale is its visit
    (consumers.on_booked): the statement that writes the visit names it for the roll-up."""
    await service.record(
        conn,
        (
            Line(
                "redemption",
                t.transaction_id,
                d.association_id,
                d.merchant_id,
                d.shop_id,
                t.account_id,
                t.occurred_at,
                t.amount_cents,
                0,
                t.product_family,
            )
            for d in (e.data for e in events)
            for t in d.transactions
            if t.kind != "sale" and t.purse == "cagnotte"
        ),
    )
    return []


async def on_reversed(
    conn: asyncpg.Connection, events: list[Event[RewardReversed]]
) -> Sequence[Event[Any]]:
    """Goods returned (the return's day) or a sale cancelled (taken out of the sale's day)."""
    await service.record(
        conn,
        (
            Line(
                "return" if d.reason == "returned" else "cancellation",
                d.return_id,
                d.association_id,
                d.merchant_id,
                d.shop_id,
                d.account_id,
                d.occurred_at,
                d.amount_cents,
                d.reward_cents,
                None,
                d.sale_id,
            )
            for d in (e.data for e in events)
        ),
    )
    return []


async def on_anonymous(
    conn: asyncpg.Connection, events: list[Event[AnonymousSaleRecorded]]
) -> Sequence[Event[Any]]:
    """A sale the till recorded without a member."""
    await service.record(
        conn,
        (
            Line(
                "anonymous_sale",
                d.sale_id,
                d.association_id,
                d.merchant_id,
                d.shop_id,
                None,
                d.occurred_at,
                d.amount_cents,
                0,
                d.product_family,
            )
            for d in (e.data for e in events)
        ),
    )
    return []


async def on_opened(
    conn: asyncpg.Connection, events: list[Event[AccountOpened]]
) -> Sequence[Event[Any]]:
    """An account opened: an enrolment of its association (and merchant), on its day; not
    again if the statistics' former queue counted it already (an enrolment has no key of its
    own in the aggregates, the inbox was its only guard)."""
    await service.enrolled(
        conn,
        [(e.id, e.data.association_id, e.data.merchant_id, e.data.opened_at) for e in events],
    )
    return []
