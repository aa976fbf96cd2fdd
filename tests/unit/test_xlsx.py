"""The streaming XLSX writer of the statements: read back as a spreadsheet program would
(openpyxl), checked in the raw sheet XML where exactness matters, and its memory kept flat."""

from __future__ import annotations

import gc
import struct
import sys
import tracemalloc
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum
from io import BytesIO
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from shared import xlsx
from shared.xlsx import PARIS, Column, XlsxWriter

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}

SUMMARY = [
    Column("Libellé", "text", 30),
    Column("Opérations", "int"),
    Column("Montant", "cents"),
    Column("Commission", "cents"),
]
DETAIL = [
    Column("Date", "date", 12),
    Column("Heure", "datetime", 17),
    Column("Commerce", "text", 30),
    Column("Carte", "text", 20),
    Column("Montant", "cents"),
    Column("Points", "int"),
    Column("Libellé", "text", 30),
    Column("Commission", "cents"),
]
# (written, read back): accents, XML specials, characters XML 1.0 cannot carry (dropped),
# spaces at the edges, a carriage return.
TEXTS = [
    ("Boulangerie Dupré", "Boulangerie Dupré"),
    ("Café & Thé <Lyon>", "Café & Thé <Lyon>"),
    ('Le "Comptoir" d\'Ève', 'Le "Comptoir" d\'Ève'),
    ("Crème brûlée, 5 € — œuf, ß, 日本, 🙂", "Crème brûlée, 5 € — œuf, ß, 日本, 🙂"),
    ("bip\x07bip\x00\x1f", "bipbip"),
    ("demi\ud800surrogate\ufffe", "demisurrogate"),
    ("  deux espaces devant", "  deux espaces devant"),
    ("derrière\t", "derrière\t"),
    ("ligne 1\r\nligne 2\nligne 3", "ligne 1\r\nligne 2\nligne 3"),
    ("]]> &amp; &#13;", "]]> &amp; &#13;"),
]
FIRST = datetime(2026, 10, 1, tzinfo=UTC)


def detail_row(i: int) -> list[object]:
    """Row i of the detail sheet: every kind, negatives, None, and times across the night of
    25 October 2026 when Paris goes from CEST to CET."""
    return [
        date(2026, 10, 1) + timedelta(days=i % 31),
        FIRST + timedelta(seconds=i * 257),
        TEXTS[i % len(TEXTS)][0],
        None if i % 7 == 0 else f"9250 0000 {i:04d} {i * 7 % 10000:04d}",
        (i * 7919) % 200_001 - 100_000,
        i - 5000,
        None if i % 3 == 0 else f"Achat n°{i} <{TEXTS[i % 4][0]}>",
        None if i % 5 == 0 else i * 13 % 997,
    ]


def expected_detail(i: int) -> list[object]:
    day, moment, _, *rest = detail_row(i)
    assert isinstance(day, date) and isinstance(moment, datetime)
    return [
        datetime.combine(day, datetime.min.time()),
        moment.astimezone(PARIS).replace(tzinfo=None),
        TEXTS[i % len(TEXTS)][1],
        *rest,
    ]


def write(build: Any) -> bytes:
    """The whole file, taken in pieces as a handler would send it."""
    writer = XlsxWriter()
    pieces: list[bytes] = []
    build(writer, pieces)
    pieces.append(writer.close())
    return b"".join(pieces)


def sheet_xml(data: bytes, index: int) -> ElementTree.Element:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        return ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{index}.xml"))


def raw_cells(data: bytes, index: int) -> dict[str, tuple[str | None, str | None]]:
    """Each cell's reference → (raw <v> or inline text, style index)."""
    cells: dict[str, tuple[str | None, str | None]] = {}
    for c in sheet_xml(data, index).iterfind(".//m:sheetData/m:row/m:c", NS):
        v = c.find("m:v", NS)
        t = c.find("m:is/m:t", NS)
        cells[c.attrib["r"]] = (
            v.text if v is not None else t.text if t is not None else None,
            c.get("s"),
        )
    return cells


