"""Back-office read API of the notices: the merchants' monthly statements queued to send."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field, RootModel

from services.notifications import service
from services.notifications.domain import StatementNotice
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
    """Newest first, at most 500, filtered by merchant, association and period."""
    rt = back_office(request)
    q = read_query(request, NoticeQuery)
    found = await service.find_notices(rt.pool, q.merchant_id, q.association_id, q.period_start)
    return json_response(StatementNotices(found))


@routes.route(
    "GET",
    "/v1/statement-notices/{statement_id}",
    summary="The notice of one monthly statement",
    returns=StatementNotice,
)
async def get_notice(request: web.Request) -> web.Response:
    rt = back_office(request)
    return json_response(await service.notice(rt.pool, uuid_param(request, "statement_id")))
