"""Spreadsheet bombs (表格炸弹): every import reads within its limits, off the event loop.

The roster upload and the bulk imports ignore a workbook's declared dimension, count every row
they read (blank ones too), refuse an archive that unpacks past the limit before opening it, and
name the row (and column) where a file went past a limit. Nothing is written. An upload past a
bound checked without parsing (unpacked size, rows of its first sheet) never reaches a parser;
the others are parsed in a parser process, not in the server's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import threading
from pathlib import Path

import pytest

from tests.support.roster import PERIOD, enrol, set_window
from tests.support.spreadsheets import forge, sheet_xml
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.imports import ImportRejected, reader, run_import
from zizhu.domain.imports.kinds import KINDS
from zizhu.domain.models import AidRecord, AuditEntry, Enrolment
from zizhu.domain.reference.codes import Role
from zizhu.domain.roster import importer
from zizhu.domain.roster.importer import HEADERS, import_roster
from zizhu.domain.settings import SHANGHAI

KG_OP = Viewer("kg_op", Role.SCHOOL_OPERATOR, "1143000001", ())
INSIDE = dt.datetime(2024, 1, 10, tzinfo=SHANGHAI)
A, B = "430102201501010012", "430102201501010020"
STUDENT_HEADERS = list(KINDS["students"].headers)


@pytest.fixture
async def children(world):
    await set_window("ENTRY", dt.datetime(2024, 1, 1, tzinfo=SHANGHAI), dt.datetime(2024, 1, 26, tzinfo=SHANGHAI))
    return [(await enrol(i, f"童{i}"), f"童{i}") for i in range(1, 4)]


async def roster_import(content: bytes, filename: str = "r.xlsx"):
    return await import_roster(KG_OP, PERIOD, content, filename, lambda: INSIDE)


async def rejected_roster(content: bytes, filename: str = "r.xlsx") -> list[tuple]:
    with pytest.raises(ImportRejected) as rejected:
        await roster_import(content, filename)
    assert await AidRecord.all().count() == 0 and await AuditEntry.filter(action="roster.import").count() == 0
    return [(e.row, e.column, e.message) for e in rejected.value.errors]


def roster_rows(children, amount: str = "500") -> list[tuple[int, list[str]]]:
    return [(1, list(HEADERS))] + [(i, [id_number, name, amount]) for i, (id_number, name) in enumerate(children, 2)]


@pytest.fixture
def cell_budget(monkeypatch):
    """Fail the test as soon as the reader converts more cells than `limit` (a padded sheet would)."""
    seen = {"cells": 0}
    original = reader._cell

    def counted(value):
        seen["cells"] += 1
        assert seen["cells"] <= 10_000, "the reader padded the sheet to its declared dimension"
        return original(value)

    monkeypatch.setattr(reader, "_cell", counted)
    return seen


@pytest.fixture
def dispatched(monkeypatch):
    """The functions sent to a parser process (each still runs there)."""
    sent: list[str] = []
    original = reader.in_parser_process

    async def spy(fn, *args):
        sent.append(fn.__name__)
        return await original(fn, *args)

    monkeypatch.setattr(reader, "in_parser_process", spy)
    return sent


# --- the roster upload -------------------------------------------------------------------------------------
async def test_a_declared_dimension_is_ignored(children, cell_budget):
    content = forge(sheet_xml(roster_rows(children), dimension="A1:XFD6000"))
    result = await roster_import(content)
    assert (result.rows, result.created) == (3, 3)
    assert len(reader.read_all(content, HEADERS, "r.xlsx", importer.UPLOAD_LIMITS)) == 3  # here, with the budget
    assert cell_budget["cells"] <= 4 * (importer.UPLOAD_LIMITS.max_columns + 1)


async def test_a_sheet_past_the_row_limit_is_never_parsed(children, dispatched):
    """The bomb of bench/attack_load.py: A1:XFD6000 declared, 6,000 row elements: counted, not parsed."""
    rows = roster_rows(children) + [(n, ["x"]) for n in range(5, 6001)]
    bomb = forge(sheet_xml(rows, dimension="A1:XFD6000"))
    (error,) = await rejected_roster(bomb)
    assert error[:2] == (5002, "") and "5,000" in error[2]
    assert dispatched == ["read_all"]  # refused in the parser process, by the bounds read_all checks first
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("openpyxl.load_workbook", lambda *a, **k: pytest.fail("the bomb was parsed"))
        with pytest.raises(ImportRejected) as rejected:
            reader.read_all(bomb, HEADERS, "r.xlsx", importer.UPLOAD_LIMITS)
    assert [(e.row, e.column) for e in rejected.value.errors] == [(5002, "")]


def two_sheets(first: int, second: int) -> bytes:
    """A workbook whose first sheet holds `first` rows and whose second sheet `second` rows."""
    from openpyxl import Workbook

    book = Workbook()
    data, notes = book.active, book.create_sheet("填写说明")
    for sheet, count in ((data, first), (notes, second)):
        for n in range(count):
            sheet.append([f"r{n}", "x", "1"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_row_count_is_taken_from_the_first_sheet_only():
    limits = importer.UPLOAD_LIMITS
    reader.check_upload(two_sheets(3, 6000), limits)  # a long notes sheet is never read: no refusal
    with pytest.raises(ImportRejected) as rejected:
        reader.check_upload(two_sheets(6000, 3), limits)
    assert [(e.row, e.column) for e in rejected.value.errors] == [(5002, "")]


@pytest.mark.parametrize("rows", ["numbered", "unnumbered", "in-cdata"])
def test_row_elements_are_counted_as_the_parser_numbers_them(rows):
    """Row elements without `r` follow the previous one; a sheet where `<row` may be text is left to the parser."""
    limits = dataclasses.replace(importer.UPLOAD_LIMITS, max_rows=11)
    body = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x</t></is></c></row>' for n in range(1, 13))
    if rows == "unnumbered":
        body = '<row r="2"/>' + "<row><c/></row>" * 10  # rows 2..12
    elif rows == "in-cdata":
        body = '<row r="1"><c r="A1" t="inlineStr"><is><t><![CDATA[<row r="99">]]></t></is></c></row>'
    content = forge(sheet_xml([]).replace(b"<sheetData>", b"<sheetData>" + body.encode()))
    if rows == "in-cdata":
        reader.check_upload(content, limits)
        return
    with pytest.raises(ImportRejected) as rejected:
        reader.check_upload(content, limits)
    assert [(e.row, e.column) for e in rejected.value.errors] == [(12, "")]


async def test_uploads_are_parsed_in_a_parser_process(children, dispatched, monkeypatch):
    def not_here(*_):
        raise AssertionError("parsed in the server's process")

    monkeypatch.setattr(reader, "_xlsx_rows", not_here)
    monkeypatch.setattr(reader, "_csv_rows", not_here)
    rows = roster_rows(children)
    assert (await roster_import(forge(sheet_xml(rows)))).created == 3
    csv_body = "\n".join(",".join(r) for _, r in rows).encode()
    assert (await roster_import(csv_body, "r.csv")).unchanged == 3
    assert dispatched == ["read_all", "read_all"]
    assert await reader.in_parser_process(os.getpid) != os.getpid()


@pytest.mark.parametrize("blank", ["every-row", "one-far-row"])
async def test_blank_rows_count_towards_the_row_limit(children, blank):
    """Blank rows are read, so they count: 3 children then blank rows up to row 6000 (or one at 1048576)."""
    last = 1_048_576 if blank == "one-far-row" else 6000
    padding = [(last, [" "])] if blank == "one-far-row" else [(i, [" "]) for i in range(5, last + 1)]
    content = forge(sheet_xml(roster_rows(children) + padding, dimension=f"A1:C{last}"))
    (error,) = await rejected_roster(content)
    assert error[:2] == (5002, "") and "5,000" in error[2]


async def test_the_row_limit_counts_csv_blank_lines_too(children):
    body = "身份证件号,姓名,金额\n" + "".join(f"{i},{n},500\n" for i, n in children) + ",,\n" * 5000
    (error,) = await rejected_roster(body.encode(), "r.csv")
    assert error[:2] == (5002, "")


@pytest.mark.parametrize("bomb", ["white-space", "one-huge-cell"])
async def test_an_archive_that_unpacks_past_the_limit_is_refused_before_it_is_opened(children, bomb, monkeypatch):
    opened = []
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: opened.append(a))
    size = importer.UPLOAD_LIMITS.max_unpacked_bytes + 1024
    if bomb == "white-space":
        content = forge(sheet_xml(roster_rows(children), padding=size))
    else:
        strings = (
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
            b"<si><t>" + b"A" * size + b"</t></si></sst>"
        )
        content = forge(sheet_xml(roster_rows(children)), {"xl/sharedStrings.xml": strings})
    assert len(content) < size // 100  # a small upload
    (error,) = await rejected_roster(content)
    assert error[:2] == (1, "") and "解压后" in error[2]
    with pytest.raises(ImportRejected):  # here (in this process, where the patch holds): before opening
        reader.read_all(content, HEADERS, "r.xlsx", importer.UPLOAD_LIMITS)
    assert opened == []


async def test_a_huge_cell_is_named_by_row_and_column(children):
    rows = roster_rows(children)
    rows[2] = (3, [rows[2][1][0], "童" * 5000, "500"])
    for content, name in (
        (forge(sheet_xml(rows)), "r.xlsx"),
        ("\n".join(",".join(r) for _, r in rows).encode(), "r.csv"),
    ):
        (error,) = await rejected_roster(content, name)
        assert error[:2] == (3, "姓名") and "过长" in error[2], name


async def test_a_cell_past_the_column_limit_rejects_the_file(children):
    rows = roster_rows(children)
    far = importer.UPLOAD_LIMITS.max_columns + 1
    rows[3] = (4, {1: rows[3][1][0], 2: rows[3][1][1], 3: "500", far: "备注"})
    (error,) = await rejected_roster(forge(sheet_xml(rows)))
    assert error[:2] == (4, "") and f"第{far}列" in error[2]
    csv_body = "\n".join(",".join(r) for _, r in roster_rows(children)) + "," * (far - 3) + "备注\n"
    (error,) = await rejected_roster(csv_body.encode(), "r.csv")
    assert error[:2] == (4, "") and f"第{far}列" in error[2]


async def test_reading_stops_at_the_time_limit(children, monkeypatch):
    monkeypatch.setattr(importer, "UPLOAD_LIMITS", dataclasses.replace(importer.UPLOAD_LIMITS, max_seconds=0.0))
    (error,) = await rejected_roster(forge(sheet_xml(roster_rows(children))))
    assert error[0] == 1 and "超时" in error[2]


@pytest.fixture
def reading_threads(monkeypatch):
    """The names of the threads on which the bulk importer's `read_rows` runs."""
    names: list[str] = []
    original = reader.read_rows

    def spy(*args, **kwargs):
        names.append(threading.current_thread().name)
        yield from original(*args, **kwargs)

    monkeypatch.setattr("zizhu.domain.imports.service.read_rows", spy)
    return names


