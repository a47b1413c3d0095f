"""Imports (数据导入): every kind from CSV (with/without BOM) and .xlsx, all-or-nothing, idempotent."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from zizhu.domain import db
from zizhu.domain.imports import ImportRejected, run_import
from zizhu.domain.imports.kinds import KINDS
from zizhu.domain.models import (
    AidRecord,
    AuditEntry,
    Enrolment,
    LegacyPovertyReason,
    Period,
    Region,
    School,
    SpecialGroupRecord,
)
from zizhu.domain.settings import SHANGHAI

ROOT = Path(__file__).resolve().parents[1]

# Valid ID numbers (GB 11643 check digit computed by hand-checked make_id_number, written out here).
A = "430102201501010012"
B = "430102201501010020"
C = "430102201501010039"
X8 = "43010220150101008X"
BAD_CHECK = "430102201501010013"


def write(tmp_path: Path, kind: str, rows: list[list], fmt: str = "csv", name: str | None = None) -> Path:
    """A file of `kind` with the headers of docs/imports.md: csv (no BOM), csv-bom, or xlsx."""
    headers = list(KINDS[kind].headers)
    path = tmp_path / f"{name or kind}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
    if fmt == "xlsx":
        wb = Workbook()
        ws = wb.active
        ws.append(headers)
        for row in rows:
            ws.append([None if v == "" else v for v in row])
        wb.save(path)
    else:
        with path.open("w", encoding="utf-8-sig" if fmt == "csv-bom" else "utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(headers)
            w.writerows(rows)
    return path


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


# kind → (rows of a good file, (model, fields, order), expected table content, (inserted, updated, unchanged))
CASES = {
    "regions": (
        [["430300", "湘潭市", "430000"], ["430302", "雨湖区", "430300"], ["440000", "广东省（改名）", ""]],
        (Region, ("code", "name", "parent_code", "level"), "code"),
        [
            ("000000", "全国", None, "NATION"),
            ("430000", "湖南省", "000000", "PROVINCE"),
            ("430100", "长沙市", "430000", "CITY"),
            ("430102", "芙蓉区", "430100", "COUNTY"),
            ("430103", "天心区", "430100", "COUNTY"),
            ("430200", "株洲市", "430000", "CITY"),
            ("430202", "荷塘区", "430200", "COUNTY"),
            ("430300", "湘潭市", "430000", "CITY"),
            ("430302", "雨湖区", "430300", "COUNTY"),
            ("440000", "广东省（改名）", "000000", "PROVINCE"),
            ("440100", "广州市", "440000", "CITY"),
            ("440103", "荔湾区", "440100", "COUNTY"),
        ],
        (2, 1, 0),
    ),
    "schools": (
        [
            ["3443000010", "长沙市第二中学", "430100"],
            ["4144000011", "广东省属大学", "440000"],
            ["1143000001", "芙蓉区第一幼儿园（新园区）", "430102"],
        ],
        (School, ("code", "name", "region_code", "province"), "code"),
        [
            ("1143000001", "芙蓉区第一幼儿园（新园区）", "430102", "43"),
            ("3443000010", "长沙市第二中学", "430100", "43"),
            ("4144000011", "广东省属大学", "440000", "44"),
        ],
        (2, 1, 0),
    ),
    "students": (
        [
            [A, "张三", "2143000002", "义务教育", "三年级", "在读"],
            [B, "李四", "2143000003", "COMPULSORY", "七年级", "在读"],
            [C, "王五", "3443000004", "普高", "", "休学"],
        ],
        (Enrolment, ("id_number", "name", "school_code", "stage", "grade", "status", "province"), "id_number"),
        [
            (A, "张三", "2143000002", "COMPULSORY", "三年级", "ENROLLED", "43"),
            (B, "李四", "2143000003", "COMPULSORY", "七年级", "ENROLLED", "43"),
            (C, "王五", "3443000004", "GENERAL_HIGH", "", "SUSPENDED", "43"),
        ],
        (3, 0, 0),
    ),
    "aid": (
        [
            [A, "2143000002", "CMP_LIVING", "2023-2024-1", "625", "审核通过"],
            [C, "4143000006", "HE_GRANT", "2023-2024", 3300.5, "学校审核通过"],
            [B, "2143000003", "家庭经济困难学生生活补助", "2023-2024-2", "0.00", "DRAFT"],
        ],
        (
            AidRecord,
            ("id_number", "school_code", "project_code", "period", "amount", "status", "province", "name"),
            "id_number",
        ),
        [
            (A, "2143000002", "CMP_LIVING", "2023-2024-1", Decimal("625.00"), "APPROVED", "43", ""),
            (B, "2143000003", "CMP_LIVING", "2023-2024-2", Decimal("0.00"), "DRAFT", "43", ""),
            (C, "4143000006", "HE_GRANT", "2023-2024", Decimal("3300.50"), "SCHOOL_APPROVED", "43", ""),
        ],
        (3, 0, 0),
    ),
    "special-groups": (
        [
            [A, "张三", "脱贫家庭学生", "中央下发", "2023-2024-1"],
            [A, "张三", "01", "自采集", "2023-2024-1"],
            [B, "李四", 5, "CENTRAL", "2023-2024-2"],
            [C, "", "特困供养", "自采集", "2023-2024-1"],
        ],
        (SpecialGroupRecord, ("period", "id_number", "category", "source", "name"), "id_number"),
        [
            ("2023-2024-1", A, "01", "CENTRAL", "张三"),
            ("2023-2024-1", A, "01", "SELF", "张三"),
            ("2023-2024-2", B, "05", "CENTRAL", "李四"),
            ("2023-2024-1", C, "06", "SELF", ""),
        ],
        (4, 0, 0),
    ),
    "legacy-reasons": (
        [
            [A, "张三", "2143000002", "义务教育", "2023-2024-1", "01", "", dt.datetime(2024, 1, 15, 10, 30)],
            [B, "李四", "2143000003", "COMPULSORY", "2023-2024-1", "其他（须填写说明）", "已随父母迁往外省", ""],
            [C, "王五", "3443000004", "普通高中", "2023-2024-1", 9, "", "2024/01/16"],
        ],
        (
            LegacyPovertyReason,
            ("id_number", "name", "school_code", "province", "stage", "period", "reason_code", "detail", "reported_at"),
            "id_number",
        ),
        [
            (A, "张三", "2143000002", "43", "COMPULSORY", "2023-2024-1", "01", "", at(2024, 1, 15, 10, 30)),
            (B, "李四", "2143000003", "43", "COMPULSORY", "2023-2024-1", "99", "已随父母迁往外省", None),
            (C, "王五", "3443000004", "43", "GENERAL_HIGH", "2023-2024-1", "09", "", at(2024, 1, 16)),
        ],
        (3, 0, 0),
    ),
}


async def table(kind: str) -> list[tuple]:
    model, fields, order = CASES[kind][1]
    rows = await model.all().order_by(order, *[f for f in fields if f != order]).values_list(*fields)
    return [tuple(r) for r in rows]


async def everything() -> dict[str, list]:
    """The full content of every table an import writes (plus periods and audit)."""
    return {
        "region": await Region.all().order_by("code").values(),
        "school": await School.all().order_by("code").values(),
        "enrolment": await Enrolment.all().order_by("id").values(),
        "aid": await AidRecord.all().order_by("id").values(),
        "special": await SpecialGroupRecord.all().order_by("id").values(),
        "legacy": await LegacyPovertyReason.all().order_by("id").values(),
        "period": await Period.all().order_by("code").values(),
        "audit": await AuditEntry.all().count(),
    }


@pytest.mark.parametrize("fmt", ["csv", "csv-bom", "xlsx"])
@pytest.mark.parametrize("kind", list(CASES))
async def test_each_kind_imports_from_csv_and_xlsx(world, tmp_path, kind, fmt):
    rows, _, expected, counts = CASES[kind]
    result = await run_import(kind, write(tmp_path, kind, rows, fmt), actor="tester")
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (len(rows), *counts)
    got = await table(kind)
    if kind == "schools":  # the world's other schools are untouched
        got = [r for r in got if r[0] in {"1143000001", "3443000010", "4144000011"}]
    assert got == expected


async def test_reimport_is_a_no_op(world, tmp_path):
    for kind in CASES:
        await run_import(kind, write(tmp_path, kind, CASES[kind][0]), actor="tester")
    before = await everything()
    for kind in CASES:
        rows = CASES[kind][0]
        result = await run_import(kind, write(tmp_path, kind, rows), actor="tester")
        assert (result.rows, result.inserted, result.updated, result.unchanged) == (len(rows), 0, 0, len(rows)), kind
    after = await everything()
    assert after["audit"] == before["audit"] + 6
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    entries = (
        await AuditEntry.filter(action="import.aid")
        .order_by("id")
        .values_list("actor", "entity", "entity_key", "after")
    )
    assert entries == [
        ("tester", "import", "aid.csv", {"rows": 3, "inserted": 3, "updated": 0, "unchanged": 0}),
        ("tester", "import", "aid.csv", {"rows": 3, "inserted": 0, "updated": 0, "unchanged": 3}),
    ]


async def test_referenced_semesters_get_a_period_with_default_dates(world, tmp_path):
    await run_import("aid", write(tmp_path, "aid", CASES["aid"][0]), actor="tester")
    periods = await Period.all().order_by("code").values_list("code", "academic_year", "term", "start_date", "end_date")
    assert periods == [
        ("2023-2024-1", "2023-2024", 1, dt.date(2023, 9, 1), dt.date(2024, 2, 29)),
        ("2023-2024-2", "2023-2024", 2, dt.date(2024, 3, 1), dt.date(2024, 8, 31)),
    ]


async def test_a_changed_row_is_updated(world, tmp_path):
    rows = [list(r) for r in CASES["aid"][0]]
    await run_import("aid", write(tmp_path, "aid", rows), actor="tester")
    rows[0][4], rows[0][5] = "700.5", "退回"
    result = await run_import("aid", write(tmp_path, "aid", rows), actor="tester")
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    record = await AidRecord.get(id_number=A)
    assert (record.amount, record.status) == (Decimal("700.50"), "RETURNED")
    assert await AidRecord.all().count() == 3


async def test_duplicate_keys_in_one_file_last_row_wins_and_counts_once(world, tmp_path):
    rows = [
        [A, "张三", "低保学生", "中央下发", "2023-2024-1"],
        [B, "李四", "低保学生", "中央下发", "2023-2024-1"],
        [A, "张叁", "05", "CENTRAL", "2023-2024-1"],
        [A, "张三丰", "SUBSISTENCE_ALLOWANCE", "中央下发", "2023-2024-1"],
    ]
    result = await run_import("special-groups", write(tmp_path, "special-groups", rows), actor="tester")
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (4, 2, 0, 0)
    assert await table("special-groups") == [
        ("2023-2024-1", A, "05", "CENTRAL", "张三丰"),
        ("2023-2024-1", B, "05", "CENTRAL", "李四"),
    ]


async def test_lower_case_x_and_spaces_are_normalised(world, tmp_path):
    await run_import(
        "students",
        write(tmp_path, "students", [[X8.lower(), "赵六", "2143000002", "义务教育", "", "在读"]]),
        actor="tester",
    )
    await run_import(
        "special-groups",
        write(tmp_path, "special-groups", [[" " + X8.lower(), "赵六", "孤儿学生", "自采集", "2023-2024-1"]]),
        actor="tester",
    )
    assert await Enrolment.all().values_list("id_number", flat=True) == [X8]
    assert await SpecialGroupRecord.all().values_list("id_number", flat=True) == [X8]


BAD = {
    "regions": (
        [
            ["4301", "短码", "430000"],
            ["430400", "衡阳市", "439900"],
            ["430405", "珠晖区", "430400"],
            ["430500", "", "430100"],
            ["430611", "岳阳楼区", "430600"],
            ["430600", "岳阳市", "430000"],
        ],
        [(2, "行政区划代码"), (3, "上级代码"), (5, "名称"), (5, "上级代码"), (6, "上级代码")],
    ),
    "schools": (
        [
            ["21430000", "短码学校", "430102"],
            ["2143000020", "无区划学校", "439999"],
            ["2144000021", "跨省学校", "430102"],
            ["2143000022", "", "430102"],
            ["2143000023", "好学校", "430102"],
        ],
        [(2, "学校标识码"), (3, "主管区划代码"), (4, "主管区划代码"), (5, "学校名称")],
    ),
    "students": (
        [
            [A, "张三", "2143000099", "义务教育", "", "在读"],
            [B, "", "2143000002", "大学", "", "在读"],
            [C, "王五", "214300000", "COMPULSORY", "", "在校"],
            ["12345", "赵六", "2143000002", "义务教育", "", "在读"],
            [X8, "赵六", "2143000002", "义务教育", "", "在读"],
        ],
        [(2, "学校标识码"), (3, "姓名"), (3, "学段"), (4, "学校标识码"), (4, "学籍状态"), (5, "身份证件号")],
    ),
    "aid": (
        [
            [A, "2143000002", "NO_SUCH", "2023-2024-1", "100", "审核通过"],
            [A, "2143000002", "HE_GRANT", "2023-2024-1", "100", "审核通过"],
            [A, "2143000002", "CMP_LIVING", "2023-2024", "100", "审核通过"],
            [A, "2143000002", "CMP_LIVING", "2023-2024-1", "-1", "审核通过"],
            [A, "2143000002", "CMP_LIVING", "2023-2024-1", "1.234", "通过了"],
            [A, "2143000002", "CMP_LIVING", "2023-2024-1", "abc", "审核通过"],
            [BAD_CHECK, "2143000002", "CMP_LIVING", "2023-2024-3", "100", "审核通过"],
        ],
        [
            (2, "资助项目代码"),
            (3, "资助周期"),
            (4, "资助周期"),
            (5, "金额"),
            (6, "金额"),
            (6, "审核状态"),
            (7, "金额"),
            (8, "身份证件号"),
            (8, "资助周期"),
        ],
    ),
    "special-groups": (
        [
            [A, "张三", "脱贫家庭学生", "中央下发", "2023-2024-1"],
            [BAD_CHECK, "错号", "孤儿学生", "中央下发", "2023-2024-1"],
            [B, "李四", "不存在的类型", "中央下发", "2023-2024-1"],
            [C, "王五", "孤儿学生", "省级下发", "2023-2024-3"],
            [C, "王五", "孤儿学生", "中央下发", "2023-2024"],
            [X8, "赵六", "14", "自采集", "2023-2024-1"],
        ],
        [
            (3, "身份证件号"),
            (4, "特殊群体类型"),
            (5, "数据来源"),
            (5, "资助周期"),
            (6, "资助周期"),
            (7, "特殊群体类型"),
        ],
    ),
    "legacy-reasons": (
        [
            [A, "张三", "2143000002", "义务教育", "2023-2024-1", "99", "", ""],
            [A, "张三", "2143000002", "义务教育", "2023-2024-1", "88", "", ""],
            [A, "张三", "2143000002", "义务教育", "2023-24-1", "01", "", "昨天"],
            [B, "李四", "2143000002", "义务教育", "2023-2024-1", "01", "", "2024-01-15 10:30"],
        ],
        [(2, "原因说明"), (3, "未资助原因"), (4, "资助周期"), (4, "填报时间")],
    ),
}


@pytest.mark.parametrize("kind", list(BAD))
async def test_a_bad_file_lists_every_bad_row_and_writes_nothing(world, tmp_path, kind, monkeypatch):
    # Tiny batches: good rows before the first bad one are already staged when it is found.
    monkeypatch.setattr("zizhu.domain.imports.service.BATCH_ROWS", 1)
    rows, expected = BAD[kind]
    before = await everything()
    with pytest.raises(ImportRejected) as rejected:
        await run_import(kind, write(tmp_path, kind, rows, "xlsx" if kind == "aid" else "csv"), actor="tester")
    assert [(e.row, e.column) for e in rejected.value.errors] == expected
    assert all(e.message for e in rejected.value.errors)
    assert await everything() == before


async def test_error_messages_name_the_problem(world, tmp_path):
    with pytest.raises(ImportRejected) as rejected:
        await run_import("special-groups", write(tmp_path, "special-groups", BAD["special-groups"][0]), actor="t")
    messages = [e.message for e in rejected.value.errors]
    assert messages[0] == "身份证件号校验位错误"
    assert messages[1] == "未知的特殊群体类型“不存在的类型”"
    assert "2023-2024-3" in messages[3]


async def test_missing_header_rejects_the_file(world, tmp_path):
    path = tmp_path / "sg.csv"
    path.write_text("身份证件号,姓名,特殊群体类型,资助周期\n" + A + ",张三,01,2023-2024-1\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        await run_import("special-groups", path, actor="tester")
    assert [(e.row, e.column) for e in rejected.value.errors] == [(1, "数据来源")]


async def test_progress_is_reported_per_batch(world, tmp_path, monkeypatch):
    monkeypatch.setattr("zizhu.domain.imports.service.BATCH_ROWS", 2)
    calls = []
    rows = CASES["special-groups"][0] + [[X8, "赵六", "孤儿学生", "自采集", "2023-2024-1"]]
    await run_import(
        "special-groups",
        write(tmp_path, "special-groups", rows),
        actor="t",
        progress=lambda n, label, total: calls.append((n, total)),
    )
    assert calls == [(2, 5), (4, 5), (5, 5)]  # rows done, of the file's total


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "zizhu.api.cli", "import", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_import_prints_every_bad_row_and_exits_2(world, tmp_path, database_url):
    path = write(tmp_path, "special-groups", BAD["special-groups"][0])
    done = _cli(database_url, "special-groups", str(path))
    assert done.returncode == 2, done.stderr
    assert "文件被拒绝，未写入任何数据：6 处错误" in done.stderr
    for line in (
        "第3行 [身份证件号] 身份证件号校验位错误",
        "第4行 [特殊群体类型]",
        "第5行 [数据来源]",
        "第5行 [资助周期]",
        "第6行 [资助周期]",
        "第7行 [特殊群体类型]",
    ):
        assert line in done.stderr
    assert await SpecialGroupRecord.all().count() == 0

    good = write(tmp_path, "special-groups", CASES["special-groups"][0], name="good")
    done = _cli(database_url, "special-groups", str(good))
    assert done.returncode == 0, done.stderr
    assert "导入完成：共 4 行，新增 4，更新 0，未变 0" in done.stdout
    assert await SpecialGroupRecord.all().count() == 4


@pytest.mark.postgres_only
async def test_postgres_merge_uses_copy_staging(world, tmp_path, monkeypatch):
    """The fast path: rows reach PostgreSQL by COPY, never as row-by-row INSERTs."""
    import asyncpg

    copied = []
    original = asyncpg.Connection.copy_records_to_table

    async def spy(self, table_name, **kw):
        copied.append((table_name, len(kw["records"])))
        return await original(self, table_name, **kw)

    monkeypatch.setattr(asyncpg.Connection, "copy_records_to_table", spy)
    await run_import("special-groups", write(tmp_path, "special-groups", CASES["special-groups"][0]), actor="t")
    assert copied == [("zz_import_special_group_record", 4)]
    assert db.is_postgres()


def _stderr_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


async def test_cli_import_of_a_truncated_workbook_prints_one_line(world, tmp_path, database_url):
    whole = write(tmp_path, "students", CASES["students"][0], "xlsx")
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    done = _cli(database_url, "students", str(cut))
    assert done.returncode == 2, done.stderr
    (line,) = _stderr_lines(done)
    assert line.startswith("文件被拒绝，未写入任何数据：第1行 文件无法"), line
    done = _cli(database_url, "students", str(tmp_path / "missing.csv"))
    assert done.returncode == 2, done.stderr
    (line,) = _stderr_lines(done)
    assert "不存在" in line, line
    assert await Enrolment.all().count() == 0


async def test_cli_import_names_the_row_of_invalid_bytes(world, tmp_path, database_url):
    """Row 452 of a CSV holds a byte that is not UTF-8: the message names row 452, not the row being decoded."""
    from zizhu.domain.reference.identity import make_id_number

    lines = ["身份证件号,姓名,特殊群体类型,数据来源,资助周期".encode()]
    for row in range(2, 501):
        name = "学生甲".encode() + (b"\xff" if row == 452 else b"")
        lines.append(
            make_id_number(f"43010220150101{row:03d}").encode() + b"," + name + ",01,中央下发,2023-2024-1".encode()
        )
    path = tmp_path / "sg.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    done = _cli(database_url, "special-groups", str(path))
    assert done.returncode == 2, done.stderr
    (line,) = _stderr_lines(done)
    assert "第452行" in line and "UTF-8" in line, line
    assert await SpecialGroupRecord.all().count() == 0


async def test_a_number_cell_in_the_id_column_says_the_column_must_be_text(orm, tmp_path):
    from zizhu.domain.reference.identity import make_id_number

    wb = Workbook()
    ws = wb.active
    ws.append(["身份证件号", "姓名", "特殊群体类型", "数据来源", "资助周期"])
    ws.append([make_id_number("11010120150101001"), "甲", "01", "中央下发", "2023-2024-1"])
    ws.append([110101201501010000, "乙", "01", "中央下发", "2023-2024-1"])  # a number cell
    path = tmp_path / "special.xlsx"
    wb.save(path)
    with pytest.raises(ImportRejected) as rejected:
        await run_import("special-groups", path, actor="t")
    bad = [(e.row, e.column, e.message) for e in rejected.value.errors]
    assert [(row, column) for row, column, _ in bad] == [(3, "身份证件号")]
    assert bad[0][2].startswith("身份证件号列须为文本格式")
