"""A streaming XLSX writer, stdlib only, for statements too large to build in memory.

Push-based: rows go in, zip bytes come out through ``take()``, so an HTTP handler sends the file
while it is being written and memory stays flat whatever the number of rows::

    writer = XlsxWriter()
    writer.sheet("Détail", columns, title_rows=["Rapport du 01/10/2026 au 31/10/2026"])
    async for batch in batches:
        writer.rows(batch)
        await response.write(writer.take())
    await response.write(writer.close())

Nothing proportional to the number of rows is kept: strings are written inline (no shared
strings table), rows are encoded and compressed in batches of about 64 KiB, and the zip is
written to a sink that cannot seek, so that ``zipfile`` ends each entry with a data descriptor
instead of going back to patch its header. What ``take()`` has not yet collected is held until
it is called: call it between batches.

Money is written from integer cents as an exact decimal string ("-1234" → ``-12.34``), never
through a float; datetimes are shown in Paris time, as merchants read them.

The package: the writer and Excel's limits here, ``sheet`` (the worksheet being written and
the zip sink), ``cells`` (columns and the formatting of each kind of value) and ``parts`` (the
workbook's other XML parts and its styles).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Final

from shared import clock
from shared.clock import PARIS
from shared.xlsx.cells import (
    CELL_FACTORIES,
    MAX_NUMBER,
    MAX_TEXT,
    Cell,
    Column,
    ColumnKind,
    column_letter,
    text_cell,
)
from shared.xlsx.parts import BOLD, MAIN_NS, REL_NS, XML_DECL, workbook_parts
from shared.xlsx.sheet import Sheet, Sink, ZipFile

__all__ = [
    "MAX_COLUMNS",
    "MAX_NUMBER",
    "MAX_ROWS",
    "MAX_SHEET_BYTES",
    "MAX_TEXT",
    "PARIS",
    "Column",
    "ColumnKind",
    "XlsxWriter",
    "column_letter",
]

# Excel's own limits: past them it repairs the file (drops data) or refuses it.
MAX_ROWS: Final = 1_048_576
MAX_COLUMNS: Final = 16_384
# Without ZIP64 zipfile ends an entry at 2 GiB (ZIP64_LIMIT); ZIP64 is left out on purpose (see
# XlsxWriter.sheet). A row that would take a sheet past this is refused, with room left for the
# end of the sheet: 1,048,576 rows of ordinary width stay far below it.
MAX_SHEET_BYTES: Final = zipfile.ZIP64_LIMIT - (1 << 16)

_BATCH_CHARS: Final = 1 << 16
_SHEET_NAME_FORBIDDEN: Final = re.compile(r"[\[\]:*?/\\\x00-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_A_ROW: Final = (str, bytes)  # sequences, but of characters


class XlsxWriter:
    """Push-based: rows in, zip bytes out through take()."""

    def __init__(self, compresslevel: int = 1) -> None:
        if not 0 <= compresslevel <= 9:
            raise ValueError(f"compresslevel is 0 to 9, not {compresslevel}")
        self._sink = Sink()
        self._zip = ZipFile(
            self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._sheet: Sheet | None = None
        # (name, autofilter range) of each sheet ended: all that is kept across sheets.
        self._done: list[tuple[str, str]] = []
        self._names: set[str] = set()
        self._created = clock.now().replace(microsecond=0)
        self._closed = False

    def sheet(self, name: str, columns: Sequence[Column], title_rows: Sequence[str] = ()) -> None:
        """Start a new worksheet, ending the previous one: the title rows (free text in bold,
        then an empty row), the header row in bold, frozen below it, and the column widths."""
        self._check_open()
        folded = _check_sheet_name(name)
        if folded in self._names:
            raise ValueError(f"two sheets named {name!r} (Excel ignores case)")
        columns = tuple(columns)
        _check_columns(columns)
        if isinstance(title_rows, str):
            raise ValueError("title_rows is a sequence of lines, not one str")
        title_cell = text_cell(Column("title", "text"), "A", BOLD)
        head: list[str] = []
        number = 0
        for number, line in enumerate(title_rows, start=1):
            try:
                head.append(f'<row r="{number}">{title_cell(line, str(number))}</row>')
            except ValueError as exc:
                raise ValueError(f"sheet {name!r}, title row {number}: {exc}") from None
        header_row = number + 2 if number else 1
        r = str(header_row)
        header_cells = [text_cell(c, column_letter(i), BOLD) for i, c in enumerate(columns)]
        try:
            cells = "".join(
                [cell(c.header, r) for cell, c in zip(header_cells, columns, strict=True)]
            )
        except ValueError as exc:
            raise ValueError(f"sheet {name!r}, header: {exc}") from None
        head.append(f'<row r="{r}">{cells}</row>')

        self._end_sheet()
        index = len(self._done) + 1
        # Not force_zip64: on an unseekable sink zipfile would then mark the local header ZIP64
        # (sizes 0xFFFFFFFF, a ZIP64 extra, a 24-byte data descriptor) while the central
        # directory stays 32-bit for a small entry, a mix Excel is reported to refuse as
        # corrupt (minizip-ng#894, duckdb-excel#64, kuba--/zip#384: Office wants no ZIP64 on
        # small entries). Python, LibreOffice and openpyxl read either; MAX_SHEET_BYTES keeps
        # a sheet within the 32-bit sizes instead.
        entry = self._zip.open(f"xl/worksheets/sheet{index}.xml", "w")
        sheet = Sheet(name, entry, columns)
        sheet.header_row = sheet.last_data_row = header_row
        sheet.next_row = header_row + 1
        first = f"A{header_row + 1}"
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>'
            for i, c in enumerate(columns, start=1)
        )
        selected = ' tabSelected="1"' if index == 1 else ""
        sheet.pending.append(
            f'{XML_DECL}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            f'<sheetViews><sheetView workbookViewId="0"{selected}>'
            f'<pane ySplit="{header_row}" topLeftCell="{first}" activePane="bottomLeft" state="frozen"/>'
            f'<selection pane="bottomLeft" activeCell="{first}" sqref="{first}"/>'
            f"</sheetView></sheetViews>"
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
        )
        sheet.pending.extend(head)
        sheet.pending_chars = sum(map(len, sheet.pending))
        self._names.add(folded)
        self._sheet = sheet

    def row(self, values: Sequence[object]) -> None:
        """One row; None (or "") leaves a cell empty, and missing values at the end too."""
        sheet = self._sheet
        if sheet is None:
            raise ValueError("row() before sheet()" if not self._closed else "writer is closed")
        self._add(sheet, values, sheet.cells)
        sheet.last_data_row = sheet.next_row - 1

    def rows(self, values: Iterable[Sequence[object]]) -> None:
        """Many rows, as row() each."""
        sheet = self._sheet
        if sheet is None:
            raise ValueError("rows() before sheet()" if not self._closed else "writer is closed")
        add, cells = self._add, sheet.cells
        try:
            for row in values:
                add(sheet, row, cells)
        finally:
            sheet.last_data_row = sheet.next_row - 1

    def total_row(self, values: Sequence[object]) -> None:
        """A row in bold, the totals line; it stays out of the autofilter's range."""
        sheet = self._sheet
        if sheet is None:
            raise ValueError(
                "total_row() before sheet()" if not self._closed else "writer is closed"
            )
        self._add(sheet, values, sheet.bold_cells)

    def take(self) -> bytes:
        """The bytes produced since the last take(), possibly b""."""
        if self._sheet is not None:
            self._sheet.flush()
        return self._sink.take()

    def close(self) -> bytes:
        """End the sheet, write the workbook's other parts and the zip's central directory;
        return the last bytes of the file."""
        self._check_open()
        if self._sheet is None and not self._done:
            raise ValueError("a workbook needs at least one sheet")
        self._end_sheet()
        for path, content in workbook_parts(self._done, self._created):
            self._zip.writestr(path, content)
        self._zip.close()
        self._closed = True
        return self._sink.take()

    @staticmethod
    def _add(sheet: Sheet, values: Sequence[object], cells: list[Cell]) -> None:
        # The hot path: one formatter call per non-empty cell, one join per row; the rows are
        # encoded and compressed in batches by flush().
        if len(values) > sheet.width or isinstance(values, _NOT_A_ROW):
            if isinstance(values, _NOT_A_ROW):
                raise ValueError(f"sheet {sheet.name!r}: a row is a sequence of values, not a str")
            raise ValueError(
                f"sheet {sheet.name!r}, row {sheet.next_row}: {len(values)} values "
                f"for {sheet.width} columns"
            )
        number = sheet.next_row
        if number > MAX_ROWS:
            raise ValueError(
                f"sheet {sheet.name!r} is full: Excel holds {MAX_ROWS:,} rows; start another sheet"
            )
        r = str(number)
        try:
            line = f'<row r="{r}">{"".join([cell(v, r) for cell, v in zip(cells, values, strict=False) if v is not None])}</row>'
        except ValueError as exc:
            raise ValueError(f"sheet {sheet.name!r}, row {number}: {exc}") from None
        chars = sheet.pending_chars + len(line)
        # 4 bytes a character bounds what the pending rows will encode to.
        if sheet.written + chars * 4 > MAX_SHEET_BYTES:
            sheet.flush()
            if sheet.written + len(line) * 4 > MAX_SHEET_BYTES:
                raise ValueError(
                    f"sheet {sheet.name!r} is full: its XML would pass 2 GiB; start another sheet"
                )
            chars = len(line)
        sheet.pending.append(line)
        sheet.pending_chars = chars
        sheet.next_row = number + 1
        if chars > _BATCH_CHARS:
            sheet.flush()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("writer is closed")

    def _end_sheet(self) -> None:
        sheet = self._sheet
        if sheet is None:
            return
        self._sheet = None
        ref = f"A{sheet.header_row}:{sheet.last_letter}{sheet.last_data_row}"
        sheet.pending.append(
            f'</sheetData><autoFilter ref="{ref}"/>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            "</worksheet>"
        )
        sheet.flush()
        sheet.entry.close()
        self._done.append((sheet.name, ref))


