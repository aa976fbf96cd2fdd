"""Cardholders' messages to a shop (issue 15, "Cardholder space"): sent from the cardholder's
space (HOLDER: to a merchant of the customer's network), listed for the sender, and read in
the shop's inbox by its people (STAFF: its front desk and its manager)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from services.crm.entrypoints.http import scope
from services.crm.entrypoints.http.models import Strict
from services.crm.service import shop_messages
from shared.access import Need
from shared.db.query import as_models
from shared.http import json_response, parse_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "messages"


def _text(value: str) -> str:
    """Its ends trimmed; at least one character that is not a space."""
    value = value.strip()
    if not value:
        raise ValueError("the message is empty")
    return value


MessageText = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_text)]


class ShopMessageIn(Strict):
    merchant_id: UUID = Field(description="a merchant of the customer's network")
    body: MessageText


class ShopMessage(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID
    account_id: UUID
    body: str
    sent_by: str
    sent_at: datetime


class ShopMessages(BaseModel):
    messages: list[ShopMessage]


class InboxMessage(BaseModel):
    id: UUID
    account_id: UUID
    first_name: str | None = Field(description="the sender's, as their file has it")
    last_name: str | None
    body: str
    sent_at: datetime


class Inbox(BaseModel):
    messages: list[InboxMessage] = Field(description="newest first, the last 200")


@routes.route(
    "PUT",
    "/v1/customers/{account_id}/shop-messages/{message_id}",
    summary="A customer's message to a shop of their network (the id is the sender's form's: "
    "sent twice, kept once)",
    body=ShopMessageIn,
    returns=ShopMessage,
    status=201,
    also=(200,),
    tag=TAG,
)
async def send(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = parse_model(await request.read(), ShopMessageIn, strict=True)
    p, account_id = await scope.customer(request, rt, body.merchant_id)
    message_id = uuid_param(request, "message_id")
    row, created = await shop_messages.send(
        rt.pool, message_id, account_id, body.merchant_id, body.body, p.actor
    )
    return json_response(ShopMessage.model_validate(dict(row)), 201 if created else 200)


@routes.route(
    "GET",
    "/v1/customers/{account_id}/shop-messages",
    summary="The messages a customer sent to the network's shops, newest first",
    returns=ShopMessages,
    tag=TAG,
)
async def sent(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    found = await shop_messages.sent(rt.pool, account_id)
    return json_response(ShopMessages(messages=as_models(ShopMessage, found)))


@routes.route(
    "GET",
    "/v1/merchants/{merchant_id}/shop-messages",
    summary="A shop's inbox: its customers' messages, newest first",
    returns=Inbox,
    tag=TAG,
)
async def inbox(request: web.Request) -> web.Response:
    rt = back_office(request)
    merchant_id = uuid_param(request, "merchant_id")
    await scope.merchant(request, rt, Need.STAFF, merchant_id)
    found = await shop_messages.inbox(rt.pool, merchant_id)
    return json_response(Inbox(messages=as_models(InboxMessage, found)))
