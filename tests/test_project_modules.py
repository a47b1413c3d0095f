"""Project modules (项目模块): the list and statistics under one 助困 project of a stage, and the
legacy history's project."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from tests.support.world import student_id
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.imports.service import run_import
from zizhu.domain.models import (
    AidRecord,
    ComparisonRun,
    Enrolment,
    LegacyPovertyReason,
    SpecialGroupRecord,
    UnfundedReason,
)
from zizhu.domain.reasons.carryover import carry_over_legacy_reasons

P = "2023-2024-1"
HIGH = "3443000004"  # 长沙市第一中学 (city level, 430100)
LIST = """query($project: String, $first: Int, $after: String) {
  unfundedStudents(period: "2023-2024-1", project: $project, first: $first, after: $after) {
    edges { node { name project stage } } pageInfo { hasNextPage endCursor }
  }
}"""
STATS = """query($project: String, $region: String) {
  unfundedStatistics(period: "2023-2024-1", project: $project, regionCode: $region) {
    total { members funded unfunded reasonReported }
    byCategory { category all { unfunded } }
  }
}"""
TREE = """query($project: String) {
  region(code: "430000") {
    unfundedStatistics(period: "2023-2024-1", project: $project) { total { members unfunded } }
    children { code unfundedStatistics(period: "2023-2024-1", project: $project) { total { unfunded } }
               ownLevelStatistics(period: "2023-2024-1", project: $project) { total { unfunded } } }
  }
  school(code: "3443000004") { unfundedStatistics(period: "2023-2024-1", project: $project) { total { unfunded } } }
}"""


async def compare() -> ComparisonRun:
    run = await comparison.run_comparison_now(P, trigger="CLI", requested_by="test")
    assert run.status == "SUCCEEDED", run.error
    return run


async def high_school_student(serial: int, name: str, *approved: str, category: str = "01") -> str:
    sid = student_id(serial)
    await Enrolment.create(
        id_number=sid, name=name, school_code=HIGH, stage="GENERAL_HIGH", status="ENROLLED", province="43"
    )
    await SpecialGroupRecord.create(id_number=sid, name=name, category=category, source="CENTRAL", period=P)
    for project in approved:
        await AidRecord.create(
            id_number=sid,
            school_code=HIGH,
            project_code=project,
            period=P,
            amount=Decimal("1000.00"),
            status="APPROVED",
            province="43",
        )
    return sid


async def listed(gql, token: str, project: str | None) -> list[str]:
    names, after = [], None
    while True:  # page through with small pages: the keyset holds for a module too
        data = (await gql.data(LIST, {"project": project, "first": 1, "after": after}, token=token))["unfundedStudents"]
        names += [e["node"]["name"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return sorted(names)
        after = data["pageInfo"]["endCursor"]


@pytest.fixture
async def modules(world):
    await high_school_student(1, "只有助学金", "GH_GRANT")
    await high_school_student(2, "只有免学杂费", "GH_FEE_WAIVER", category="07")
    await high_school_student(3, "都没有", category="05")
    await high_school_student(4, "两项都有", "GH_GRANT", "GH_FEE_WAIVER")
    return await compare()


async def test_a_grant_only_student_is_on_the_fee_waiver_module_not_on_the_default_list(gql, modules):
    token = await gql.login("province_op")
    assert await listed(gql, token, None) == ["都没有"]
    assert await listed(gql, token, "GH_FEE_WAIVER") == ["只有助学金", "都没有"]
    assert await listed(gql, token, "GH_GRANT") == ["只有免学杂费", "都没有"]
    rows = nodes = (await gql.data(LIST, {"project": "GH_FEE_WAIVER"}, token=token))["unfundedStudents"]["edges"]
    assert {e["node"]["project"] for e in nodes} == {"GH_FEE_WAIVER"} and rows
    # the run's own totals and its changes stay those of the stage-wide list
    assert (modules.unfunded, modules.funded) == (1, 3)


async def test_statistics_per_project_equal_the_lists_per_project(gql, modules):
    token = await gql.login("province_op")
    for project in (None, "GH_GRANT", "GH_FEE_WAIVER"):
        names = await listed(gql, token, project)
        stats = (await gql.data(STATS, {"project": project}, token=token))["unfundedStatistics"]
        assert stats["total"]["members"] == 4
        assert stats["total"]["unfunded"] == len(names)
        assert stats["total"]["funded"] == 4 - len(names)
        by_category = {c["category"]: c["all"]["unfunded"] for c in stats["byCategory"]}
        assert sum(by_category.values()) == len(names)  # one category each here
        tree = await gql.data(TREE, {"project": project}, token=token)
        assert tree["region"]["unfundedStatistics"]["total"]["unfunded"] == len(names)
        changsha = next(c for c in tree["region"]["children"] if c["code"] == "430100")
        assert changsha["unfundedStatistics"]["total"]["unfunded"] == len(names)
        assert changsha["ownLevelStatistics"]["total"]["unfunded"] == len(names)  # the school is Changsha's own
        assert tree["school"]["unfundedStatistics"]["total"]["unfunded"] == len(names)


async def test_a_reason_for_a_module_student_counts_in_that_module(gql, modules):
    await UnfundedReason.create(
        period=P,
        stage="GENERAL_HIGH",
        id_number=student_id(1),
        school_code=HIGH,
        province="43",
        reason_code="02",
        reported_by="test",
        reported_at=modules.finished_at,
    )
    token = await gql.login("province_op")
    reported = {}
    for project in (None, "GH_GRANT", "GH_FEE_WAIVER"):
        stats = (await gql.data(STATS, {"project": project}, token=token))["unfundedStatistics"]
        reported[project] = stats["total"]["reasonReported"]
    assert reported == {None: 0, "GH_GRANT": 0, "GH_FEE_WAIVER": 1}


async def test_a_project_module_must_be_a_relief_project_of_the_stage(gql, modules):
    token = await gql.login("province_op")
    assert await gql.error_code(LIST, {"project": "HE_NATIONAL_SCHOLARSHIP"}, token=token) == "VALIDATION"
    assert await gql.error_code(LIST, {"project": "NO_SUCH"}, token=token) == "VALIDATION"
    wrong_stage = (
        'query { unfundedStudents(period: "2023-2024-1", project: "GH_GRANT", stage: COMPULSORY) { edges { cursor } } }'
    )
    assert await gql.error_code(wrong_stage, token=token) == "VALIDATION"
    preschool_only = await gql.login("province_preschool_op")
    assert await gql.error_code(STATS, {"project": "GH_GRANT"}, token=preschool_only) == "NOT_FOUND"
    # a stage with one 助困 project: its module is the stage-wide list
    one = await gql.data(STATS, {"project": "CMP_LIVING"}, token=token)
    assert one["unfundedStatistics"]["total"]["members"] == 0


async def test_the_statistics_export_takes_the_project(gql, modules):
    from tests.support.exports import download, link, workbook

    token = await gql.login("province_op")
    mutation = """mutation($p: String) { exportUnfundedStatistics(period: "2023-2024-1", project: $p) { url } }"""
    wb = workbook(await download(gql, (await link(gql, token, mutation, {"p": "GH_FEE_WAIVER"}))["url"]))
    text = " ".join(str(c) for row in wb.active.iter_rows(values_only=True) for c in row if c is not None)
    assert "GH_FEE_WAIVER" in text


LEGACY = "身份证件号,姓名,学校标识码,学段,资助周期,未资助原因,原因说明,填报时间{extra}\n"


async def test_a_legacy_student_under_two_projects_keeps_both_rows_and_carry_over_takes_the_later(gql, world, tmp_path):
    sid = student_id(1)
    path = tmp_path / "legacy.csv"
    path.write_text(
        LEGACY.format(extra=",资助项目")
        + f"{sid},甲,{HIGH},普通高中,{P},01,,2024-01-12 10:00:00,GH_GRANT\n"
        + f"{sid},甲,{HIGH},普通高中,{P},03,,2024-01-10 10:00:00,建档立卡等家庭经济困难学生免学杂费\n",
        encoding="utf-8",
    )
    await run_import("legacy-reasons", path, actor="test")
    rows = await LegacyPovertyReason.filter(id_number=sid).order_by("project_code")
    assert [(r.project_code, r.reason_code) for r in rows] == [("GH_FEE_WAIVER", "03"), ("GH_GRANT", "01")]
    await run_import("legacy-reasons", path, actor="test")  # re-importing changes nothing
    assert await LegacyPovertyReason.filter(id_number=sid).count() == 2

    token = await gql.login("admin")
    query = """query($p: String) { legacyPovertyReasons(project: $p) { edges { node { reasonCode projectCode } } } }"""
    only = (await gql.data(query, {"p": "GH_GRANT"}, token=token))["legacyPovertyReasons"]["edges"]
    assert [(e["node"]["reasonCode"], e["node"]["projectCode"]) for e in only] == [("01", "GH_GRANT")]
    both = (await gql.data(query, {"p": None}, token=token))["legacyPovertyReasons"]["edges"]
    assert len(both) == 2

    assert await carry_over_legacy_reasons("test") == 1
    carried = await UnfundedReason.get(period=P, stage="GENERAL_HIGH", id_number=sid)
    assert (carried.reason_code, carried.inherited) == ("01", True)  # the later 填报时间 of the two projects


async def test_a_legacy_file_without_the_project_column_still_imports(world, tmp_path):
    sid = student_id(2)
    path = tmp_path / "legacy.csv"
    path.write_text(LEGACY.format(extra="") + f"{sid},乙,{HIGH},普通高中,{P},02,,,\n", encoding="utf-8")
    await run_import("legacy-reasons", path, actor="test")
    (row,) = await LegacyPovertyReason.filter(id_number=sid)
    assert row.project_code == ""


async def test_a_legacy_project_of_another_stage_is_rejected_with_its_row(world, tmp_path):
    from zizhu.domain.imports.reader import ImportRejected

    path = tmp_path / "legacy.csv"
    path.write_text(
        LEGACY.format(extra=",资助项目") + f"{student_id(3)},丙,{HIGH},普通高中,{P},02,,,VOC_GRANT\n", encoding="utf-8"
    )
    with pytest.raises(ImportRejected) as rejected:
        await run_import("legacy-reasons", path, actor="test")
    (error,) = rejected.value.errors
    assert (error.row, error.column) == (2, "资助项目")


async def _reason(serial: int, code: str) -> None:
    await UnfundedReason.create(
        period=P,
        stage="GENERAL_HIGH",
        id_number=student_id(serial),
        school_code=HIGH,
        province="43",
        reason_code=code,
        reported_by="test",
        reported_at=datetime.datetime(2023, 10, 1, tzinfo=datetime.UTC),
    )


BY_REASON = """query($project: String) {
  unfundedStatistics(period: "2023-2024-1", project: $project) { total { reasonReported } byReason { code count } }
  school(code: "3443000004") {
    unfundedStatistics(period: "2023-2024-1", project: $project) { total { reasonReported } byReason { code count } }
  }
}"""


async def test_reason_counters_follow_the_stage_wide_list_only_across_runs(gql, world):
    """The counters hold the stage-wide list's reasons: a run whose diff adds or closes module rows
    moves them only for its stage-wide rows; a module's reasons (and byReason) come from its rows."""
    from zizhu.domain.comparison import reason_counts

    first = await ComparisonRun.all().count()
    await high_school_student(1, "只有助学金", "GH_GRANT")  # on the 免学杂费 module only
    await high_school_student(2, "只有免学杂费", "GH_FEE_WAIVER", category="07")  # on the 助学金 module only
    await high_school_student(3, "都没有", category="05")  # on every list
    for serial, code in ((1, "02"), (2, "05"), (3, "03")):
        await _reason(serial, code)
    await compare()
    # the next run adds a student with a reason to every list and closes student 2's module row
    await high_school_student(5, "新来的", category="05")
    await _reason(5, "04")
    await AidRecord.create(
        id_number=student_id(2),
        school_code=HIGH,
        project_code="GH_GRANT",
        period=P,
        amount=Decimal("1000.00"),
        status="APPROVED",
        province="43",
    )
    await compare()
    assert await ComparisonRun.all().count() == first + 2
    assert await reason_counts.recount() == []

    token = await gql.login("province_op")
    expected = {None: {"03": 1, "04": 1}, "GH_FEE_WAIVER": {"02": 1, "03": 1, "04": 1}, "GH_GRANT": {"03": 1, "04": 1}}
    for project, codes in expected.items():
        data = await gql.data(BY_REASON, {"project": project}, token=token)
        for stats in (data["unfundedStatistics"], data["school"]["unfundedStatistics"]):
            assert stats["total"]["reasonReported"] == sum(codes.values()), project
            assert {r["code"]: r["count"] for r in stats["byReason"] if r["count"]} == codes, project
