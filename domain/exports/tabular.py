"""Streamed tabular files (流式导出): a list as CSV or .xlsx, written page by page.

Design notes: docs/design/domain-exports.md."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from zizhu.domain.settings import SHANGHAI

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_ROWS = 1_000_000  # data rows per sheet (Excel's limit is 1,048,576 rows)
SHEET_BYTES = 1_500_000_000  # uncompressed sheet XML per sheet: stays clear of ZIP64
COMPRESS_LEVEL = 1  # XML compresses ~10x even at level 1, at a fraction of the CPU of level 6
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"

Cell = str | int | Decimal | dt.datetime | None
Row = Sequence[Cell]
Pages = AsyncIterator[list[Row]]


@dataclass(frozen=True)
class Column:
    """One column of an export: its Chinese header, width in characters, and whether it is text
    that must never become a number (ID numbers, school and region codes, reason codes)."""

    header: str
    width: int = 14
    text: bool = False


def neutralise(value: str) -> str:
    """A text that would start a formula, made inert with a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def display(value: Cell) -> str | int | Decimal | None:
    """A cell value as written: text neutralised, times in Beijing time, numbers unchanged."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return value


# --- CSV ----------------------------------------------------------------------------------------------
def _csv_lines(rows: Iterable[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([["" if v is None else display(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8")


async def csv_stream(columns: Sequence[Column], pages: Pages) -> AsyncIterator[bytes]:
    """The list as CSV: BOM and header first, then one chunk per page."""
    yield "\ufeff".encode("utf-8") + _csv_lines([[c.header for c in columns]])
    async for page in pages:
        yield await asyncio.to_thread(_csv_lines, page)


# --- .xlsx --------------------------------------------------------------------------------------------
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# XML 1.0 forbids these control characters anywhere; they are dropped from the sheet text.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_STYLE_TEXT, _STYLE_HEADER, _STYLE_DATETIME = 1, 2, 3
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial day 0 of the 1900 date system (as Excel counts it)
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")

# Every .xml part defaults to the worksheet type; the workbook and styles are overridden. So the
# content types can be written first, before the number of sheets is known.
_CONTENT_TYPES = (
    _XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _XML_DECL + f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
# cell styles: 0 general, 1 text (@, number format 49), 2 bold header on a light fill, 3 date-time
_STYLES = (
    _XML_DECL + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="等线"/></font><font><b/><sz val="11"/><name val="等线"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="1" fillId="2" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1" applyFill="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def excel_serial(value: dt.datetime) -> str:
    """A time as Excel's serial number of days, in Beijing time (Excel cells have no zone)."""
    local = value.astimezone(SHANGHAI).replace(tzinfo=None) if value.tzinfo else value
    delta = local - _EXCEL_EPOCH
    return f"{delta.days + delta.seconds / 86_400 + delta.microseconds / 86_400_000_000:.10f}".rstrip("0").rstrip(".")


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_name(title: str) -> str:
    """A valid worksheet name: at most 31 characters, none of []:*?/\\."""
    return _SHEET_NAME_BAD.sub("_", title)[:31] or "Sheet1"


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what is written until `take` hands it on."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class XlsxWriter:
    """A forward-only .xlsx: `start`, then `add` pages, then `finish`; each returns the bytes ready."""

    def __init__(self, title: str, columns: Sequence[Column], sheet_rows: int = SHEET_ROWS) -> None:
        self.title = sheet_name(title)
        self.columns = list(columns)
        self.sheet_rows = sheet_rows
        self.letters = [column_letter(i) for i in range(1, len(self.columns) + 1)]
        self.sink = _Sink()
        self.zip = zipfile.ZipFile(self.sink, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
        self.sheets: list[str] = []
        self.filters: list[str] = []  # each sheet's autofilter range
        self.member: IO[bytes] | None = None  # the open sheet
        self.row = 0
        self.written = 0

    def start(self) -> bytes:
        self.zip.writestr("[Content_Types].xml", _CONTENT_TYPES)
        self.zip.writestr("_rels/.rels", _ROOT_RELS)
        self.zip.writestr("xl/styles.xml", _STYLES)
        self._open_sheet()
        return self.sink.take()

    def add(self, rows: Iterable[Row]) -> bytes:
        parts: list[str] = []
        for values in rows:
            if self.row > self.sheet_rows or self.written >= SHEET_BYTES:
                self._write("".join(parts))
                parts = []
                self._close_sheet()
                self._open_sheet()
            self.row += 1
            parts.append(self._row_xml(self.row, values))
        self._write("".join(parts))
        return self.sink.take()

    def finish(self) -> bytes:
        self._close_sheet()
        sheets = "".join(
            f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(self.sheets, 1)
        )
        # Excel names each sheet's filter range with this hidden name
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{escape(_quoted_sheet(name))}!{_absolute(ref)}</definedName>"
            for i, (name, ref) in enumerate(zip(self.sheets, self.filters))
        )
        self.zip.writestr(
            "xl/workbook.xml",
            _XML_DECL + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets>'
            f"<definedNames>{names}</definedNames></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(self.sheets) + 1)
        )
        styles = f'<Relationship Id="rId{len(self.sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        self.zip.writestr(
            "xl/_rels/workbook.xml.rels",
            _XML_DECL + f'<Relationships xmlns="{_PKG_REL}">{rels}{styles}</Relationships>',
        )
        self.zip.close()
        return self.sink.take()

    # --- one sheet ---------------------------------------------------------------------------------
    def _open_sheet(self) -> None:
        number = len(self.sheets) + 1
        self.sheets.append(self.title if number == 1 else sheet_name(f"{self.title[:26]}({number})"))
        self.member = self.zip.open(f"xl/worksheets/sheet{number}.xml", "w")
        self.row, self.written = 1, 0
        text_style = f' style="{_STYLE_TEXT}"'
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"{text_style if c.text else ""}/>'
            for i, c in enumerate(self.columns, 1)
        )
        header = "".join(
            f'<c r="{letter}1" t="inlineStr" s="{_STYLE_HEADER}"><is><t>{escape(c.header)}</t></is></c>'
            for letter, c in zip(self.letters, self.columns)
        )
        self._write(
            _XML_DECL + f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            f'<cols>{cols}</cols><sheetData><row r="1">{header}</row>'
        )

    def _close_sheet(self) -> None:
        ref = f"A1:{self.letters[-1]}{self.row}"
        self.filters.append(ref)
        self._write(f'</sheetData><autoFilter ref="{ref}"/></worksheet>')
        assert self.member is not None
        self.member.close()
        self.member = None

    def _write(self, text: str) -> None:
        data = _ILLEGAL_XML.sub("", text).encode("utf-8")
        self.written += len(data)
        assert self.member is not None, "no sheet is open"
        self.member.write(data)

    def _row_xml(self, row: int, values: Row) -> str:
        cells = []
        for letter, column, value in zip(self.letters, self.columns, values):
            if isinstance(value, dt.datetime):
                cells.append(f'<c r="{letter}{row}" s="{_STYLE_DATETIME}"><v>{excel_serial(value)}</v></c>')
                continue
            value = display(value)
            if value is None or value == "":
                continue
            if isinstance(value, str):
                space = ' xml:space="preserve"' if value != value.strip() else ""
                style = f' s="{_STYLE_TEXT}"' if column.text else ""
                cells.append(f'<c r="{letter}{row}" t="inlineStr"{style}><is><t{space}>{escape(value)}</t></is></c>')
            else:
                cells.append(f'<c r="{letter}{row}"><v>{value}</v></c>')
        return f'<row r="{row}">{"".join(cells)}</row>'


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    """A1:N20 → $A$1:$N$20."""
    return ":".join(re.sub(r"([A-Z]+)([0-9]+)", r"$\1$\2", part) for part in ref.split(":"))


async def xlsx_stream(
    title: str, columns: Sequence[Column], pages: Pages, sheet_rows: int = SHEET_ROWS
) -> AsyncIterator[bytes]:
    """The list as a workbook: the first bytes leave before the first page is read."""
    book = XlsxWriter(title, columns, sheet_rows)
    yield book.start()
    async for page in pages:
        chunk = await asyncio.to_thread(book.add, page)
        if chunk:
            yield chunk
    yield await asyncio.to_thread(book.finish)
