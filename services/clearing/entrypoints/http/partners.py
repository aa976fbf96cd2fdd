"""Partner associations (F19): a sports club or a parents' association, the merchants that
give back a share of its members' purchases, and its members."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field, RootModel, model_validator

from services.clearing.adapters import scopes
from services.clearing.entrypoints.http.common import authorise_partner
from services.clearing.service import partners
from shared.access import Need
from shared.access_http import authorise
from shared.fields import Text
from shared.http import In, json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class PartnerIn(In):
    name: Text
    active: bool = True


class PartnershipOut(BaseModel):
    merchant_id: UUID
    rate_bps: int
    starts_on: date
    ends_on: date | None


class PartnerOut(BaseModel):
    partner_id: UUID
    association_id: UUID
    name: str
    active: bool
    members: int
    partnerships: list[PartnershipOut]


class Partners(RootModel[list[PartnerOut]]):
    pass


def _ordered(start: date, end: date | None) -> None:
    if end is not None and end <= start:
        raise ValueError("the end must come after the start")


class PartnershipIn(In):
    rate_bps: int = Field(ge=1, le=10_000, description="share of the members' purchases given back")
    starts_on: date
    ends_on: date | None = Field(default=None, description="the first day it no longer applies")

    @model_validator(mode="after")
    def _dates(self) -> PartnershipIn:
        _ordered(self.starts_on, self.ends_on)
        return self


class MembershipIn(In):
    since: date
    until: date | None = Field(default=None, description="the first day no longer a member")

    @model_validator(mode="after")
    def _dates(self) -> MembershipIn:
        _ordered(self.since, self.until)
        return self


class MembershipOut(BaseModel):
    partner_id: UUID
    account_id: UUID
    since: date
    until: date | None


@routes.route(
    "PUT",
    "/v1/associations/{association_id}/partners/{partner_id}",
    summary="Register or change a partner association (a sports club, a parents' association)",
    body=PartnerIn,
    returns=PartnerOut,
    status=201,
    also=(200,),
    tag="partners",
)
async def put_partner(request: web.Request) -> web.Response:
    """Cards is told (PartnerRegistered), so members can donate rewards to it while active."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    pid = uuid_param(request, "partner_id")
    body = await read_model(request, PartnerIn)
    authorise(request, Need.ASSOCIATION, aid)
    held = await scopes.partner_association(rt.pool, pid)
    if held is not None:  # another association's partner: its admin's, not this one's
        authorise(request, Need.ASSOCIATION, held)
    async with rt.pool.acquire() as conn, conn.transaction():
        out, new = await partners.register(conn, aid, pid, body.name, body.active)
    return json_response(out, 201 if new else 200)


@routes.route(
    "GET",
    "/v1/associations/{association_id}/partners",
    summary="The partner associations of an association, their partnerships and members",
    returns=Partners,
    tag="partners",
)
async def list_partners(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    async with rt.pool.acquire() as conn:
        return json_response(await partners.of_association(conn, aid))


@routes.route(
    "PUT",
    "/v1/partners/{partner_id}/partnerships/{merchant_id}",
    summary="A merchant's agreement to give back a share of partner members' purchases",
    body=PartnershipIn,
    returns=PartnershipOut,
    tag="partners",
)
async def put_partnership(request: web.Request) -> web.Response:
    rt = back_office(request)
    mid = uuid_param(request, "merchant_id")
    body = await read_model(request, PartnershipIn)
    # The merchant's own agreement: its manager's, or the association's admin's (a merchant
    # of another association is refused by the use case, 422).
    pid = await authorise_partner(request, Need.MANAGER, mid)
    async with rt.pool.acquire() as conn, conn.transaction():
        await partners.set_partnership(conn, pid, mid, body.rate_bps, body.starts_on, body.ends_on)
    return json_response({"merchant_id": str(mid), **body.model_dump(mode="json")})


@routes.route(
    "PUT",
    "/v1/partners/{partner_id}/members/{account_id}",
    summary="Make a cardholder a member of a partner association",
    body=MembershipIn,
    returns=MembershipOut,
    tag="partners",
)
async def put_member(request: web.Request) -> web.Response:
    rt = back_office(request)
    account = uuid_param(request, "account_id")
    body = await read_model(request, MembershipIn)
    pid = await authorise_partner(request, Need.ASSOCIATION)
    async with rt.pool.acquire() as conn, conn.transaction():
        await partners.set_member(conn, pid, account, body.since, body.until)
    out = {"partner_id": str(pid), "account_id": str(account), **body.model_dump(mode="json")}
    return json_response(out)
