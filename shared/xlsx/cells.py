"""Columns and their cells: each kind of value (text, int, cents, date, datetime) checked and
formatted as a cell of SpreadsheetML, fast, since it runs once per cell of a statement."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from math import gcd
from typing import Final, Literal

from shared.clock import PARIS

ColumnKind = Literal["text", "int", "cents", "date", "datetime"]

_NEVER: Final = datetime.min.replace(tzinfo=UTC)
_HOUR: Final = timedelta(hours=1)
_TICK: Final = timedelta(microseconds=1)

# Excel's own limits: past them it repairs the file (drops data) or refuses it.
MAX_TEXT: Final = 32_767
# Excel keeps 15 significant digits: a larger number would be shown rounded. Identifiers such as
# card numbers are text columns.
MAX_NUMBER: Final = 10**15 - 1

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

# What a text needs beyond a copy: XML specials, characters XML 1.0 cannot carry, a carriage
# return (an XML parser turns a literal one into a line feed) and Excel's own escape _xHHHH_.
_NEEDS_ESCAPE: Final = re.compile(
    '[&<>"\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_'
)
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel reads "_x0041_" in a string as "A"; "_x005F_" is its escape for the underscore itself.
_EXCEL_ESCAPE: Final = re.compile("_(?=x[0-9A-Fa-f]{4}_)")
_EDGE_SPACE: Final = " \t\n\r"


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: ColumnKind
    width: int = 14  # in characters, as Excel counts them


# Formats one value for the row numbered (as text) by its second argument; "" for no cell.
Cell = Callable[[object, str], str]


def escape(text: str) -> str:
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


def text_cell(column: Column, letter: str, style: int) -> Cell:
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
            text = escape(value)
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


CELL_FACTORIES: Final[dict[str, Callable[[Column, str, int], Cell]]] = {
    "text": text_cell,
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
