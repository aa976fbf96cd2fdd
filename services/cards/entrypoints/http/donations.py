"""Back-office route of donations to partner associations (F19; the use case:
``service.donations``)."""

from __future__ import annotations

from aiohttp import web

from services.cards.entrypoints.http import scoped
from services.cards.service import donations
from services.cards.service.money_models import DonationIn, DonationOut
from shared.access import Need
from shared.http import json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

TAG = "partnerships"
routes = Routes()


@routes.route(
    "POST",
    "/v1/accounts/{account_id}/donations",
    summary="Give part of the available cagnotte to a partner association (F19)",
    body=DonationIn,
    returns=DonationOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def donate(request: web.Request) -> web.Response:
    """`amount_cents` leaves the account's available cagnotte for the partner (clearing owes it
    to the partner until the monthly settlement). Refused with 422 and a `reason`:
    `unknown_partner`, `partner_not_in_association`, `partner_inactive`,
    `insufficient_balance` (with `available_cents`). The same `donation_id` again answers 200
    with the first result; with other terms, 409 `id_reused`. The holder gives, or a front desk
    or the association records it: the actor is the signed-in person."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    p = await scoped.account(request, rt.pool, Need.HOLDER, account_id)
    body = await read_model(request, DonationIn)
    d = await donations.donate(rt.pool, account_id, body, rt.settings.date_window(), p.actor)
    out = DonationOut(
        donation_id=d.donation_id,
        account_id=d.account_id,
        partner_id=d.partner_id,
        amount_cents=d.amount_cents,
        balance_cents=d.balance_cents,
        occurred_at=d.occurred_at,
    )
    return json_response(out, 201 if d.fresh else 200)
