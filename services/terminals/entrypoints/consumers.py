"""The gateway's event handlers: the cards service's verdicts on the terminals' requests, and
its copies of the blacklist and of the terminals' parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from services.terminals.adapters import requests as request_store
from services.terminals.adapters import terminals as terminal_store
from services.terminals.domain.outcomes import OUTCOMES, Decision, decide
from services.terminals.service.requests import Gateway
from shared.contracts import BlacklistChanged, CustomerErased, TerminalParametersPublished
from shared.events import Event


class Decided:
    """Each verdict's decision, made once: the handler stores it on its request in the batch's
    transaction, and after the commit the same decision wakes the waiting request. Made in both
    places it was two answer models built and dumped a sale (docs/benchmarks.md). A decision is
    a function of its event alone, so one kept by event id is the one that would be made again;
    bounded, since a batch whose commit failed leaves its decisions until they are pushed out
    (a redelivery makes them again)."""

    def __init__(self, size: int = 8192) -> None:
        self._kept: dict[str, Decision | None] = {}
        self._size = size

    def made(self, event: Event[Any]) -> Decision | None:
        """The decision of an event being handled, kept for its commit."""
        d = self._kept[event.id] = decide(event)
        while len(self._kept) > self._size:
            del self._kept[next(iter(self._kept))]
        return d

    def committed(self, event: Event[Any]) -> Decision | None:
        """The decision of an event committed, made again only if it was not kept."""
        if event.id in self._kept:
            return self._kept.pop(event.id)
        return decide(event)


DECIDED = Decided()


async def record(conn: asyncpg.Connection, events: list[Event[Any]]) -> list[Decision]:
    """Store the answers on their requests (first verdict wins); return those that applied."""
    decisions = [d for d in map(DECIDED.made, events) if d is not None]
    if not decisions:
        return []
    applied = await request_store.record_outcomes(conn, decisions)
    return [d for d in decisions if d.request_id in applied]


async def on_outcomes(conn: asyncpg.Connection, events: list[Event[Any]]) -> Sequence[Event[Any]]:
    await record(conn, events)
    return []


async def on_blacklist(
    conn: asyncpg.Connection, events: list[Event[BlacklistChanged]]
) -> Sequence[Event[Any]]:
    """Keep the gateway's copy of the blacklist (versions are unique: a redelivery is a no-op)."""
    data = sorted((e.data for e in events), key=lambda d: d.blacklist_version)
    await terminal_store.add_blacklist(conn, data)
    return []


async def on_parameters(
    conn: asyncpg.Connection, events: list[Event[TerminalParametersPublished]]
) -> Sequence[Event[Any]]:
    """Keep the newest document per merchant: an older or repeated one changes nothing."""
    newest: dict[Any, TerminalParametersPublished] = {}
    for e in events:
        d = e.data
        if d.merchant_id not in newest or d.rules_version > newest[d.merchant_id].rules_version:
            newest[d.merchant_id] = d
    await terminal_store.keep_parameters(conn, list(newest.values()))
    return []


def wake(gateway: Callable[[], Gateway | None]) -> Callable[[list[Event[Any]]], None]:
    """After a batch of verdicts commits: the requests waiting for them get their answer."""

    def after_commit(events: list[Event[Any]]) -> None:
        gw = gateway()
        if gw is not None:
            decisions = (DECIDED.committed(e) for e in events if isinstance(e.data, OUTCOMES))
            gw.waiters.resolve((d.request_id, d.http_status, d.body) for d in decisions if d)

    return after_commit


async def on_erased(
    conn: asyncpg.Connection, events: list[Event[CustomerErased]]
) -> Sequence[Event[Any]]:
    """crm erased a customer (GDPR): the answers kept for the terminals' retries forget the
    phone."""
    for d in sorted((e.data for e in events), key=lambda d: d.account_id):
        await request_store.pseudonymise_enrolments(conn, d.account_id, d.pseudonym)
    return []