# --- the bulk imports (command line) -----------------------------------------------------------------------
def students_file(tmp_path: Path, rows, **sheet) -> Path:
    path = tmp_path / "students.xlsx"
    path.write_bytes(forge(sheet_xml([(1, STUDENT_HEADERS), *rows], **sheet)))
    return path


STUDENTS = [
    (2, [A, "张三", "2143000002", "义务教育", "三年级", "在读"]),
    (3, [B, "李四", "2143000002", "义务教育", "三年级", "在读"]),
]


async def test_bulk_import_ignores_the_declared_dimension_and_reads_off_the_loop(
    world, tmp_path, cell_budget, reading_threads
):
    result = await run_import("students", students_file(tmp_path, STUDENTS, dimension="A1:XFD100000"), actor="t")
    assert (result.rows, result.inserted) == (2, 2)
    assert reading_threads and threading.main_thread().name not in reading_threads


async def test_bulk_import_counts_blank_rows_and_bounds_the_archive(world, tmp_path, monkeypatch):
    limits = dataclasses.replace(reader.BULK_LIMITS, max_rows=11, max_unpacked_bytes=2 * 1024**2)
    monkeypatch.setattr("zizhu.domain.imports.service.LIMITS", limits)
    before = await Enrolment.all().count()
    for sheet, expected in (
        ({"rows": [*STUDENTS, (12, [" "])]}, (12, "")),
        ({"rows": STUDENTS, "padding": 3 * 1024**2}, (1, "")),
    ):
        with pytest.raises(ImportRejected) as rejected:
            await run_import("students", students_file(tmp_path, sheet.pop("rows"), **sheet), actor="t")
        assert [(e.row, e.column) for e in rejected.value.errors] == [expected]
    assert await Enrolment.all().count() == before


