"""The triggers of an association or a merchant (F23, F24), the frequency cap, a customer's
choice of no receipts, and a day of a daily trigger run on demand (catching up by hand)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field, model_validator

from services.crm.adapters import scopes
from services.crm.adapters import triggers as trigger_rows
from services.crm.adapters.vouchers import Vouchers
from services.crm.entrypoints.http import scope
from services.crm.entrypoints.http.models import Strict, day_param
from services.crm.service import triggers
from services.crm.service.common import Links
from shared import merchants
from shared.access import Need
from shared.access_http import authorise
from shared.db import transaction
from shared.db.query import as_model, as_models
from shared.fields import Text
from shared.http import Problem, json_response, parse_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "triggers"


class TriggerParams(Strict):
    """What the message says and when it goes; each kind takes what it needs."""

    shop_name: Text | None = Field(default=None, max_length=100, description="the sender shown")
    body: Text | None = Field(default=None, max_length=1000)
    offer_text: Text | None = Field(default=None, max_length=200, description="the offer said")
    months: int | None = Field(default=None, ge=1, le=36, description="we_miss_you: not seen for")
    factor: int | None = Field(
        default=None, ge=2, le=10, description="spacing_out: times the usual interval"
    )
    voucher_cents: int | None = Field(
        default=None, ge=1, le=100_000, description="birthday: a gift voucher of this value"
    )
    voucher_days: int | None = Field(default=None, ge=1, le=366, description="its validity")
    rate_multiplier: int | None = Field(
        default=None,
        ge=2,
        le=5,
        description="birthday, instead of a voucher: the customer's rate multiplied (2: double)",
    )
    rate_days: int | None = Field(
        default=None, ge=1, le=31, description="for this many days from the birthday (7)"
    )


class TriggerIn(Strict):
    association_id: UUID
    merchant_id: UUID | None = Field(default=None, description="None: the network's trigger")
    kind: Literal["receipt", "birthday", "we_miss_you", "spacing_out", "threshold_reached"]
    channel: Literal["email", "sms"]
    enabled: bool = True
    params: TriggerParams = Field(default_factory=TriggerParams)

    @model_validator(mode="after")
    def _fits_kind(self) -> TriggerIn:
        if self.kind == "receipt" and (self.channel != "email" or not self.params.shop_name):
            raise ValueError("a receipt goes by e-mail and names the shop (params.shop_name)")
        if self.kind == "we_miss_you" and self.params.months is None:
            raise ValueError("we_miss_you needs months")
        if self.params.voucher_cents and self.params.rate_multiplier:
            raise ValueError("a birthday offers a voucher or a rate multiplied, not both")
        return self


class Trigger(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID | None
    kind: str
    channel: str
    enabled: bool
    params: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Triggers(BaseModel):
    triggers: list[Trigger]


class CapIn(Strict):
    max_messages: int = Field(ge=0, le=1000, description="marketing messages per person …")
    per_days: int = Field(ge=1, le=366, description="… within this many days")


class ReceiptsIn(Strict):
    wanted: bool = Field(description="false: no digital receipt after a purchase")


class DayRun(BaseModel):
    day: date
    sent: int | None = Field(description="messages asked for; null: the day was run already")


@routes.route(
    "PUT",
    "/v1/triggers/{trigger_id}",
    summary="Make or change a trigger of an association or of one of its merchants",
    body=TriggerIn,
    returns=Trigger,
    tag=TAG,
)
async def put_trigger(request: web.Request) -> web.Response:
    """A merchant's trigger names one of the association's merchants (asked of cards): 422
    `merchant_not_in_association` otherwise. The association's (ASSOCIATION) or the
    merchant's (MANAGER), as the body says and, for a trigger changed, as it was."""
    rt = back_office(request)
    trigger_id = uuid_param(request, "trigger_id")
    b = parse_model(await request.read(), TriggerIn, strict=True)
    was = await scopes.trigger(rt.pool, trigger_id)
    if was is not None:
        scope.of(request, *was)
    scope.of(request, b.association_id, b.merchant_id)
    await merchants.check_in_association(rt.settings, b.association_id, b.merchant_id)
    params = b.params.model_dump(exclude_none=True)

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        return await triggers.configure(
            conn, trigger_id, b.association_id, b.merchant_id, b.kind, b.channel, b.enabled, params
        )

    return json_response(as_model(Trigger, await transaction(rt.pool, work)))


@routes.route(
    "GET",
    "/v1/associations/{association_id}/triggers",
    summary="The triggers of an association and of its merchants",
    returns=Triggers,
    tag=TAG,
)
async def list_triggers(request: web.Request) -> web.Response:
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, association_id)
    found = await trigger_rows.of_association(rt.pool, association_id)
    return json_response(Triggers(triggers=as_models(Trigger, found)))


@routes.route(
    "POST",
    "/v1/triggers/{trigger_id}/days/{day}",
    summary="Run a day of a daily trigger now (once: a day run already sends nothing)",
    returns=DayRun,
    tag=TAG,
)
async def run_trigger_day(request: web.Request) -> web.Response:
    rt = back_office(request)
    trigger = await trigger_rows.one(rt.pool, uuid_param(request, "trigger_id"))
    scope.of(request, trigger["association_id"], trigger["merchant_id"])
    day = day_param(request)
    if trigger["kind"] not in ("birthday", "we_miss_you", "spacing_out"):
        raise Problem(409, "Not a daily trigger", trigger["kind"], reason="not_daily")
    sent = await triggers.run_day(
        rt.pool, Links.of(rt.settings), Vouchers(rt.settings), trigger, day
    )
    return json_response(DayRun(day=day, sent=sent))


@routes.route(
    "PUT",
    "/v1/associations/{association_id}/marketing-cap",
    summary="The frequency cap: marketing messages per person within a number of days",
    body=CapIn,
    returns=CapIn,
    tag=TAG,
)
async def put_cap(request: web.Request) -> web.Response:
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    b = parse_model(await request.read(), CapIn, strict=True)
    authorise(request, Need.ASSOCIATION, association_id)

    async def work(conn: asyncpg.Connection) -> None:
        await triggers.set_cap(conn, association_id, b.max_messages, b.per_days)

    await transaction(rt.pool, work)
    return json_response(b)


@routes.route(
    "PUT",
    "/v1/customers/{account_id}/receipts",
    summary="Whether the customer receives a digital receipt after a purchase",
    body=ReceiptsIn,
    returns=ReceiptsIn,
    tag=TAG,
)
async def put_receipts(request: web.Request) -> web.Response:
    rt = back_office(request)
    b = parse_model(await request.read(), ReceiptsIn, strict=True)
    _, account_id = await scope.customer(request, rt)

    async def work(conn: asyncpg.Connection) -> None:
        await triggers.set_receipts(conn, account_id, b.wanted)

    await transaction(rt.pool, work)
    return json_response(b)