def _check_sheet_name(name: object) -> str:
    """The name folded for comparison, if Excel takes it as a sheet name."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a sheet name is a non-empty str, not {name!r}")
    if len(name) > 31:
        raise ValueError(f"sheet name {name!r} has {len(name)} characters, Excel takes 31")
    if _SHEET_NAME_FORBIDDEN.search(name) is not None:
        raise ValueError(
            f"sheet name {name!r}: Excel forbids []:*?/\\ and control characters in it"
        )
    if name[0] == "'" or name[-1] == "'":
        raise ValueError(f"sheet name {name!r} may not begin or end with an apostrophe")
    folded = name.casefold()
    if folded == "history":
        raise ValueError("Excel reserves the sheet name 'History'")
    return folded


def _check_columns(columns: tuple[Column, ...]) -> None:
    if not columns:
        raise ValueError("a sheet needs at least one column")
    if len(columns) > MAX_COLUMNS:
        raise ValueError(f"{len(columns)} columns, Excel holds {MAX_COLUMNS:,}")
    for column in columns:
        if not isinstance(column, Column):
            raise ValueError(f"columns are Column, not {type(column).__name__}")
        if not isinstance(column.header, str):
            raise ValueError(f"a column header is a str, not {column.header!r}")
        if column.kind not in CELL_FACTORIES:
            raise ValueError(
                f"column {column.header!r}: kind {column.kind!r} is not one of "
                f"{', '.join(CELL_FACTORIES)}"
            )
        if type(column.width) is not int or not 1 <= column.width <= 255:
            raise ValueError(
                f"column {column.header!r}: width is 1 to 255 characters, not {column.width!r}"
            )
