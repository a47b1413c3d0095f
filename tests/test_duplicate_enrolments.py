"""A special-group student with two 在读 enrolments of one stage counts once, at one school."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.world import PASSWORD, _password_hash, student_id
from zizhu.domain.comparison.engine import run_comparison_now
from zizhu.domain.imports import run_import
from zizhu.domain.models import Account, Enrolment, RunChange, SpecialGroupRecord, UnfundedReason

P = "2023-2024-1"
FURONG = "2143000002"  # 芙蓉区 430102, 长沙市
HETANG = "2143000008"  # 荷塘区 430202, 株洲市
CHILD = student_id(7)
OTHER = student_id(8)  # enrolled once: never a duplicate
COUNTS = "members unfunded reasonReported reasonPending"
STUDENTS_HEADER = "身份证件号,姓名,学校标识码,学段,年级,学籍状态\n"


async def enrol(tmp_path, school: str, sid: str = CHILD, name: str = "小明") -> None:
    """One enrolment through the importer (as a school's 学籍 file arrives)."""
    path = tmp_path / f"students-{school}-{sid}.csv"
    path.write_text(STUDENTS_HEADER + f"{sid},{name},{school},义务教育,三年级,在读\n", encoding="utf-8")
    await run_import("students", path, actor="admin")
    await asyncio.sleep(0.01)  # the next import is later on the clock (timestamps are stored to the microsecond)


async def member(sid: str = CHILD) -> None:
    await SpecialGroupRecord.create(id_number=sid, category="01", source="CENTRAL", period=P)


async def totals(gql, token: str, region: str | None = None) -> dict:
    arg = f', regionCode: "{region}"' if region else ""
    data = await gql.data(f'{{ unfundedStatistics(period: "{P}"{arg}) {{ total {{ {COUNTS} }} }} }}', token=token)
    return data["unfundedStatistics"]["total"]


async def listed_at(gql, token: str) -> list[str]:
    data = await gql.data(
        f'{{ unfundedStudents(period: "{P}", first: 50) {{ edges {{ node {{ schoolCode name }} }} }} }}', token=token
    )
    return [e["node"]["schoolCode"] for e in data["unfundedStudents"]["edges"] if e["node"]["name"] == "小明"]


DUPLICATES = f"""{{ duplicateEnrolments(period: "{P}") {{ totalCount
      edges {{ node {{ idNumber name stage chosenSchoolCode schools {{ schoolCode regionCode chosen }} }} }} }} }}"""


@pytest.fixture
async def hetang_token(world, gql) -> str:
    await Account.create(
        username="hetang_op", password_hash=_password_hash(), role="AUTHORITY_OPERATOR", scope_code="430202", stages=""
    )
    return await gql.login("hetang_op", PASSWORD)


async def test_a_child_enrolled_twice_in_one_stage_counts_once_everywhere(world, gql, tmp_path, hetang_token):
    await member()
    await member(OTHER)
    await enrol(tmp_path, FURONG)
    await enrol(tmp_path, FURONG, OTHER, "小红")
    await enrol(tmp_path, HETANG)  # recorded at the new school before the old one marks 转出
    run = await run_comparison_now(P)
    assert run.duplicate_enrolments == 1 and run.members == 2 and run.matched == 2

    admin = await gql.login("admin")
    province, nation = await totals(gql, admin, "430000"), await totals(gql, admin)
    assert nation["members"] == 2 and nation["unfunded"] == 2
    assert province == nation
    furong = await totals(gql, await gql.login("county_op"))
    hetang = await totals(gql, hetang_token)
    assert furong["members"] + hetang["members"] == 2  # 小红 at 芙蓉区, 小明 at one of the two
    assert (furong["members"], hetang["members"]) == (1, 1)  # placed at the later import: 荷塘区

    # exactly one school lists the child and is asked for a reason
    assert await listed_at(gql, await gql.login("school_op")) == []
    assert await listed_at(gql, await gql.login("other_school_op")) == [HETANG]

    # both counties see the conflict, with both schools; nobody outside them does
    for token in (await gql.login("county_op"), hetang_token, await gql.login("province_op"), admin):
        data = (await gql.data(DUPLICATES, token=token))["duplicateEnrolments"]
        assert data["totalCount"] == 1, token
        (node,) = [e["node"] for e in data["edges"]]
        assert node["name"] == "小明" and node["stage"] == "COMPULSORY" and node["chosenSchoolCode"] == HETANG
        assert node["idNumber"] != CHILD and node["idNumber"].endswith(CHILD[-4:])  # masked
        assert {(s["schoolCode"], s["regionCode"], s["chosen"]) for s in node["schools"]} == {
            (FURONG, "430102", False),
            (HETANG, "430202", True),
        }
    # 长沙市 holds 芙蓉区; 天心区 (a sibling county) and 广东省 hold neither school
    data = (await gql.data(DUPLICATES, token=await gql.login("city_op")))["duplicateEnrolments"]
    assert data["totalCount"] == 1
    await Account.create(
        username="tianxin_op", password_hash=_password_hash(), role="AUTHORITY_OPERATOR", scope_code="430103", stages=""
    )
    for outsider in ("tianxin_op", "gd_op"):
        data = (await gql.data(DUPLICATES, token=await gql.login(outsider)))["duplicateEnrolments"]
        assert data == {"totalCount": 0, "edges": []}, outsider
    assert await gql.error_code(DUPLICATES, token=await gql.login("school_op")) == "FORBIDDEN"


async def test_the_choice_follows_the_later_import_and_the_reason_moves_with_the_child(world, gql, tmp_path):
    await member()
    await enrol(tmp_path, FURONG)
    await run_comparison_now(P)  # one enrolment: listed at 芙蓉区
    school_op = await gql.login("school_op")
    assert await listed_at(gql, school_op) == [FURONG]
    await gql.data(
        """mutation($id: String!) { reportUnfundedReason(input: {period: "2023-2024-1", stage: COMPULSORY,
             idNumber: $id, reasonCode: "01"}) { name } }""",
        {"id": CHILD},
        token=school_op,
    )

    await enrol(tmp_path, HETANG)  # a later import at 荷塘区: the child moves there
    run = await run_comparison_now(P)
    other_op = await gql.login("other_school_op")
    assert await listed_at(gql, school_op) == [] and await listed_at(gql, other_op) == [HETANG]
    reason = await UnfundedReason.get(period=P, stage="COMPULSORY", id_number=CHILD)
    assert (reason.reason_code, reason.school_code) == ("01", HETANG)
    data = await gql.data(
        f'{{ unfundedStudents(period: "{P}") {{ edges {{ node {{ schoolCode reason {{ code }} }} }} }} }}',
        token=other_op,
    )
    assert [e["node"] for e in data["unfundedStudents"]["edges"]] == [{"schoolCode": HETANG, "reason": {"code": "01"}}]
    hetang_totals = await totals(gql, await gql.login("admin"), "430202")
    assert hetang_totals["reasonReported"] == 1 and hetang_totals["reasonPending"] == 0
    # the changes list records the move (not a newly unfunded child)
    changes = {(c.school_code, c.change) for c in await RunChange.filter(run_id=run.id)}
    assert changes == {(HETANG, "MOVED")}

    # stable from night to night while the enrolments do not change
    again = await run_comparison_now(P)
    assert again.duplicate_enrolments == 1
    assert await RunChange.filter(run_id=again.id).count() == 0
    assert await listed_at(gql, other_op) == [HETANG]

    # re-importing the 芙蓉区 file unchanged moves nothing; changing it (a new grade) makes it the latest
    await enrol(tmp_path, FURONG)
    await run_comparison_now(P)
    assert await listed_at(gql, other_op) == [HETANG]
    path = tmp_path / "furong-grade.csv"
    path.write_text(STUDENTS_HEADER + f"{CHILD},小明,{FURONG},义务教育,四年级,在读\n", encoding="utf-8")
    await run_import("students", path, actor="admin")
    await run_comparison_now(P)
    assert await listed_at(gql, school_op) == [FURONG]
    assert (await UnfundedReason.get(period=P, stage="COMPULSORY", id_number=CHILD)).school_code == FURONG


async def test_ties_go_to_the_lowest_school_code_and_other_stages_are_not_duplicates(world, gql):
    await member()
    for school, stage in ((HETANG, "COMPULSORY"), (FURONG, "COMPULSORY"), ("3443000004", "GENERAL_HIGH")):
        await Enrolment.create(
            id_number=CHILD, name="小明", school_code=school, stage=stage, status="ENROLLED", province="43"
        )
    await Enrolment.filter(id_number=CHILD).update(updated_at=None)  # rows from before the time was recorded
    run = await run_comparison_now(P)
    assert run.duplicate_enrolments == 1  # the GENERAL_HIGH enrolment is another stage: counted there too
    admin = await gql.login("admin")
    data = await gql.data(
        f'{{ unfundedStudents(period: "{P}") {{ edges {{ node {{ schoolCode stage }} }} }} }}', token=admin
    )
    assert sorted((e["node"]["schoolCode"], e["node"]["stage"]) for e in data["unfundedStudents"]["edges"]) == [
        (FURONG, "COMPULSORY"),
        ("3443000004", "GENERAL_HIGH"),
    ]


async def test_duplicate_enrolments_export_lists_every_school(world, gql, tmp_path):
    await member()
    await enrol(tmp_path, FURONG)
    await enrol(tmp_path, HETANG)
    await run_comparison_now(P)
    token = await gql.login("province_op")
    link = (
        await gql.data(f'mutation {{ exportDuplicateEnrolments(period: "{P}", format: CSV) {{ url }} }}', token=token)
    )["exportDuplicateEnrolments"]["url"]
    body = (await gql.http.get(link.replace("http://test", ""))).content.decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].split(",")[:4] == ["身份证件号", "姓名", "学段", "学校标识码"]
    rows = [line.split(",") for line in lines[1:]]
    assert sorted((r[3], r[-1]) for r in rows) == [(FURONG, "否"), (HETANG, "是")]
    assert all(r[0] != CHILD for r in rows)  # masked