def one_cell(kind: xlsx.ColumnKind, value: object) -> tuple[str | None, str | None]:
    data = write(lambda w, _: (w.sheet("S", [Column("x", kind)]), w.row([value])))
    return raw_cells(data, 1)["A2"]


@pytest.fixture(scope="module")
def statement() -> bytes:
    def build(w: XlsxWriter, pieces: list[bytes]) -> None:
        w.sheet(
            "Résumé",
            SUMMARY,
            title_rows=["Rapport du 01/10/2026 au 31/10/2026", "Commerce : Dupré & Fils"],
        )
        w.row(["Ventes <cagnotte>", 10_000, -123_456_789, 4_321])
        w.total_row(["Total", 10_000, -123_456_789, 4_321])
        pieces.append(w.take())
        w.sheet("Détail", DETAIL)
        for start in range(0, 10_000, 1_000):
            w.rows(detail_row(i) for i in range(start, start + 1_000))
            pieces.append(w.take())

    return write(build)


def test_the_statement_reads_back_in_openpyxl_value_for_value(statement: bytes) -> None:
    wb = openpyxl.load_workbook(BytesIO(statement), read_only=True)
    assert wb.sheetnames == ["Résumé", "Détail"]

    summary = [list(r) for r in wb["Résumé"].iter_rows(max_col=4, values_only=True)]
    assert summary == [
        ["Rapport du 01/10/2026 au 31/10/2026", None, None, None],
        ["Commerce : Dupré & Fils", None, None, None],
        [None, None, None, None],
        ["Libellé", "Opérations", "Montant", "Commission"],
        ["Ventes <cagnotte>", 10_000, -1_234_567.89, 43.21],
        ["Total", 10_000, -1_234_567.89, 43.21],
    ]

    rows = wb["Détail"].iter_rows(max_col=8, values_only=True)
    assert list(next(rows)) == [c.header for c in DETAIL]
    count = 0
    for i, row in enumerate(rows):
        expected = expected_detail(i)
        amount, fee = expected[4], expected[7]
        assert isinstance(amount, int)
        # Money comes back as a float here; its exact text is checked in the sheet XML below.
        assert round(row[4] * 100) == amount, i
        assert (fee is None and row[7] is None) or round(row[7] * 100) == fee, i
        assert [row[k] for k in (0, 1, 2, 3, 5, 6)] == [expected[k] for k in (0, 1, 2, 3, 5, 6)]
        count += 1
    assert count == 10_000


def test_money_is_written_as_the_exact_decimal_of_its_cents(statement: bytes) -> None:
    cells = raw_cells(statement, 2)
    for i in range(10_000):
        amount = detail_row(i)[4]
        assert isinstance(amount, int)
        text, _ = cells[f"E{i + 2}"]
        assert text is not None and Decimal(text) * 100 == amount, (i, text)
        assert text == f"{'-' if amount < 0 else ''}{abs(amount) // 100}.{abs(amount) % 100:02d}"


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (-1234, "-12.34"),
        (0, "0.00"),
        (5, "0.05"),
        (-5, "-0.05"),
        (100, "1.00"),
        (-100, "-1.00"),
        (10**15 - 1, "9999999999999.99"),
        (-(10**15 - 1), "-9999999999999.99"),
    ],
)
def test_cents_become_a_decimal_string_by_integer_arithmetic(cents: int, text: str) -> None:
    assert one_cell("cents", cents) == (text, "2")


