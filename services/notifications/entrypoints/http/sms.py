"""Kannel's calls back: the operator's delivery reports (``dlr-url``) and the customers' SMS
(MO, smsbox's ``get-url``). Kannel calls with a GET and the shared token in the query, not
with the admin token: it is a machine of ours, not a person."""

from __future__ import annotations

import hmac
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.notifications.service import messages
from shared.db import transaction
from shared.http import Problem, read_query
from shared.openapi import Routes
from shared.service import RUNTIME

routes = Routes()


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=200)
    message_id: UUID
    type: int = Field(
        ge=0, le=64, description="Kannel's delivery report type (%d): 1 delivered, 2/16 failed"
    )
    smsc_id: str | None = Field(default=None, max_length=200, description="the operator's id (%F)")


class Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=200)
    sender: str = Field(alias="from", min_length=3, max_length=32)
    to: str = Field(default="", max_length=32)
    # A customer's SMS (a few concatenated parts at most); bounded so that the whole query,
    # URL-encoded, stays within what an HTTP server reads of a request line (8 KiB).
    text: str = Field(default="", max_length=480)
    at: str | None = Field(default=None, max_length=40)


def _checked(request: web.Request, token: str) -> None:
    expected = request.app[RUNTIME].settings.sms_callback_token
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Problem(403, "Forbidden", "a wrong callback token", reason="bad_callback_token")


@routes.route(
    "GET",
    "/v1/sms/reports",
    summary="A delivery report from Kannel (dlr-url)",
    query=Report,
    content_type="text/plain",
    admin=False,
    tag="sms",
)
async def delivery_report(request: web.Request) -> web.Response:
    q = read_query(request, Report)
    _checked(request, q.token)
    rt = request.app[RUNTIME]
    status = await transaction(
        rt.pool, lambda c: messages.delivery_report(c, q.message_id, q.type, q.smsc_id)
    )
    return web.Response(text=status or "noted")


@routes.route(
    "GET",
    "/v1/sms/inbound",
    summary="A customer's SMS, from Kannel (MO): STOP withdraws the marketing consents",
    query=Inbound,
    content_type="text/plain",
    admin=False,
    tag="sms",
)
async def inbound(request: web.Request) -> web.Response:
    q = read_query(request, Inbound)
    _checked(request, q.token)
    rt = request.app[RUNTIME]
    keyword = await transaction(rt.pool, lambda c: messages.inbound_sms(c, q.sender, q.text))
    # An empty answer: smsbox sends nothing back to the customer (max-messages = 0 besides).
    return web.Response(text="", headers={"X-Comptoir-Keyword": keyword or ""})
