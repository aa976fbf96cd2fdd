"""The partner associations of F19 (a sports club, a parents' association), as clearing
registers them (``PartnerRegistered``): cards keeps who they are, of which association, and
whether they take donations now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.cards.adapters import partners as db
from services.cards.domain.partners import newest
from shared.contracts import PartnerRegistered
from shared.events import Event


async def on_partners(
    conn: asyncpg.Connection, events: list[Event[PartnerRegistered]]
) -> Sequence[Event[Any]]:
    """Upsert each partner. The newest event wins, by its time: an older one redelivered
    later changes nothing (the inbox already drops the very same event seen twice)."""
    rows = [
        (e.data.partner_id, e.data.association_id, e.data.partner_name, e.data.active, e.time)
        for e in newest(events)
    ]
    await db.upsert_partners(conn, rows)
    return []
