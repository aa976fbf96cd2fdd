"""A sale without a member, signed by the terminal that recorded it: POST
/v1/anonymous-sales. It earns nothing and waits for no one: recorded with its event
(``sales.anonymous_recorded.v1``, for crm's statistics) and answered at once."""

from __future__ import annotations

from aiohttp import web

from services.terminals.domain import requests as domain
from services.terminals.domain.answers import AnonymousSaleRecorded
from services.terminals.entrypoints.http.common import SIGNED, answer, authenticated
from services.terminals.entrypoints.http.requests import occurred
from shared.events import new_event
from shared.http import parse_model
from shared.openapi import Routes

routes = Routes()


@routes.route(
    "POST",
    "/v1/anonymous-sales",
    summary="Record a sale without a member (amount, product family, time) for the statistics",
    body=domain.AnonymousSaleIn,
    returns=AnonymousSaleRecorded,
    status=201,
    admin=False,
    headers=SIGNED,
    tag="terminal",
)
async def record_anonymous_sale(request: web.Request) -> web.Response:
    body = await request.read()
    gw, t, nonce = await authenticated(request, body)
    parsed = parse_model(body, domain.AnonymousSaleIn, strict=True)
    at = domain.where(t, occurred(parsed.occurred_at, gw.dates))
    sale_id, data = domain.anonymous_sale(parsed, at)
    event = new_event("terminals", data, subject=f"anonymous_sale/{sale_id}")
    outcome = AnonymousSaleRecorded(
        sale_id=sale_id,
        status="recorded",
        amount_cents=parsed.amount_cents,
        product_family=parsed.product_family,
    ).model_dump(mode="json")
    verdict = await gw.record("anonymous_sale", sale_id, t, nonce, body, event, outcome)
    return answer(verdict, f"/v1/anonymous-sales/{sale_id}")
