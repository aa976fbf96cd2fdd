"""The public routes people reach from the links crm sends them, no token but the link's own
(signed, expiring: ``domain/tokens.py``): complete one's details, confirm an e-mail consent,
unsubscribe in one click (RFC 8058: a POST with ``List-Unsubscribe=One-Click``; a GET only
shows what the POST would do, since mail scanners follow links)."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from services.crm.entrypoints.http import views
from services.crm.entrypoints.http.models import FormDetails, PublicDetails, changes
from services.crm.service import consents, customers
from services.crm.service.common import Links
from shared import clock, outbox
from shared.db import transaction
from shared.http import Problem, json_response, parse_model
from shared.openapi import Routes
from shared.service import RUNTIME, Runtime

routes = Routes()
TAG = "public"


def _public(request: web.Request) -> tuple[Runtime, Links, str]:
    rt = request.app[RUNTIME]
    if not rt.ready:
        raise Problem(503, "Not ready", "the service is starting")
    return rt, Links.of(rt.settings), request.match_info["token"]


class ConsentView(BaseModel):
    channel: str
    status: str
    wording: str


class Unsubscribed(BaseModel):
    channel: str
    status: str


@routes.route(
    "GET",
    "/v1/public/details/{token}",
    summary="One's own details, by the link received (the form to complete them)",
    returns=FormDetails,
    admin=False,
    tag=TAG,
)
async def get_details(request: web.Request) -> web.Response:
    rt, links, token = _public(request)
    file, to_fill = await customers.form(rt.pool, links, token)
    return json_response(views.form(file, to_fill))


@routes.route(
    "PUT",
    "/v1/public/details/{token}",
    summary="Complete or correct one's own details, by the link received",
    body=PublicDetails,
    returns=FormDetails,
    admin=False,
    tag=TAG,
)
async def put_details(request: web.Request) -> web.Response:
    rt, links, token = _public(request)
    body = parse_model(await request.read(), PublicDetails, strict=True)

    async def work(conn: asyncpg.Connection) -> None:
        _, events = await customers.complete(conn, links, token, changes(body))
        await outbox.write(conn, events)

    await transaction(rt.pool, work)
    file, to_fill = await customers.form(rt.pool, links, token)
    return json_response(views.form(file, to_fill))


@routes.route(
    "GET",
    "/v1/public/consents/{token}",
    summary="The consent an e-mail asks to confirm (confirmed by the POST)",
    returns=ConsentView,
    admin=False,
    tag=TAG,
)
async def get_consent(request: web.Request) -> web.Response:
    rt, links, token = _public(request)
    row = await consents.one(rt.pool, links.verify(token, "consent", clock.now()))
    return json_response(
        ConsentView(channel=row["channel"], status=row["status"], wording=row["wording"])
    )


@routes.route(
    "POST",
    "/v1/public/consents/{token}",
    summary="Confirm the consent (double opt-in by e-mail)",
    returns=ConsentView,
    admin=False,
    tag=TAG,
)
async def confirm_consent(request: web.Request) -> web.Response:
    rt, links, token = _public(request)

    async def work(conn: asyncpg.Connection) -> Any:
        return await consents.confirm_by_link(conn, links, token)

    row = await transaction(rt.pool, work)
    return json_response(
        ConsentView(channel=row["channel"], status=row["status"], wording=row["wording"])
    )


@routes.route(
    "GET",
    "/v1/public/unsubscribe/{token}",
    summary="What the one-click unsubscribe would withdraw (the POST withdraws it)",
    returns=Unsubscribed,
    admin=False,
    tag=TAG,
)
async def get_unsubscribe(request: web.Request) -> web.Response:
    rt, links, token = _public(request)
    row = await consents.one(rt.pool, links.verify(token, "unsubscribe", clock.now()))
    return json_response(Unsubscribed(channel=row["channel"], status=row["status"]))


@routes.route(
    "POST",
    "/v1/public/unsubscribe/{token}",
    summary="RFC 8058 one-click unsubscribe: body List-Unsubscribe=One-Click",
    returns=Unsubscribed,
    request_content_type="application/x-www-form-urlencoded",
    admin=False,
    tag=TAG,
)
async def unsubscribe(request: web.Request) -> web.Response:
    rt, links, token = _public(request)
    form = await request.post()
    if form.get("List-Unsubscribe") != "One-Click":
        raise Problem(
            400,
            "Not a one-click unsubscribe",
            "the body is List-Unsubscribe=One-Click (RFC 8058)",
            reason="not_one_click",
        )

    async def work(conn: asyncpg.Connection) -> Any:
        return await consents.unsubscribe(conn, links, token)

    row = await transaction(rt.pool, work)
    return json_response(Unsubscribed(channel=row["channel"], status="withdrawn"))
