"""The messages of one customer: a marketing message (quick news), which goes only where
the person's consent allows, and what became of every message crm asked for."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field

from services.crm.entrypoints.http import scope
from services.crm.entrypoints.http.models import Requested, Strict
from services.crm.service import messages
from services.crm.service.common import PROBLEMS, Links
from shared import outbox
from shared.db import transaction
from shared.db.query import as_models
from shared.http import Problem, json_response, parse_model
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "messages"


class MarketingIn(Strict):
    """A marketing message to one person (quick news): sent only with their consent."""

    channel: Literal["email", "sms"]
    merchant_id: UUID | None = None
    template: str = Field(pattern=r"^[a-z][a-z0-9_]{1,60}$")
    variables: dict[str, str | int] = Field(default_factory=dict, max_length=20)


class Message(BaseModel):
    message_id: UUID
    channel: str
    category: str
    template: str
    consent_id: UUID | None
    status: str
    reason: str | None
    requested_at: datetime
    updated_at: datetime


class Messages(BaseModel):
    messages: list[Message]


@routes.route(
    "POST",
    "/v1/customers/{account_id}/messages",
    summary="A marketing message to one customer, sent only with the consent it needs",
    body=MarketingIn,
    returns=Requested,
    status=202,
    tag=TAG,
)
async def marketing_message(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = parse_model(await request.read(), MarketingIn, strict=True)
    _, account_id = await scope.customer(request, rt, body.merchant_id)
    links = Links.of(rt.settings)

    async def work(conn: asyncpg.Connection) -> Any:
        e = await messages.marketing_to(
            conn,
            links,
            account_id,
            body.channel,
            body.merchant_id,
            body.template,
            dict(body.variables),
        )
        if not isinstance(e, str):
            await outbox.write(conn, [e])
        return e

    e = await transaction(rt.pool, work)
    if e == "frequency_capped":
        raise Problem(409, "Frequency cap", "this person had enough messages", reason=e)
    if isinstance(e, str):
        raise Problem(
            409,
            "No consent",
            "this person did not consent to this message",
            PROBLEMS + "no-consent",
        )
    return json_response(
        Requested(message_id=e.data.message_id, channel=e.data.channel, template=e.data.template),
        202,
    )


@routes.route(
    "GET",
    "/v1/customers/{account_id}/messages",
    summary="The messages crm asked for this customer, and what became of each",
    returns=Messages,
    tag=TAG,
)
async def list_messages(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    found = await messages.of_customer(rt.pool, account_id)
    return json_response(Messages(messages=as_models(Message, found)))
