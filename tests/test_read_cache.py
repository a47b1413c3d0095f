"""Served statistics stay exact through the read caches: after every kind of write that changes
reason counts or the published list, the (cached) dashboard answer equals a recount from scratch
over the published list, its per-school rows and the reasons table."""

from __future__ import annotations

import datetime as dt

from tests.support.statements import statements
from tests.test_comparison import P, aid, compare, enrol, member, sid
from tests.test_statistics_api import COUNTS, build_data, triple
from zizhu.domain import db
from zizhu.domain.comparison import engine, reason_counts
from zizhu.domain.comparison.steps import list_rows_of
from zizhu.domain.imports import run_import
from zizhu.domain.models import ComparisonRun, LegacyPovertyReason
from zizhu.domain.reasons.carryover import carry_over_legacy_reasons
from zizhu.domain.settings import SHANGHAI

DASHBOARD = f"""query($period: String!) {{ region {{ code
  unfundedStatistics(period: $period) {{ total {{ {COUNTS} }} byCategory {{ category all {{ {COUNTS} }} }} }}
  children {{ code unfundedStatistics(period: $period) {{ total {{ {COUNTS} }} }}
              children {{ code unfundedStatistics(period: $period) {{ total {{ {COUNTS} }} }} }} }} }} }}"""
REPORT = "mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { idNumber reason { code } } }"
REPORTS = "mutation($i: [ReasonInput!]!) { reportUnfundedReasons(inputs: $i) { idNumber reason { code } } }"
PRIMARY = "2143000002"


async def recount(prefix: str) -> tuple[int, int, int, int, int]:
    """From scratch: members and funded from the newest published run's per-school rows (a
    province's run, or the national one), unfunded and reported from its list rows and the reasons
    table."""
    run = await ComparisonRun.filter(period=P, published=True).order_by("-id").first()
    like = {"prefix": prefix + "%"}
    (school_rows,) = await db.fetch(
        "SELECT COALESCE(SUM(members_00_all), 0) AS m, COALESCE(SUM(funded_00_all), 0) AS f FROM run_statistic"
        f" WHERE run_id = {run.id} AND project = '' AND region_code LIKE :prefix",
        like,
    )
    (listed,) = await db.fetch(
        "SELECT COUNT(*) AS unfunded, COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM unfunded_reason r"
        " WHERE r.period = t.period AND r.stage = t.stage AND r.id_number = t.id_number) THEN 1 ELSE 0 END), 0)"
        f" AS reported FROM unfunded_result t WHERE {list_rows_of('t', run.id, P, run.province)}"
        " AND t.region_code LIKE :prefix",
        like,
    )
    members, funded, unfunded, reported = (
        int(v) for v in (school_rows["m"], school_rows["f"], listed["unfunded"], listed["reported"])
    )
    assert members - funded == unfunded
    return members, funded, unfunded, reported, unfunded - reported


async def assert_served_equals_recount(gql, token: str) -> dict:
    region = (await gql.data(DASHBOARD, {"period": P}, token=token))["region"]
    assert triple(region["unfundedStatistics"]["total"]) == await recount("43")
    for city in region["children"]:
        assert triple(city["unfundedStatistics"]["total"]) == await recount(city["code"][:4])
        for county in city["children"]:
            assert triple(county["unfundedStatistics"]["total"]) == await recount(county["code"])
    return region


async def setup(gql) -> str:
    await build_data()
    await member(sid(9), "03", "SELF")
    await enrol(sid(9), PRIMARY)
    await compare()
    token = await gql.token_for("province_op")
    before = await assert_served_equals_recount(gql, token)
    assert triple(before["unfundedStatistics"]["total"])[3] == 0
    return token


def reported(region: dict) -> int:
    return region["unfundedStatistics"]["total"]["reasonReported"]


async def test_a_single_report_is_counted_at_once(world, gql):
    token = await setup(gql)
    school = await gql.token_for("school_op")
    await gql.data(
        REPORT, {"i": {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "01"}}, token=school
    )
    assert reported(await assert_served_equals_recount(gql, token)) == 1
    # a change of the reason's code moves no count, and is still served exactly
    await gql.data(
        REPORT, {"i": {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "02"}}, token=school
    )
    assert reported(await assert_served_equals_recount(gql, token)) == 1


async def test_a_batch_of_reports_is_counted_at_once(world, gql):
    token = await setup(gql)
    school = await gql.token_for("school_op")
    inputs = [{"period": P, "stage": "COMPULSORY", "idNumber": s, "reasonCode": "01"} for s in (sid(1), sid(9))]
    await gql.data(REPORTS, {"i": inputs}, token=school)
    assert reported(await assert_served_equals_recount(gql, token)) == 2


async def test_the_carry_over_is_counted_at_once(world, gql):
    token = await setup(gql)
    await LegacyPovertyReason.create(
        id_number=sid(4),
        name="学生",
        school_code="2143000003",
        province="43",
        stage="COMPULSORY",
        period=P,
        reason_code="04",
        detail="",
        reported_at=dt.datetime(2023, 12, 1, tzinfo=SHANGHAI),
    )
    assert await carry_over_legacy_reasons(actor="test") == 1
    assert reported(await assert_served_equals_recount(gql, token)) == 1


