"""Back-office routes of the quarantine of offline card transactions (service/quarantine.py):
list an association's held lines, approve one (booked then, like any offline transaction) or
reject it (nothing booked; the card blocked when it is at fault), and count per terminal what
cards booked and holds, for the reconciliation "every line the gateway acknowledged is booked or
held" (service/reconciliation.py)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field, StringConstraints

from services.cards.adapters import scopes
from services.cards.domain.card_checks import AnomalyKind
from services.cards.service import quarantine, quarantine_decisions
from services.cards.service.quarantine_decisions import problem
from shared.access import Need
from shared.access_http import authorise
from shared.db.query import as_model
from shared.http import json_response, parse_model, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
MAX_ID = 2**63 - 1
Status = Literal["held", "approved", "rejected"]
Why = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=1000)]


class QuarantineQuery(BaseModel):
    status: Status | None = None
    reason: AnomalyKind | None = None
    terminal_id: UUID | None = None
    before: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="only lines with a smaller id (paging)"
    )
    limit: int = Field(default=100, ge=1, le=1000)


class HeldLine(BaseModel):
    id: int
    transaction_id: UUID = Field(description="card_transaction_id(terminal, seq)")
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    terminal_id: UUID
    seq: int
    chunk_id: UUID
    params_version: int | None
    card_number: str
    atc: int
    kind: str
    amount_cents: int
    occurred_at: str = Field(description="as the terminal sent it")
    reasons: list[AnomalyKind]
    detail: str
    line: dict[str, Any] = Field(description="the journal line as the terminal sent it")
    status: Status
    held_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    card_blocked: bool | None
    card_claims: dict[str, Any] | None = Field(description="at a rejection: the card's balances")
    server_holds: dict[str, Any] | None = Field(description="at a rejection: the server's")


class QuarantinePage(BaseModel):
    lines: list[HeldLine] = Field(description="newest first")
    next: int | None = Field(description="more follow: ask again with before=next")


class ApproveIn(BaseModel):
    """Who approves is the signed-in person, recorded as ``decided_by``."""

    reason: Why = Field(description="why it may be booked (at least 5 characters)")


class RejectIn(BaseModel):
    """Who rejects is the signed-in person, recorded as ``decided_by``."""

    reason: Why = Field(description="why (at least 5 characters)")
    card_at_fault: bool = Field(
        description="the card is at fault (forged, cloned): it is blocked and blacklisted"
    )


def _line(row: asyncpg.Record) -> HeldLine:
    return as_model(HeldLine, row)


@routes.route(
    "GET",
    "/v1/associations/{association_id}/card-quarantine",
    summary="The offline card transactions of an association held in quarantine",
    query=QuarantineQuery,
    returns=QuarantinePage,
    tag="cards",
)
async def list_quarantine(request: web.Request) -> web.Response:
    """Newest first, filtered by status, reason and terminal. A held line is not booked: its
    money is in no balance, no clearing entry and no settlement file until it is approved."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, association_id)
    q = read_query(request, QuarantineQuery)
    rows = await quarantine.lines(
        rt.pool, association_id, q.status, q.reason, q.terminal_id, q.before, q.limit
    )
    lines = [_line(r) for r in rows]
    more = len(lines) == q.limit
    return json_response(QuarantinePage(lines=lines, next=lines[-1].id if more else None))


def _qid(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not 1 <= int(raw) <= MAX_ID:
        raise problem(400, "Invalid id", f"{raw!r} is not a quarantine id", "invalid_id")
    return int(raw)


@routes.route(
    "POST",
    "/v1/card-quarantine/{id}/approve",
    summary="Book a quarantined offline card transaction, with who and why",
    body=ApproveIn,
    returns=HeldLine,
    tag="cards",
)
async def approve(request: web.Request) -> web.Response:
    """Booked as the chunk would have booked it (the card's deltas to its account, one
    ``TransactionsBooked`` for clearing and crm). Refused (409) when its card is unknown,
    its (card, ATC) is already booked (a clone's line), or the line cannot be read."""
    rt = back_office(request)
    qid = _qid(request)
    p = authorise(request, Need.ASSOCIATION, await scopes.quarantined(rt.pool, qid))
    body = parse_model(await request.read(), ApproveIn)
    done = await quarantine_decisions.approve(rt.pool, qid, p.actor, body.reason)
    return json_response(_line(done))


@routes.route(
    "POST",
    "/v1/card-quarantine/{id}/reject",
    summary="Refuse a quarantined offline card transaction for good",
    body=RejectIn,
    returns=HeldLine,
    tag="cards",
)
async def reject(request: web.Request) -> web.Response:
    """Nothing is booked and the server's account stays as it was; what the card claims after
    this line and what the server holds are recorded. ``card_at_fault`` blocks the card."""
    rt = back_office(request)
    qid = _qid(request)
    p = authorise(request, Need.ASSOCIATION, await scopes.quarantined(rt.pool, qid))
    body = parse_model(await request.read(), RejectIn)
    done = await quarantine_decisions.reject(rt.pool, qid, p.actor, body.reason, body.card_at_fault)
    return json_response(_line(done))


class AccountedQuery(BaseModel):
    terminal_id: UUID | None = Field(default=None, description="one terminal (default: all)")


class TerminalAccounted(BaseModel):
    terminal_id: UUID
    booked: int = Field(description="lines booked (approved ones included)")
    held: int = Field(description="lines held or rejected in quarantine")


class Accounted(BaseModel):
    terminals: list[TerminalAccounted]


@routes.route(
    "GET",
    "/v1/card-transactions/accounted",
    summary="Per terminal, the offline lines cards booked and those it holds",
    query=AccountedQuery,
    returns=Accounted,
    tag="cards",
)
async def accounted(request: web.Request) -> web.Response:
    """What the gateway acknowledged must be one or the other, once the chunks are handled."""
    rt = back_office(request)
    authorise(request, Need.OPERATOR)  # every association's terminals
    q = read_query(request, AccountedQuery)
    counts = await quarantine.accounted(rt.pool, [q.terminal_id] if q.terminal_id else None)
    return json_response(
        Accounted(
            terminals=[
                TerminalAccounted(terminal_id=t, booked=b, held=h)
                for t, (b, h) in sorted(counts.items())
            ]
        )
    )
