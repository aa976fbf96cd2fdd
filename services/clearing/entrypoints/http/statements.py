"""Statements (F18): a merchant's for a period, every merchant's of an association, and the
exports (XLSX and CSV) written as the detail lines are read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field, RootModel

from services.clearing.domain import statement_lines as lines_layout
from services.clearing.domain import statements as layout
from services.clearing.domain.periods import period_end
from services.clearing.entrypoints.http.common import (
    PERIOD,
    STATEMENT,
    authorise_merchant,
    period,
)
from services.clearing.service import statements
from shared import http, tabular
from shared.access import Need
from shared.access_http import authorise
from shared.http import json_response, start_download, uuid_param
from shared.openapi import Routes
from shared.service import back_office
from shared.xlsx import XlsxWriter

routes = Routes()


class FiguresOut(BaseModel):
    purchases_count: int
    purchases_cents: int
    cagnottages_cents: int = Field(description="rewards granted, less those of returns")
    fees_cents: int = Field(description="due to the operator (taux UC), less those of returns")
    fees_and_cagnottages_cents: int
    returns_count: int
    returns_cents: int
    redemptions_count: int = Field(description="décagnottages in this shop")
    redemptions_cents: int
    stored_value_spent_cents: int = Field(description="gift, prepaid and e-purse money spent")
    loads_cents: int = Field(description="money the shop took to load cards")
    partner_share_cents: int
    adjustments_cents: int
    net_cents: int = Field(description="> 0: the merchant pays; < 0: the merchant is paid")


class RankOut(BaseModel):
    rank: int
    of: int
    min: int
    max: int
    average: int
    average_hundredths: int | None = Field(
        default=None, description="the average in hundredths (a count's: 1.33 purchases)"
    )


class AdjustmentLine(BaseModel):
    adjustment_id: UUID
    adjusts_period: str
    amount_cents: int
    reason: str | None
    booked_at: datetime


class AssociationTotals(BaseModel):
    merchants: int
    totals: FiguresOut


class StatementOut(BaseModel):
    statement_id: UUID | None = Field(default=None, description="a closed period's statement")
    association_id: UUID
    merchant_id: UUID
    merchant_name: str
    period: str
    period_start: date
    period_end: date
    status: Literal["provisional", "closed"]
    created_on: date | None
    closed_on: date | None
    taux_uc_bps: int | None
    taux_client_bps: int | None
    figures: FiguresOut
    adjustments: list[AdjustmentLine]
    association: AssociationTotals
    ranking: dict[str, RankOut]


class Statements(RootModel[list[StatementOut]]):
    pass


Stream = Callable[[web.Request, asyncpg.Connection, dict[str, Any]], Awaitable[web.StreamResponse]]


async def _export(request: web.Request, stream: Stream) -> web.StreamResponse:
    rt = back_office(request)
    _, mid, _ = await authorise_merchant(request, Need.MANAGER)
    p = period(request)
    # One snapshot: the statement and its detail lines agree.
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return await stream(request, conn, await statements.statement(conn, mid, p))


async def _xlsx(
    request: web.Request, conn: asyncpg.Connection, doc: dict[str, Any]
) -> web.StreamResponse:
    """Sheet "Rapport": the merchant's row, the association's totals, the ranking; sheet
    "Détails": every line of the period and their totals. Sent as it is written."""
    p = date.fromisoformat(doc["period_start"])
    response = await start_download(request, layout.XLSX, layout.filename(doc, "xlsx"))
    w = XlsxWriter()
    start, end = p.strftime("%d/%m/%Y"), period_end(p).strftime("%d/%m/%Y")
    status = "" if doc["status"] == "closed" else " (provisoire)"
    w.sheet("Rapport", layout.SUMMARY, (f"Rapport du {start} au {end}{status}",))
    w.row(layout.summary_row(doc))
    w.total_row(layout.association_row(doc))
    w.sheet("Classement", layout.RANKING, (f"Classement dans l'association du {start} au {end}",))
    for row in layout.ranking_rows(doc):
        w.row(row)
    w.sheet("Détails", lines_layout.DETAILS, (f"Détails du {start} au {end}",))
    totals = lines_layout.Totals()
    async for rows in statements.detail_rows(conn, UUID(doc["merchant_id"]), p):
        w.rows(rows)
        totals.add(rows)
        await response.write(w.take())
    for row in totals.rows():
        w.total_row(row)
    await response.write(w.close())
    await response.write_eof()
    return response


async def _csv(
    request: web.Request, conn: asyncpg.Connection, doc: dict[str, Any]
) -> web.StreamResponse:
    """The detail lines as French Excel opens them (UTF-8 with a byte-order mark, ";",
    decimal comma, card numbers kept as text), then the totals lines."""
    p = date.fromisoformat(doc["period_start"])

    async def lines() -> AsyncIterator[list[object]]:
        totals = lines_layout.Totals()
        async for rows in statements.detail_rows(conn, UUID(doc["merchant_id"]), p):
            totals.add(rows)
            for r in rows:
                yield lines_layout.csv_cells(r)
        for row in totals.rows():
            yield lines_layout.csv_cells(row)

    header = [c.header for c in lines_layout.DETAILS]
    name = layout.filename(doc, "csv")
    return await http.stream_csv(request, name, header, lines(), dialect=tabular.EXCEL_FR)


@routes.route(
    "GET",
    STATEMENT + ".xlsx",
    summary="A merchant's statement as an Excel workbook (report, ranking, detail lines)",
    content_type=layout.XLSX,
    tag="statements",
)
async def statement_xlsx(request: web.Request) -> web.StreamResponse:
    """Written as the detail lines are read: memory stays flat whatever the size."""
    return await _export(request, _xlsx)


@routes.route(
    "GET",
    STATEMENT + ".csv",
    summary="A merchant's statement detail lines as CSV",
    content_type="text/csv",
    tag="statements",
)
async def statement_csv(request: web.Request) -> web.StreamResponse:
    return await _export(request, _csv)


@routes.route(
    "GET",
    STATEMENT,
    summary="A merchant's statement for a period (YYYY-MM)",
    returns=StatementOut,
    tag="statements",
)
async def statement(request: web.Request) -> web.Response:
    """Frozen once the period is closed; computed when asked (`provisional`) before."""
    rt = back_office(request)
    _, mid, _ = await authorise_merchant(request, Need.MANAGER)
    p = period(request)
    async with rt.pool.acquire() as conn:
        return json_response(await statements.statement(conn, mid, p))


@routes.route(
    "GET",
    "/v1/associations/{association_id}/statements/{period:" + PERIOD + "}",
    summary="Every merchant's statement of an association for a period",
    returns=Statements,
    tag="statements",
)
async def association_statements(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    p = period(request)
    async with rt.pool.acquire() as conn:
        return json_response(await statements.of_association(conn, aid, p))
