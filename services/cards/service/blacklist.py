"""The blacklist terminals download (F4): every change of a card's blocking status writes one,
in the transaction of the change, with its ``BlacklistChanged`` event. Called by the life
cycle's routes and by the offline checks (a cloned card)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from services.cards.adapters import blacklist, cards
from services.cards.domain.cards import BLOCKED, BlacklistEntry
from services.cards.service.common import event
from services.cards.service.views import BlacklistChange
from shared.contracts import BlacklistChanged
from shared.events import Event


async def change(
    conn: asyncpg.Connection,
    card: Mapping[str, Any],
    entry: BlacklistEntry,
    at: datetime,
    events: list[Event[Any]],
) -> BlacklistChange:
    """Append a change with the next version, network-wide (``card``: its number and
    association_id), and its ``BlacklistChanged`` event to ``events``."""
    row = await blacklist.append(
        conn, card["number"], card["association_id"], entry.action, entry.reason, at
    )
    done = BlacklistChange.model_validate(dict(row))
    events.append(
        event(
            BlacklistChanged(
                blacklist_version=done.version,
                card_number=done.card_number,
                association_id=done.association_id,
                action=entry.action,
                reason=entry.reason,
                changed_at=done.changed_at,
            ),
            f"card/{done.card_number}",
        )
    )
    return done


async def block_cloned(
    conn: asyncpg.Connection, numbers: list[str], now: datetime
) -> list[Event[Any]]:
    """A cloned card (or one the back office found at fault in quarantine) goes on the
    blacklist, as ``cloned``: another holds its identity (unless a blocking status put it
    there already)."""
    rows = await cards.mark_cloned(conn, numbers, now, BLOCKED)
    events: list[Event[Any]] = []
    for r in sorted(rows, key=lambda r: r["number"]):
        await change(conn, r, BlacklistEntry("add", "cloned"), now, events)
    return events


class BlacklistPage(BaseModel):
    version: int = Field(description="the network's current blacklist version")
    changes: list[BlacklistChange]
    next: int | None = Field(
        description="more changes follow: ask again with since=next; null: hold `version`"
    )


async def page(pool: asyncpg.Pool, since: int, limit: int) -> BlacklistPage:
    """The changes with a version above ``since``, in version order, at most ``limit``."""
    version, rows = await blacklist.since(pool, since, limit)
    changes = [BlacklistChange.model_validate(dict(r)) for r in rows]
    more = len(changes) == limit and changes[-1].version < version
    return BlacklistPage(
        version=version, changes=changes, next=changes[-1].version if more else None
    )
