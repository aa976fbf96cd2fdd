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

import aiohttp
from aiohttp import web
from pydantic import BaseModel, Field

from services.cards import quarantine
from services.cards.web import api
from shared import metrics
from shared.http import Problem, json_response, read_query
from shared.service import Runtime, back_office

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


async def _acknowledged(rt: Runtime) -> list[tuple[UUID, UUID, int]]:
    """(terminal, association, committed lines) of every terminal the gateway knows."""
    timeout = aiohttp.ClientTimeout(total=30)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(
            f"{rt.settings.terminals_url}/v1/sync/registry",
            headers={"Authorization": f"Bearer {rt.settings.admin_token}"},
        ) as r,
    ):
        r.raise_for_status()
        entries = await r.json()
    return [
        (UUID(e["terminal_id"]), UUID(e["association_id"]), int(e["committed_total"]))
        for e in entries
    ]


async def check(
    rt: Runtime, association_id: UUID | None = None, settle_s: float = SETTLE_S
) -> LinesCheck:
    acked = [a for a in await _acknowledged(rt) if association_id in (None, a[1])]
    wanted = [t for t, _, _ in acked]
    deadline = time.monotonic() + settle_s
    while True:
        async with rt.pool.acquire() as conn:
            counts = await quarantine.accounted(conn, wanted)
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


@api.route(
    "GET",
    "/v1/card-transactions/reconciliation",
    summary="Every offline line the gateway acknowledged is booked or held in quarantine",
    query=LinesQuery,
    returns=LinesCheck,
    tag="cards",
)
async def reconcile_lines(request: web.Request) -> web.Response:
    """Compares per terminal the gateway's committed lines with what cards booked or holds,
    waiting up to ``settle_s`` for lines still on their way; 502 if the gateway cannot say."""
    rt = back_office(request)
    q = read_query(request, LinesQuery)
    try:
        result = await check(rt, q.association_id, q.settle_s)
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
        raise Problem(
            502, "The gateway did not answer", repr(exc)[:300], reason="gateway_unavailable"
        ) from exc
    return json_response(result)
