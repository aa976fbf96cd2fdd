"""The workbook's parts other than its sheets (workbook, relationships, styles, properties,
content types) and the styles the cells refer to by index."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from shared.xlsx.cells import escape

MAIN_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_DECL: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PKG_REL_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_FONT: Final = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
STYLES_XML: Final = (
    f'{XML_DECL}<styleSheet xmlns="{MAIN_NS}">'
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
    # The order is that of _NORMAL, BOLD, _CENTS, _DATE, _DATETIME, _BOLD_CENTS, ...
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
_NORMAL, BOLD, _CENTS, _DATE, _DATETIME, _BOLD_CENTS, _BOLD_DATE, _BOLD_DATETIME = range(8)
STYLE: Final = {
    # kind: (normal, bold)
    "text": (_NORMAL, BOLD),
    "int": (_NORMAL, BOLD),
    "cents": (_CENTS, _BOLD_CENTS),
    "date": (_DATE, _BOLD_DATE),
    "datetime": (_DATETIME, _BOLD_DATETIME),
}


def workbook_parts(done: list[tuple[str, str]], created_at: datetime) -> list[tuple[str, str]]:
    """Every part of the workbook but its sheets: the workbook (sheet names and autofilters),
    relationships, styles, properties and content types."""
    count = len(done)
    sheets = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, (name, _) in enumerate(done, start=1)
    )
    # Excel keeps each sheet's autofilter range in this hidden name; without it, it may
    # offer to repair the file.
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape(_quote_sheet(name))}!{_absolute(ref)}</definedName>"
        for i, (name, ref) in enumerate(done)
    )
    workbook = (
        f'{XML_DECL}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheets}</sheets>'
        f"<definedNames>{filters}</definedNames></workbook>"
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, count + 1)
    )
    workbook_rels = (
        f'{XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">{sheet_rels}'
        f'<Relationship Id="rId{count + 1}" Type="{REL_NS}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{count + 2}" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
        for i in range(1, count + 1)
    )
    content_types = (
        f'{XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
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
    created = created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    core = (
        f"{XML_DECL}<cp:coreProperties"
        ' xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<dc:creator>Comptoir</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified>'
        "</cp:coreProperties>"
    )
    app = (
        f"{XML_DECL}<Properties"
        ' xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>Comptoir</Application></Properties>"
    )
    root_rels = (
        f'{XML_DECL}<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{REL_NS}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>"
    )
    return [
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("xl/styles.xml", STYLES_XML),
        # Empty, since strings are inline; some readers (Apple Numbers) want the part.
        (
            "xl/sharedStrings.xml",
            f'{XML_DECL}<sst xmlns="{MAIN_NS}" count="0" uniqueCount="0"/>',
        ),
        ("docProps/core.xml", core),
        ("docProps/app.xml", app),
        ("_rels/.rels", root_rels),
        ("[Content_Types].xml", content_types),
    ]


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    """'A5:H10' → '$A$5:$H$10'."""
    return ":".join(re.sub(r"^([A-Z]+)(\d+)$", r"$\1$\2", part) for part in ref.split(":"))
