"""Back-office routes of customer status levels (issue 14, item 2): an association's or a
merchant's levels, the levels an account holds, and a day's review run by hand (the use cases:
``service.levels``)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field

from services.cards.adapters import scopes
from services.cards.domain.levels import Terms
from services.cards.entrypoints.http import scoped
from services.cards.service import levels
from services.cards.service.catalogue_models import Bps, MultiplierIn, MultiplierOut
from shared.access import Need
from shared.access_http import authorise, authorise_owner
from shared.fields import Text
from shared.http import In, Problem, json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.rules.levels import CODE_PATTERN
from shared.service import back_office

TAG = "levels"
routes = Routes()


class LevelIn(In):
    association_id: UUID
    merchant_id: UUID | None = Field(
        default=None, description="a merchant of the association; None: every merchant"
    )
    code: str = Field(pattern=CODE_PATTERN, description="names the rule on statements")
    name: Text = Field(description="as the customer reads it: Privilège")
    rank: int = Field(ge=1, le=100, description="higher is better, unique in its scope")
    min_spent_cents: int | None = Field(default=None, gt=0, le=10**11)
    min_visits: int | None = Field(default=None, gt=0, le=100_000)
    window_months: int = Field(default=12, ge=1, le=36, description="the last N months")
    taux_client_bps: Bps | None = Field(default=None, description="a rate override; or:")
    multiplier: MultiplierIn | None = Field(default=None, description="a multiplier above 1")
    grace_days: int = Field(default=0, ge=0, le=366, description="below it this long: down")


class LevelOut(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID | None
    code: str
    name: str
    rank: int
    min_spent_cents: int | None
    min_visits: int | None
    window_months: int
    taux_client_bps: int | None
    multiplier: MultiplierOut | None
    grace_days: int


class Levels(BaseModel):
    levels: list[LevelOut]


class HeldLevel(LevelOut):
    since: datetime
    below_since: date | None = Field(description="the grace runs from this review day")


class HeldLevels(BaseModel):
    levels: list[HeldLevel]


class Review(BaseModel):
    day: date
    changes: int | None = Field(description="None: the day was reviewed already")


def _out(r: asyncpg.Record, model: type[LevelOut] = LevelOut) -> LevelOut:
    m = r["multiplier_numerator"]
    multiplier = MultiplierOut(numerator=m, denominator=r["multiplier_denominator"]) if m else None
    fields = {k: r[k] for k in model.model_fields if k != "multiplier"}
    return model.model_validate({**fields, "multiplier": multiplier})


@routes.route(
    "PUT",
    "/v1/levels/{level_id}",
    summary="Make or change a customer status level (its scope and code are fixed once made)",
    body=LevelIn,
    returns=LevelOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_level(request: web.Request) -> web.Response:
    """Reached by `min_spent_cents` spent or `min_visits` visits over the last
    `window_months`, reviewed daily; it gives its rate or multiplier online and offline."""
    rt = back_office(request)
    level_id = uuid_param(request, "level_id")
    b = await read_model(request, LevelIn)
    authorise_owner(request, b.association_id, b.merchant_id)
    existing = await scopes.level(rt.pool, level_id)
    if existing is not None:  # its scope is fixed: the one it was made in must be reached too
        authorise_owner(request, *existing)
    m = b.multiplier
    terms = Terms(
        b.merchant_id, b.code, b.name, b.rank, b.min_spent_cents, b.min_visits, b.window_months,
        b.taux_client_bps, (m.numerator, m.denominator) if m else None, b.grace_days,
    )  # fmt: skip
    saved = await levels.define(rt.pool, level_id, b.association_id, terms)
    return json_response(_out(saved.level), 201 if saved.fresh else 200)


@routes.route(
    "GET",
    "/v1/associations/{association_id}/levels",
    summary="An association's status levels and its merchants'",
    returns=Levels,
    tag=TAG,
)
async def list_levels(request: web.Request) -> web.Response:
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.NETWORK, association_id)
    found = await levels.of_association(rt.pool, association_id)
    return json_response(Levels(levels=[_out(r) for r in found]))


@routes.route(
    "GET",
    "/v1/accounts/{account_id}/levels",
    summary="The status levels an account holds",
    returns=HeldLevels,
    tag=TAG,
)
async def account_levels(request: web.Request) -> web.Response:
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    await scoped.account(request, rt.pool, Need.HOLDER, account_id)
    found = await levels.of_account(rt.pool, account_id)
    held = [_out(r, HeldLevel) for r in found]
    return json_response(HeldLevels.model_validate({"levels": held}))


@routes.route(
    "POST",
    "/v1/associations/{association_id}/level-reviews/{day}",
    summary="Review an association's accounts' levels for a day now (once: a day reviewed "
    "changes nothing)",
    returns=Review,
    tag=TAG,
)
async def review_day(request: web.Request) -> web.Response:
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, association_id)
    try:
        day = date.fromisoformat(request.match_info["day"])
    except ValueError as exc:
        raise Problem(422, "Bad day", "an ISO date, YYYY-MM-DD", reason="malformed") from exc
    levels.check_day(day)
    changes = await levels.review_day(rt.pool, association_id, day)
    return json_response(Review(day=day, changes=changes))
