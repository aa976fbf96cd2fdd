"""Periods: closing one (and every open one before it), the closes of an association, and
the adjustments that correct a closed period from the open one."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field, model_validator

from services.clearing.adapters import books, journal
from services.clearing.domain.periods import parse_period, period_label
from services.clearing.entrypoints.http.common import PERIOD, authorise_merchant, period
from services.clearing.entrypoints.http.settlements import SettlementOut, settlement_out
from services.clearing.service import closing
from shared.access import Need
from shared.access_http import authorise
from shared.fields import Name, Text
from shared.http import In, Problem, json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class CloseIn(In):
    # Before issue 15 the body named who closed; the close now records the signed-in person.
    actor: Name | None = Field(
        default=None, deprecated=True, description="ignored: the signed-in person closes"
    )


class ClosedOut(BaseModel):
    association_id: UUID
    periods: list[str] = Field(description="the periods closed: this one and any open before")
    statements: int
    partner_shares: int
    settlement: SettlementOut


@routes.route(
    "POST",
    "/v1/associations/{association_id}/periods/{period:" + PERIOD + "}/close",
    summary="Close a period: freeze its statements, book the partners' shares, settle",
    body=CloseIn,
    returns=ClosedOut,
    status=201,
    tag="periods",
)
async def close_period(request: web.Request) -> web.Response:
    """Closes the period and every open one before it, back to the month the association's
    books start (its first entry's, or its first merchant's before any; 409 for a period
    before that), at most 24 months at once (409 ``close_range_too_long`` beyond: close an
    earlier month first). After the close nothing is booked in it: a late sale goes to the open
    period with its date, a correction is an adjustment. One statement per merchant is
    handed to notifications (MonthlyStatementReady)."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    who = authorise(request, Need.ASSOCIATION, aid)
    p = period(request)
    await read_model(request, CloseIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        done = await closing.close(conn, aid, p, who.actor, closing.utcnow())
        row = await books.settlement(conn, aid, p)
    assert row is not None  # the close wrote it
    out = {
        "association_id": str(aid),
        "periods": [period_label(m) for m in done.periods],
        "statements": done.statements,
        "partner_shares": done.partner_shares,
        "settlement": settlement_out(row),
    }
    return json_response(out, 201)


class CloseOut(BaseModel):
    period: str
    closed_at: datetime
    closed_by: str
    statements: int
    settlement_status: str | None


class PeriodsOut(BaseModel):
    association_id: UUID
    closed_through: str | None = Field(description="the last closed period")
    open_from: str | None = Field(description="the first open period with entries")
    closes: list[CloseOut]


@routes.route(
    "GET",
    "/v1/associations/{association_id}/periods",
    summary="The closed periods of an association and where the open ones start",
    returns=PeriodsOut,
    tag="periods",
)
async def periods(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    async with rt.pool.acquire() as conn:
        closed = await books.closed_through(conn, aid)
        first = await books.first_open(conn, aid)
        rows = await books.closes(conn, aid)
    closes = [
        {
            "period": period_label(r["period"]),
            "closed_at": r["closed_at"].isoformat(),
            "closed_by": r["closed_by"],
            "statements": r["n"],
            "settlement_status": r["status"],
        }
        for r in rows
    ]
    return json_response(
        {
            "association_id": str(aid),
            "closed_through": period_label(closed) if closed else None,
            "open_from": period_label(first) if first else None,
            "closes": closes,
        }
    )


class AdjustmentIn(In):
    adjustment_id: UUID = Field(description="chosen by the caller: a retry answers the same")
    period: str = Field(pattern=f"^{PERIOD}$", description="the closed period it corrects")
    amount_cents: int = Field(
        ge=-1_000_000_000, le=1_000_000_000, description="> 0: the merchant owes more"
    )
    reason: Text
    # As for a close: the adjustment records the signed-in person, not this.
    actor: Name | None = Field(
        default=None, deprecated=True, description="ignored: the signed-in person adjusts"
    )

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentIn:
        if self.amount_cents == 0:
            raise ValueError("an adjustment of 0 cents corrects nothing")
        return self


class AdjustmentOut(BaseModel):
    adjustment_id: UUID
    association_id: UUID
    merchant_id: UUID
    adjusts_period: str
    booked_in_period: str
    amount_cents: int
    reason: str


@routes.route(
    "POST",
    "/v1/merchants/{merchant_id}/adjustments",
    summary="Correct a merchant's closed period by an entry in the open one",
    body=AdjustmentIn,
    returns=AdjustmentOut,
    status=201,
    also=(200,),
    tag="periods",
)
async def adjust(request: web.Request) -> web.Response:
    """The only way to correct a closed period: an entry booked in the first open period,
    against the association's adjustments account, shown on that period's statement with the
    period it corrects. The same `adjustment_id` again answers 200; with other terms, 409."""
    rt = back_office(request)
    aid, mid, who = await authorise_merchant(request, Need.ASSOCIATION)
    body = await read_model(request, AdjustmentIn)
    adjusts = parse_period(body.period)
    async with rt.pool.acquire() as conn, conn.transaction():
        e, new = await closing.adjust(
            conn, aid, mid, body.adjustment_id, adjusts, body.amount_cents, body.reason,
            who.actor, closing.utcnow(),
        )  # fmt: skip
        row = await journal.merchant_adjustment(conn, body.adjustment_id)
    assert row is not None
    terms = (row["merchant_id"], row["adjusts_period"], row["merchant_cents"], row["note"])
    if terms != (mid, adjusts, body.amount_cents, e.note):
        raise Problem(
            409,
            "Adjustment id reused",
            f"adjustment {body.adjustment_id} was booked with other terms",
        )
    out = {
        "adjustment_id": str(body.adjustment_id),
        "association_id": str(aid),
        "merchant_id": str(mid),
        "adjusts_period": body.period,
        "booked_in_period": period_label(row["period"]),
        "amount_cents": body.amount_cents,
        "reason": body.reason,
    }
    return json_response(out, 201 if new else 200)
