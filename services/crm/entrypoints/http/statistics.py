"""The statistics through the back office (F25): a shop's, a merchant's, an association's or
the network's figures over any period, with the previous period's; each figure's detail lines
as CSV or XLSX. Definitions: docs/statistics.md."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from uuid import UUID

from aiohttp import web

from services.crm.adapters import scopes
from services.crm.domain import statistics_exports as layout
from services.crm.domain import statistics_figures as fig
from services.crm.entrypoints.http import scope as access
from services.crm.entrypoints.http.statistics_models import (
    EXPORTS,
    StatisticsOut,
    StatisticsQuery,
)
from services.crm.service import statistics, statistics_exports
from shared import http, tabular
from shared.access import Need
from shared.access_http import authorise
from shared.http import Problem, json_response, read_query, start_download
from shared.openapi import Routes
from shared.service import Runtime, back_office
from shared.xlsx import XlsxWriter

routes = Routes()
TAG = "statistics"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIGURE = "{figure:" + "|".join(EXPORTS) + "}"
PROBLEMS = "https://comptoir.example/problems/statistics/"


async def _asked(request: web.Request, rt: Runtime) -> tuple[fig.Scope, fig.Period]:
    q = read_query(request, StatisticsQuery)
    try:
        scope = fig.scope(q.shop_id, q.merchant_id, q.association_id)
        period = fig.period(q.from_, q.to)
    except fig.RangeRefused as exc:
        raise Problem(
            400, "Invalid statistics query", str(exc), type_=PROBLEMS + exc.reason
        ) from exc
    # Every fact committed before the question counts (the roll-up may be up to a pass late);
    # a shop's merchant, for the authorisation, is also the statistics'.
    await statistics.catch_up(rt.pool)
    await _authorise(request, rt, scope)
    return scope, period


async def _authorise(request: web.Request, rt: Runtime, scope: fig.Scope) -> None:
    """The network's figures are the operator's; an association's its own (ASSOCIATION); a
    merchant's, and a shop's, its merchant's back office (MANAGER). A shop's merchant is the
    one its sales told the statistics: a shop without a sale yet is the operator's alone."""
    if scope.id is None:
        authorise(request, Need.OPERATOR)
    elif scope.kind == "association":
        authorise(request, Need.ASSOCIATION, scope.id)
    else:
        merchant_id: UUID | None = scope.id
        if scope.kind == "shop":
            merchant_id = await scopes.merchant_of_shop(rt.pool, scope.id)
        if merchant_id is None:
            authorise(request, Need.MANAGER)
        else:
            await access.merchant(request, rt, Need.MANAGER, merchant_id)


@routes.route(
    "GET",
    "/v1/statistics",
    summary="A scope's figures over a period, and over the previous period of as many days",
    query=StatisticsQuery,
    returns=StatisticsOut,
    tag=TAG,
)
async def get_statistics(request: web.Request) -> web.Response:
    rt = back_office(request)
    scope, period = await _asked(request, rt)
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        answer = await statistics.figures(conn, scope, period)
    return json_response(
        StatisticsOut.model_validate(answer).model_dump(mode="json", by_alias=True)
    )


async def _lines(request: web.Request) -> tuple[str, fig.Period, list[list[object]]]:
    rt = back_office(request)
    name = request.match_info["figure"]
    scope, period = await _asked(request, rt)
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        try:
            return name, period, await statistics_exports.lines(conn, name, scope, period)
        except statistics_exports.ExportRefused as exc:
            raise Problem(422, "Export refused", str(exc), type_=PROBLEMS + exc.reason) from exc


def _filename(name: str, period: fig.Period, ext: str) -> str:
    return f"statistiques-{name}-{period.start.isoformat()}-{period.end.isoformat()}.{ext}"


def _fr(d: date) -> str:
    return d.strftime("%d/%m/%Y")


@routes.route(
    "GET",
    f"/v1/statistics/{FIGURE}.csv",
    summary="A figure's detail lines as CSV (French Excel: ';', decimal comma)",
    query=StatisticsQuery,
    content_type="text/csv",
    tag=TAG,
)
async def statistics_csv(request: web.Request) -> web.StreamResponse:
    name, period, rows = await _lines(request)
    columns = layout.COLUMNS[name]

    async def cells() -> AsyncIterator[list[object]]:
        for row in rows:
            yield layout.csv_cells(row, columns)

    header = [c.header for c in columns]
    filename = _filename(name, period, "csv")
    return await http.stream_csv(request, filename, header, cells(), dialect=tabular.EXCEL_FR)


@routes.route(
    "GET",
    f"/v1/statistics/{FIGURE}.xlsx",
    summary="A figure's detail lines as an Excel workbook",
    query=StatisticsQuery,
    content_type=XLSX,
    tag=TAG,
)
async def statistics_xlsx(request: web.Request) -> web.StreamResponse:
    name, period, rows = await _lines(request)
    w = XlsxWriter()
    title = f"{EXPORTS[name]}: du {_fr(period.start)} au {_fr(period.end)}"
    w.sheet("Détails", layout.COLUMNS[name], (title,))
    response = await start_download(request, XLSX, _filename(name, period, "xlsx"))
    for i in range(0, len(rows), 5000):
        w.rows(rows[i : i + 5000])
        await response.write(w.take())
    await response.write(w.close())
    await response.write_eof()
    return response
