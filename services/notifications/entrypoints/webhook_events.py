"""The events the webhooks' queue (``notifications.webhooks``) takes, each turned into the
occurrences subscribers may want (domain/webhooks.py's EVENT_TYPES) and a delivery for each
subscription that wants one. Nothing is published back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.notifications.domain import webhooks as rules
from services.notifications.service import webhooks
from services.notifications.service.webhook_networks import LiveNetworks
from shared.consumer import Prefilter
from shared.contracts import (
    AccountOpened,
    ConsentChanged,
    LevelChanged,
    MonthlyStatementReady,
    SponsorshipRewardGranted,
    SponsorshipRewardReversed,
    TransactionsBooked,
)
from shared.events import Event
from shared.service import Runtime

_VIEW = "webhook_networks"


def live_networks(rt: Runtime) -> LiveNetworks:
    """The running service's view of the networks that subscribe (one per process)."""
    view = rt.state.get(_VIEW)
    if not isinstance(view, LiveNetworks):
        view = rt.state[_VIEW] = LiveNetworks(lambda: rt.pool)
    return view


def prefilter(rt: Runtime) -> Prefilter:
    """The queue's events of a network no live subscription wants are skipped unparsed."""
    return live_networks(rt).skips


async def on_booked(
    conn: asyncpg.Connection, events: list[Event[TransactionsBooked]]
) -> Sequence[Event[Any]]:
    await webhooks.intake_of(
        conn,
        (e.data.association_id for e in events),
        lambda: (o for e in events for o in rules.from_booked(e.id, e.data)),
    )
    return []


async def on_opened(
    conn: asyncpg.Connection, events: list[Event[AccountOpened]]
) -> Sequence[Event[Any]]:
    await webhooks.intake(conn, (o for e in events for o in rules.from_opened(e.id, e.data)))
    return []


async def on_consent(
    conn: asyncpg.Connection, events: list[Event[ConsentChanged]]
) -> Sequence[Event[Any]]:
    await webhooks.intake(conn, (o for e in events for o in rules.from_consent(e.id, e.data)))
    return []


async def on_level(
    conn: asyncpg.Connection, events: list[Event[LevelChanged]]
) -> Sequence[Event[Any]]:
    await webhooks.intake(conn, (o for e in events for o in rules.from_level(e.id, e.data)))
    return []


async def on_statement(
    conn: asyncpg.Connection, events: list[Event[MonthlyStatementReady]]
) -> Sequence[Event[Any]]:
    await webhooks.intake(
        conn, (o for e in events for o in rules.from_statement(e.id, e.data, e.time))
    )
    return []


async def on_sponsorship(
    conn: asyncpg.Connection, events: list[Event[SponsorshipRewardGranted]]
) -> Sequence[Event[Any]]:
    await webhooks.intake(conn, (o for e in events for o in rules.from_sponsorship(e.id, e.data)))
    return []


async def on_sponsorship_reversal(
    conn: asyncpg.Connection, events: list[Event[SponsorshipRewardReversed]]
) -> Sequence[Event[Any]]:
    await webhooks.intake(
        conn, (o for e in events for o in rules.from_sponsorship_reversal(e.id, e.data))
    )
    return []
