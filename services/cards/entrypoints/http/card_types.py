"""Back-office routes of card types, their rates per merchant and their acceptances, and the
dry run of a sale (the use cases: ``service.card_types``)."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from services.cards.adapters import scopes
from services.cards.domain.dry_run import DryRun
from services.cards.entrypoints.http import scoped
from services.cards.service import card_types
from services.cards.service.catalogue_models import (
    AcceptanceOut,
    AcceptanceQuery,
    CardTypeDetail,
    CardTypeIn,
    CardTypeOut,
    CardTypes,
    DryRunIn,
    DryRunOut,
    RateIn,
    RateOut,
    RefusalOut,
    StepOut,
    VisitThresholdOut,
)
from shared.access import Need
from shared.access_http import authorise
from shared.db.query import as_model, as_models
from shared.http import json_response, read_model, read_query, uuid_param
from shared.openapi import Routes
from shared.rules import wording
from shared.service import back_office

TAG = "catalogue and rules"
routes = Routes()

_RATE_PATH = "/v1/card-types/{card_type_id}/rates/{merchant_id}"
_ACCEPTANCE_PATH = "/v1/card-types/{card_type_id}/acceptances/{association_id}"


@routes.route(
    "PUT",
    "/v1/associations/{association_id}/card-types/{card_type_id}",
    summary="Create or update a card type (F1)",
    body=CardTypeIn,
    returns=CardTypeOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_card_type(request: web.Request) -> web.Response:
    """association, generic and merchant cards earn under a program of the association;
    gift, prepaid and epurse cards hold money and have none. A merchant card names its
    merchant. The association's default card type stays an earning one."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    ctid = uuid_param(request, "card_type_id")
    authorise(request, Need.ASSOCIATION, aid)
    scoped.held_elsewhere(request, Need.ASSOCIATION, await scopes.card_type(rt.pool, ctid), aid)
    body = await read_model(request, CardTypeIn)
    row = await card_types.put_card_type(rt.pool, aid, ctid, body)
    return json_response(as_model(CardTypeOut, row), 201 if row["created"] else 200)


@routes.route(
    "GET",
    "/v1/associations/{association_id}/card-types",
    summary="The card types of an association",
    returns=CardTypes,
    tag=TAG,
)
async def list_card_types(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.NETWORK, aid)
    rows = await card_types.list_card_types(rt.pool, aid)
    return json_response(CardTypes(as_models(CardTypeOut, rows)))


@routes.route(
    "GET",
    "/v1/card-types/{card_type_id}",
    summary="A card type with its rates per merchant and its acceptances",
    returns=CardTypeDetail,
    tag=TAG,
)
async def get_card_type(request: web.Request) -> web.Response:
    rt = back_office(request)
    ctid = uuid_param(request, "card_type_id")
    await scoped.card_type(request, rt.pool, Need.NETWORK, ctid)
    row, rates, acceptances = await card_types.get_card_type(rt.pool, ctid)
    detail = {
        **dict(row),
        "rates": [dict(r) for r in rates],
        "acceptances": [dict(a) for a in acceptances],
    }
    return json_response(as_model(CardTypeDetail, detail))


