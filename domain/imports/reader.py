"""Streaming reader for tabular files (CSV in UTF-8 with or without BOM, or .xlsx).

Design notes: docs/design/domain-imports.md."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import multiprocessing
import os
import posixpath
import re
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from zizhu.domain.reference.identity import NumberCell

T = TypeVar("T")
XLSX_MAX_ROWS = 1_048_576  # Excel's own last row: a higher row number is a forged file


@dataclass(frozen=True)
class ReadLimits:
    """读取限制: what one file may cost before it is rejected (checked while reading)."""

    max_rows: int  # highest row number, header included, blank rows included
    max_columns: int = 64  # a non-empty cell further right rejects the file
    max_cell_chars: int = 10_000
    max_unpacked_bytes: int = 2 * 1024**3  # .xlsx: all members uncompressed
    max_members: int = 1_000  # .xlsx: zip entries
    max_seconds: float | None = None

    @property
    def max_line_bytes(self) -> int:
        """CSV: one physical line can hold at most this many bytes (UTF-8, 4 bytes a character)."""
        return self.max_columns * (self.max_cell_chars + 3) * 4


# The bulk imports (command line): large files, still bounded.
BULK_LIMITS = ReadLimits(max_rows=20_000_000, max_seconds=4 * 3600.0)

# Parsing runs on at most two threads, whatever the number of uploads at once.
_PARSER_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="zizhu-parse")


async def in_parser_thread(fn: Callable[..., T], *args) -> T:
    """Run `fn(*args)` on the parser threads, never on the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_PARSER_THREADS, fn, *args)


# Uploads are parsed in at most two processes of their own (openpyxl is pure Python: in a thread it
# holds the server's interpreter lock), started on first use, at a lower CPU priority than the server.
PARSER_PROCESSES = 2
PARSER_NICENESS = 10
_parser_pool: ProcessPoolExecutor | None = None
_parser_pool_lock = threading.Lock()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _start_parser_process(parent: int) -> None:
    """A parser process lowers its priority and ends with the server (which may end by a signal,
    without shutting its pool down)."""
    try:
        os.nice(PARSER_NICENESS)
    except OSError:  # not permitted here: the parse still runs, at the server's priority
        pass
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="zizhu-parent-watch").start()


def _parser_processes() -> ProcessPoolExecutor:
    global _parser_pool
    with _parser_pool_lock:
        if _parser_pool is None:
            _parser_pool = ProcessPoolExecutor(
                PARSER_PROCESSES,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_parser_process,
                initargs=(os.getpid(),),
            )
        return _parser_pool


def stop_parser_processes() -> None:
    """End the parser processes (a server's shutdown); the next upload starts new ones."""
    global _parser_pool
    with _parser_pool_lock:
        pool, _parser_pool = _parser_pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def in_parser_process(fn: Callable[..., T], *args) -> T:
    """Run `fn(*args)` (a module-level function, picklable arguments) in a parser process. A pool
    whose process died is replaced for the next call; this call fails."""
    global _parser_pool
    pool = _parser_processes()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
    except BrokenProcessPool:
        with _parser_pool_lock:
            if _parser_pool is pool:
                _parser_pool = None
        pool.shutdown(wait=False)
        raise


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

    def __reduce__(self):  # raised in a parser process, re-raised in the server with its errors
        return ImportRejected, (self.errors,)


class _Unreadable(Exception):
    """The rest of the file cannot be read (bad bytes, broken archive): rejected at the row reached."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


NOT_UTF8 = "文件不是 UTF-8 编码的 CSV"
NOT_XLSX = "文件无法读取：不是完整有效的 .xlsx 文件（可能已损坏或未传完整），请重新保存为 .xlsx 或 UTF-8 CSV"
_BLOCK_BYTES = 1 << 20
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line ends may stay in a cell


def _rejected(row: int, message: str, column: str = "") -> ImportRejected:
    return ImportRejected([RowError(row, column, message)])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return NumberCell(int(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return NumberCell(value)
    return str(value).strip()


ZIP_MAGIC = b"PK\x03\x04"  # .xlsx (a zip package)
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003)
SAMPLE_BYTES = 64 * 1024
XLS_MESSAGE = "这是旧版 Excel（.xls）文件，无法直接导入：请在 Excel 中“另存为” .xlsx 或“CSV UTF-8（逗号分隔）”后再导入"
NOT_WORKBOOK_MESSAGE = "文件名是 .xlsx，但内容不是 Excel 工作簿：请在 Excel 中重新“另存为” .xlsx 或 CSV 后再导入"


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(sample: bytes) -> str:
    """The encoding of a CSV from its first bytes: UTF-8 (BOM or not), else GB18030.

    A file whose first non-ASCII bytes are valid UTF-8 stays UTF-8 even when a later byte is not
    (that byte is then reported at its own row, never read as GB18030 mojibake); so does a file
    that neither encoding reads, for the same reason."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError as e:
        if any(b >= 0x80 for b in sample[: e.start]):
            return "utf-8-sig"
    return "gb18030" if _decodes(sample, "gb18030") else "utf-8-sig"


