"""`zizhu demo` (演示数据): realistic, loaded through the imports, one account per role, idempotent."""

from __future__ import annotations

from zizhu.domain import db
from zizhu.domain.demo import DEMO_ACCOUNTS, load_demo
from zizhu.domain.models import (
    AidRecord,
    AuditEntry,
    Enrolment,
    LegacyPovertyReason,
    School,
    SpecialGroupRecord,
)

ME = "{ me { username role scopeCode stages } }"


async def _one(sql: str) -> int:
    return (await db.fetch(sql))[0]["n"]


async def test_demo_loads_and_every_account_logs_in(gql):
    summary = await load_demo()
    assert {k: summary[k] for k in ("行政区划", "学校", "学籍", "账号")} == {
        "行政区划": 11,
        "学校": 15,
        "学籍": 300,
        "账号": 10,
    }
    assert summary["资助记录"] > 150 and summary["特殊群体名单"] > 100 and summary["历史未资助原因"] > 0
    roles = set()
    for username, password, role, scope, stages in DEMO_ACCOUNTS:
        token = await gql.login(username, password)
        me = (await gql.data(ME, token=token))["me"]
        assert (me["username"], me["role"], me["scopeCode"], me["stages"]) == (username, role, scope, stages)
        roles.add((role, scope))
    assert {r for r, _ in roles} == {"SCHOOL_OPERATOR", "SCHOOL_REVIEWER", "AUTHORITY_OPERATOR", "ADMIN"}
    # School operator and reviewer of a kindergarten and of a primary school; county, city, province.
    for pair in [
        ("SCHOOL_OPERATOR", "1143000101"),
        ("SCHOOL_REVIEWER", "1143000101"),
        ("SCHOOL_OPERATOR", "2143000201"),
        ("SCHOOL_REVIEWER", "2143000201"),
        ("AUTHORITY_OPERATOR", "430102"),
        ("AUTHORITY_OPERATOR", "430100"),
        ("AUTHORITY_OPERATOR", "430000"),
        ("ADMIN", "000000"),
    ]:
        assert pair in roles


async def test_demo_covers_every_category_source_status_and_stage(orm):
    await load_demo()
    pairs = await SpecialGroupRecord.all().distinct().values_list("category", "source")
    assert len(set(pairs)) == 26  # 13 categories × 2 sources
    assert set(await SpecialGroupRecord.all().distinct().values_list("period", flat=True)) == {
        "2023-2024-1",
        "2023-2024-2",
    }
    assert set(await AidRecord.all().distinct().values_list("status", flat=True)) == {
        "DRAFT",
        "SUBMITTED",
        "SCHOOL_APPROVED",
        "APPROVED",
        "RETURNED",
    }
    projects = set(await AidRecord.all().distinct().values_list("project_code", "period"))
    assert ("HE_NATIONAL_SCHOLARSHIP", "2023-2024") in projects and ("GR_NATIONAL_SCHOLARSHIP", "2023-2024") in projects
    assert ("HE_GRANT", "2023-2024") in projects and ("PRE_GOV", "2023-2024-1") in projects
    # roster entries made from imported aid records carry the child's name from the enrolment
    assert await AidRecord.filter(project_code="PRE_GOV").count() > 0
    assert not await AidRecord.filter(project_code="PRE_GOV", name="").exists()
    assert set(await Enrolment.all().distinct().values_list("stage", flat=True)) == {
        "PRESCHOOL",
        "COMPULSORY",
        "GENERAL_HIGH",
        "VOCATIONAL",
        "HIGHER",
        "GRADUATE",
    }
    assert set(await Enrolment.all().distinct().values_list("status", flat=True)) >= {
        "ENROLLED",
        "GRADUATED",
        "TRANSFERRED",
    }
    # Schools directly under a city, the province and the nation; one school serving two stages.
    regions = set(await School.all().values_list("region_code", flat=True))
    assert {"000000", "430000", "430100", "430102"} <= regions
    two_stages = await _one(
        "SELECT count(*) AS n FROM (SELECT school_code FROM enrolment GROUP BY school_code "
        "HAVING count(DISTINCT stage) = 2) t"
    )
    assert two_stages >= 2
    # Members in several categories and in both sources; members enrolled nowhere.
    assert (
        await _one(
            "SELECT count(*) AS n FROM (SELECT id_number FROM special_group_record GROUP BY period, id_number "
            "HAVING count(DISTINCT category) > 1) t"
        )
        > 0
    )
    assert (
        await _one(
            "SELECT count(*) AS n FROM (SELECT id_number FROM special_group_record GROUP BY period, id_number, "
            "category HAVING count(DISTINCT source) = 2) t"
        )
        > 0
    )
    assert (
        await _one(
            "SELECT count(DISTINCT id_number) AS n FROM special_group_record s WHERE NOT EXISTS "
            "(SELECT 1 FROM enrolment e WHERE e.id_number = s.id_number)"
        )
        >= 10
    )
    legacy = await LegacyPovertyReason.all().values_list("period", "reason_code", "detail")
    assert legacy and {p for p, _, _ in legacy} == {"2023-2024-1"}
    assert all(detail for _, code, detail in legacy if code == "99")


async def test_loading_the_demo_twice_changes_nothing(orm):
    first = await load_demo()
    counts = [await m.all().count() for m in (School, Enrolment, AidRecord, SpecialGroupRecord, LegacyPovertyReason)]
    second = await load_demo(force=True)  # the database has data now: only when forced
    assert second == first
    assert [
        await m.all().count() for m in (School, Enrolment, AidRecord, SpecialGroupRecord, LegacyPovertyReason)
    ] == counts
    last = await AuditEntry.filter(action="import.aid").order_by("-id").first()
    assert (last.after["inserted"], last.after["updated"]) == (0, 0)


async def test_scale_generates_about_that_many_students_and_more_schools(orm):
    summary = await load_demo(scale=20_000)
    assert summary["学籍"] == 20_000
    assert summary["学校"] == 20  # 15 named schools + about one more per 1,000 students beyond them
    members = await _one("SELECT count(DISTINCT id_number) AS n FROM special_group_record")
    assert 6_000 < members < 8_500  # about a third of the students plus some enrolled nowhere