@pytest.mark.parametrize(
    ("moment", "serial"),
    [
        # 00:59:30 UTC on 25 October 2026 is 02:59:30 CEST, an hour later 02:59:30 CET again.
        (datetime(2026, 10, 25, 0, 59, 30, tzinfo=UTC), "46320.1246527778"),
        (datetime(2026, 10, 25, 1, 59, 30, tzinfo=UTC), "46320.1246527778"),
        # 01:00 UTC on 29 March 2026: 03:00 CEST.
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "46110.125"),
        # Another zone: 12:00 at UTC-4 is 18:00 in Paris in July.
        (datetime(2026, 7, 14, 12, 0, tzinfo=timezone(timedelta(hours=-4))), "46217.75"),
        (datetime(2026, 1, 1, 23, 0, 0, 999_999, tzinfo=UTC), "46024.0000115741"),
        # 23:59:59.999999 rounds to the next midnight at 10 decimals, not to "46023.10000000000".
        (datetime(2026, 1, 1, 22, 59, 59, 999_999, tzinfo=UTC), "46024"),
        # Paris kept its mean solar time (+00:09:21) until 1911.
        (datetime(1900, 3, 1, 12, 0, tzinfo=PARIS), "61.5"),
    ],
)
def test_datetimes_become_paris_serials_with_an_exact_fraction(
    moment: datetime, serial: str
) -> None:
    assert one_cell("datetime", moment) == (serial, "4")


@pytest.mark.parametrize(
    ("first", "step", "count"),
    [
        (datetime(2026, 3, 28, 22, tzinfo=UTC), timedelta(minutes=7, seconds=13), 60),
        (datetime(2026, 10, 24, 22, tzinfo=UTC), timedelta(minutes=7, seconds=13), 60),
        (datetime(2026, 10, 25, 3, tzinfo=UTC), -timedelta(minutes=11), 30),  # backwards
        (datetime(1911, 3, 10, 23, 30, tzinfo=UTC), timedelta(minutes=3, seconds=11), 20),
        (datetime(1944, 8, 24, 20, tzinfo=UTC), timedelta(hours=1, minutes=1), 30),
    ],
)
def test_a_column_of_utc_moments_reads_as_each_converted_alone(
    first: datetime, step: timedelta, count: int
) -> None:
    """The UTC hour's shift kept from row to row gives what astimezone() gives for each value
    (a UTC other than datetime.UTC takes that path), across daylight saving changes."""
    moments = [first + i * step for i in range(count)]
    other_utc = ZoneInfo("UTC")

    def column(values: list[datetime]) -> list[str | None]:
        data = write(
            lambda w, _: (w.sheet("S", [Column("x", "datetime")]), w.rows([v] for v in values))
        )
        cells = raw_cells(data, 1)
        return [cells[f"A{n}"][0] for n in range(2, count + 2)]

    expected = column([m.astimezone(other_utc) for m in moments])
    assert column(moments) == expected
    assert len(set(expected)) == count


@pytest.mark.parametrize(
    ("day", "serial"), [(date(1900, 3, 1), "61"), (date(2026, 10, 1), "46296")]
)
def test_dates_become_serial_day_numbers(day: date, serial: str) -> None:
    assert one_cell("date", day) == (serial, "3")


def test_number_formats_and_bold_are_those_intended(statement: bytes) -> None:
    wb = openpyxl.load_workbook(BytesIO(statement), read_only=True)
    summary = list(wb["Résumé"].iter_rows(max_col=4))
    assert summary[0][0].font.b  # a title
    assert all(c.font.b for c in summary[3])  # the header
    assert [c.number_format for c in summary[4]] == ["General", "General", "#,##0.00", "#,##0.00"]
    assert not any(c.font.b for c in summary[4])
    assert all(c.font.b for c in summary[5])  # the totals
    assert [c.number_format for c in summary[5]] == ["General", "General", "#,##0.00", "#,##0.00"]

    detail = wb["Détail"].iter_rows(min_row=3, max_row=3, max_col=8)  # i = 1: no None
    formats = [c.number_format for c in next(detail)]
    assert formats == [
        "dd/mm/yyyy",
        "dd/mm/yyyy hh:mm",
        "General",
        "General",
        "#,##0.00",
        "General",
        "General",
        "#,##0.00",
    ]


