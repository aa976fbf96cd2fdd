"""The one CSV writer of Comptoir: every CSV the project produces (a merchant's statement, a
card printer's batch, a voucher batch) is written through ``Writer`` (shared/http.py
``stream_csv`` uses it), so that no cell can become a formula in the reader's spreadsheet.

Spreadsheet injection (issue 11, finding 8): a name or a product family a terminal or an
import sent as ``=HYPERLINK(...)`` or ``+cmd|' /C calc'!A0`` runs as a formula when a
treasurer opens the CSV in Excel or LibreOffice. OWASP's advice ("CSV Injection") is followed:
a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
with a single quote, which the spreadsheet shows as text; the csv module quotes the cell as a
whole, so a comma or a double quote inside it cannot start a new cell.

Numbers are told apart by their type, not their look: a ``str`` is text from somewhere and is
always neutralised, even ``"-12.34"``; an ``int`` or a ``Decimal`` is a number our code
computed (a count, an amount in cents, euros from cents by ``euros``) and is written as it is,
so a refund stays the number ``-12.34`` that a SUM adds up, not the text ``'-12.34``. Text
from input therefore never reaches a money column as a number: only code turns cents into a
``Decimal``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# OWASP: the characters a spreadsheet reads as the start of a formula (or, for tab and CR,
# as a cell separator some importers honour).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet will show it, never run it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def euros(cents: int) -> Decimal:
    """Cents as a number of euros with two decimals (-1234 → Decimal("-12.34")), exact, for a
    money column that stays numeric."""
    return Decimal(cents).scaleb(-2)


def cell(value: Any) -> str:
    """One cell's text: numbers as numbers, dates in ISO 8601, any other value as neutralised
    text. ``bool`` is refused: a column of true/false says nothing a reader should guess."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("a CSV cell is text, a number or a date, not a bool")
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise(str(value))


class Writer:
    """A CSV writer over ``out`` (RFC 4180: comma, double quotes, CRLF) that neutralises every
    text cell."""

    def __init__(self, out: io.StringIO) -> None:
        self._csv = csv.writer(out, lineterminator="\r\n")

    def header(self, names: Iterable[str]) -> None:
        # Our own column names: text like any other, neutralised all the same.
        self._csv.writerow([cell(n) for n in names])

    def row(self, values: Iterable[Any]) -> None:
        self._csv.writerow([cell(v) for v in values])


def to_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A whole small CSV as text (tests, short reports)."""
    out = io.StringIO()
    w = Writer(out)
    w.header(header)
    for r in rows:
        w.row(r)
    return out.getvalue()
