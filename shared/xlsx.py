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
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from math import gcd
from typing import IO, Final, Literal
from zoneinfo import ZoneInfo

from shared import clock

__all__ = ["Column", "ColumnKind", "XlsxWriter"]

ColumnKind = Literal["text", "int", "cents", "date", "datetime"]

PARIS: Final = ZoneInfo("Europe/Paris")
_NEVER: Final = datetime.min.replace(tzinfo=UTC)
_HOUR: Final = timedelta(hours=1)
_TICK: Final = timedelta(microseconds=1)

# Excel's own limits: past them it repairs the file (drops data) or refuses it.
MAX_ROWS: Final = 1_048_576
MAX_COLUMNS: Final = 16_384
MAX_TEXT: Final = 32_767
# Excel keeps 15 significant digits: a larger number would be shown rounded. Identifiers such as
# card numbers are text columns.
MAX_NUMBER: Final = 10**15 - 1
# Without ZIP64 zipfile ends an entry at 2 GiB (ZIP64_LIMIT); ZIP64 is left out on purpose (see
# XlsxWriter.sheet). A row that would take a sheet past this is refused, with room left for the
# end of the sheet: 1,048,576 rows of ordinary width stay far below it.
MAX_SHEET_BYTES: Final = zipfile.ZIP64_LIMIT - (1 << 16)

_BATCH_CHARS: Final = 1 << 16
_CACHED_TEXT: Final = 64  # characters
_CACHE_ENTRIES: Final = 512  # a column: at most ~0.5 MB whatever the texts
# Serial day numbers count from 1899-12-30 (which absorbs Excel's phantom 1900-02-29); they
# are right from 1900-03-01 on, serial 61.
_EPOCH: Final = date(1899, 12, 30).toordinal()
_FIRST_SERIAL: Final = 61
# A time of day is written as a fraction of the day to 10 decimals (8.64 µs, well under the
# millisecond Excel shows): microseconds × 10**10 / 86,400,000,000, that is × 25 / 216 once
# reduced, which keeps the products machine-sized.
_FRACTION_DIGITS: Final = 10
_FRACTION_ONE: Final = 10**_FRACTION_DIGITS
_FRACTION_NUM: Final = _FRACTION_ONE // gcd(_FRACTION_ONE, 86_400_000_000)
_FRACTION_DEN: Final = 86_400_000_000 // gcd(_FRACTION_ONE, 86_400_000_000)

