"""A list a school can act on: grade and class, search, the start of the unfunded spell, who
reported the reason, and the student's aid records with why each did not count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.support.world import student_id
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.imports.service import run_import
from zizhu.domain.models import Account, AidRecord, ComparisonRun, Enrolment, SpecialGroupRecord
from zizhu.domain.reference.codes import AidVerdict

P = "2023-2024-1"
SCHOOL = "2143000002"
LIST = """query($search: String, $first: Int) {
  unfundedStudents(period: "2023-2024-1", search: $search, first: $first) {
    edges { node { idNumber name schoolName grade className unfundedSince
                   reason { code label reportedBy reportedAt } } }
  }
}"""
RECORDS = """query($search: String) {
  unfundedStudents(period: "2023-2024-1", search: $search) {
    edges { node { name stage aidRecords { projectCode period status verdict verdictLabel } } }
  }
}"""


async def compare() -> ComparisonRun:
    run = await comparison.run_comparison_now(P, trigger="CLI", requested_by="test")
    assert run.status == "SUCCEEDED", run.error
    return run


async def member(serial: int, name: str, stage: str = "COMPULSORY", school: str = SCHOOL, **enrolment) -> str:
    sid = student_id(serial)
    await Enrolment.create(
        id_number=sid, name=name, school_code=school, stage=stage, status="ENROLLED", province="43", **enrolment
    )
    await SpecialGroupRecord.create(id_number=sid, name=name, category="01", source="CENTRAL", period=P)
    return sid


async def aid(sid: str, project: str, status: str, period: str = P, school: str = SCHOOL) -> AidRecord:
    return await AidRecord.create(
        id_number=sid,
        school_code=school,
        project_code=project,
        period=period,
        amount=Decimal("500.00"),
        status=status,
        province="43",
    )


def nodes(data: dict) -> list[dict]:
    return [e["node"] for e in data["unfundedStudents"]["edges"]]


async def test_class_comes_from_the_students_import_and_grade_and_school_show(gql, world, tmp_path):
    path = tmp_path / "students.csv"
    path.write_text(
        "身份证件号,姓名,学校标识码,学段,年级,学籍状态,班级\n"
        f"{student_id(1)},张三,{SCHOOL},义务教育,三年级,在读,3班\n"
        f"{student_id(2)},李四,{SCHOOL},义务教育,五年级,在读,\n",
        encoding="utf-8",
    )
    await run_import("students", path, actor="test")
    for serial in (1, 2):
        await SpecialGroupRecord.create(id_number=student_id(serial), category="05", source="SELF", period=P)
    await compare()
    token = await gql.login("school_op")
    found = {n["name"]: n for n in nodes(await gql.data(LIST, token=token))}
    assert (found["张三"]["grade"], found["张三"]["className"]) == ("三年级", "3班")
    assert (found["李四"]["grade"], found["李四"]["className"]) == ("五年级", "")
    assert found["张三"]["schoolName"] == "芙蓉区实验小学"


async def test_a_school_finds_a_student_by_id_number_and_by_name_prefix(gql, world):
    a = await member(1, "欧阳明", grade="三年级", class_name="2班")
    await member(2, "欧阳华")
    await member(3, "王小明")
    await compare()
    token = await gql.login("school_op")
    by_id = nodes(await gql.data(LIST, {"search": a.lower()}, token=token))
    assert [(n["idNumber"], n["grade"], n["className"]) for n in by_id] == [(a, "三年级", "2班")]
    assert sorted(n["name"] for n in nodes(await gql.data(LIST, {"search": "欧阳"}, token=token))) == [
        "欧阳华",
        "欧阳明",
    ]
    assert [n["name"] for n in nodes(await gql.data(LIST, {"search": "王"}, token=token))] == ["王小明"]
    assert nodes(await gql.data(LIST, {"search": "小明"}, token=token)) == []  # a prefix, not a substring
    assert nodes(await gql.data(LIST, {"search": "%"}, token=token)) == []  # wildcards are plain text
    assert await gql.error_code(LIST, {"search": "  "}, token=token) == "VALIDATION"
    assert await gql.error_code(LIST, {"search": a[:17] + "0"}, token=token) == "VALIDATION"  # bad check digit
    # an authority finds them within its scope, with the ID number masked as always
    county = await gql.login("county_op")
    (seen,) = nodes(await gql.data(LIST, {"search": a}, token=county))
    assert seen["idNumber"] != a and seen["idNumber"].endswith(a[-4:]) and "*" in seen["idNumber"]
    other = await gql.login("other_school_op")
    assert nodes(await gql.data(LIST, {"search": a}, token=other)) == []


async def test_unfunded_since_stays_across_nights_and_resets_after_a_funded_night(gql, world):
    a = await member(1, "甲")
    token = await gql.login("school_op")

    async def since() -> dt.datetime | None:
        found = nodes(await gql.data(LIST, token=token))
        if not found:
            return None
        return dt.datetime.fromisoformat(found[0]["unfundedSince"])

    first = await compare()
    assert await since() == first.finished_at
    await Enrolment.filter(id_number=a).update(name="甲改")  # a changed row is a new version, same spell
    await compare()
    assert await since() == first.finished_at
    record = await aid(a, "CMP_LIVING", "APPROVED")
    await compare()  # funded tonight: off the list
    assert await since() is None
    await record.delete()
    back = await compare()
    assert back.finished_at != first.finished_at
    assert await since() == back.finished_at


async def test_the_reason_shows_who_reported_it_and_when(gql, world, clock):
    a = await member(1, "甲")
    await compare()
    await Account.filter(username="school_op").update(display_name="王老师")
    clock.value = dt.datetime(2024, 1, 10, 9, 30, tzinfo=dt.UTC)
    token = await gql.login("school_op")
    await gql.data(
        "mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { reason { code } } }",
        {"i": {"period": P, "stage": "COMPULSORY", "idNumber": a, "reasonCode": "01"}},
        token=token,
    )
    (node,) = nodes(await gql.data(LIST, token=token))
    assert node["reason"]["reportedBy"] == "王老师"
    assert node["reason"]["label"] == "学生本人（监护人）自愿放弃/未申请"
    assert dt.datetime.fromisoformat(node["reason"]["reportedAt"]) == clock.value


async def test_each_aid_record_says_why_it_did_not_count(gql, world):
    statuses = {"DRAFT": 1, "SUBMITTED": 2, "SCHOOL_APPROVED": 3, "RETURNED": 4}
    for status, serial in statuses.items():
        await aid(await member(serial, f"状态{serial}"), "CMP_LIVING", status)
    await aid(await member(5, "营养"), "CMP_NUTRITION", "APPROVED")  # not a 助困 project
    await aid(await member(6, "高中项目"), "GH_GRANT", "APPROVED", school="3443000004")  # another stage
    await aid(await member(7, "上学年"), "CMP_LIVING", "APPROVED", period="2022-2023-2")  # another period
    await aid(await member(8, "很早"), "CMP_LIVING", "APPROVED", period="2019-2020-1")  # not around the period
    university = await member(9, "大学生", stage="HIGHER", school="4143000006")
    await aid(university, "HE_NATIONAL_SCHOLARSHIP", "APPROVED", period="2023-2024", school="4143000006")
    late = await member(10, "刚通过")
    await compare()
    await aid(late, "CMP_LIVING", "APPROVED")  # approved after the list was computed

    async def records(token: str, name: str) -> list[tuple]:
        data = await gql.data(RECORDS, {"search": name}, token=token)
        (node,) = nodes(data)
        return [(r["projectCode"], r["period"], r["status"], r["verdict"]) for r in node["aidRecords"]]

    school = await gql.login("school_op")
    for status, serial in statuses.items():
        assert await records(school, f"状态{serial}") == [("CMP_LIVING", P, status, status)]
    assert await records(school, "营养") == [("CMP_NUTRITION", P, "APPROVED", "NOT_RELIEF")]
    assert await records(school, "高中项目") == [("GH_GRANT", P, "APPROVED", "OTHER_STAGE")]
    assert await records(school, "上学年") == [("CMP_LIVING", "2022-2023-2", "APPROVED", "OTHER_PERIOD")]
    assert await records(school, "很早") == []
    assert await records(school, "刚通过") == [("CMP_LIVING", P, "APPROVED", "APPROVED_SINCE")]
    province = await gql.login("province_op")
    assert await records(province, "大学生") == [("HE_NATIONAL_SCHOLARSHIP", "2023-2024", "APPROVED", "MERIT")]
    data = await gql.data(RECORDS, {"search": "状态4"}, token=school)
    assert nodes(data)[0]["aidRecords"][0]["verdictLabel"] == AidVerdict.RETURNED.label


async def test_aid_records_of_a_page_are_one_statement(gql, world):
    """The explanations of a whole page are loaded together, not once per student."""
    from tests.support.statements import statements

    for serial in range(1, 9):
        await aid(await member(serial, f"学生{serial}"), "CMP_LIVING", "SUBMITTED")
    await compare()
    token = await gql.login("school_op")
    await gql.data(LIST, token=token)  # the first request of a token reads the account once
    with statements() as few:
        small = await gql.data(
            RECORDS.replace("search: $search", "first: 2").replace("($search: String)", ""), token=token
        )
    with statements() as many:
        large = await gql.data(
            RECORDS.replace("search: $search", "first: 8").replace("($search: String)", ""), token=token
        )
    assert len(nodes(small)) == 2 and len(nodes(large)) == 8
    assert all(n["aidRecords"][0]["verdict"] == "SUBMITTED" for n in nodes(large))
    assert len(many) == len(few)


async def test_the_export_carries_the_aid_records_in_short(gql, world):
    from tests.support.exports import csv_rows, download, link

    a = await member(1, "甲", grade="一年级", class_name="1班")
    await aid(a, "CMP_LIVING", "RETURNED")
    await compare()
    token = await gql.login("school_op")
    mutation = 'mutation { exportUnfundedStudents(period: "2023-2024-1", format: CSV) { url } }'
    header, *rows = csv_rows(await download(gql, (await link(gql, token, mutation, {}))["url"]))
    (row,) = rows
    record = dict(zip(header, row))
    assert record["资助记录情况"] == f"家庭经济困难学生生活补助{P}：{AidVerdict.RETURNED.short}"
    assert (record["年级"], record["班级"]) == ("一年级", "1班")
