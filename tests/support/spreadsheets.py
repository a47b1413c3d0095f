"""Hand-made .xlsx files for the import tests: forged dimensions, far rows and columns, padding.

`forge` starts from a real workbook written by openpyxl and swaps the first sheet's XML for one
written here, so a test controls exactly which rows and cells the file holds.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

SHEET = "xl/worksheets/sheet1.xml"
Rows = Iterable[tuple[int, Mapping[int, str] | list[str]]]  # (row number, {column: text} or texts from A)


def workbook(rows: list[list]) -> bytes:
    """An ordinary workbook with these rows on its first sheet."""
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(ref: str, text: str, formulas: bool) -> str:
    if formulas and text.startswith("="):  # a formula with no cached value, as a script would write it
        return f'<c r="{ref}"><f>{escape(text[1:])}</f></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def sheet_xml(rows: Rows, dimension: str | None = None, padding: int = 0, formulas: bool = False) -> bytes:
    """A sheet of inline-string cells (text from "=" a formula, with `formulas`); `padding` bytes of
    white space inside <sheetData>."""
    parts = []
    for number, cells in rows:
        if isinstance(cells, list):
            cells = dict(enumerate(cells, start=1))
        xml = "".join(
            _cell(f"{get_column_letter(col)}{number}", str(text), formulas) for col, text in sorted(cells.items())
        )
        parts.append(f'<row r="{number}">{xml}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>"
    ).encode()
    return head + b" " * padding + "".join(parts).encode() + b"</sheetData></worksheet>"


@functools.cache
def _members() -> tuple[tuple[str, bytes], ...]:
    """The members of one real workbook, read once."""
    with zipfile.ZipFile(io.BytesIO(workbook([["x"]]))) as src:
        return tuple((info.filename, src.read(info.filename)) for info in src.infolist())


def forge(sheet: bytes, members: Mapping[str, bytes] | None = None) -> bytes:
    """A real workbook whose first sheet (and any other named member) is replaced; the same
    arguments give the same bytes."""
    replaced = {SHEET: sheet, **(members or {})}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for name, data in _members():
            dst.writestr(
                zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)),
                replaced.pop(name, None) or data,
                compress_type=zipfile.ZIP_DEFLATED,
            )
        for name, data in replaced.items():
            dst.writestr(
                zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED
            )
    return out.getvalue()