_MAIN_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML_DECL: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PKG_REL_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_FONT: Final = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
_STYLES: Final = (
    f'{_XML_DECL}<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="3">'
    '<numFmt numFmtId="164" formatCode="#,##0.00"/>'
    '<numFmt numFmtId="165" formatCode="dd/mm/yyyy"/>'
    '<numFmt numFmtId="166" formatCode="dd/mm/yyyy hh:mm"/>'
    "</numFmts>"
    f'<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="8">'
    # The order is that of _NORMAL, _BOLD, _CENTS, _DATE, _DATETIME, _BOLD_CENTS, ...
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
    '<xf numFmtId="165" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
    '<xf numFmtId="166" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

# Cell styles: indexes into <cellXfs> of styles.xml.
_NORMAL, _BOLD, _CENTS, _DATE, _DATETIME, _BOLD_CENTS, _BOLD_DATE, _BOLD_DATETIME = range(8)
_STYLE: Final = {
    # kind: (normal, bold)
    "text": (_NORMAL, _BOLD),
    "int": (_NORMAL, _BOLD),
    "cents": (_CENTS, _BOLD_CENTS),
    "date": (_DATE, _BOLD_DATE),
    "datetime": (_DATETIME, _BOLD_DATETIME),
}

# What a text needs beyond a copy: XML specials, characters XML 1.0 cannot carry, a carriage
# return (an XML parser turns a literal one into a line feed) and Excel's own escape _xHHHH_.
_NEEDS_ESCAPE: Final = re.compile(
    '[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_'
)
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel reads "_x0041_" in a string as "A"; "_x005F_" is its escape for the underscore itself.
_EXCEL_ESCAPE: Final = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_SHEET_NAME_FORBIDDEN: Final = re.compile(r"[\[\]:*?/\\\x00-\x1f\ud800-\udfff\ufffe\uffff]")
_EDGE_SPACE: Final = " \t\n\r"
_NOT_A_ROW: Final = (str, bytes)  # sequences, but of characters


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: ColumnKind
    width: int = 14  # in characters, as Excel counts them


# Formats one value for the row numbered (as text) by its second argument; "" for no cell.
Cell = Callable[[object, str], str]


def _escape(text: str) -> str:
    """Text made XML character data; characters XML cannot carry must be removed before."""
    text = _EXCEL_ESCAPE.sub("_x005F_", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
    )


def _wrong(column: Column, expected: str, value: object) -> ValueError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValueError(
        f"column {column.header!r} ({column.kind}) takes {expected}, "
        f"not {type(value).__name__} {shown}"
    )


def _as_int(column: Column, value: object) -> int:
    """The exact int in an int subclass (an IntEnum...), but not a bool, a float or a Decimal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    expected = "an int of cents" if column.kind == "cents" else "an int"
    raise _wrong(column, expected, value)


def _text_cell(column: Column, letter: str, style: int) -> Cell:
    head = f'<c r="{letter}'
    tail = f'" t="inlineStr" s="{style}"><is><t' if style else '" t="inlineStr"><is><t'
    # Statement columns repeat their texts (shop names, operation labels): the escaped form of
    # short ones is kept, up to a bound, since checking and escaping is most of a row's cost.
    cache: dict[str, str] = {}

    def fragment(value: object) -> str:
        if not isinstance(value, str):
            raise _wrong(column, "a str", value)
        if len(value) > MAX_TEXT:
            raise ValueError(
                f"column {column.header!r}: {len(value)} characters, Excel holds {MAX_TEXT}"
            )
        text = value
        if _NEEDS_ESCAPE.search(value) is not None:
            value = _NOT_XML.sub("", value)
            text = _escape(value)
        if not value:
            return ""
        if value[0] in _EDGE_SPACE or value[-1] in _EDGE_SPACE:
            return f'{tail} xml:space="preserve">{text}</t></is></c>'
        return f"{tail}>{text}</t></is></c>"

    def cell(value: object, row: str) -> str:
        if type(value) is str:
            known = cache.get(value)
            if known is not None:
                return f"{head}{row}{known}" if known else ""
            known = fragment(value)
            if len(value) <= _CACHED_TEXT:
                if len(cache) >= _CACHE_ENTRIES:
                    cache.clear()
                cache[value] = known
        else:
            known = fragment(value)
        return f"{head}{row}{known}" if known else ""

    return cell


def _int_cell(column: Column, letter: str, style: int) -> Cell:
    head = f'<c r="{letter}'
    tail = f'" s="{style}"><v>' if style else '"><v>'

    def cell(value: object, row: str) -> str:
        if type(value) is not int:
            value = _as_int(column, value)
        if not -MAX_NUMBER <= value <= MAX_NUMBER:
            raise ValueError(f"column {column.header!r}: {value} has more than 15 digits")
        return f"{head}{row}{tail}{value}</v></c>"

    return cell


def _cents_cell(column: Column, letter: str, style: int) -> Cell:
    head = f'<c r="{letter}'
    tail = f'" s="{style}"><v>'

    def cell(value: object, row: str) -> str:
        if type(value) is not int:
            value = _as_int(column, value)
        if value >= 0:
            if value > MAX_NUMBER:
                raise ValueError(f"column {column.header!r}: {value} cents has more than 15 digits")
            return f"{head}{row}{tail}{value // 100}.{value % 100:02d}</v></c>"
        if value < -MAX_NUMBER:
            raise ValueError(f"column {column.header!r}: {value} cents has more than 15 digits")
        value = -value
        return f"{head}{row}{tail}-{value // 100}.{value % 100:02d}</v></c>"

    return cell


def _date_cell(column: Column, letter: str, style: int) -> Cell:
    head = f'<c r="{letter}'
    tail = f'" s="{style}"><v>'

    def cell(value: object, row: str) -> str:
        if type(value) is not date and (not isinstance(value, date) or isinstance(value, datetime)):
            raise _wrong(column, "a date", value)
        serial = value.toordinal() - _EPOCH
        if serial < _FIRST_SERIAL:
            raise ValueError(f"column {column.header!r}: {value} is before 1900-03-01")
        return f"{head}{row}{tail}{serial}</v></c>"

    return cell


def _datetime_cell(column: Column, letter: str, style: int) -> Cell:
    head = f'<c r="{letter}'
    tail = f'" s="{style}"><v>'

    # Paris's offset changes on the hour (01:00 UTC) since 1911: within a UTC hour it is one
    # shift. Rows come mostly in time order, and adding the shift of the hour last seen costs
    # a fraction of astimezone()'s zone lookup on every value (an hour whose two ends differ,
    # such as 1911's change at 23:50:39 UTC, is not kept).
    hour = [_NEVER, _NEVER]
    shift = [timedelta(0)]

    def cell(value: object, row: str) -> str:
        try:
            if type(value) is datetime and value.tzinfo is UTC:
                if not hour[0] <= value < hour[1]:
                    start = value.replace(minute=0, second=0, microsecond=0)
                    end = start + _HOUR
                    offset = start.astimezone(PARIS).utcoffset()
                    if offset is None or offset != (end - _TICK).astimezone(PARIS).utcoffset():
                        start = end = _NEVER
                        offset = value.astimezone(PARIS).utcoffset()
                    hour[:] = start, end
                    shift[0] = offset or timedelta(0)
                local = value + shift[0]  # Paris's wall time, in the fields read below
            elif not isinstance(value, datetime):
                raise _wrong(column, "a timezone-aware datetime", value)
            elif value.utcoffset() is None:
                raise ValueError(
                    f"column {column.header!r}: {value} is naive; give it a time zone (UTC)"
                )
            else:
                local = value.astimezone(PARIS)
        except OverflowError:
            raise ValueError(f"column {column.header!r}: {value} is out of range") from None
        serial = local.toordinal() - _EPOCH
        if serial < _FIRST_SERIAL:
            raise ValueError(f"column {column.header!r}: {value} is before 1900-03-01")
        micro = (
            (local.hour * 60 + local.minute) * 60 + local.second
        ) * 1_000_000 + local.microsecond
        # Rounded half up, in integers.
        fraction = (2 * _FRACTION_NUM * micro + _FRACTION_DEN) // (2 * _FRACTION_DEN)
        if fraction == _FRACTION_ONE:
            serial, fraction = serial + 1, 0
        if fraction:
            text = f"{serial}.{fraction:010d}".rstrip("0")
            return f"{head}{row}{tail}{text}</v></c>"
        return f"{head}{row}{tail}{serial}</v></c>"

    return cell


_CELL_FACTORIES: Final[dict[str, Callable[[Column, str, int], Cell]]] = {
    "text": _text_cell,
    "int": _int_cell,
    "cents": _cents_cell,
    "date": _date_cell,
    "datetime": _datetime_cell,
}


def column_letter(index: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _Sink:
    """Where the zip goes: it can be written and flushed, but has no tell() nor seek(), so
    zipfile writes each entry's sizes and CRC after its data (a data descriptor) instead of
    seeking back to its header, and every byte can leave as soon as it is written."""

    __slots__ = ("_chunks",)

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self._chunks.append(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class _ZipFile(zipfile.ZipFile):
    def __del__(self) -> None:
        # zipfile's finaliser closes the archive, and complains if an entry is still open: so
        # it would for each download left halfway (the client went away), when the garbage
        # collector finds the writer in a cycle (with a traceback). The sink holds no
        # resource, and an unfinished file has nothing worth finishing.
        pass


class _Sheet:
    """The worksheet being written: its cell formatters and its open zip entry."""

    __slots__ = (
        "bold_cells",
        "cells",
        "entry",
        "header_row",
        "last_data_row",
        "last_letter",
        "name",
        "next_row",
        "pending",
        "pending_chars",
        "width",
        "written",
    )

    def __init__(
        self,
        name: str,
        entry: IO[bytes],
        columns: Sequence[Column],
    ) -> None:
        self.name = name
        self.entry = entry
        self.width = len(columns)
        letters = [column_letter(i) for i in range(len(columns))]
        self.last_letter = letters[-1]
        self.cells = [
            _CELL_FACTORIES[c.kind](c, letter, _STYLE[c.kind][0])
            for c, letter in zip(columns, letters, strict=True)
        ]
        self.bold_cells = [
            _CELL_FACTORIES[c.kind](c, letter, _STYLE[c.kind][1])
            for c, letter in zip(columns, letters, strict=True)
        ]
        self.next_row = 1
        self.header_row = 0
        self.last_data_row = 0
        self.pending: list[str] = []
        self.pending_chars = 0
        self.written = 0

    def flush(self) -> None:
        if self.pending:
            data = "".join(self.pending).encode()
            self.pending.clear()
            self.pending_chars = 0
            self.entry.write(data)
            self.written += len(data)


class XlsxWriter:
    """Push-based: rows in, zip bytes out through take()."""

    def __init__(self, compresslevel: int = 1) -> None:
        if not 0 <= compresslevel <= 9:
            raise ValueError(f"compresslevel is 0 to 9, not {compresslevel}")
        self._sink = _Sink()
        self._zip = _ZipFile(
            self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._sheet: _Sheet | None = None
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
        title_cell = _text_cell(Column("title", "text"), "A", _BOLD)
        head: list[str] = []
        number = 0
        for number, line in enumerate(title_rows, start=1):
            try:
                head.append(f'<row r="{number}">{title_cell(line, str(number))}</row>')
            except ValueError as exc:
                raise ValueError(f"sheet {name!r}, title row {number}: {exc}") from None
        header_row = number + 2 if number else 1
        r = str(header_row)
        header_cells = [_text_cell(c, column_letter(i), _BOLD) for i, c in enumerate(columns)]
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
        sheet = _Sheet(name, entry, columns)
        sheet.header_row = sheet.last_data_row = header_row
        sheet.next_row = header_row + 1
        first = f"A{header_row + 1}"
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>'
            for i, c in enumerate(columns, start=1)
        )
        selected = ' tabSelected="1"' if index == 1 else ""
        sheet.pending.append(
            f'{_XML_DECL}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
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
        for path, content in self._parts():
            self._zip.writestr(path, content)
        self._zip.close()
        self._closed = True
        return self._sink.take()

    @staticmethod
    def _add(sheet: _Sheet, values: Sequence[object], cells: list[Cell]) -> None:
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

    def _parts(self) -> list[tuple[str, str]]:
        count = len(self._done)
        sheets = "".join(
            f'<sheet name="{_escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, (name, _) in enumerate(self._done, start=1)
        )
        # Excel keeps each sheet's autofilter range in this hidden name; without it, it may
        # offer to repair the file.
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{_escape(_quote_sheet(name))}!{_absolute(ref)}</definedName>"
            for i, (name, ref) in enumerate(self._done)
        )
        workbook = (
            f'{_XML_DECL}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
            f"<definedNames>{filters}</definedNames></workbook>"
        )
        sheet_rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, count + 1)
        )
        workbook_rels = (
            f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">{sheet_rels}'
            f'<Relationship Id="rId{count + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{count + 2}" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        )
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
            for i in range(1, count + 1)
        )
        content_types = (
            f'{_XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f"{sheet_types}"
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            "</Types>"
        )
        created = self._created.strftime("%Y-%m-%dT%H:%M:%SZ")
        core = (
            f"{_XML_DECL}<cp:coreProperties"
            ' xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<dc:creator>Comptoir</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified>'
            "</cp:coreProperties>"
        )
        app = (
            f"{_XML_DECL}<Properties"
            ' xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            "<Application>Comptoir</Application></Properties>"
        )
        root_rels = (
            f'{_XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"
        )
        return [
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", workbook_rels),
            ("xl/styles.xml", _STYLES),
            # Empty, since strings are inline; some readers (Apple Numbers) want the part.
            (
                "xl/sharedStrings.xml",
                f'{_XML_DECL}<sst xmlns="{_MAIN_NS}" count="0" uniqueCount="0"/>',
            ),
            ("docProps/core.xml", core),
            ("docProps/app.xml", app),
            ("_rels/.rels", root_rels),
            ("[Content_Types].xml", content_types),
        ]


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
        if column.kind not in _CELL_FACTORIES:
            raise ValueError(
                f"column {column.header!r}: kind {column.kind!r} is not one of "
                f"{', '.join(_CELL_FACTORIES)}"
            )
        if type(column.width) is not int or not 1 <= column.width <= 255:
            raise ValueError(
                f"column {column.header!r}: width is 1 to 255 characters, not {column.width!r}"
            )


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    """'A5:H10' → '$A$5:$H$10'."""
    return ":".join(re.sub(r"^([A-Z]+)(\d+)$", r"$\1$\2", part) for part in ref.split(":"))
