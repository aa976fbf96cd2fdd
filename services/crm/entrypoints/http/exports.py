"""A segment's customers as a file: CSV through the one CSV writer (shared/tabular.py, in its
French Excel dialect, as the statements) or XLSX through the streaming writer (shared/xlsx),
written as the pages are read, so memory stays flat whatever the segment's size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from aiohttp import web

from shared import http, tabular
from shared.http import start_download
from shared.xlsx import Column, XlsxWriter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (the export line's key, the column) in the file's order.
COLUMNS: tuple[tuple[str, Column], ...] = (
    ("account_id", Column("Compte", "text", 38)),
    ("title", Column("Civilité", "text", 8)),
    ("last_name", Column("Nom", "text", 20)),
    ("first_name", Column("Prénom", "text", 20)),
    ("email", Column("E-mail", "text", 30)),
    ("phone", Column("Mobile", "text", 16)),
    ("address", Column("Adresse", "text", 30)),
    ("postal_code", Column("Code postal", "text", 10)),
    ("town", Column("Ville", "text", 20)),
    ("language", Column("Langue", "text", 6)),
    ("enrolled_at", Column("Inscrit le", "datetime", 18)),
    ("visit_count", Column("Visites", "int", 8)),
    ("total_spent_cents", Column("Achats", "cents", 12)),
    ("last_visit_at", Column("Dernière visite", "datetime", 18)),
)
HEADER = [c.header for _, c in COLUMNS]


def xlsx_row(line: dict[str, Any]) -> list[object]:
    return [str(line[k]) if k == "account_id" else line[k] for k, _ in COLUMNS]


def csv_row(line: dict[str, Any]) -> list[object]:
    """Amounts in euros (a number the sheet adds up), the account as text."""
    out: list[object] = []
    for key, column in COLUMNS:
        value = line[key]
        if column.kind == "cents":
            value = tabular.euros(value)
        elif key == "account_id":
            value = str(value)
        out.append(value)
    return out


async def send(
    request: web.Request,
    kind: Literal["csv", "xlsx"],
    name: str,
    batches: AsyncIterator[list[dict[str, Any]]],
) -> web.StreamResponse:
    if kind == "csv":

        async def rows() -> AsyncIterator[list[object]]:
            async for batch in batches:
                for line in batch:
                    yield csv_row(line)

        return await http.stream_csv(
            request, f"{name}.csv", HEADER, rows(), dialect=tabular.EXCEL_FR
        )
    response = await start_download(request, XLSX, f"{name}.xlsx")
    w = XlsxWriter()
    w.sheet("Clients", [c for _, c in COLUMNS])
    async for batch in batches:
        w.rows([xlsx_row(line) for line in batch])
        await response.write(w.take())
    await response.write(w.close())
    await response.write_eof()
    return response
