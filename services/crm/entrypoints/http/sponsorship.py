"""Sponsorship through the back office (F22): a customer's referral code and sponsorship, a
newcomer linked to a sponsor by code, the programmes of an association and of its merchants,
the best sponsors and the revenue of the customers each one brought."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.crm.adapters import sponsorship as sponsorship_rows
from services.crm.entrypoints.http import scope
from services.crm.entrypoints.http.models import DetailsLinkIn, Requested, Strict
from services.crm.service import sponsorship
from shared import merchants, outbox
from shared.access import Need
from shared.access_http import authorise
from shared.clock import PARIS
from shared.db import transaction
from shared.db.query import as_model, as_models
from shared.fields import coded_error
from shared.http import Problem, json_response, parse_model, read_query, uuid_param
from shared.openapi import Routes
from shared.rules.codes import format_referral_code
from shared.service import back_office

routes = Routes()
TAG = "sponsorship"

ReferralCode = Field(min_length=8, max_length=12, description="as typed: case, dashes, O/0 free")


class SponsorLink(BaseModel):
    newcomer_id: UUID
    sponsor_id: UUID
    how: str
    linked_at: datetime
    decided_at: datetime | None


class Newcomer(BaseModel):
    newcomer_id: UUID
    linked_at: datetime
    how: str


class RewardOut(BaseModel):
    id: UUID = Field(description="also the reference of its cagnotte entry in cards")
    newcomer_id: UUID
    role: Literal["sponsor", "newcomer"]
    status: Literal["granted", "capped"]
    amount_cents: int
    trigger: Literal["enrolment", "purchase"]
    sale_id: UUID | None
    occurred_at: datetime
    funded_by: UUID | None = Field(description="the merchant whose programme; null: association")
    reversal_id: UUID | None = Field(
        default=None, description="taken back: its qualifying sale was cancelled or returned whole"
    )
    reversal_reason: Literal["cancelled", "returned"] | None = None
    reversal_status: Literal["asked", "done", "refused"] | None = Field(
        default=None,
        description="asked: cards asked to take it back, not answered yet; done: taken back; "
        "refused: the account no longer held it (an adjustment by the back office is needed)",
    )
    reversed_at: datetime | None = None


class Sponsorship(BaseModel):
    account_id: UUID
    referral_code: str | None = Field(
        description="as printed, e.g. 7K3M-Q9TA; null once the customer's data were erased"
    )
    sponsor: SponsorLink | None
    newcomers: list[Newcomer]
    rewards: list[RewardOut]


class SponsorIn(Strict):
    referral_code: str = ReferralCode
    merchant_id: UUID | None = Field(
        default=None, description="where the newcomer enrols (its programme applies)"
    )
    how: Literal["back_office", "link"] = "back_office"


class ProgrammeIn(Strict):
    enabled: bool = True
    reward_at: Literal["enrolment", "purchase"]
    purchase_number: int = Field(default=1, ge=1, le=100, description="purchase: the N-th")
    sponsor_amount_cents: int = Field(default=0, ge=0, le=100_000)
    sponsor_rate_bps: int = Field(default=0, ge=0, le=10_000)
    newcomer_amount_cents: int = Field(default=0, ge=0, le=100_000)
    newcomer_rate_bps: int = Field(default=0, ge=0, le=10_000)
    cap_per_sponsor: int | None = Field(
        default=None, ge=0, le=10_000, description="sponsor rewards per period; null: no cap"
    )
    cap_period: Literal["month", "year"] = "month"

    @model_validator(mode="after")
    def _fits(self) -> ProgrammeIn:
        if self.reward_at == "enrolment" and (self.sponsor_rate_bps or self.newcomer_rate_bps):
            raise coded_error(
                "no_purchase_at_enrolment",
                "at the enrolment there is no purchase to take a rate of",
            )
        return self


class Programme(ProgrammeIn):
    model_config = ConfigDict(extra="ignore", strict=False)  # an answer, read from its row
    id: UUID
    association_id: UUID
    merchant_id: UUID | None
    updated_at: datetime


class Programmes(BaseModel):
    programmes: list[Programme]


class SponsorsQuery(BaseModel):
    from_: date = Field(alias="from", description="first day (Paris), included")
    to: date = Field(description="last day (Paris), included")
    merchant_id: UUID | None = Field(default=None, description="revenue at this merchant only")
    order: Literal["revenue", "newcomers"] = "revenue"
    limit: int = Field(default=50, ge=1, le=1000)


class SponsorFigures(BaseModel):
    account_id: UUID
    first_name: str | None
    last_name: str | None
    newcomers: int = Field(description="brought, all to date")
    newcomers_in_range: int
    purchases: int = Field(description="their newcomers' purchases in the range")
    revenue_cents: int = Field(description="what their newcomers spent in the range")
    rewards_cents: int = Field(description="the sponsor's rewards granted in the range")


class Sponsors(BaseModel):
    sponsors: list[SponsorFigures]


def _sponsorship(data: dict[str, Any]) -> Sponsorship:
    return as_model(
        Sponsorship,
        {
            **data,
            "referral_code": data["referral_code"] and format_referral_code(data["referral_code"]),
        },
    )


@routes.route(
    "GET",
    "/v1/customers/{account_id}/sponsorship",
    summary="A customer's referral code, sponsor, newcomers brought and sponsorship rewards",
    returns=Sponsorship,
    tag=TAG,
)
async def get_sponsorship(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    data = await transaction(rt.pool, lambda conn: sponsorship.view(conn, account_id))
    return json_response(_sponsorship(data))


@routes.route(
    "POST",
    "/v1/customers/{account_id}/sponsor",
    summary="Link a newcomer to the customer whose referral code they give",
    body=SponsorIn,
    returns=Sponsorship,
    status=201,
    tag=TAG,
)
async def post_sponsor(request: web.Request) -> web.Response:
    """Refusals: 422 `invalid_referral_code`, `unknown_referral_code`, `self_sponsorship`,
    `sponsorship_loop`; 409 `already_sponsored`, `not_a_newcomer`."""
    rt = back_office(request)
    body = parse_model(await request.read(), SponsorIn, strict=True)
    _, account_id = await scope.customer(request, rt, body.merchant_id)

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        events = await sponsorship.link(
            conn, account_id, body.referral_code, body.how, body.merchant_id
        )
        await outbox.write(conn, events)
        return await sponsorship.view(conn, account_id)

    return json_response(_sponsorship(await transaction(rt.pool, work)), 201)


class CodeHeld(BaseModel):
    referral_code: str = Field(description="as printed, e.g. 7K3M-Q9TA")


@routes.route(
    "GET",
    "/v1/associations/{association_id}/referral-codes/{code}",
    summary="Whether a customer of the association holds this referral code",
    returns=CodeHeld,
    tag=TAG,
)
async def get_referral_code(request: web.Request) -> web.Response:
    """Asked by the gateway before it opens an account with a code at the till, so that the till
    hears of a code nobody holds: 404 `unknown_referral_code`, 422 `invalid_referral_code`.
    Says no more than that (not who holds it): the network's people (NETWORK) may ask."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.NETWORK, association_id)
    held = await sponsorship.held(rt.pool, association_id, request.match_info["code"])
    return json_response(CodeHeld(referral_code=format_referral_code(held)))


