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
from typing import Any, NamedTuple

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


class Dialect(NamedTuple):
    """How a CSV is written for its readers: the cell separator, the decimal mark, and
    whether it starts with a byte-order mark."""

    delimiter: str
    decimal: str
    bom: bool


# RFC 4180, for programs (a card printer's batch, a voucher batch).
RFC4180 = Dialect(",", ".", False)
# For a treasurer's Excel in French (issue 13, item 6): Excel takes the list separator of the
# system's regional settings, ";" in France, where the comma is the decimal mark; without a
# byte-order mark it reads a CSV in the ANSI code page (Windows-1252), so "Décagnottage"
# shows as "DÃ©cagnottage". With the BOM it reads UTF-8.
EXCEL_FR = Dialect(";", ",", True)
BOM = "\ufeff"


class Identifier(str):
    """Digits that are a name, not a number (a card number): a spreadsheet must keep them as
    text. In ``EXCEL_FR`` they are written ``="9250…"``: Excel, opening a CSV, would read the
    bare digits as a number, show 16 of them as 9,25E+15 and keep only 15 significant ones;
    the formula's value is the text itself, which it shows and keeps whole. Only ASCII digits
    are accepted, so the one formula this module writes can hold nothing else."""

    __slots__ = ()

    def __new__(cls, digits: str) -> Identifier:
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError("an identifier kept as text is made of digits only")
        return super().__new__(cls, digits)


def cell(value: Any, dialect: Dialect = RFC4180) -> str:
    """One cell's text: numbers as numbers (with the dialect's decimal mark), dates in ISO
    8601, any other value as neutralised text. ``bool`` is refused: a column of true/false
    says nothing a reader should guess."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("a CSV cell is text, a number or a date, not a bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(value).replace(".", dialect.decimal)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Identifier) and dialect is EXCEL_FR:
        return f'="{value}"'
    return neutralise(str(value))


class Writer:
    """A CSV writer over ``out`` (RFC 4180: comma, double quotes, CRLF; or another dialect's
    separator and decimal mark) that neutralises every text cell. The byte-order mark, if the
    dialect has one, is written first."""

    def __init__(self, out: io.StringIO, dialect: Dialect = RFC4180) -> None:
        self._dialect = dialect
        self._csv = csv.writer(out, delimiter=dialect.delimiter, lineterminator="\r\n")
        if dialect.bom:
            out.write(BOM)

    def header(self, names: Iterable[str]) -> None:
        # Our own column names: text like any other, neutralised all the same.
        self._csv.writerow([cell(n, self._dialect) for n in names])

    def row(self, values: Iterable[Any]) -> None:
        self._csv.writerow([cell(v, self._dialect) for v in values])


def to_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A whole small CSV as text (tests, short reports)."""
    out = io.StringIO()
    w = Writer(out)
    w.header(header)
    for r in rows:
        w.row(r)
    return out.getvalue()
