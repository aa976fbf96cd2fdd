"""The reconciliation of the journal, run now or read from the last run: of the whole
instance or of one association's books."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field

from services.clearing.adapters import reconciliation as runs
from services.clearing.service import reconciling
from shared.access import Need
from shared.access_http import authorise
from shared.http import In, Problem, json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class AssociationReconcileIn(In):
    settle_seconds: int = Field(
        default=int(reconciling.SETTLE.total_seconds()),
        ge=0,
        le=3600,
        description="the liability is compared as of this long ago",
    )


class ReconcileIn(AssociationReconcileIn):
    association_id: UUID | None = Field(
        default=None, description="compare only this association's liability with cards"
    )


class CheckOut(BaseModel):
    name: str
    ok: bool
    difference: int
    detail: list[str] = Field(description="the entries, accounts or parties at fault")
    associations: list[UUID] = Field(
        default=[], description="the associations the faults belong to"
    )


class ReconciliationOut(BaseModel):
    id: int
    started_at: datetime
    association_id: UUID | None = Field(
        default=None, description="the association reconciled; none: the whole instance"
    )
    ok: bool
    red_associations: list[UUID] = Field(
        default=[], description="the associations a failing check names"
    )
    checks: list[CheckOut]


@routes.route(
    "POST",
    "/v1/reconciliation",
    summary="Run the reconciliation of the journal now",
    body=ReconcileIn,
    returns=ReconciliationOut,
    tag="reconciliation",
)
async def reconcile(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = await read_model(request, ReconcileIn)
    if body.association_id is None:
        authorise(request, Need.OPERATOR)  # the whole instance's books
    else:
        authorise(request, Need.ASSOCIATION, body.association_id)
    settle = timedelta(seconds=body.settle_seconds)
    return json_response(await reconciling.run(rt, settle, body.association_id))


@routes.route(
    "GET",
    "/v1/reconciliation",
    summary="The last reconciliation's result",
    returns=ReconciliationOut,
    tag="reconciliation",
)
async def last_reconciliation(request: web.Request) -> web.Response:
    """The last run over the whole instance, with the associations it found red."""
    rt = back_office(request)
    authorise(request, Need.OPERATOR)
    row = await runs.last(rt.pool, None)
    if row is None:
        raise Problem(404, "Never run", "no reconciliation has run yet", reason="never_run")
    return json_response(reconciling.stored(row))


@routes.route(
    "POST",
    "/v1/associations/{association_id}/reconciliation",
    summary="Run the reconciliation of one association's books now",
    body=AssociationReconcileIn,
    returns=ReconciliationOut,
    tag="reconciliation",
)
async def reconcile_association(request: web.Request) -> web.Response:
    """Every check on the association's own entries, accounts, statements and closes, and its
    liability against cards': a verdict a treasurer can read for their association alone."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    body = await read_model(request, AssociationReconcileIn)
    settle = timedelta(seconds=body.settle_seconds)
    return json_response(await reconciling.run(rt, settle, aid))


@routes.route(
    "GET",
    "/v1/associations/{association_id}/reconciliation",
    summary="The last reconciliation of one association's books",
    returns=ReconciliationOut,
    tag="reconciliation",
)
async def last_association_reconciliation(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    row = await runs.last(rt.pool, aid)
    if row is None:
        raise Problem(
            404,
            "Never run",
            f"no reconciliation of association {aid} has run yet",
            reason="never_run",
        )
    return json_response(reconciling.stored(row))
