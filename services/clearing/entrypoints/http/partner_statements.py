"""A partner association's statement (F19): JSON, and the XLSX and CSV its treasurer opens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.clearing.domain import partner_statements as layout
from services.clearing.domain import statement_lines
from services.clearing.domain.statements import XLSX
from services.clearing.entrypoints.http.common import PERIOD, authorise_partner, period
from services.clearing.service import partner_statements
from shared import http, tabular
from shared.access import Need
from shared.http import json_response, start_download
from shared.openapi import Routes
from shared.service import back_office
from shared.xlsx import XlsxWriter

routes = Routes()
PATH = "/v1/partners/{partner_id}/statements/{period:" + PERIOD + "}"


class ShareOut(BaseModel):
    merchant_id: UUID
    merchant_name: str
    revenue_cents: int
    rate_bps: int
    amount_cents: int


class DonationOut(BaseModel):
    occurred_at: datetime
    account_id: UUID
    title: str | None
    last_name: str | None
    first_name: str | None
    card_number: str | None
    amount_cents: int


class PartnerTotals(BaseModel):
    revenue_cents: int
    shares_cents: int
    donations_count: int
    donations_cents: int
    total_cents: int


class PartnerStatementOut(BaseModel):
    partner_id: UUID
    partner_name: str
    association_id: UUID
    period: str
    period_start: date
    period_end: date
    status: Literal["provisional", "closed"]
    shares: list[ShareOut]
    donations: list[DonationOut]
    totals: PartnerTotals


async def _document(request: web.Request) -> dict[str, Any]:
    rt = back_office(request)
    pid = await authorise_partner(request, Need.ASSOCIATION)
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return await partner_statements.statement(conn, pid, period(request))


@routes.route(
    "GET",
    PATH,
    summary="A partner association's statement: each merchant's share, the donations",
    returns=PartnerStatementOut,
    tag="statements",
)
async def partner_statement(request: web.Request) -> web.Response:
    """Once the period is closed, the shares its close booked; before, `provisional`."""
    return json_response(await _document(request))


@routes.route(
    "GET",
    PATH + ".xlsx",
    summary="A partner association's statement as an Excel workbook",
    content_type=XLSX,
    tag="statements",
)
async def partner_statement_xlsx(request: web.Request) -> web.StreamResponse:
    doc = await _document(request)
    p = date.fromisoformat(doc["period_start"])
    start, end = p.strftime("%d/%m/%Y"), date.fromisoformat(doc["period_end"]).strftime("%d/%m/%Y")
    status = "" if doc["status"] == "closed" else " (provisoire)"
    # A partner's lines are few (a line per merchant, one per donation): written whole
    # before the answer starts, so a fault is a problem, not a download cut short.
    w = XlsxWriter()
    w.sheet("Rapport", layout.SUMMARY, (f"Rapport du {start} au {end}{status}",))
    w.row(layout.summary_row(doc))
    w.sheet("Détails", layout.LINES, (f"Détails du {start} au {end}",))
    w.rows(layout.lines(doc))
    for row in layout.totals_rows(doc):
        w.total_row(row)
    data = w.take() + w.close()
    response = await start_download(request, XLSX, layout.filename(doc, "xlsx"))
    await response.write(data)
    await response.write_eof()
    return response


@routes.route(
    "GET",
    PATH + ".csv",
    summary="A partner association's statement lines as CSV (French Excel)",
    content_type="text/csv",
    tag="statements",
)
async def partner_statement_csv(request: web.Request) -> web.StreamResponse:
    doc = await _document(request)

    async def rows() -> AsyncIterator[list[object]]:
        for row in [*layout.lines(doc), *layout.totals_rows(doc)]:
            yield statement_lines.csv_cells(row, layout.LINES)

    header = [c.header for c in layout.LINES]
    name = layout.filename(doc, "csv")
    return await http.stream_csv(request, name, header, rows(), dialect=tabular.EXCEL_FR)
