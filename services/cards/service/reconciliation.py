"""Reconciliation of offline journals: every card transaction the gateway acknowledged is booked
or held in quarantine by cards (issue 11, finding 12: a chunk acknowledged and then lost).

The gateway counts per terminal the journal lines it committed (its sync registry's
``committed_total``); cards counts per terminal what it booked and what it holds. The gateway is
read first: a line it acknowledged before that may still be on its way to cards, so cards is
read again until it has caught up or ``settle_s`` has passed. A terminal cards still lacks lines
of is red, and so is one with more lines in cards than the gateway acknowledged.
Exposed as ``GET /v1/card-transactions/reconciliation`` (clearing's reconciliation asks it) and
as the gauge ``comptoir_card_lines_unaccounted``.
"""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from pydantic import BaseModel, Field

from services.cards.adapters import gateway
from services.cards.adapters import quarantine as quarantine_rows
from shared import metrics
from shared.service import Runtime

SETTLE_S = 5.0


class TerminalLines(BaseModel):
    terminal_id: UUID
    association_id: UUID
    acknowledged: int = Field(description="lines the gateway committed")
    booked: int
    held: int = Field(description="held or rejected in quarantine")


class LinesCheck(BaseModel):
    ok: bool
    acknowledged: int
    booked: int
    held: int
    unaccounted: int = Field(description="acknowledged lines neither booked nor held")
    differences: list[TerminalLines] = Field(description="the terminals that differ")


class LinesQuery(BaseModel):
    association_id: UUID | None = None
    settle_s: float = Field(default=SETTLE_S, ge=0, le=15)


async def check(
    rt: Runtime, association_id: UUID | None = None, settle_s: float = SETTLE_S
) -> LinesCheck:
    acked = [a for a in await gateway.acknowledged(rt) if association_id in (None, a[1])]
    wanted = [t for t, _, _ in acked]
    deadline = time.monotonic() + settle_s
    while True:
        async with rt.pool.acquire() as conn:
            counts = await quarantine_rows.accounted(conn, wanted)
        rows = [
            TerminalLines(
                terminal_id=t,
                association_id=a,
                acknowledged=n,
                booked=counts.get(t, (0, 0))[0],
                held=counts.get(t, (0, 0))[1],
            )
            for t, a, n in acked
        ]
        differences = [r for r in rows if r.booked + r.held != r.acknowledged]
        # Only lines still on their way are worth waiting for.
        behind = any(r.booked + r.held < r.acknowledged for r in differences)
        if not behind or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.25)
    unaccounted = sum(max(r.acknowledged - r.booked - r.held, 0) for r in rows)
    if association_id is None:
        metrics.card_lines_unaccounted.set(unaccounted)
    return LinesCheck(
        ok=not differences,
        acknowledged=sum(r.acknowledged for r in rows),
        booked=sum(r.booked for r in rows),
        held=sum(r.held for r in rows),
        unaccounted=unaccounted,
        differences=differences,
    )