def test_the_header_is_frozen_filtered_and_the_columns_sized(statement: bytes) -> None:
    summary = sheet_xml(statement, 1)
    pane = summary.find("m:sheetViews/m:sheetView/m:pane", NS)
    assert pane is not None
    assert pane.attrib == {
        "ySplit": "4",
        "topLeftCell": "A5",
        "activePane": "bottomLeft",
        "state": "frozen",
    }
    # The totals line stays out of the filter, or sorting would move it among the rows.
    assert summary.find("m:autoFilter", NS).attrib == {"ref": "A4:D5"}  # type: ignore[union-attr]
    widths = [c.attrib["width"] for c in summary.iterfind("m:cols/m:col", NS)]
    assert widths == ["30", "14", "14", "14"]

    detail = sheet_xml(statement, 2)
    assert detail.find("m:sheetViews/m:sheetView/m:pane", NS).get("ySplit") == "1"  # type: ignore[union-attr]
    assert detail.find("m:autoFilter", NS).attrib == {"ref": "A1:H10001"}  # type: ignore[union-attr]
    with zipfile.ZipFile(BytesIO(statement)) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
    assert "'Détail'!$A$1:$H$10001" in workbook


def test_excel_escapes_in_text_are_themselves_escaped() -> None:
    # Excel would show "_x0041_" as "A": the underscore is written as its own escape _x005F_.
    assert one_cell("text", "réf _x0041_ _x12_") == ("réf _x005F_x0041_ _x12_", None)


def test_an_empty_text_or_none_leaves_the_cell_out() -> None:
    data = write(lambda w, _: (w.sheet("S", [Column("a", "text")] * 3), w.row(["", None, "\x01"])))
    assert "A2" not in raw_cells(data, 1) and "C2" not in raw_cells(data, 1)
    row = sheet_xml(data, 1).find(".//m:row[@r='2']", NS)
    assert row is not None and len(row) == 0


def test_the_zip_is_streamed_without_zip64_for_excel() -> None:
    writer = XlsxWriter()
    writer.sheet("S", DETAIL)
    writer.rows(detail_row(i) for i in range(5_000))
    first = writer.take()
    # The rows are on their way before the file is finished.
    assert first.startswith(b"PK\x03\x04") and len(first) > 10_000
    data = first + writer.take() + writer.close()
    assert writer.take() == b""

    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names[0] == "xl/worksheets/sheet1.xml" and "[Content_Types].xml" in names
        for info in archive.infolist():
            assert info.flag_bits & 0x08, info.filename  # sizes in a data descriptor
            assert info.extract_version == 20 and info.extra == b"", info.filename
            signature, version, flags = struct.unpack_from("<IHH", data, info.header_offset)
            extra_length = struct.unpack_from("<H", data, info.header_offset + 28)[0]
            # No ZIP64 in the local header either: Excel refuses small entries marked ZIP64.
            assert (signature, version, flags & 0x08, extra_length) == (0x04034B50, 20, 8, 0)


def test_memory_stays_flat_however_many_rows() -> None:
    # A monthly statement's detail line; the card numbers are all different, the shop names
    # and labels repeat. (100,000 rows: tracemalloc makes each allocation ten times slower.)
    columns = [
        Column("Date", "date"),
        Column("Commerce", "text", 30),
        Column("Ville", "text"),
        Column("Opération", "text"),
        Column("Carte", "text", 20),
        Column("Montant", "cents"),
        Column("Libellé", "text", 30),
        Column("Commission", "cents"),
    ]
    writer = XlsxWriter()
    writer.sheet("Détail", columns)
    size = 0
    tracemalloc.start()
    try:
        for batch in range(100):
            writer.rows(
                (
                    date(2026, 10, 1 + i % 31),
                    f"Boulangerie n°{i % 97}",
                    "Lyon",
                    "vente",
                    f"9250 0000 {i // 10_000:04d} {i % 10_000:04d}",
                    i * 7919 % 200_001 - 100_000,
                    "Achat & cagnotte <promo>" if i % 50 == 0 else "Achat cagnotte",
                    i * 13 % 5_000,
                )
                for i in range(batch * 1_000, (batch + 1) * 1_000)
            )
            size += len(writer.take())  # sent, and forgotten
            if batch == 9:
                tracemalloc.reset_peak()
                at_10_000, _ = tracemalloc.get_traced_memory()
        size += len(writer.close())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 3_000_000
    assert peak - at_10_000 < 2_000_000, (at_10_000, peak)


