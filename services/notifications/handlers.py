"""Taking over the merchants' monthly statements from clearing, as notices queued to send."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from prometheus_client import Counter

from shared.contracts import MonthlyStatementReady
from shared.events import Event

statement_notices = Counter(
    "comptoir_statement_notices_total",
    "Monthly statements taken over as notices to send (a statement re-sent is not counted again)",
)

# The contract's fields, in the table's column order (migration 0002).
FIELDS = tuple(MonthlyStatementReady.model_fields)


async def on_statement_ready(
    conn: asyncpg.Connection, events: list[Event[MonthlyStatementReady]]
) -> Sequence[Event[Any]]:
    """One notice per statement: the consumer's inbox drops a redelivered event, and the
    primary key a statement re-sent under a new event id (the first copy stays)."""
    unique: dict[Any, Event[MonthlyStatementReady]] = {}
    for e in events:
        unique.setdefault(e.data.statement_id, e)
    # Sorted: two batches carrying the same statements wait on the key in the same order.
    todo = sorted(unique.values(), key=lambda e: str(e.data.statement_id))
    rows = await conn.fetch(
        f"""INSERT INTO statement_notices (event_id, {", ".join(FIELDS)})
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                                $6::date[], $7::date[], $8::integer[], $9::bigint[],
                                $10::bigint[], $11::bigint[], $12::integer[], $13::bigint[],
                                $14::bigint[], $15::text[], $16::text[])
           ON CONFLICT (statement_id) DO NOTHING
           RETURNING statement_id""",
        [e.id for e in todo],
        *([getattr(e.data, f) for e in todo] for f in FIELDS),
    )
    if rows:
        statement_notices.inc(len(rows))
    return []