def _peek(stream: BinaryIO) -> bytes:
    start = stream.tell()
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(start)
    return sample


def _decode_message(encoding: str) -> str:
    return f"文件内容无法按 {encoding} 编码读取：请另存为“CSV UTF-8（逗号分隔）”，或指定正确的编码（命令行 --encoding）"


def _csv_lines(stream: BinaryIO, limits: ReadLimits, encoding: str = "utf-8-sig") -> Iterator[str]:
    """Decoded lines, read in blocks cut at line ends; a byte that is not UTF-8 stops the reading
    at its own line, so the row reported is the row that holds it."""
    pending, first = b"", True
    while True:
        block = stream.read(_BLOCK_BYTES)
        data = pending + block
        # Cut after the last line end (a CR only when it is not the last byte: its LF may follow).
        cut = len(data) if not block else max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
        pending, data = data[cut:], data[:cut]
        if len(pending) > limits.max_line_bytes:
            raise _Unreadable(f"一行超过 {limits.max_line_bytes:,} 字节，不是有效的导入文件")
        if first and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        first = first and not data
        plain = "utf-8" if encoding == "utf-8-sig" else encoding
        try:
            text = data.decode(plain)
        except UnicodeDecodeError as e:
            line_start = max(data.rfind(b"\n", 0, e.start), data.rfind(b"\r", 0, e.start)) + 1
            yield from io.StringIO(data[:line_start].decode(plain), newline="")
            raise _Unreadable(_decode_message(encoding)) from None
        yield from io.StringIO(text, newline="")  # \n, \r\n and a bare \r (old Mac files) end a line
        if not block:
            return


def _csv_rows(stream: BinaryIO, limits: ReadLimits, encoding: str = "utf-8-sig") -> Generator[list[str], None, None]:
    try:
        for record in csv.reader(_csv_lines(stream, limits, encoding)):
            yield [c.strip() for c in record]
    except csv.Error as e:
        raise _Unreadable(f"CSV 格式错误：{e}") from None


def _check_archive(stream: BinaryIO, limits: ReadLimits) -> None:
    """Refuse an .xlsx whose members would unpack to more than the limit (sizes from the zip directory)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _Unreadable(NOT_XLSX) from None
    if len(members) > limits.max_members:
        raise _Unreadable(f"文件无法读取：压缩包内文件过多（超过 {limits.max_members} 个）")
    unpacked = sum(m.file_size for m in members)
    if unpacked > limits.max_unpacked_bytes:
        raise _Unreadable(f"文件解压后超过 {limits.max_unpacked_bytes // 1024**2:,} MB，请拆分后再导入")
    stream.seek(0)


_MAX_PART_BYTES = 1024**2  # the package's and the workbook's small parts, read to find the first sheet
_MAX_TAG_BYTES = 64 * 1024
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row(?=[\s/>])([^>]*)>")
_NUMBERED_ROW = re.compile(rb'<row r="(\d+)"')  # as Excel and openpyxl write a row: `r` first
_ROW_NUMBER = re.compile(rb"""(?:^|\s)r\s*=\s*["'](\d+)["']""")
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _first_sheet(archive: zipfile.ZipFile) -> str | None:
    """The member holding the workbook's first worksheet (the one the reader reads), or None when
    the package is not plain enough to tell."""
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

    def part(name: str):
        if archive.getinfo(name).file_size > _MAX_PART_BYTES:
            raise ValueError(name)
        return fromstring(archive.read(name))

    def relationships(name: str) -> dict[str, tuple[str, str]]:
        folder, base = posixpath.split(name)
        rels = part(posixpath.join(folder, "_rels", f"{base}.rels"))
        return {r.get("Id", ""): (r.get("Type", ""), r.get("Target", "")) for r in rels}

    def resolve(folder: str, target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))

    try:
        book = next(resolve("", t) for kind, t in relationships("").values() if kind.endswith("/officeDocument"))
        sheets = relationships(book)
        for element in part(book).iter():
            if element.tag.endswith("}sheet"):
                kind, target = sheets.get(element.get(_RELATIONSHIP_ID, ""), ("", ""))
                if kind.endswith("/worksheet"):
                    return resolve(posixpath.dirname(book), target)
    except Exception:
        return None
    return None