class Kind(IntEnum):
    TWO = 2


def test_int_subclasses_but_not_bools_are_numbers() -> None:
    assert one_cell("int", Kind.TWO) == ("2", None)
    assert one_cell("cents", Kind.TWO) == ("0.02", "2")


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("cents", 12.5, r"column 'x' \(cents\) takes an int of cents, not float 12.5"),
        ("cents", Decimal("12.50"), "takes an int of cents, not Decimal"),
        ("cents", True, "takes an int of cents, not bool"),
        ("cents", 10**15, "more than 15 digits"),
        ("int", "12", r"column 'x' \(int\) takes an int, not str '12'"),
        ("int", 1.0, "takes an int, not float"),
        ("int", False, "takes an int, not bool"),
        ("int", -(10**15), "more than 15 digits"),
        ("text", 12, "takes a str, not int 12"),
        ("text", "x" * 32_768, "32768 characters, Excel holds 32767"),
        ("date", datetime(2026, 10, 1, tzinfo=UTC), "takes a date, not datetime"),
        ("date", "2026-10-01", "takes a date, not str"),
        ("date", date(1900, 2, 28), "before 1900-03-01"),
        ("datetime", date(2026, 10, 1), "takes a timezone-aware datetime, not date"),
        ("datetime", datetime(2026, 10, 1, 12, 0), "naive"),
        ("datetime", datetime.max.replace(tzinfo=UTC), "out of range"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_with_its_place(
    kind: xlsx.ColumnKind, value: object, message: str
) -> None:
    writer = XlsxWriter()
    writer.sheet("Détail", [Column("a", "text"), Column("x", kind)])
    with pytest.raises(ValueError, match=r"sheet 'Détail', row 2: ") as caught:
        writer.row(["ok", value])
    assert caught.match(message)


def test_a_refused_row_leaves_the_writer_as_it_was() -> None:
    def build(w: XlsxWriter, _: list[bytes]) -> None:
        w.sheet("S", [Column("t", "text"), Column("c", "cents")])
        w.row(["un", 100])
        with pytest.raises(ValueError, match="row 3"):
            w.row(["deux", 2.5])
        with pytest.raises(ValueError, match="row 4"):
            w.rows([["deux", 200], ["trois", "300"]])
        w.row(["quatre", 400])

    wb = openpyxl.load_workbook(BytesIO(write(build)), read_only=True)
    assert [list(r) for r in wb.active.iter_rows(values_only=True)] == [
        ["t", "c"],
        ["un", 1],
        ["deux", 2],
        ["quatre", 4],
    ]


def test_a_row_longer_than_the_columns_is_refused() -> None:
    writer = XlsxWriter()
    writer.sheet("S", [Column("a", "int"), Column("b", "int")])
    writer.row([1])  # shorter is fine: the rest is empty
    with pytest.raises(ValueError, match="sheet 'S', row 3: 3 values for 2 columns"):
        writer.row([1, 2, 3])
    with pytest.raises(ValueError, match="a row is a sequence of values, not a str"):
        writer.row("ab")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 32, "has 32 characters, Excel takes 31"),
        ("", "non-empty str"),
        *[(f"a{c}b", "Excel forbids") for c in "[]:*?/\\"],
        ("'quoted'", "apostrophe"),
        ("history", "reserves"),
    ],
)
def test_a_sheet_name_excel_would_refuse_is_refused(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        XlsxWriter().sheet(name, [Column("a", "int")])


def test_a_31_character_sheet_name_is_taken() -> None:
    data = write(lambda w, _: (w.sheet("é" * 31, [Column("a", "int")]), w.row([1])))
    assert openpyxl.load_workbook(BytesIO(data), read_only=True).sheetnames == ["é" * 31]


def test_two_sheets_may_not_share_a_name_whatever_the_case() -> None:
    writer = XlsxWriter()
    writer.sheet("Détail", [Column("a", "int")])
    with pytest.raises(ValueError, match="two sheets named 'DÉTAIL'"):
        writer.sheet("DÉTAIL", [Column("a", "int")])
    writer.row([1])  # the first sheet goes on


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([], "at least one column"),
        ([Column("a", "money")], "kind 'money' is not one of"),  # type: ignore[arg-type]
        ([Column("a", "int", width=0)], "width is 1 to 255"),
        ([Column("a", "int", width=256)], "width is 1 to 255"),
    ],
)
def test_columns_are_checked(columns: Sequence[Column], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        XlsxWriter().sheet("S", columns)


def test_rows_before_a_sheet_or_after_close_are_refused() -> None:
    writer = XlsxWriter()
    with pytest.raises(ValueError, match=r"row\(\) before sheet\(\)"):
        writer.row([1])
    with pytest.raises(ValueError, match=r"rows\(\) before sheet\(\)"):
        writer.rows([[1]])
    with pytest.raises(ValueError, match=r"total_row\(\) before sheet\(\)"):
        writer.total_row([1])
    with pytest.raises(ValueError, match="at least one sheet"):
        writer.close()
    writer.sheet("S", [Column("a", "int")])
    writer.close()
    for late in (lambda: writer.row([1]), writer.close, lambda: writer.sheet("T", [])):
        with pytest.raises(ValueError, match="closed"):
            late()


def test_a_full_sheet_is_refused_so_that_another_can_be_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    writer = XlsxWriter()
    writer.sheet("S", [Column("a", "int")])
    writer.rows([[1], [2]])
    with pytest.raises(ValueError, match="sheet 'S' is full: Excel holds 3 rows"):
        writer.row([3])
    writer.sheet("S (2)", [Column("a", "int")])
    writer.row([3])
    wb = openpyxl.load_workbook(BytesIO(writer.close()), read_only=True)
    assert [[c for (c,) in ws.iter_rows(values_only=True)] for ws in wb] == [["a", 1, 2], ["a", 3]]


def test_a_sheet_is_kept_within_the_zip_entry_size_without_zip64(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx, "MAX_SHEET_BYTES", 100_000)
    writer = XlsxWriter()
    writer.sheet("S", [Column("a", "text")])
    with pytest.raises(ValueError, match="its XML would pass 2 GiB; start another sheet"):
        for _ in range(1_000):
            writer.row(["x" * 1_000])
    data = writer.close()
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert 90_000 < archive.getinfo("xl/worksheets/sheet1.xml").file_size <= 100_000
    rows = list(openpyxl.load_workbook(BytesIO(data), read_only=True).active.iter_rows())
    assert 90 < len(rows) < 100


def test_a_writer_left_halfway_goes_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    def abandon() -> None:
        writer = XlsxWriter()
        writer.sheet("S", DETAIL)
        writer.rows(detail_row(i) for i in range(100))
        writer.take()
        try:
            writer.row(["not a date"])
        except ValueError as exc:
            # The traceback holds this frame, which holds the error: the garbage collector
            # finalises the writer's parts in no particular order.
            error = exc  # noqa: F841

    complaints: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", complaints.append)
    for _ in range(20):
        abandon()
    gc.collect()
    assert complaints == []