@pytest.mark.parametrize(
    "content, expected",
    [
        (f"{','.join(STUDENT_HEADERS)}\n{A},张\x00三,2143000002,义务教育,,在读\n".encode(), (2, "姓名")),
        (
            f"{','.join(STUDENT_HEADERS)}\n{A},张三,2143000002,义务教育,,在读\n{B},\"{'长' * 200_000}\",,,,\n".encode(),
            (3, ""),
        ),
        (
            f"{','.join(STUDENT_HEADERS)}\n{A},张三,2143000002,义务教育,,在读\n{B},{'长' * 900_000},,,,\n".encode(),
            (3, ""),
        ),
        (
            f"{','.join(STUDENT_HEADERS)}\n{A},=HYPERLINK(\"http://x\"),2143000002,义务教育,,在读\n".encode(),
            (2, "姓名"),
        ),
    ],
    ids=["nul-byte", "quoted-field-past-csv-limit", "line-past-limit", "formula"],
)
async def test_bulk_csv_problems_are_named_errors(world, tmp_path, content, expected):
    path = tmp_path / "students.csv"
    path.write_bytes(content)
    with pytest.raises(ImportRejected) as rejected:
        await run_import("students", path, actor="t")
    assert [(e.row, e.column) for e in rejected.value.errors] == [expected]
    assert await Enrolment.all().count() == 0
