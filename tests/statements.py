"""Reading a merchant's statement back as a treasurer's spreadsheet program would: the XLSX's
report row, ranking and detail lines, and the CSV as French Excel opens it; and the check that
the details' totals are the report's columns (issue 13, item 6)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import openpyxl

# Each total of the details' line "TOTAL", and the report's column it must equal.
TOTAL_IS_REPORT = (
    ("VALEUR", "SOMME DES ACHATS"),
    ("CAGNOTTE", "SOMME DES CAGNOTTAGES"),
    ("FRAIS UC", "FRAIS À REVERSER À L'UC"),
    ("NET", "NET À PAYER (+) / À RECEVOIR (-)"),
)
# The lines after "TOTAL": the kind's label, its column, the report's column it must equal.
KIND_TOTAL_IS_REPORT = (
    ("Retours", "VALEUR", "SOMME DES RETOURS"),
    ("Décagnottages", "CAGNOTTE", "SOMME DES DÉCAGNOTTAGES"),
    ("Partenariats", "NET", "PARTENARIATS"),
)


def sheet(book: Any, name: str) -> list[tuple[Any, ...]]:
    """The sheet's rows with something in them, each as wide as the widest (a read-only
    workbook leaves out a row's empty cells at its end)."""
    rows = [r for r in book[name].iter_rows(values_only=True) if any(c is not None for c in r)]
    width = max(len(r) for r in rows)
    return [tuple(r) + (None,) * (width - len(r)) for r in rows]


def french_csv(data: bytes) -> list[list[str]]:
    """The CSV as French Excel reads it: a byte-order mark then UTF-8, ";" between cells."""
    assert data.startswith(b"\xef\xbb\xbf"), data[:10]
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=";"))


@dataclass
class Workbook:
    """A merchant's statement as XLSX: the merchant's row of the report (by column), the
    ranking (by figure), the detail lines (by column) and the totals after them (by label:
    "TOTAL", "Retours", "Décagnottages"…)."""

    report: dict[str, Any]
    ranking: dict[str, tuple[Any, ...]]
    lines: list[dict[str, Any]]
    totals: dict[str, dict[str, Any]]


def workbook(data: bytes) -> Workbook:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    report = sheet(book, "Rapport")
    details = sheet(book, "Détails")
    rows = [dict(zip(details[1], r, strict=True)) for r in details[2:]]
    return Workbook(
        report=dict(zip(report[1], report[2], strict=True)),
        ranking={r[0]: r for r in sheet(book, "Classement")[2:]},
        lines=[r for r in rows if r["DATE"] is not None],
        totals={str(r["TYPE"]).split(" (")[0]: r for r in rows if r["DATE"] is None},
    )


def totals_are_the_report(w: Workbook) -> None:
    """Each total of the details is the report's column of that name (a treasurer ticks every
    figure of the report off the details)."""
    for column, report_column in TOTAL_IS_REPORT:
        got, want = w.totals["TOTAL"][column], w.report[report_column]
        assert Decimal(str(got)) == Decimal(str(want)), (column, got, want)
    for label, column, report_column in KIND_TOTAL_IS_REPORT:
        if label in w.totals:
            got, want = w.totals[label][column], w.report[report_column]
            assert Decimal(str(got)) == Decimal(str(want)), (label, got, want)
