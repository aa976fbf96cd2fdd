"""Back-office routes of programs and promotions (the use cases: ``service.programs``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from services.cards.adapters import scopes
from services.cards.service import programs
from services.cards.service.catalogue_models import (
    MultiplierOut,
    ProgramIn,
    ProgramOut,
    Programs,
    PromotionIn,
    PromotionOut,
    PromotionQuery,
    Promotions,
)
from shared.access import Need
from shared.access_http import authorise, authorise_owner
from shared.db.query import as_model, as_models
from shared.http import json_response, read_model, read_query, uuid_param
from shared.openapi import Routes
from shared.rules import programs as transitions
from shared.rules.programs import Program
from shared.service import back_office

TAG = "catalogue and rules"
routes = Routes()

_PROGRAM_PATH = "/v1/associations/{association_id}/programs/{program_id}"
_PROMOTION_PATH = "/v1/associations/{association_id}/promotions/{promotion_id}"


@routes.route(
    "PUT",
    _PROGRAM_PATH,
    summary="Create or update a program (cagnotte, points or stamps)",
    body=ProgramIn,
    returns=ProgramOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_program(request: web.Request) -> web.Response:
    """A program is created active; its status moves only by suspend, resume and delete. Its
    kind never changes (the units accounts hold would change meaning): create another."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    pid = uuid_param(request, "program_id")
    authorise(request, Need.ASSOCIATION, aid)
    body = await read_model(request, ProgramIn)
    row = await programs.put_program(rt.pool, aid, pid, body)
    return json_response(as_model(ProgramOut, row), 201 if row["created"] else 200)


@routes.route("GET", _PROGRAM_PATH, summary="A program", returns=ProgramOut, tag=TAG)
async def get_program(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    pid = uuid_param(request, "program_id")
    authorise(request, Need.NETWORK, aid)
    return json_response(as_model(ProgramOut, await programs.get_program(rt.pool, aid, pid)))


@routes.route(
    "GET",
    "/v1/associations/{association_id}/programs",
    summary="The programs of an association, deleted ones included",
    returns=Programs,
    tag=TAG,
)
async def list_programs(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.NETWORK, aid)
    rows = await programs.list_programs(rt.pool, aid)
    return json_response(Programs(as_models(ProgramOut, rows)))


async def _move(request: web.Request, move: Callable[[Program], Program]) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    pid = uuid_param(request, "program_id")
    authorise(request, Need.ASSOCIATION, aid)
    row = await programs.move_program(rt.pool, aid, pid, move)
    return json_response(as_model(ProgramOut, row))


@routes.route(
    "POST",
    _PROGRAM_PATH + "/suspend",
    summary="Suspend an active program",
    returns=ProgramOut,
    tag=TAG,
)
async def suspend_program(request: web.Request) -> web.Response:
    """Its card types earn nothing meanwhile (refusal program_suspended)."""
    return await _move(request, transitions.suspend)


@routes.route(
    "POST",
    _PROGRAM_PATH + "/resume",
    summary="Resume a suspended program",
    returns=ProgramOut,
    tag=TAG,
)
async def resume_program(request: web.Request) -> web.Response:
    return await _move(request, transitions.resume)


@routes.route(
    "DELETE",
    _PROGRAM_PATH,
    summary="Delete a program (final; the row stays, with status deleted)",
    returns=ProgramOut,
    tag=TAG,
)
async def delete_program(request: web.Request) -> web.Response:
    """Its card types earn nothing from then on (refusal program_deleted)."""
    return await _move(request, transitions.delete)


# --- promotions --------------------------------------------------------------------------------


def _promotion_out(row: Any) -> PromotionOut:
    data = dict(row)
    num, den = data.pop("multiplier_numerator"), data.pop("multiplier_denominator")
    data["multiplier"] = MultiplierOut(numerator=num, denominator=den) if num is not None else None
    return PromotionOut.model_validate(data)


@routes.route(
    "PUT",
    _PROMOTION_PATH,
    summary="Create or update a promotion: a rate override or a multiplier, for a period",
    body=PromotionIn,
    returns=PromotionOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_promotion(request: web.Request) -> web.Response:
    """Network-wide without merchant_id (the association's), else the merchant's own (its
    manager's). Exactly one of taux_client_bps (an override) and multiplier."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    prid = uuid_param(request, "promotion_id")
    body = await read_model(request, PromotionIn)
    authorise_owner(request, aid, body.merchant_id)
    existing = await scopes.promotion(rt.pool, prid)
    if existing is not None:  # nor taking over another's promotion by naming it
        authorise_owner(request, *existing)
    row = await programs.put_promotion(rt.pool, aid, prid, body)
    return json_response(_promotion_out(row), 201 if row["created"] else 200)


@routes.route(
    "GET",
    "/v1/associations/{association_id}/promotions",
    summary="The promotions of an association and of its merchants",
    query=PromotionQuery,
    returns=Promotions,
    tag=TAG,
)
async def list_promotions(request: web.Request) -> web.Response:
    """All of them, withdrawn ones included; with live_at, only those live then."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.NETWORK, aid)  # the offers a customer may see in any shop
    q = read_query(request, PromotionQuery)
    rows = await programs.list_promotions(rt.pool, aid, q.live_at)
    return json_response(Promotions([_promotion_out(r) for r in rows]))


@routes.route(
    "DELETE",
    _PROMOTION_PATH,
    summary="Withdraw a promotion (it stays listed, with withdrawn_at)",
    returns=PromotionOut,
    tag=TAG,
)
async def withdraw_promotion(request: web.Request) -> web.Response:
    """Withdrawing again changes nothing and answers the promotion as it is."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    prid = uuid_param(request, "promotion_id")
    existing = await scopes.promotion(rt.pool, prid)
    if existing is None:
        authorise(request, Need.ASSOCIATION)
    else:
        authorise_owner(request, *existing)
    return json_response(_promotion_out(await programs.withdraw_promotion(rt.pool, aid, prid)))
