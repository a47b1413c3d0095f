"""List exports: the unfunded list, the poverty-family history and the preschool roster, as .xlsx
and CSV, with the same rows, filters, scope and ID masking as their GraphQL queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.support.exports import csv_rows, download, link, sheet_rows, workbook
from tests.support.roster import KG
from tests.support.world import student_id
from tests.test_comparison import P, compare
from tests.test_statistics_api import reason
from zizhu.domain.exports import lists
from zizhu.domain.models import AidRecord, Enrolment, LegacyPovertyReason, SpecialGroupRecord
from zizhu.domain.reference.identity import mask_id_number
from zizhu.domain.settings import SHANGHAI

PRIMARY, OTHER = "2143000002", "2143000008"  # 芙蓉区实验小学 (county 430102), 荷塘区小学 (株洲)
DANGEROUS = ["=SUM(A1:A9)", "+86-1", "-1+1", "@cmd", "\t=1"]
EXPORT = """mutation($p: String!, $school: String, $region: String, $category: Category, $status: ReasonStatus,
                     $f: ExportFormat! = XLSX) {
  exportUnfundedStudents(period: $p, schoolCode: $school, regionCode: $region, category: $category,
                         reasonStatus: $status, format: $f) { url filename } }"""
LIST = """query($p: String!, $school: String, $region: String, $category: Category, $status: ReasonStatus, $after: String) {
  unfundedStudents(period: $p, schoolCode: $school, regionCode: $region, category: $category, reasonStatus: $status,
                   first: 500, after: $after) {
    edges { node { idNumber name schoolCode } } pageInfo { hasNextPage endCursor } } }"""


def many_id(n: int) -> str:
    """Distinct valid ID numbers for n up to 10,000 (the birth month moves every 900)."""
    return student_id(n % 900, birth=f"2015{1 + n // 900:02d}01")


async def unfunded_students(count: int, school: str = PRIMARY, start: int = 1) -> list[str]:
    """`count` unfunded students at `school` (no aid), category 01 central; every 3rd also 05 self."""
    ids = [many_id(n) for n in range(start, start + count)]
    names = [DANGEROUS[i] if i < len(DANGEROUS) else f"学生{i}" for i in range(count)]
    await Enrolment.bulk_create(
        [
            Enrolment(
                id_number=i, name=n, school_code=school, stage="COMPULSORY", status="ENROLLED", province=school[2:4]
            )
            for i, n in zip(ids, names)
        ]
    )
    records = [SpecialGroupRecord(id_number=i, name="", category="01", source="CENTRAL", period=P) for i in ids]
    records += [SpecialGroupRecord(id_number=i, name="", category="05", source="SELF", period=P) for i in ids[::3]]
    await SpecialGroupRecord.bulk_create(records)
    return ids


async def query_rows(gql, token: str, **variables) -> list[tuple[str, str, str]]:
    """Every row of unfundedStudents for the filters, following the cursor."""
    rows, after = [], None
    while True:
        data = (await gql.data(LIST, {"p": P, "after": after, **variables}, token=token))["unfundedStudents"]
        rows += [(e["node"]["idNumber"], e["node"]["name"], e["node"]["schoolCode"]) for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return rows
        after = data["pageInfo"]["endCursor"]


def unneutralised(name: str) -> str:
    return name[1:] if name[:1] == "'" and name[1:2] in ("=", "+", "-", "@", "\t") else name


async def test_unfunded_list_xlsx_and_csv_match_the_query_across_pages(world, gql):
    ids = await unfunded_students(1100)  # three pages of the list service
    await unfunded_students(3, OTHER, start=2000)
    await compare()
    await reason(ids[0], PRIMARY)
    token = await gql.token_for("school_op")
    expected = await query_rows(gql, token)
    assert len(expected) == 1100
    wb = workbook(await download(gql, (await link(gql, token, EXPORT, {"p": P}))["url"]))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == [c.header for c in lists.UNFUNDED_COLUMNS]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}1101"
    rows = sheet_rows(wb)
    assert [(r[0], unneutralised(r[1]), r[2]) for r in rows] == expected
    assert rows[0][0] == ids[0]  # the school sees full ID numbers
    assert ws["A2"].data_type == "s" and ws["A2"].number_format == "@" and ws["C2"].number_format == "@"
    assert rows[0][3] == "芙蓉区实验小学" and rows[0][4] == "义务教育"
    assert rows[0][5] == "脱贫家庭学生、低保学生" and rows[0][6] == "脱贫家庭学生" and rows[0][7] == "低保学生"
    assert rows[0][8:11] == ["已填报", "01", "学生本人（监护人）自愿放弃/未申请"] and rows[0][13] == dt.datetime(
        2024, 1, 5
    )
    assert rows[1][8] == "未填报" and rows[1][9] is None
    # formula neutralising: the names that would start a formula are inert text
    assert [r[1] for r in rows[:5]] == ["'" + n for n in DANGEROUS]
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)

    body = csv_rows(await download(gql, (await link(gql, token, EXPORT, {"p": P, "f": "CSV"}))["url"]))
    assert body[0] == [c.header for c in lists.UNFUNDED_COLUMNS]
    assert [(r[0], unneutralised(r[1]), r[2]) for r in body[1:]] == expected
    assert [r[1] for r in body[1:6]] == ["'" + n for n in DANGEROUS]


async def test_unfunded_list_filters_scope_and_masking(world, gql):
    ids = await unfunded_students(6)
    other = await unfunded_students(2, OTHER, start=50)
    await compare()
    await reason(ids[1], PRIMARY)
    county = await gql.token_for("county_op")
    rows = sheet_rows(workbook(await download(gql, (await link(gql, county, EXPORT, {"p": P}))["url"])))
    assert [r[0] for r in rows] == [mask_id_number(i) for i in ids]  # masked outside the school
    assert [(r[0], unneutralised(r[1]), r[2]) for r in rows] == await query_rows(gql, county)

    for variables in (
        {"category": "SUBSISTENCE_ALLOWANCE"},
        {"status": "PENDING"},
        {"status": "REPORTED"},
        {"school": PRIMARY},
    ):
        exported = await link(gql, county, EXPORT, {"p": P, "f": "CSV", **variables})
        body = csv_rows(await download(gql, exported["url"]))[1:]
        assert [(r[0], unneutralised(r[1]), r[2]) for r in body] == await query_rows(gql, county, **variables)
    pending = csv_rows(
        await download(gql, (await link(gql, county, EXPORT, {"p": P, "f": "CSV", "status": "PENDING"}))["url"])
    )
    assert len(pending) == 1 + 5

    province = await gql.token_for("province_op")
    rows = sheet_rows(workbook(await download(gql, (await link(gql, province, EXPORT, {"p": P}))["url"])))
    assert {r[0] for r in rows} == {mask_id_number(i) for i in ids + other}
    assert await gql.error_code(EXPORT, {"p": P, "school": OTHER}, token=county) == "NOT_FOUND"
    assert await gql.error_code(EXPORT, {"p": P, "region": "440000"}, token=county) == "NOT_FOUND"
    assert (
        await gql.error_code(EXPORT, {"p": P, "school": OTHER}, token=await gql.token_for("school_op")) == "NOT_FOUND"
    )


LEGACY = """mutation($p: String, $school: String, $f: ExportFormat! = XLSX) {
  exportLegacyPovertyReasons(period: $p, schoolCode: $school, format: $f) { url } }"""
LEGACY_QUERY = (
    """query { legacyPovertyReasons(first: 500) { edges { node { idNumber name schoolCode period reasonCode } } } }"""
)


async def test_legacy_history_export_matches_the_query(world, gql):
    at = dt.datetime(2023, 12, 1, 9, 30, tzinfo=SHANGHAI)
    for n, school, name, detail in (
        (1, PRIMARY, "王一", ""),
        (2, PRIMARY, "李二", "=cmd|' /C calc'!A0"),
        (3, OTHER, "赵三", ""),
    ):
        await LegacyPovertyReason.create(
            id_number=student_id(n),
            name=name,
            school_code=school,
            province="43",
            stage="COMPULSORY",
            period=P,
            reason_code="99" if detail else "01",
            detail=detail,
            reported_at=at,
        )
    school = await gql.token_for("school_op")
    rows = sheet_rows(workbook(await download(gql, (await link(gql, school, LEGACY, {"p": P}))["url"])))
    expected = (await gql.data(LEGACY_QUERY, token=school))["legacyPovertyReasons"]["edges"]
    assert [(r[0], r[1], r[2], r[5], r[6]) for r in rows] == [
        (
            e["node"]["idNumber"],
            e["node"]["name"],
            e["node"]["schoolCode"],
            e["node"]["period"],
            e["node"]["reasonCode"],
        )
        for e in expected
    ]
    assert [r[0] for r in rows] == [student_id(1), student_id(2)]
    assert (
        rows[1][7] == "其他（须填写说明）"
        and rows[1][8] == "'=cmd|' /C calc'!A0"
        and rows[1][9] == dt.datetime(2023, 12, 1, 9, 30)
    )
    province = await gql.token_for("province_op")
    body = csv_rows(await download(gql, (await link(gql, province, LEGACY, {"f": "CSV"}))["url"]))
    assert [r[0] for r in body[1:]] == [mask_id_number(student_id(n)) for n in (1, 2, 3)]
    assert await gql.error_code(LEGACY, {"school": OTHER}, token=await gql.token_for("county_op")) == "NOT_FOUND"


ROSTER = """mutation($p: String!, $school: String, $status: AidStatus, $f: ExportFormat! = XLSX) {
  exportPreschoolRoster(period: $p, schoolCode: $school, status: $status, format: $f) { url } }"""


async def test_preschool_roster_export(world, gql):
    children = [student_id(n, birth="20200101") for n in (1, 2, 3)]
    for id_number, name, status in zip(children, ("小一", "+小二", "小三"), ("DRAFT", "SUBMITTED", "APPROVED")):
        await AidRecord.create(
            id_number=id_number,
            name=name,
            school_code=KG,
            project_code="PRE_GOV",
            period=P,
            amount=Decimal("1000.50"),
            status=status,
            province="43",
        )
    kg = await gql.token_for("kg_op")
    ws = workbook(await download(gql, (await link(gql, kg, ROSTER, {"p": P}))["url"])).worksheets[0]
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [c.value for c in ws[1]] == [c.header for c in lists.ROSTER_COLUMNS]
    assert [(r[0], r[1], r[3], r[5], r[6]) for r in rows] == [
        (children[0], "小一", "芙蓉区第一幼儿园", 1000.5, "录入"),
        (children[1], "'+小二", "芙蓉区第一幼儿园", 1000.5, "已上报"),
        (children[2], "小三", "芙蓉区第一幼儿园", 1000.5, "审核通过"),
    ]
    assert ws["F2"].data_type == "n"  # amounts are numbers, ID numbers text
    county = await gql.token_for("county_op")
    body = csv_rows(
        await download(
            gql, (await link(gql, county, ROSTER, {"p": P, "school": KG, "status": "APPROVED", "f": "CSV"}))["url"]
        )
    )
    assert [r[0] for r in body[1:]] == [mask_id_number(children[2])]
    assert await gql.error_code(ROSTER, {"p": P}, token=county) == "VALIDATION"  # an authority names the school
    assert await gql.error_code(ROSTER, {"p": P, "school": KG}, token=await gql.token_for("gd_op")) == "NOT_FOUND"


@pytest.mark.parametrize(
    "filters, argument",
    [
        ({"period": P, "stage": "NURSERY"}, "stage"),
        ({"period": P, "colour": "red"}, "colour"),
        ({"period": P, "reasonStatus": "MAYBE"}, "reasonStatus"),
        ({"period": "x" * 40}, "period"),
    ],
)
async def test_query_string_filters_are_checked(world, gql, filters, argument):
    token = await gql.token_for("county_op")
    r = await download(gql, "http://test/exports/unfunded-students.csv", {"Authorization": f"Bearer {token}"})
    assert r.status_code == 400  # no period
    from urllib.parse import urlencode

    r = await download(
        gql, f"http://test/exports/unfunded-students.csv?{urlencode(filters)}", {"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"] == {"code": "VALIDATION", "argument": argument}


async def test_the_list_is_read_page_by_page_as_the_file_is_sent(world, monkeypatch):
    from zizhu.domain.accounts.scopes import Viewer
    from zizhu.domain.comparison import published_list as unfunded_list
    from zizhu.domain.exports import service
    from zizhu.domain.reference.codes import Role

    await unfunded_students(1100)  # three pages
    await compare()
    pages_read = []
    real = unfunded_list.list_unfunded_students

    async def counting(*args, **kwargs):
        pages_read.append(kwargs.get("after"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(unfunded_list, "list_unfunded_students", counting)
    viewer = Viewer("county_op", Role.AUTHORITY_OPERATOR, "430102")
    download = await service.open_export(lists.UNFUNDED, "csv", viewer, {"period": P})
    assert len(pages_read) == 1  # the first page, read to check the scope before anything is sent
    header = await anext(download.body)
    assert header.startswith("\ufeff".encode()) and len(pages_read) == 1
    await anext(download.body)  # the first page's rows
    assert len(pages_read) == 1
    await anext(download.body)
    assert len(pages_read) == 2
    rest = [chunk async for chunk in download.body]
    assert len(rest) == 1 and len(pages_read) == 3 and pages_read[0] is None
