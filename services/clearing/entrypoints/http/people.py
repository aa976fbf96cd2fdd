"""What clearing holds of a person, for crm's GDPR access answer (service token)."""

from __future__ import annotations

import orjson
from aiohttp import web

from services.clearing.service import people
from shared.access import Need
from shared.access_http import authorise
from shared.http import uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


@routes.route(
    "GET",
    "/v1/accounts/{account_id}/personal-data",
    summary="A cardholder's names and journal lines (GDPR access, gathered by crm)",
    tag="people",
)
async def personal_data(request: web.Request) -> web.Response:
    rt = back_office(request)
    authorise(request, Need.OPERATOR)  # an internal route: crm gathers with the service token
    held = await people.held(rt.pool, uuid_param(request, "account_id"))
    return web.Response(body=orjson.dumps(held, default=str), content_type="application/json")
