"""Publishing the parameters of every merchant's offline terminals (``TerminalParametersPublished``)
when ``rules_version`` moves, and once at start; the gateway keeps the newest per merchant.

A background task looks at ``rules_version`` every second (one cheap query); when it moved it
builds every merchant's parameters from the rules snapshot and publishes, through the outbox
in one transaction, those whose content changed (a new association's rates change nothing for
the merchants of the others). At start every merchant is published: a gateway that lost one
gets it back.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.cards.adapters import parameters
from services.cards.adapters.rulebooks import BOOKS
from services.cards.domain.rulebooks import from_snapshot
from services.cards.service import levels
from services.cards.service.common import SOURCE
from shared import outbox
from shared.contracts import TerminalParametersPublished
from shared.events import Event, new_event


async def publish(conn: asyncpg.Connection, force: bool = False) -> int:
    """Publish the merchants' parameters that changed since they were last published (every
    merchant's with ``force``); the number of events written. Runs its own transaction."""
    async with conn.transaction():
        version, checked = await parameters.versions(conn)
        if not force and checked == version:
            return 0
        await parameters.lock(conn)
        snap = await BOOKS.current(conn)
        last = await parameters.digests(conn)
        dormancy = await parameters.dormancy(conn)
        levels_of = await levels.for_parameters(conn)
        events: list[Event[TerminalParametersPublished]] = []
        rows: list[tuple[UUID, int, bytes]] = []
        history: list[tuple[UUID, int, dict[str, Any]]] = []
        for mid in sorted(snap.merchants):
            params = from_snapshot(snap, mid)
            # The dormancy period travels with the rules, so that a terminal refuses a dormant
            # card offline as the server does online (finding 10).
            # And the status levels, with the cards holding one (issue 14): the terminal gives
            # them the rate the server gives online.
            held, cards = levels_of(params.association_id, mid)
            params = params.model_copy(
                update={
                    "dormant_after_days": dormancy.get(params.association_id),
                    "levels": held,
                    "card_levels": cards,
                }
            )
            document = params.to_json()
            content = {k: v for k, v in document.items() if k != "rules_version"}
            digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).digest()
            if not force and last.get(mid) == digest:
                continue
            rows.append((mid, snap.version, digest))
            history.append((mid, snap.version, document))
            events.append(
                new_event(
                    SOURCE,
                    TerminalParametersPublished(
                        merchant_id=mid,
                        association_id=params.association_id,
                        rules_version=snap.version,
                        document=document,
                    ),
                    subject=f"merchant/{mid}",
                )
            )
        await parameters.published(conn, rows, history, snap.version)
        await outbox.write(conn, events)
        return len(events)
