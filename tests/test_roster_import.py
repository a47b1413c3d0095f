"""Template download and batch import of the preschool roster (GraphQL multipart upload)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import threading
from decimal import Decimal

import httpx
from openpyxl import load_workbook

from tests.support.roster import HOUR, PERIOD, SUBMIT, add, close_window, enrol, open_windows, set_window
from tests.support.world import student_id
from zizhu.domain.models import AidRecord, AuditEntry
from zizhu.domain.settings import SHANGHAI

IMPORT = """mutation($p: String!, $f: Upload!) { importPreschoolRoster(period: $p, file: $f) {
  __typename
  ... on RosterImported { count created updated unchanged }
  ... on RosterImportRejected { message errors { row column message } } } }"""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def upload(http: httpx.AsyncClient, token: str, content: bytes, filename: str, period: str = PERIOD) -> dict:
    """POST a GraphQL multipart request (operations / map / file part) and return the JSON body."""
    operations = json.dumps({"query": IMPORT, "variables": {"p": period, "f": None}})
    ctype = XLSX if filename.endswith(".xlsx") else "text/csv"
    r = await http.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.f"]})},
        files={"0": (filename, content, ctype)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def imported(http, token, content, filename) -> dict:
    body = await upload(http, token, content, filename)
    assert not body.get("errors"), body["errors"]
    return body["data"]["importPreschoolRoster"]


def csv_bytes(*rows: tuple[str, str, str], bom: bool = True) -> bytes:
    text = "身份证件号,姓名,金额\n" + "".join(",".join(r) + "\n" for r in rows)
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


async def test_template_round_trip(gql, world):
    await open_windows("ENTRY")
    children = [(await enrol(i, name), name) for i, name in enumerate(("王小一", "李小二", "赵小三"), start=1)]
    r = await gql.http.get("/templates/preschool-roster.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["资助名单", "填写说明"]
    data = wb["资助名单"]
    assert [c.value for c in data[1]] == ["身份证件号", "姓名", "金额"]
    assert data.max_row == 1 or all(c.value is None for row in data.iter_rows(min_row=2) for c in row)
    notes = [[c for c in row if c is not None] for row in wb["填写说明"].iter_rows(values_only=True)]
    assert ["身份证件号", "姓名", "金额"] in notes  # the example's header, followed by the example row
    example = notes[notes.index(["身份证件号", "姓名", "金额"]) + 1]
    assert len(example[0]) == 18 and example[2] == "1000.00"
    assert any(row and row[0] == "金额" for row in notes)

    for row, ((id_number, name), amount) in enumerate(zip(children, (1000, 1000.5, "800.25")), start=2):
        data.cell(row=row, column=1, value=id_number)
        data.cell(row=row, column=2, value=name)
        data.cell(row=row, column=3, value=amount)
    out = io.BytesIO()
    wb.save(out)

    token = await gql.token_for("kg_op")
    result = await imported(gql.http, token, out.getvalue(), "学前资助名单.xlsx")
    assert result == {"__typename": "RosterImported", "count": 3, "created": 3, "updated": 0, "unchanged": 0}
    rows = {r.name: (r.amount, r.status, r.school_code, r.period) for r in await AidRecord.all()}
    assert rows == {
        "王小一": (Decimal("1000.00"), "DRAFT", "1143000001", PERIOD),
        "李小二": (Decimal("1000.50"), "DRAFT", "1143000001", PERIOD),
        "赵小三": (Decimal("800.25"), "DRAFT", "1143000001", PERIOD),
    }
    assert await AuditEntry.filter(action="roster.import", actor="kg_op").count() == 3

    # The same file again changes nothing; a changed amount updates that entry only.
    again = await imported(gql.http, token, out.getvalue(), "学前资助名单.xlsx")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    data.cell(row=3, column=3, value=600)
    out = io.BytesIO()
    wb.save(out)
    changed = await imported(gql.http, token, out.getvalue(), "学前资助名单.xlsx")
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
    assert (await AidRecord.get(name="李小二")).amount == Decimal("600.00")


async def test_the_template_is_built_once_and_never_on_the_event_loop(gql, monkeypatch):
    from openpyxl.workbook.workbook import Workbook

    from zizhu.domain.roster import importer

    builds: list[str] = []
    save = Workbook.save

    def spy(self, *args, **kwargs):
        builds.append(threading.current_thread().name)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Workbook, "save", spy)
    monkeypatch.setattr(importer, "_template", None, raising=False)  # as in a fresh process
    from zizhu.api import templates

    monkeypatch.setattr(templates, "_BUILT", {})
    answers = await asyncio.gather(*(gql.http.get("/templates/preschool-roster.xlsx") for _ in range(8)))
    assert {r.status_code for r in answers} == {200} and len({r.content for r in answers}) == 1
    assert len(builds) == 1 and builds[0] != threading.main_thread().name
    assert load_workbook(io.BytesIO(answers[0].content)).sheetnames == ["资助名单", "填写说明"]


async def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(gql, world):
    await open_windows("ENTRY")
    token = await gql.token_for("kg_op")
    good = await enrol(1, "甲")
    b, c, d, e, f = [await enrol(i, n) for i, n in ((2, "乙"), (4, "丁"), (5, "戊"), (6, "己"), (7, "庚"))]
    submitted = await enrol(3, "丙")
    entry = await add(gql, token, submitted)
    await gql.data(SUBMIT, {"ids": [entry["id"]]}, token=token)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    content = csv_bytes(
        (good, "甲", "1000"),  # 2 fine
        (bad_check, "某", "1000"),  # 3 check digit
        (student_id(99, birth="20200101"), "某", "1000"),  # 4 valid ID, not enrolled here
        (b, "乙", "0"),  # 5 amount must be positive
        (good, "甲", "500"),  # 6 repeats row 2
        (c, "", "10"),  # 7 name missing
        (d, "戊", "12.345"),  # 8 three decimals
        (e, "己己", "10"),  # 9 name differs from the enrolment
        (submitted, "丙", "10"),  # 10 already submitted
        ("", "", ""),  # 11 blank: skipped
        (f, "庚", "abc"),  # 12 not a number
    )
    body = await upload(gql.http, token, content, "roster.csv")
    result = body["data"]["importPreschoolRoster"]
    assert result["__typename"] == "RosterImportRejected"
    assert [(e["row"], e["column"]) for e in result["errors"]] == [
        (3, "身份证件号"),
        (4, "身份证件号"),
        (5, "金额"),
        (6, "身份证件号"),
        (7, "姓名"),
        (8, "金额"),
        (9, "姓名"),
        (10, "身份证件号"),
        (12, "金额"),
    ]
    messages = {e["row"]: e["message"] for e in result["errors"]}
    assert "校验位" in messages[3] and "第2行" in messages[6] and "已上报" in messages[10]
    assert "9 处错误" in result["message"]
    assert [r.name for r in await AidRecord.all()] == ["丙"]


async def test_unreadable_files_and_missing_headers_are_rejected_whole(gql, world):
    await open_windows("ENTRY")
    token = await gql.token_for("kg_op")
    for content, name, expected in (
        (b"not a workbook", "roster.xlsx", (1, "")),
        (b"\xd0\xa1", "roster.xls", (1, "")),
        ("身份证件号,姓名\n".encode(), "roster.csv", (1, "金额")),
        ("身份证件号,姓名,金额\n".encode(), "roster.csv", (2, "")),
        ("身份证件号,姓名,金额\n".encode("utf-16"), "roster.csv", (1, "")),
    ):
        result = (await upload(gql.http, token, content, name))["data"]["importPreschoolRoster"]
        assert result["__typename"] == "RosterImportRejected", name
        assert [(e["row"], e["column"]) for e in result["errors"]] == [expected], name
    assert await AidRecord.all().count() == 0


async def test_import_needs_the_entry_window_and_the_operator_role(gql, world):
    token = await gql.token_for("kg_op")
    child = await enrol(1, "甲")
    content = csv_bytes((child, "甲", "1000"))
    body = await upload(gql.http, token, content, "r.csv")  # no window
    assert body["errors"][0]["extensions"]["code"] == "WINDOW_CLOSED"
    await close_window("ENTRY")
    # The guard answers before the file is even read: a broken file gets WINDOW_CLOSED, not row errors.
    body = await upload(gql.http, token, b"garbage", "r.xlsx")
    assert body["errors"][0]["extensions"]["code"] == "WINDOW_CLOSED"
    await open_windows("ENTRY")
    body = await upload(gql.http, await gql.token_for("kg_rev"), content, "r.csv")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await upload(gql.http, await gql.token_for("county_op"), content, "r.csv")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await AidRecord.all().count() == 0
    assert (await imported(gql.http, token, content, "r.csv"))["created"] == 1


class SteppingClock:
    """Inside the window when the request starts; past its end by the time the import commits."""

    def __init__(self, start: dt.datetime, later: dt.datetime) -> None:
        self.values = [start]
        self.later = later
        self.calls = 0

    def __call__(self) -> dt.datetime:
        self.calls += 1
        return self.values.pop(0) if self.values else self.later


async def test_an_import_that_starts_inside_the_window_but_commits_after_it_closed_is_refused(gql, world):
    from zizhu.api.app import create_app

    t0 = dt.datetime(2024, 1, 25, 23, 59, 0, tzinfo=SHANGHAI)
    await set_window("ENTRY", t0 - HOUR, dt.datetime(2024, 1, 26, tzinfo=SHANGHAI))
    children = [(await enrol(i, f"童{i}"), f"童{i}") for i in range(1, 4)]
    content = csv_bytes(*((i, n, "500") for i, n in children))
    token = await gql.token_for("kg_op")
    clock = SteppingClock(t0, dt.datetime(2024, 1, 26, 0, 0, 1, tzinfo=SHANGHAI))
    app = create_app(clock=clock, manage_orm=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        body = await upload(http, token, content, "r.csv")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "WINDOW_CLOSED"
    assert error["extensions"]["end"] == "2024-01-26T00:00:00+08:00"
    assert clock.calls == 2  # the guard (inside) and the commit (after the end)
    assert await AidRecord.all().count() == 0
    assert await AuditEntry.filter(action="roster.import").count() == 0
    # The same request with a clock that stays inside imports all three.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(clock=lambda: t0, manage_orm=False)), base_url="http://test"
    ) as http:
        assert (await imported(http, token, content, "r.csv"))["created"] == 3


async def test_domain_import_reads_the_clock_at_commit(world):
    """Direct call (e.g. from a job): the `now` callable is evaluated inside the committing transaction."""
    import pytest

    from zizhu.domain.accounts.scopes import Viewer
    from zizhu.domain.errors import WindowClosed
    from zizhu.domain.reference.codes import Role
    from zizhu.domain.roster.importer import import_roster

    await set_window("ENTRY", dt.datetime(2024, 1, 1, tzinfo=SHANGHAI), dt.datetime(2024, 1, 26, tzinfo=SHANGHAI))
    child = await enrol(1, "甲")
    viewer = Viewer("kg_op", Role.SCHOOL_OPERATOR, "1143000001", ())
    seen = []

    def late():
        seen.append(AidRecord.__name__)
        return dt.datetime(2024, 1, 26, tzinfo=SHANGHAI)

    with pytest.raises(WindowClosed):
        await import_roster(viewer, PERIOD, csv_bytes((child, "甲", "1")), "r.csv", late)
    assert seen == ["AidRecord"] and await AidRecord.all().count() == 0
    result = await import_roster(
        viewer,
        PERIOD,
        csv_bytes((child, "甲", "1"), bom=False),
        "r.csv",
        lambda: dt.datetime(2024, 1, 25, 23, 59, 59, tzinfo=SHANGHAI),
    )
    assert (result.rows, result.created) == (1, 1)


async def test_an_id_typed_into_a_number_cell_is_reported_as_such_with_its_row(gql, world):
    await open_windows("ENTRY")
    token = await gql.login("kg_op")
    good, numeric = await enrol(1, "甲"), await enrol(2, "乙")
    wb = load_workbook(io.BytesIO((await gql.http.get("/templates/preschool-roster.xlsx")).content))
    ws = wb["资助名单"]
    ws["A2"], ws["B2"], ws["C2"] = good, "甲", 1000
    # what Excel keeps of an 18-digit number: 15 significant digits
    ws["A3"], ws["B3"], ws["C3"] = float(f"{int(numeric[:17]):.14e}") * 10, "乙", 1000
    out = io.BytesIO()
    wb.save(out)
    result = (await upload(gql.http, token, out.getvalue(), "roster.xlsx"))["data"]["importPreschoolRoster"]
    assert result["__typename"] == "RosterImportRejected"
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(3, "身份证件号")]
    assert result["errors"][0]["message"].startswith("身份证件号列须为文本格式")
    assert await AidRecord.all().count() == 0