@routes.route(
    "PUT",
    _RATE_PATH,
    summary="Set a card type's own rates at one merchant",
    body=RateIn,
    returns=RateOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_rate(request: web.Request) -> web.Response:
    """The merchant must accept the card type; a rate left out is the merchant's own."""
    rt = back_office(request)
    ctid = uuid_param(request, "card_type_id")
    mid = uuid_param(request, "merchant_id")
    await scoped.card_type(request, rt.pool, Need.ASSOCIATION, ctid, mid)
    body = await read_model(request, RateIn)
    row = await card_types.put_rate(rt.pool, ctid, mid, body)
    return json_response(as_model(RateOut, row), 201 if row["created"] else 200)


@routes.route(
    "DELETE",
    _RATE_PATH,
    summary="Remove a card type's own rates at one merchant",
    returns=RateOut,
    tag=TAG,
)
async def delete_rate(request: web.Request) -> web.Response:
    rt = back_office(request)
    ctid = uuid_param(request, "card_type_id")
    mid = uuid_param(request, "merchant_id")
    await scoped.card_type(request, rt.pool, Need.ASSOCIATION, ctid, mid)
    return json_response(as_model(RateOut, await card_types.delete_rate(rt.pool, ctid, mid)))


def _acceptance(request: web.Request) -> tuple[UUID, UUID, UUID | None]:
    """The accepting association decides: its merchants honour the card, at their cost."""
    ctid = uuid_param(request, "card_type_id")
    aid = uuid_param(request, "association_id")
    mid = read_query(request, AcceptanceQuery).merchant_id
    authorise(request, Need.ASSOCIATION, aid, mid)
    return ctid, aid, mid


@routes.route(
    "PUT",
    _ACCEPTANCE_PATH,
    summary="Have another association (or one of its merchants) accept a card type",
    query=AcceptanceQuery,
    returns=AcceptanceOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_acceptance(request: web.Request) -> web.Response:
    """A works council's card accepted by a second association, say. The card type's own
    association accepts it already; a merchant's personal card is accepted at its merchant only."""
    rt = back_office(request)
    ctid, aid, mid = _acceptance(request)
    inserted = await card_types.put_acceptance(rt.pool, ctid, aid, mid)
    out = AcceptanceOut(card_type_id=ctid, association_id=aid, merchant_id=mid)
    return json_response(out, 201 if inserted else 200)


@routes.route(
    "DELETE",
    _ACCEPTANCE_PATH,
    summary="Withdraw an acceptance of a card type",
    query=AcceptanceQuery,
    returns=AcceptanceOut,
    tag=TAG,
)
async def delete_acceptance(request: web.Request) -> web.Response:
    """With merchant_id, the acceptance by that merchant; without, the association's."""
    rt = back_office(request)
    ctid, aid, mid = _acceptance(request)
    await card_types.delete_acceptance(rt.pool, ctid, aid, mid)
    return json_response(AcceptanceOut(card_type_id=ctid, association_id=aid, merchant_id=mid))


# --- the dry run -------------------------------------------------------------------------------


def _dry_run_out(run: DryRun) -> DryRunOut:
    ev, threshold = run.evaluation, run.visit_threshold
    lang, reader = run.language or "en", run.reader
    return DryRunOut(
        association_id=run.association_id,
        card_type_id=run.card_type_id,
        program_id=run.program_id,
        merchant_id=run.merchant_id,
        product_family=run.product_family,
        amount_cents=run.amount_cents,
        quantity=run.quantity,
        at=run.at,
        kind=str(ev.kind),
        reward_cents=ev.reward_cents,
        points=ev.points,
        stamps=ev.stamps,
        fee_cents=ev.fee_cents,
        taux_client_bps=ev.taux_client_bps,
        taux_uc_bps=ev.taux_uc_bps,
        refused=ev.refused,
        visit_threshold=VisitThresholdOut(
            visits_needed=threshold.visits_needed,
            max_days=threshold.max_period.days if threshold.max_period else None,
        ),
        steps=[
            StepOut(
                rule=s.rule,
                applied=s.applied,
                detail=s.detail,
                rate=s.rate,
                said=wording.step(s, lang, reader),
            )
            for s in ev.steps
        ],
        refusals=[
            RefusalOut(code=r.code, detail=r.detail, said=wording.refusal(r, lang, reader))
            for r in ev.refusals
        ],
        explanation=run.explanation,
        rules_version=run.rules_version,
    )


@routes.route(
    "POST",
    "/v1/associations/{association_id}/dry-run",
    summary="What would this sale earn, and why",
    body=DryRunIn,
    returns=DryRunOut,
    tag=TAG,
)
async def dry_run(request: web.Request) -> web.Response:
    """The rules engine's evaluation of a sale that is not recorded: the reward, the fee, every
    rule looked at (steps), the refusals, the visit threshold, and one sentence saying why. The
    card type is the association's default unless given; it must be the association's."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    body = await read_model(request, DryRunIn)
    authorise(request, Need.STAFF, aid, body.merchant_id)  # the front desk's "why this reward"
    return json_response(_dry_run_out(await card_types.run_dry(rt.pool, aid, body)))
