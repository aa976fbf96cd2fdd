"""What clearing holds of a person, for crm's GDPR access answer (service token)."""

from __future__ import annotations

import orjson
from aiohttp import web

from services.clearing.service import people
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
    held = await people.held(rt.pool, uuid_param(request, "account_id"))
    return web.Response(body=orjson.dumps(held, default=str), content_type="application/json")
