"""Which networks' events the webhooks' queue may skip unparsed: a view, in the process, of the
live subscriptions' networks and event types, read from the database again at most
``FRESH_S`` after the last read, and at once after this process created or deleted a
subscription (docs/webhooks.md, "From when"). Every booked sale passes through the queue
and most networks subscribe to nothing: without the view each sale was validated whole, given
an inbox row and a transaction for no delivery (issue 12/13's CPU per sale).

A subscription created on another replica is therefore heard of here within ``FRESH_S`` (plus
the read's own time). The view only decides what is skipped: an event it lets through goes the
full way, which reads the live subscriptions in its transaction, so a subscription deleted
elsewhere but still in the view here costs a parse, never a delivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from services.notifications.adapters import webhooks as store
from services.notifications.domain import webhooks as rules
from shared import logging as log

FRESH_S = 1.0


class LiveNetworks:
    def __init__(self, pool: Callable[[], asyncpg.Pool], fresh_s: float = FRESH_S) -> None:
        self._pool = pool  # the running service's, read when needed (made after this)
        self._fresh_s = fresh_s
        self._wanting: dict[str, frozenset[str]] = {}
        self._until = 0.0  # time.monotonic(): the view is read again from then on
        self._generation = 0
        self._lock = asyncio.Lock()
        self._log = log.get("webhooks")

    def invalidate(self) -> None:
        """A subscription was created or deleted here: read the view again before next use."""
        self._generation += 1
        self._until = 0.0

    async def skips(self, raws: list[Any]) -> list[bool]:
        """shared.consumer.Prefilter: True for each event no live subscription can want."""
        if time.monotonic() >= self._until:
            try:
                await self._read()
            except Exception as exc:  # the database away: skip nothing, the full path copes
                self._log.warning("webhook_networks_unread", error=repr(exc))
                return [False] * len(raws)
        wanting = self._wanting
        return [rules.unwanted(raw, wanting) for raw in raws]

    async def _read(self) -> None:
        async with self._lock:
            if time.monotonic() < self._until:
                return  # read by another message meanwhile
            generation, started = self._generation, time.monotonic()
            wanting: dict[str, frozenset[str]] = {}
            for network, types in await store.live_types(self._pool()):
                key = str(network)
                wanting[key] = wanting.get(key, frozenset()) | rules.sources_of(types)
            self._wanting = wanting
            # Invalidated while reading: the read may predate the change, read again.
            if generation == self._generation:
                self._until = started + self._fresh_s