def _highest_row(archive: zipfile.ZipFile, member: str) -> int | None:
    """The highest row number among the sheet's row elements (numbered as a parser numbers them),
    from the decompressed bytes without parsing them; None when the sheet holds comments or CDATA
    (where `<row` could be text) or cannot be read (the parser then reports it)."""
    counter = highest = 0
    carry = b""
    try:
        with archive.open(member) as sheet:
            while True:
                block = sheet.read(_BLOCK_BYTES)
                data = carry + block
                opening = data.rfind(b"<")
                cut = len(data) if not block or opening < 0 or data.rfind(b">") > opening else opening
                head, carry = data[:cut], data[cut:]  # a tag cut by the block's end waits for the next one
                if len(carry) > _MAX_TAG_BYTES or b"<!--" in head or b"<![CDATA[" in head:
                    return None
                numbers = _NUMBERED_ROW.findall(head)
                rows = head.count(b"<row ") + head.count(b"<row>") + head.count(b"<row/")
                if b":row" not in head and len(numbers) == rows:  # every row numbered: no walk row by row
                    if numbers:
                        counter = int(numbers[-1])
                        highest = max(highest, *map(int, numbers))
                else:
                    for tag in _ROW_TAG.finditer(head):
                        number = _ROW_NUMBER.search(tag.group(1))
                        counter = counter + 1 if number is None else int(number.group(1)[:10])
                        highest = max(highest, counter)
                if not block:
                    return highest
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, zlib.error):
        return None


def check_upload(data: bytes, limits: ReadLimits) -> None:
    """The bounds a file can be held to without parsing it: an .xlsx's unpacked size and member
    count, and the highest row of its first sheet (its row elements counted, the declared
    dimension ignored). Raises ImportRejected as the reader would at that row."""
    if not data.startswith(ZIP_MAGIC):
        return
    try:
        _check_archive(io.BytesIO(data), limits)
    except _Unreadable as e:
        raise _rejected(1, e.message) from None
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = _first_sheet(archive)
        highest = _highest_row(archive, sheet) if sheet else None
    last = min(limits.max_rows, XLSX_MAX_ROWS)
    if highest is not None and highest > last:
        raise _too_many_rows(last + 1, limits)


def _xlsx_rows(stream: BinaryIO, limits: ReadLimits) -> Generator[list[str], None, None]:
    """Rows of the first sheet, numbered from 1 (a missing row comes as an empty list of cells).

    The sheet's declared dimension is ignored; at most max_columns + 1 columns and max_rows + 1
    rows are produced, so the caller sees when a file goes past either limit.
    """
    from openpyxl import load_workbook

    _check_archive(stream, limits)
    try:
        wb = load_workbook(stream, read_only=True, data_only=True)
    except Exception:
        raise _Unreadable(NOT_XLSX) from None
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        cells = ws.iter_rows(
            min_row=1, max_row=min(limits.max_rows, XLSX_MAX_ROWS) + 1, max_col=limits.max_columns + 1, values_only=True
        )
        while True:
            try:
                values = next(cells)
            except StopIteration:
                return
            except Exception:
                raise _Unreadable(NOT_XLSX) from None
            yield [] if values.count(None) == len(values) else [_cell(v) for v in values]
    except IndexError:
        raise _Unreadable(NOT_XLSX) from None
    finally:
        wb.close()


def is_xlsx(name: str) -> bool:
    return name.lower().endswith((".xlsx", ".xlsm"))


def _too_many_rows(row_no: int, limits: ReadLimits) -> ImportRejected:
    return _rejected(row_no, f"文件超过 {limits.max_rows - 1:,} 个数据行（空行也计入），请拆分后再导入")


def _check_row(
    row_no: int, values: list[str], limits: ReadLimits, deadline: float | None, positions: list[tuple[str, int]]
) -> None:
    """Reject the file at this row when it goes past a limit or a kept cell holds control characters."""
    if row_no > limits.max_rows:
        raise _too_many_rows(row_no, limits)
    if deadline is not None and time.monotonic() >= deadline:
        raise _rejected(row_no, f"读取文件超时（超过 {limits.max_seconds:g} 秒），请拆分后再导入")
    if not values:
        return
    if len(values) > limits.max_columns and any(values[limits.max_columns :]):
        extra = next(i for i, v in enumerate(values) if i >= limits.max_columns and v) + 1
        raise _rejected(row_no, f"第{extra}列有内容：一行最多读取 {limits.max_columns} 列")
    if max(map(len, values)) > limits.max_cell_chars:
        at = next(i for i, v in enumerate(values) if len(v) > limits.max_cell_chars)
        column = next((h for h, i in positions if i == at), "")
        raise _rejected(row_no, f"第{at + 1}列内容过长（最多 {limits.max_cell_chars:,} 个字符）", column)
    for header, i in positions:
        if i < len(values) and _CONTROL.search(values[i]):
            raise _rejected(row_no, f"“{header}”含有不可见的控制字符", header)