@routes.route(
    "POST",
    "/v1/customers/{account_id}/sponsorship/code-message",
    summary="Send the customer their referral code (SMS or e-mail)",
    body=DetailsLinkIn,
    returns=Requested,
    status=202,
    tag=TAG,
)
async def send_code(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = parse_model(await request.read() or b"{}", DetailsLinkIn, strict=True)
    _, account_id = await scope.customer(request, rt, body.merchant_id)

    async def work(conn: asyncpg.Connection) -> Requested:
        e = await sponsorship.send_code(conn, account_id, body.channel, body.merchant_id)
        await outbox.write(conn, [e])
        return Requested(
            message_id=e.data.message_id, channel=e.data.channel, template=e.data.template
        )

    return json_response(await transaction(rt.pool, work), 202)


async def _put_programme(
    request: web.Request, association_id: UUID, merchant_id: UUID | None
) -> web.Response:
    rt = back_office(request)
    body = parse_model(await request.read(), ProgrammeIn, strict=True)
    scope.of(request, association_id, merchant_id)
    await merchants.check_in_association(rt.settings, association_id, merchant_id)

    async def work(conn: asyncpg.Connection) -> asyncpg.Record:
        return await sponsorship.save_programme(
            conn, association_id, merchant_id, body.model_dump()
        )

    return json_response(as_model(Programme, await transaction(rt.pool, work)))


@routes.route(
    "PUT",
    "/v1/associations/{association_id}/sponsorship-programme",
    summary="Make or change the association's sponsorship programme",
    body=ProgrammeIn,
    returns=Programme,
    tag=TAG,
)
async def put_association_programme(request: web.Request) -> web.Response:
    return await _put_programme(request, uuid_param(request, "association_id"), None)


@routes.route(
    "PUT",
    "/v1/associations/{association_id}/merchants/{merchant_id}/sponsorship-programme",
    summary="Make or change a merchant's own sponsorship programme (the merchant funds it)",
    body=ProgrammeIn,
    returns=Programme,
    tag=TAG,
)
async def put_merchant_programme(request: web.Request) -> web.Response:
    return await _put_programme(
        request, uuid_param(request, "association_id"), uuid_param(request, "merchant_id")
    )


@routes.route(
    "GET",
    "/v1/associations/{association_id}/sponsorship-programmes",
    summary="The sponsorship programmes of an association and of its merchants",
    returns=Programmes,
    tag=TAG,
)
async def list_programmes(request: web.Request) -> web.Response:
    """The network's shared settings (NETWORK): its merchants' people tell newcomers of them."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.NETWORK, association_id)
    found = await sponsorship_rows.programmes_of(rt.pool, association_id)
    return json_response(Programmes(programmes=as_models(Programme, found)))


@routes.route(
    "GET",
    "/v1/associations/{association_id}/sponsors",
    summary="The best sponsors over a date range: newcomers brought, their revenue, rewards",
    query=SponsorsQuery,
    returns=Sponsors,
    tag=TAG,
)
async def best_sponsors(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = read_query(request, SponsorsQuery)
    aid = uuid_param(request, "association_id")
    scope.of(request, aid, q.merchant_id)
    if q.to < q.from_:
        raise Problem(422, "Bad range", "to is before from", reason="bad_range")
    await merchants.check_in_association(rt.settings, aid, q.merchant_id)
    starts = datetime.combine(q.from_, time(0), PARIS)
    ends = datetime.combine(date.fromordinal(q.to.toordinal() + 1), time(0), PARIS)
    found = await sponsorship_rows.best_sponsors(
        rt.pool,
        aid,
        starts,
        ends,
        q.merchant_id,
        q.order,
        q.limit,
    )
    return json_response(Sponsors(sponsors=as_models(SponsorFigures, found)))
