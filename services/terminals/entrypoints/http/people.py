"""What the gateway keeps of a person: the answers to the enrolments of their account, kept
for the terminals' retries (GDPR access, asked by crm with the service token)."""

from __future__ import annotations

import orjson
from aiohttp import web

from services.terminals.adapters import requests as store
from shared.access import Need
from shared.access_http import authorise
from shared.http import uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


@routes.route(
    "GET",
    "/v1/people/{account_id}/enrolments",
    summary="The enrolment answers kept for an account (GDPR access, gathered by crm)",
    tag="people",
)
async def enrolments(request: web.Request) -> web.Response:
    rt = back_office(request)
    authorise(request, Need.OPERATOR)  # an internal route: crm gathers with the service token
    found = [
        {**dict(r), "outcome": orjson.loads(r["outcome"])}
        for r in await store.enrolments_of(rt.pool, uuid_param(request, "account_id"))
    ]
    return web.Response(
        body=orjson.dumps({"enrolments": found}, default=str), content_type="application/json"
    )