def _open_rows(
    stream: BinaryIO, name: str, encoding: str | None, limits: ReadLimits
) -> Generator[list[str], None, None]:
    """The row iterator for the stream's real format (a workbook, or a CSV in its encoding)."""
    sample = _peek(stream)
    if sample.startswith(OLE2_MAGIC):
        raise ImportRejected([RowError(1, "", XLS_MESSAGE)])
    if sample.startswith(ZIP_MAGIC):
        return _xlsx_rows(stream, limits)
    if is_xlsx(name):
        raise ImportRejected([RowError(1, "", NOT_WORKBOOK_MESSAGE)])
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ImportRejected([RowError(1, "", f"未知的编码“{encoding}”：可用 utf-8、gb18030 等")]) from None
    return _csv_rows(stream, limits, encoding or detect_encoding(sample))


def estimate_rows(path: Path) -> int | None:
    """About how many data rows a CSV file holds (its line count less the header), for progress
    reports; None for a workbook."""
    with path.open("rb") as stream:
        if _peek(stream).startswith((ZIP_MAGIC, OLE2_MAGIC)):
            return None
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    return max(lines - 1, 0)


def read_rows(
    source: Path | bytes | BinaryIO,
    headers: Sequence[str],
    filename: str | None = None,
    limits: ReadLimits = BULK_LIMITS,
    encoding: str | None = None,
    optional: Sequence[str] = (),
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, {header: value}) for every non-empty data row.

    Raises ImportRejected (row 1) when a required header is missing, and at the row reached when
    the file cannot be read further or goes past `limits`. Extra columns are ignored; an
    `optional` header the file lacks reads as an empty cell.
    """
    name = filename or (source.name if isinstance(source, Path) else "upload.csv")
    deadline = None if limits.max_seconds is None else time.monotonic() + limits.max_seconds
    if isinstance(source, Path):
        try:
            stream: BinaryIO = source.open("rb")
        except OSError as e:
            raise _rejected(1, f"文件无法打开（{e.strerror or type(e).__name__}）：{source}") from None
    elif isinstance(source, bytes):
        stream = io.BytesIO(source)
    else:
        stream = source
    try:
        rows = _open_rows(stream, name, encoding, limits)
    except BaseException:
        if isinstance(source, Path):
            stream.close()
        raise
    max_rows, max_columns, max_chars = limits.max_rows, limits.max_columns, limits.max_cell_chars
    try:
        positions: list[tuple[str, int]] | None = None
        absent: dict[str, str] = {}
        row_no = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                break
            except _Unreadable as e:
                raise _rejected(row_no + 1, e.message) from None
            row_no += 1
            if (
                row_no > max_rows
                or (deadline is not None and time.monotonic() >= deadline)
                or (
                    values
                    and (
                        len(values) > max_columns
                        or max(map(len, values)) > max_chars
                        or _CONTROL.search("\t".join(values))
                    )
                )
            ):
                _check_row(row_no, values, limits, deadline, positions or [])  # names the problem, if it is one
            if positions is None:
                index = {h.strip().lstrip("\ufeff"): i for i, h in enumerate(values) if h}
                missing = [h for h in headers if h not in index]
                if missing:
                    raise ImportRejected([RowError(1, h, f"缺少列“{h}”") for h in missing])
                positions = [(h, index[h]) for h in (*headers, *optional) if h in index]
                absent = {h: "" for h in optional if h not in index}
                continue
            if not any(values):
                continue
            yield row_no, {**absent, **{h: (values[i] if i < len(values) else "") for h, i in positions}}
        if positions is None:
            raise _rejected(1, "文件为空，缺少表头")
    finally:
        rows.close()  # finish the row generator before its stream goes
        if isinstance(source, Path):
            stream.close()


def read_all(
    data: bytes, headers: Sequence[str], filename: str, limits: ReadLimits, optional: Sequence[str] = ()
) -> list[tuple[int, dict[str, str]]]:
    """Every data row of an uploaded file at once (what a parser process sends back): first the
    bounds of `check_upload`, so a file past them is never parsed; raises as `read_rows`."""
    check_upload(data, limits)
    return list(read_rows(data, headers, filename, limits, optional=optional))


def _read_bytes(source: bytes | BinaryIO) -> bytes:
    return source if isinstance(source, bytes) else source.read()


async def read_upload(
    source: bytes | BinaryIO, headers: Sequence[str], filename: str, limits: ReadLimits, optional: Sequence[str] = ()
) -> list[tuple[int, dict[str, str]]]:
    """The data rows of an uploaded file, read (`read_all`) in a parser process: none of the work
    holds the server's interpreter. Raises ImportRejected as `read_rows`."""
    data = source if isinstance(source, bytes) else await in_parser_thread(_read_bytes, source)
    return await in_parser_process(read_all, data, tuple(headers), filename, limits, tuple(optional))
