"""Streaming reader for tabular files (CSV in UTF-8 with or without BOM, or .xlsx).

Rows come one at a time so a million-row file never sits in memory. Row numbers are the
1-based line numbers a user sees in Excel (the header is row 1, the first data row is 2).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence


@dataclass(frozen=True)
class RowError:
    """One problem in an imported file: row (as shown in Excel), column header, message."""

    row: int
    column: str
    message: str


class ImportRejected(Exception):
    """The file was rejected whole; `errors` names every bad row. Nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} 处错误")
        self.errors = errors


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(stream: BinaryIO) -> Iterator[list[str]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        for record in csv.reader(text):
            yield [c.strip() for c in record]
    finally:
        text.detach()  # the caller owns the binary stream: do not close it with the wrapper


def _xlsx_rows(stream: BinaryIO) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    wb = load_workbook(stream, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        for values in ws.iter_rows(values_only=True):
            yield [_cell(v) for v in values]
    finally:
        wb.close()


def is_xlsx(name: str) -> bool:
    return name.lower().endswith((".xlsx", ".xlsm"))


def read_rows(
    source: Path | bytes | BinaryIO, headers: Sequence[str], filename: str | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, {header: value}) for every non-empty data row.

    Raises ImportRejected (row 1) when a required header is missing. Extra columns are ignored.
    """
    name = filename or (source.name if isinstance(source, Path) else "upload.csv")
    if isinstance(source, Path):
        stream: BinaryIO = source.open("rb")
    elif isinstance(source, bytes):
        stream = io.BytesIO(source)
    else:
        stream = source
    rows = _xlsx_rows(stream) if is_xlsx(name) else _csv_rows(stream)
    try:
        try:
            header_row = next(rows)
        except StopIteration:
            raise ImportRejected([RowError(1, "", "文件为空，缺少表头")]) from None
        except UnicodeDecodeError:
            raise ImportRejected([RowError(1, "", "文件不是 UTF-8 编码的 CSV")]) from None
        index = {h.strip().lstrip("\ufeff"): i for i, h in enumerate(header_row) if h}
        missing = [h for h in headers if h not in index]
        if missing:
            raise ImportRejected([RowError(1, h, f"缺少列“{h}”") for h in missing])
        positions = [(h, index[h]) for h in headers]
        row_no = 1
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ImportRejected([RowError(row_no + 1, "", "文件不是 UTF-8 编码的 CSV")]) from None
            row_no += 1
            if not any(values):
                continue
            yield row_no, {h: (values[i] if i < len(values) else "") for h, i in positions}
    finally:
        rows.close()  # finish the row generator before its stream goes
        if isinstance(source, Path):
            stream.close()