async def test_a_new_published_run_that_adds_and_drops_students(world, gql):
    token = await setup(gql)
    school = await gql.token_for("school_op")
    await gql.data(
        REPORT, {"i": {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "01"}}, token=school
    )
    before = await assert_served_equals_recount(gql, token)
    await aid(sid(1))  # s1 becomes funded: leaves the list, its reason stays in history
    await member(sid(10), "08", "CENTRAL")
    await enrol(sid(10), PRIMARY)  # s10 joins the list
    await compare()
    after = await assert_served_equals_recount(gql, token)
    assert reported(after) == 0 and reported(before) == 1
    assert triple(after["unfundedStatistics"]["total"])[:3] == (9, 3, 6)


async def test_a_repeated_dashboard_is_served_from_the_cache(world, gql):
    token = await setup(gql)
    with statements() as sign_in:
        await gql.data("{ me { username } }", token=token)
    with statements() as repeated:
        again = (await gql.data(DASHBOARD, {"period": P}, token=token))["region"]
    assert len(repeated) == len(sign_in) + 1  # the data version check only
    assert triple(again["unfundedStatistics"]["total"]) == await recount("43")
    # another account of another scope gets its own answer, not the province's
    county = await gql.token_for("county_op")
    assert (await gql.data(DASHBOARD, {"period": P}, token=county))["region"]["code"] == "430102"


# --- imports and pruned runs: exact for the province they touch, answers of the others kept -----------
LIST = """query($period: String!) { unfundedStudents(period: $period, regionCode: "430102", first: 50) {
  edges { node { idNumber grade aidRecords { projectCode status } } } } }"""


async def served_from_memory(gql, token: str, before: dict) -> bool:
    """Whether the dashboard is answered as before with no statement beyond the versions' check."""
    with statements() as sign_in:
        await gql.data("{ me { username } }", token=token)
    with statements() as served:
        again = (await gql.data(DASHBOARD, {"period": P}, token=token))["region"]
    return again == before and len(served) == len(sign_in) + 1


def csv_file(tmp_path, name: str, header: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


async def test_imports_are_served_exactly_and_keep_other_provinces_answers(world, gql, tmp_path):
    token = await setup(gql)
    guangdong = await gql.token_for("gd_op")
    gd_before = (await gql.data(DASHBOARD, {"period": P}, token=guangdong))["region"]
    listed = {
        e["node"]["idNumber"][-4:]: e["node"]
        for e in (await gql.data(LIST, {"period": P}, token=token))["unfundedStudents"]["edges"]
    }
    assert listed[sid(1)[-4:]]["aidRecords"] == []
    imports = [
        (
            "students",
            "学生",
            "身份证件号,姓名,学校标识码,学段,年级,学籍状态",
            [
                f"{sid(1)},学生,{PRIMARY},COMPULSORY,三年级,ENROLLED",
                f"{sid(11)},新生,{PRIMARY},COMPULSORY,一年级,ENROLLED",
            ],
        ),
        (
            "special-groups",
            "特殊群体",
            "身份证件号,姓名,特殊群体类型,数据来源,资助周期",
            [f"{sid(11)},新生,04,CENTRAL,{P}"],
        ),
        (
            "aid",
            "资助",
            "身份证件号,学校标识码,资助项目代码,资助周期,金额,审核状态",
            [f"{sid(1)},{PRIMARY},CMP_LIVING,{P},500,APPROVED"],
        ),
    ]
    for kind, _, header, rows in imports:
        result = await run_import(kind, csv_file(tmp_path, f"{kind}.csv", header, rows), actor="test")
        assert result.inserted + result.updated >= 1, kind
        # the province the rows touch is counted exactly; the other province's answer is still the cached one
        await assert_served_equals_recount(gql, token)
        assert await served_from_memory(gql, guangdong, gd_before), kind
    listed = {
        e["node"]["idNumber"][-4:]: e["node"]
        for e in (await gql.data(LIST, {"period": P}, token=token))["unfundedStudents"]["edges"]
    }
    assert listed[sid(1)[-4:]]["grade"] == "三年级"  # the import changed what the list shows: not served stale
    assert listed[sid(1)[-4:]]["aidRecords"] == [{"projectCode": "CMP_LIVING", "status": "APPROVED"}]
    await compare()  # the next run takes the imported rows in: s1 funded, s11 unfunded
    after = await assert_served_equals_recount(gql, token)
    assert triple(after["unfundedStatistics"]["total"])[:3] == (9, 3, 6)


async def test_a_run_that_prunes_old_runs_is_served_exactly(world, gql, monkeypatch):
    monkeypatch.setattr(engine, "HISTORY", 1)  # each run of a province prunes the one before it
    token = await setup(gql)
    school = await gql.token_for("school_op")
    await gql.data(
        REPORT, {"i": {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "01"}}, token=school
    )
    guangdong = await gql.token_for("gd_op")
    gd_before = (await gql.data(DASHBOARD, {"period": P}, token=guangdong))["region"]
    await assert_served_equals_recount(gql, token)
    for n in range(3):
        if n == 1:
            await aid(sid(1))  # s1 funded: leaves the list, its reason stays in history
        run = await engine.create_run(P, "CLI", "test", province="43")
        assert (await engine.execute_run(run.id)).status == "SUCCEEDED"
        assert await ComparisonRun.filter(period=P, province="43").count() == 1  # the older ones pruned
        assert await reason_counts.recount() == []
        after = await assert_served_equals_recount(gql, token)
        assert reported(after) == (1 if n == 0 else 0)
        assert await served_from_memory(gql, guangdong, gd_before), n
