"""Back-office read API of the notices: the merchants' monthly statements queued to send."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field, RootModel

from shared.contracts import MonthlyStatementReady
from shared.http import Problem, json_response, read_query, uuid_param
from shared.openapi import Api
from shared.service import Runtime, back_office

api = Api("notifications", "Messages to customers and merchants: the monthly statements to send.")

MAX_NOTICES = 500


class NoticeQuery(BaseModel):
    merchant_id: UUID | None = None
    association_id: UUID | None = None
    period_start: date | None = Field(default=None, description="the first day of the period")


class StatementNotice(MonthlyStatementReady):
    """The statement as clearing handed it over, and where its sending stands."""

    status: Literal["queued", "sent", "failed"]
    received_at: datetime


class StatementNotices(RootModel[list[StatementNotice]]):
    pass


_COLUMNS = ", ".join(StatementNotice.model_fields)


@api.route(
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
    rows = await rt.pool.fetch(
        f"""SELECT {_COLUMNS} FROM statement_notices
            WHERE ($1::uuid IS NULL OR merchant_id = $1)
              AND ($2::uuid IS NULL OR association_id = $2)
              AND ($3::date IS NULL OR period_start = $3)
            ORDER BY received_at DESC, statement_id LIMIT {MAX_NOTICES}""",
        q.merchant_id,
        q.association_id,
        q.period_start,
    )
    return json_response(StatementNotices([StatementNotice.model_validate(dict(r)) for r in rows]))


@api.route(
    "GET",
    "/v1/statement-notices/{statement_id}",
    summary="The notice of one monthly statement",
    returns=StatementNotice,
)
async def get_notice(request: web.Request) -> web.Response:
    rt = back_office(request)
    sid = uuid_param(request, "statement_id")
    row = await rt.pool.fetchrow(
        f"SELECT {_COLUMNS} FROM statement_notices WHERE statement_id = $1", sid
    )
    if row is None:
        raise Problem(404, "Unknown statement", f"no notice for statement {sid}")
    return json_response(StatementNotice.model_validate(dict(row)))


def routes(app: web.Application, _: Runtime) -> None:
    api.install(app)
