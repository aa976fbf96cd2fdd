"""Back-office routes of loads of stored value (F11) and audited adjustments (F16; the use
cases: ``service.stored_value``). Each is idempotent by an id the client chose: the same request
again answers what the first one did (200 instead of 201); the same id with other terms is a
409."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from services.cards.entrypoints.http import scoped
from services.cards.entrypoints.http.common import card_param
from services.cards.service import stored_value
from services.cards.service.money_models import (
    AdjustmentIn,
    AdjustmentList,
    AdjustmentOut,
    LoadIn,
    LoadOut,
)
from shared.access import Need
from shared.http import json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


@routes.route(
    "POST",
    "/v1/cards/{number}/loads",
    summary="Load money on a gift card, prepaid card or e-purse",
    body=LoadIn,
    returns=LoadOut,
    status=201,
    also=(200,),
    tag="stored value",
)
async def load_card(request: web.Request) -> web.Response:
    """The customer paid `merchant_id` `amount_cents`, now held on the card's stored value
    (spent later at terminals with purse `stored_value`). Only gift, prepaid and e-purse cards
    hold stored value (409 otherwise), and not a blocked or expired card (409). The same
    `load_id` again answers 200 with the first result."""
    rt = back_office(request)
    number = card_param(request)
    body = await read_model(request, LoadIn)
    # The merchant who took the customer's money: its front desk.
    await scoped.card(request, rt.pool, Need.STAFF, number, body.merchant_id)
    booked = await stored_value.load(rt.pool, number, body)
    out = LoadOut(
        load_id=body.load_id,
        card_number=number,
        account_id=booked.account_id,
        merchant_id=booked.merchant_id or body.merchant_id,
        amount_cents=booked.amount_cents,
        stored_value_cents=booked.balance_after_cents,
        occurred_at=booked.occurred_at,
    )
    return json_response(out, 201 if booked.fresh else 200)


def _adjustment_out(reference: UUID, account_id: UUID, row: Any) -> AdjustmentOut:
    return AdjustmentOut(
        adjustment_id=reference,
        account_id=account_id,
        bucket=row["bucket"],
        amount_cents=row["amount_cents"],
        balance_after_cents=row["balance_after_cents"],
        negative=row["balance_after_cents"] < 0,
        actor=row["actor"] or "",
        reason=row["note"] or "",
        occurred_at=row["occurred_at"],
    )


@routes.route(
    "POST",
    "/v1/accounts/{account_id}/adjustments",
    summary="Correct an account by an audited adjusting entry",
    body=AdjustmentIn,
    returns=AdjustmentOut,
    status=201,
    also=(200,),
    tag="adjustments",
)
async def adjust(request: web.Request) -> web.Response:
    """A signed entry on one bucket, with who made it and why; history is never edited. The
    only entry that may take a balance below zero (an account over-redeemed before a return):
    the answer says the balance after and whether it is negative. The same `adjustment_id`
    again answers 200 with the first result. The association corrects its books: the actor
    recorded is the signed-in person (the bootstrap admin token: `operator:bootstrap`)."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    p = await scoped.account(request, rt.pool, Need.ASSOCIATION, account_id)
    body = await read_model(request, AdjustmentIn)
    booked = await stored_value.adjust(rt.pool, account_id, body, p.actor)
    row = {
        "bucket": body.bucket,
        "amount_cents": booked.amount_cents,
        "balance_after_cents": booked.balance_after_cents,
        "actor": booked.actor or p.actor,
        "note": body.reason,
        "occurred_at": booked.occurred_at,
    }
    out = _adjustment_out(body.adjustment_id, account_id, row)
    return json_response(out, 201 if booked.fresh else 200)


@routes.route(
    "GET",
    "/v1/accounts/{account_id}/adjustments",
    summary="The adjustments of an account (audit trail)",
    returns=AdjustmentList,
    tag="adjustments",
)
async def list_adjustments(request: web.Request) -> web.Response:
    """Oldest first, each with who made it, why, and the bucket's balance after it."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    await scoped.account(request, rt.pool, Need.HOLDER, account_id)
    rows = await stored_value.adjustments(rt.pool, account_id)
    return json_response(
        AdjustmentList(
            account_id=account_id,
            adjustments=[_adjustment_out(r["reference_id"], account_id, r) for r in rows],
        )
    )
