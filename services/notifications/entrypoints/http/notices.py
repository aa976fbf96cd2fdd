"""Back-office read API of the notices: the merchants' monthly statements queued to send."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field, RootModel

from services.notifications import service
from services.notifications.adapters import scopes
from services.notifications.domain import StatementNotice
from services.notifications.entrypoints.http import scope
from shared.access import Need
from shared.access_http import authorise
from shared.http import json_response, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class NoticeQuery(BaseModel):
    merchant_id: UUID | None = None
    association_id: UUID | None = None
    period_start: date | None = Field(default=None, description="the first day of the period")


class StatementNotices(RootModel[list[StatementNotice]]):
    pass


@routes.route(
    "GET",
    "/v1/statement-notices",
    summary="The monthly statements queued to send to the merchants",
    query=NoticeQuery,
    returns=StatementNotices,
)
async def list_notices(request: web.Request) -> web.Response:
    """Newest first, at most 500, filtered by merchant, association and period. Unfiltered,
    the network's (the operator's); an association's (ASSOCIATION); a merchant's (MANAGER)."""
    rt = back_office(request)
    q = read_query(request, NoticeQuery)
    if q.association_id is not None:
        scope.of(request, q.association_id, q.merchant_id)
    elif q.merchant_id is not None:
        await scope.merchant(request, rt.settings, q.merchant_id)
    else:
        authorise(request, Need.OPERATOR)
    found = await service.find_notices(rt.pool, q.merchant_id, q.association_id, q.period_start)
    return json_response(StatementNotices(found))


@routes.route(
    "GET",
    "/v1/statement-notices/{statement_id}",
    summary="The notice of one monthly statement",
    returns=StatementNotice,
)
async def get_notice(request: web.Request) -> web.Response:
    """The merchant's (MANAGER)."""
    rt = back_office(request)
    statement_id = uuid_param(request, "statement_id")
    await scope.found(request, "statement", statement_id, scopes.notice(rt.pool, statement_id))
    return json_response(await service.notice(rt.pool, statement_id))
