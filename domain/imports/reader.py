"""Streaming reader for tabular files (CSV or .xlsx).

Rows come one at a time so a million-row file never sits in memory. Row numbers are the
1-based line numbers a user sees in Excel (the header is row 1, the first data row is 2).

The format is recognised by content, not by name: a workbook renamed `.csv` is read as a
workbook, an old `.xls` workbook is refused with what to do. A CSV's encoding is UTF-8 (with or
without BOM) or, as saved by Excel on Chinese Windows, GBK/GB18030; the caller may name it.
"""
from __future__ import annotations

import codecs
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


ZIP_MAGIC = b"PK\x03\x04"  # .xlsx (a zip package)
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003)
SAMPLE_BYTES = 64 * 1024
XLS_MESSAGE = "这是旧版 Excel（.xls）文件，无法直接导入：请在 Excel 中“另存为” .xlsx 或“CSV UTF-8（逗号分隔）”后再导入"
NOT_WORKBOOK_MESSAGE = "文件名是 .xlsx，但内容不是 Excel 工作簿：请在 Excel 中重新“另存为” .xlsx 或 CSV 后再导入"
UNKNOWN_ENCODING_MESSAGE = "无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030）：请另存为“CSV UTF-8（逗号分隔）”，或指定编码（命令行 --encoding）"
# Candidates tried on the first bytes, in order; GB18030 is a superset of GBK and GB2312.
DETECTED_ENCODINGS = ("utf-8", "gb18030")


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(sample: bytes) -> str:
    """The encoding of a CSV from its first bytes: UTF-8 (BOM or not), else GB18030."""
    for encoding in DETECTED_ENCODINGS:
        if _decodes(sample, encoding):
            return "utf-8-sig" if encoding == "utf-8" else encoding
    raise ImportRejected([RowError(1, "", UNKNOWN_ENCODING_MESSAGE)])


def _peek(stream: BinaryIO) -> bytes:
    start = stream.tell()
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(start)
    return sample


def _decode_message(encoding: str) -> str:
    return f"文件内容无法按 {encoding} 编码读取：请另存为“CSV UTF-8（逗号分隔）”，或指定正确的编码（命令行 --encoding）"


def _csv_rows(stream: BinaryIO, encoding: str = "utf-8-sig") -> Iterator[list[str]]:
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
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


def _open_rows(stream: BinaryIO, name: str, encoding: str | None) -> tuple[Iterator[list[str]], str]:
    """The row iterator for the stream's real format, and the CSV encoding used (or "")."""
    sample = _peek(stream)
    if sample.startswith(OLE2_MAGIC):
        raise ImportRejected([RowError(1, "", XLS_MESSAGE)])
    if sample.startswith(ZIP_MAGIC):
        return _xlsx_rows(stream), ""
    if is_xlsx(name):
        raise ImportRejected([RowError(1, "", NOT_WORKBOOK_MESSAGE)])
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ImportRejected([RowError(1, "", f"未知的编码“{encoding}”：可用 utf-8、gb18030 等")]) from None
    chosen = encoding or detect_encoding(sample)
    return _csv_rows(stream, chosen), chosen


def estimate_rows(path: Path) -> int | None:
    """About how many data rows a CSV file holds (its line count less the header), for progress
    reports; None for a workbook."""
    with path.open("rb") as stream:
        if _peek(stream).startswith((ZIP_MAGIC, OLE2_MAGIC)):
            return None
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    return max(lines - 1, 0)


def read_rows(
    source: Path | bytes | BinaryIO, headers: Sequence[str], filename: str | None = None, encoding: str | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, {header: value}) for every non-empty data row.

    Raises ImportRejected (row 1) when a required header is missing, or when the file is not a
    readable CSV or .xlsx (the message says what to do). Extra columns are ignored. `encoding`
    names a CSV's encoding; by default it is detected (UTF-8, else GB18030).
    """
    name = filename or (source.name if isinstance(source, Path) else "upload.csv")
    if isinstance(source, Path):
        stream: BinaryIO = source.open("rb")
    elif isinstance(source, bytes):
        stream = io.BytesIO(source)
    else:
        stream = source
    try:
        rows, used = _open_rows(stream, name, encoding)
    except BaseException:
        if isinstance(source, Path):
            stream.close()
        raise
    try:
        try:
            header_row = next(rows)
        except StopIteration:
            raise ImportRejected([RowError(1, "", "文件为空，缺少表头")]) from None
        except UnicodeDecodeError:
            raise ImportRejected([RowError(1, "", _decode_message(used))]) from None
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
                raise ImportRejected([RowError(row_no + 1, "", _decode_message(used))]) from None
            row_no += 1
            if not any(values):
                continue
            yield row_no, {h: (values[i] if i < len(values) else "") for h, i in positions}
    finally:
        rows.close()  # finish the row generator before its stream goes
        if isinstance(source, Path):
            stream.close()
