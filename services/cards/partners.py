"""The partner associations of F19 (a sports club, a parents' association), as clearing
registers them (``PartnerRegistered``): cards keeps who they are, of which association, and
whether they take donations now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from shared.contracts import PartnerRegistered
from shared.events import Event


async def on_partners(
    conn: asyncpg.Connection, events: list[Event[PartnerRegistered]]
) -> Sequence[Event[Any]]:
    """Upsert each partner. The newest event wins, by its time: an older one redelivered
    later changes nothing (the inbox already drops the very same event seen twice)."""
    latest: dict[UUID, Event[PartnerRegistered]] = {}
    for e in events:
        seen = latest.get(e.data.partner_id)
        if seen is None or e.time >= seen.time:
            latest[e.data.partner_id] = e
    if not latest:
        return []
    newest = [latest[k] for k in sorted(latest)]  # one lock order for concurrent batches
    await conn.execute(
        """INSERT INTO partners (partner_id, association_id, partner_name, active, updated_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::boolean[],
                                $5::timestamptz[])
           ON CONFLICT (partner_id) DO UPDATE SET association_id = excluded.association_id,
               partner_name = excluded.partner_name, active = excluded.active,
               updated_at = excluded.updated_at
           WHERE partners.updated_at <= excluded.updated_at""",
        [e.data.partner_id for e in newest],
        [e.data.association_id for e in newest],
        [e.data.partner_name for e in newest],
        [e.data.active for e in newest],
        [e.time for e in newest],
    )
    return []
