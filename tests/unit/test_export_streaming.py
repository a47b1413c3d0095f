"""The streamed writers: constant memory whatever the length, the first bytes before the first
page is read, rows past a sheet's limit on the next sheet, text that stays text."""

from __future__ import annotations

import datetime as dt
import io
import re
import tracemalloc
import zipfile

import pytest
from openpyxl import load_workbook

from zizhu.domain.exports.tabular import Column, csv_stream, neutralise, xlsx_stream

COLUMNS = [Column("身份证件号", text=True), Column("姓名"), Column("说明"), Column("人数")]


class Source:
    """`rows` synthetic rows in pages of 500; counts the pages handed out."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.pulled = 0

    async def pages(self):
        for start in range(0, self.rows, 500):
            self.pulled += 1
            yield [
                (f"43010220150101{n % 10000:04d}", f"学生{n}", "说明" * 20 + str(n), n)
                for n in range(start, min(self.rows, start + 500))
            ]


async def peak_while_streaming(stream) -> tuple[int, int]:
    """(peak traced memory, bytes streamed) while consuming a stream and dropping its chunks."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        size = 0
        async for chunk in stream:
            size += len(chunk)
        return tracemalloc.get_traced_memory()[1], size
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("writer", ["xlsx", "csv"])
async def test_memory_stays_flat_as_the_list_grows(writer):
    def stream(rows: int):
        source = Source(rows).pages()
        return xlsx_stream("名单", COLUMNS, source) if writer == "xlsx" else csv_stream(COLUMNS, source)

    small_peak, small_size = await peak_while_streaming(stream(3_000))
    large_peak, large_size = await peak_while_streaming(stream(30_000))
    assert large_size > 8 * small_size  # ten times the rows really went through
    # holding the 30,000 rows would take ~13 MB; streaming them needs what one page needs
    assert large_peak < 1.5 * small_peak + 500_000
    assert large_peak < 4_000_000


@pytest.mark.parametrize("writer", ["xlsx", "csv"])
async def test_the_first_bytes_leave_before_the_first_page_is_read(writer):
    source = Source(50_000)  # 100 pages
    stream = xlsx_stream("名单", COLUMNS, source.pages()) if writer == "xlsx" else csv_stream(COLUMNS, source.pages())
    first = await anext(stream)
    assert first and source.pulled == 0
    second = await anext(stream)
    # the CSV sends each page as it is read; the compressor of the .xlsx may hold a page or two
    assert second and source.pulled <= (1 if writer == "csv" else 3)
    await stream.aclose()


async def test_a_long_list_continues_on_the_next_sheet():
    out = io.BytesIO()
    async for chunk in xlsx_stream("未资助名单", COLUMNS, Source(2_300).pages(), sheet_rows=1_000):
        out.write(chunk)
    wb = load_workbook(out)
    assert wb.sheetnames == ["未资助名单", "未资助名单(2)", "未资助名单(3)"]
    rows = [r for ws in wb.worksheets for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [r[3] for r in rows] == list(range(2_300))
    assert all([c.value for c in ws[1]] == [c.header for c in COLUMNS] for ws in wb.worksheets)
    assert all(ws.freeze_panes == "A2" for ws in wb.worksheets)
    # each sheet filters its own rows under its header
    assert [ws.auto_filter.ref for ws in wb.worksheets] == ["A1:D1001", "A1:D1001", "A1:D301"]
    names = re.findall(r"<definedName [^>]*>([^<]*)<", zipfile.ZipFile(out).read("xl/workbook.xml").decode())
    assert names == ["'未资助名单'!$A$1:$D$1001", "'未资助名单(2)'!$A$1:$D$1001", "'未资助名单(3)'!$A$1:$D$301"]


async def test_times_are_date_time_cells_in_a_workbook_and_text_in_csv():
    at = dt.datetime(2024, 1, 5, 10, 30, 15, tzinfo=dt.UTC)  # 18:30:15 in Beijing
    columns = [Column("姓名"), Column("填报时间")]

    async def pages():
        yield [("甲", at), ("乙", None)]

    out = io.BytesIO()
    async for chunk in xlsx_stream("名单", columns, pages()):
        out.write(chunk)
    ws = load_workbook(out).worksheets[0]
    assert ws["B2"].is_date and ws["B2"].value == dt.datetime(2024, 1, 5, 18, 30, 15)
    assert ws["B2"].number_format == "yyyy-mm-dd hh:mm:ss" and ws["B3"].value is None
    text = b"".join([chunk async for chunk in csv_stream(columns, pages())]).decode("utf-8-sig")
    assert text.splitlines()[1] == "甲,2024-01-05 18:30:15"


async def test_cells_are_escaped_and_neutralised():
    rows = [("0012", "<b>&amp;</b> \x07bell", "=1+1", 7), ("43", " 前后空格 ", "@SUM(A1)", None)]

    async def pages():
        yield rows

    out = io.BytesIO()
    async for chunk in xlsx_stream("a/b:c", COLUMNS, pages()):
        out.write(chunk)
    wb = load_workbook(out)
    ws = wb.worksheets[0]
    assert wb.sheetnames == ["a_b_c"]
    assert [c.value for c in ws[2]] == ["0012", "<b>&amp;</b> bell", "'=1+1", 7]
    assert [c.value for c in ws[3]] == ["43", " 前后空格 ", "'@SUM(A1)", None]
    assert ws["A2"].data_type == "s" and ws["A2"].number_format == "@"
    assert [neutralise(v) for v in ("=a", "+a", "-a", "@a", "\ta", "\ra", "a=b", "")] == [
        "'=a",
        "'+a",
        "'-a",
        "'@a",
        "'\ta",
        "'\ra",
        "a=b",
        "",
    ]
