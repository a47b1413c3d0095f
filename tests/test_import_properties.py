"""Property-based tests (hypothesis) of every importer: the six bulk kinds and the roster upload.

Files are made from a good file of each kind and then mangled: cells replaced (huge text, formulas,
control characters, full-width digits, arbitrary text), headers dropped, renamed or moved, CSV in
other encodings, workbooks with formula cells, bytes cut, flipped or inserted, or random bytes
altogether. Whatever comes, an importer either imports the file or rejects it with errors that
each name a row (and a column when one cell is at fault) — never another exception — and a
rejected file writes nothing.

`ZIZHU_HYPOTHESIS_EXAMPLES` sets the examples per importer (default 40); they are derandomised so
CI is stable, unless `ZIZHU_HYPOTHESIS_EXPLORE=1` asks for new ones.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.roster import PERIOD, enrol, set_window
from tests.support.spreadsheets import forge, sheet_xml
from tests.test_imports import CASES, everything
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.imports import ImportRejected, run_import
from zizhu.domain.imports.kinds import KINDS
from zizhu.domain.models import AidRecord, AuditEntry
from zizhu.domain.reference.codes import Role
from zizhu.domain.roster.importer import HEADERS as ROSTER_HEADERS
from zizhu.domain.roster.importer import import_roster
from zizhu.domain.settings import SHANGHAI

EXAMPLES = int(os.environ.get("ZIZHU_HYPOTHESIS_EXAMPLES", "40"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("ZIZHU_HYPOTHESIS_EXPLORE"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

cell_text = st.one_of(
    st.text(max_size=40),  # anything printable or not, in any script
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), min_size=1, max_size=5),
    st.integers(1_000, 150_000).map(lambda n: "长" * n),  # huge cells
    st.sampled_from(
        [
            "=1+1",
            '=HYPERLINK("http://example.com","点我")',
            "+86-10-1234",
            "@SUM(A1:A9)",
            "=cmd|' /C calc'!A0",
            "张\x00三",
            " ",
            "\ufeff",
            "#DIV/0!",
            "1e309",
            "NaN",
            "-0",
        ]
    ),
)


@st.composite
def mangled_table(draw, headers: tuple[str, ...], rows: list[list]) -> list[list[str]]:
    """The good table with its headers and some of its cells changed."""
    table = [list(headers)] + [["" if v in (None, "") else str(v) for v in r] for r in rows]
    change = draw(st.sampled_from(["keep", "drop", "rename", "move", "duplicate", "blank-first-row"]))
    col = draw(st.integers(0, len(headers) - 1))
    if change == "drop":
        table = [r[:col] + r[col + 1 :] for r in table]
    elif change == "rename":
        table[0][col] += draw(st.sampled_from(["x", " 列", "（必填）"]))
    elif change == "move":
        table = [r[col:] + r[:col] for r in table]
    elif change == "duplicate":
        table = [r + [r[col]] for r in table]
    for _ in range(draw(st.integers(0, 3))):
        r = draw(st.integers(1, len(table) - 1))
        c = draw(st.integers(0, len(table[r]) - 1))
        table[r][c] = draw(st.one_of(cell_text, st.just(table[r][c].translate(FULL_WIDTH))))
    if change == "blank-first-row":
        table.insert(0, [""] * len(headers))
    return table


def _csv(table: list[list[str]]) -> str:
    def field(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\r\n') else v

    return "".join(",".join(field(v) for v in row) + "\r\n" for row in table)


@st.composite
def mangled_file(draw, headers: tuple[str, ...], rows: list[list]) -> tuple[str, bytes]:
    """(file name, content) of a mangled file of this kind, or random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["f.csv", "f.xlsx"])), draw(st.binary(max_size=3000))
    table = draw(mangled_table(headers, rows))
    if draw(st.booleans()):
        name = "f.xlsx"
        content = forge(sheet_xml(list(enumerate(table, start=1)), formulas=draw(st.booleans())))
    else:
        name = "f.csv"
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030", "big5", "latin-1"]))
        content = _csv(table).encode(encoding, errors="replace")
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, 999)) * len(content) // 1000  # a place in the file, whatever its length
        how = draw(st.sampled_from(["cut", "flip", "insert"]))
        if how == "cut":
            content = content[:at]
        elif how == "flip":
            content = content[:at] + bytes([draw(st.integers(0, 255))]) + content[at + 1 :]
        else:
            content = content[:at] + draw(st.binary(min_size=1, max_size=20)) + content[at:]
    return name, content


def assert_named(rejected: ImportRejected, headers: tuple[str, ...]) -> None:
    assert rejected.errors
    for e in rejected.errors:
        assert isinstance(e.row, int) and e.row >= 1, e
        assert e.column in (*headers, ""), e
        assert isinstance(e.message, str) and e.message.strip(), e


@pytest.mark.parametrize("kind", list(CASES))
@PROPERTY
@given(data=st.data())
async def test_every_bulk_import_names_its_errors_and_writes_nothing_when_it_rejects(world, tmp_path, kind, data):
    headers = KINDS[kind].headers
    name, content = data.draw(mangled_file(headers, CASES[kind][0]), label="file")
    path = tmp_path / name
    path.write_bytes(content)
    before = await everything()
    try:
        await run_import(kind, path, actor="hypothesis")
    except ImportRejected as rejected:
        assert_named(rejected, headers)
        assert await everything() == before


@pytest.fixture
async def roster_rows(world) -> list[list[str]]:
    """Three children enrolled at the kindergarten, with its ENTRY window open on 2024-01-10."""
    await set_window("ENTRY", dt.datetime(2024, 1, 1, tzinfo=SHANGHAI), dt.datetime(2024, 1, 26, tzinfo=SHANGHAI))
    return [[await enrol(i, f"童{i}"), f"童{i}", "500"] for i in range(1, 4)]


async def _roster_written() -> tuple:
    return (sorted(await AidRecord.all().values_list("id_number", "amount", "status")), await AuditEntry.all().count())


@PROPERTY
@given(data=st.data())
async def test_the_roster_upload_names_its_errors_and_writes_nothing_when_it_rejects(roster_rows, data):
    name, content = data.draw(mangled_file(ROSTER_HEADERS, roster_rows), label="file")
    viewer = Viewer("kg_op", Role.SCHOOL_OPERATOR, "1143000001", ())
    before = await _roster_written()
    try:
        await import_roster(viewer, PERIOD, content, name, lambda: dt.datetime(2024, 1, 10, tzinfo=SHANGHAI))
    except ImportRejected as rejected:
        assert_named(rejected, ROSTER_HEADERS)
        assert await _roster_written() == before


async def test_an_xml_entity_bomb_is_a_named_error(world, tmp_path):
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i else "")) * 10}">' for i in range(1, 10))
        + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    path = Path(tmp_path / "bomb.xlsx")
    path.write_bytes(forge(laughs.encode()))
    with pytest.raises(ImportRejected) as rejected:
        await run_import("students", path, actor="t")
    assert [(e.row, e.column) for e in rejected.value.errors] == [(1, "")]
