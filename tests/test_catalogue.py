"""The catalogue as data: projects and reason codes maintained by an administrator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.world import student_id
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.models import (
    AidRecord,
    AuditEntry,
    ComparisonRun,
    Enrolment,
    ReasonCode,
    SpecialGroupRecord,
    UnfundedReason,
)
from zizhu.domain.reference.codes import UNFUNDED_REASONS
from zizhu.domain.statistics import figures

P = "2023-2024-1"
SCHOOL = "2143000002"
SET_PROJECT = """mutation($i: ProjectInput!) { setProject(input: $i) { code name stage kind cycle retired } }"""
SET_REASON = """mutation($i: ReasonCodeInput!) { setReasonCode(input: $i) { code label needsDetail retired } }"""
PROJECTS = "{ codeLists { projects { code kind cycle retired } reasons { code label retired } } }"
LIST = """{ unfundedStudents(period: "2023-2024-1") { edges { node { idNumber reason { code label } } } } }"""
REPORT = "mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { reason { code label } } }"
BY_REASON = """{ unfundedStatistics(period: "2023-2024-1") { byReason { code label count } } }"""
LOCAL = {
    "code": "HN_LOCAL_RELIEF",
    "name": "湖南省义务教育家庭经济困难学生补助",
    "stage": "COMPULSORY",
    "kind": "RELIEF",
    "cycle": "SEMESTER",
}


@pytest.fixture(autouse=True)
async def seeded_reason_codes():
    """Reason codes are a code list the test database keeps between tests: put them back."""
    yield
    await ReasonCode.exclude(code__in=list(UNFUNDED_REASONS)).delete()
    await ReasonCode.all().update(retired=False)
    figures.forget_reason_codes()  # written behind the service's back: the process's list goes too


async def compare() -> ComparisonRun:
    run = await comparison.run_comparison_now(P, trigger="CLI", requested_by="test")
    assert run.status == "SUCCEEDED", run.error
    return run


async def unfunded_student(serial: int = 1) -> str:
    sid = student_id(serial)
    await Enrolment.create(
        id_number=sid, name="甲", school_code=SCHOOL, stage="COMPULSORY", status="ENROLLED", province="43"
    )
    await SpecialGroupRecord.create(id_number=sid, category="01", source="CENTRAL", period=P)
    return sid


async def test_a_local_relief_project_added_by_an_admin_funds_its_approved_students_at_the_next_run(gql, world):
    sid = await unfunded_student()
    await compare()
    admin = await gql.login("admin")
    school = await gql.login("school_op")
    assert len((await gql.data(LIST, token=school))["unfundedStudents"]["edges"]) == 1

    created = (await gql.data(SET_PROJECT, {"i": LOCAL}, token=admin))["setProject"]
    assert created == {**{k: v for k, v in LOCAL.items()}, "retired": False}
    shown = (await gql.data(PROJECTS, token=school))["codeLists"]["projects"]
    assert {"code": "HN_LOCAL_RELIEF", "kind": "RELIEF", "cycle": "SEMESTER", "retired": False} in shown
    entry = await AuditEntry.get(action="project.create", entity_key="HN_LOCAL_RELIEF")
    assert (entry.actor, entry.before, entry.after["kind"]) == ("admin", None, "RELIEF")

    await AidRecord.create(
        id_number=sid,
        school_code=SCHOOL,
        project_code="HN_LOCAL_RELIEF",
        period=P,
        amount=Decimal("300.00"),
        status="APPROVED",
        province="43",
    )
    assert len((await gql.data(LIST, token=school))["unfundedStudents"]["edges"]) == 1  # at the next run, not before
    run = await compare()
    assert (run.unfunded, run.funded) == (0, 1)
    assert (await gql.data(LIST, token=school))["unfundedStudents"]["edges"] == []

    # made a merit project: no longer funds at the next run; audited with before and after
    changed = await gql.data(SET_PROJECT, {"i": {"code": "HN_LOCAL_RELIEF", "kind": "MERIT"}}, token=admin)
    assert changed["setProject"]["kind"] == "MERIT"
    entry = await AuditEntry.get(action="project.update", entity_key="HN_LOCAL_RELIEF")
    assert (entry.before["kind"], entry.after["kind"]) == ("RELIEF", "MERIT")
    run = await compare()
    assert run.unfunded == 1


async def test_project_changes_are_checked(gql, world):
    admin = await gql.login("admin")
    assert await gql.error_code(SET_PROJECT, {"i": {"code": "NEW_ONE", "name": "x"}}, token=admin) == "VALIDATION"
    assert await gql.error_code(SET_PROJECT, {"i": {**LOCAL, "code": "bad code"}}, token=admin) == "VALIDATION"
    assert await gql.error_code(SET_PROJECT, {"i": {**LOCAL, "name": "=cmd()"}}, token=admin) == "VALIDATION"
    stage_change = {"code": "CMP_LIVING", "stage": "PRESCHOOL"}
    assert await gql.error_code(SET_PROJECT, {"i": stage_change}, token=admin) == "VALIDATION"
    operator = await gql.login("province_op")
    assert await gql.error_code(SET_PROJECT, {"i": LOCAL}, token=operator) == "FORBIDDEN"
    assert await AuditEntry.filter(entity="aid_project").count() == 0


async def test_a_retired_project_takes_no_new_aid_records(gql, world, tmp_path):
    from zizhu.domain.imports.reader import ImportRejected
    from zizhu.domain.imports.service import run_import

    admin = await gql.login("admin")
    await gql.data(SET_PROJECT, {"i": {"code": "CMP_NUTRITION", "retired": True}}, token=admin)
    path = tmp_path / "aid.csv"
    path.write_text(
        f"身份证件号,学校标识码,资助项目代码,资助周期,金额,审核状态\n{student_id(1)},{SCHOOL},CMP_NUTRITION,{P},10,审核通过\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as rejected:
        await run_import("aid", path, actor="test")
    assert rejected.value.errors[0].column == "资助项目代码"
    restored = await gql.data(SET_PROJECT, {"i": {"code": "CMP_NUTRITION", "retired": False}}, token=admin)
    assert restored["setProject"]["retired"] is False
    await run_import("aid", path, actor="test")
    assert await AidRecord.filter(project_code="CMP_NUTRITION").count() == 1


async def test_a_retired_reason_code_cannot_be_chosen_but_old_reasons_keep_their_label(gql, world, clock):
    first, second = await unfunded_student(1), await unfunded_student(2)
    await compare()
    school = await gql.login("school_op")
    admin = await gql.login("admin")
    label = UNFUNDED_REASONS["10"]
    old = {"period": P, "stage": "COMPULSORY", "idNumber": first, "reasonCode": "10"}
    await gql.data(REPORT, {"i": old}, token=school)

    retired = (await gql.data(SET_REASON, {"i": {"code": "10", "retired": True}}, token=admin))["setReasonCode"]
    assert retired == {"code": "10", "label": label, "needsDetail": False, "retired": True}
    assert {"code": "10", "label": label, "retired": True} in (await gql.data(PROJECTS, token=school))["codeLists"][
        "reasons"
    ]
    new = {"period": P, "stage": "COMPULSORY", "idNumber": second, "reasonCode": "10"}
    assert await gql.error_code(REPORT, {"i": new}, token=school) == "VALIDATION"
    reasons = {
        e["node"]["idNumber"]: e["node"]["reason"]
        for e in (await gql.data(LIST, token=school))["unfundedStudents"]["edges"]
    }
    assert reasons[first] == {"code": "10", "label": label}
    assert reasons[second] is None
    assert (await UnfundedReason.get(id_number=first)).reason_code == "10"

    # never reused: no new meaning, no comeback
    assert await gql.error_code(SET_REASON, {"i": {"code": "10", "label": "另一个意思"}}, token=admin) == "CONFLICT"
    assert await gql.error_code(SET_REASON, {"i": {"code": "10", "retired": False}}, token=admin) == "CONFLICT"
    entry = await AuditEntry.get(action="reason_code.update", entity_key="10")
    assert (entry.before["retired"], entry.after["retired"]) == (False, True)


async def test_an_admin_adds_a_reason_code_that_can_be_chosen_at_once(gql, world):
    sid = await unfunded_student()
    await compare()
    admin = await gql.login("admin")
    school = await gql.login("school_op")
    before = (await gql.data(BY_REASON, token=school))["unfundedStatistics"]["byReason"]  # the code list read
    assert "11" not in {r["code"] for r in before}
    added = {"code": "11", "label": "已纳入省级资助名单，待发放", "needsDetail": True}
    assert (await gql.data(SET_REASON, {"i": added}, token=admin))["setReasonCode"]["retired"] is False
    report = {"period": P, "stage": "COMPULSORY", "idNumber": sid, "reasonCode": "11"}
    assert await gql.error_code(REPORT, {"i": report}, token=school) == "VALIDATION"  # needs a detail
    saved = await gql.data(REPORT, {"i": {**report, "detail": "已报省厅"}}, token=school)
    assert saved["reportUnfundedReason"]["reason"] == {"code": "11", "label": added["label"]}
    # byReason lists the new code at once, with its count
    after = (await gql.data(BY_REASON, token=school))["unfundedStatistics"]["byReason"]
    assert {"code": "11", "label": added["label"], "count": 1} in after and len(after) == len(before) + 1
    assert await gql.error_code(SET_REASON, {"i": {"code": "1", "label": "x"}}, token=admin) == "VALIDATION"
    assert await gql.error_code(SET_REASON, {"i": {"code": "12"}}, token=admin) == "VALIDATION"
    assert await gql.error_code(SET_REASON, {"i": added}, token=school) == "FORBIDDEN"


def test_the_command_line_sets_and_lists_projects_and_reason_codes(tmp_path):
    from tests.test_cli import zizhu

    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'z.sqlite3'}"}
    assert zizhu("migrate", env=env).returncode == 0
    created = zizhu(
        "project",
        "set",
        "GZ_LOCAL",
        "--name",
        "本地助困",
        "--stage",
        "HIGHER",
        "--kind",
        "RELIEF",
        "--cycle",
        "YEAR",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    assert zizhu("project", "set", "GZ_LOCAL", "--retire", env=env).returncode == 0
    listed = zizhu("project", "list", env=env)
    assert "GZ_LOCAL\t本地助困\tHIGHER\tRELIEF\tYEAR\t已停用" in listed.stdout
    assert zizhu("reason-code", "set", "12", "--label", "本地原因", env=env).returncode == 0
    assert "12\t本地原因" in zizhu("reason-code", "list", env=env).stdout
    reused = zizhu("reason-code", "set", "12", "--label", "改名", env=env)
    assert reused.returncode == 2 and "不重复使用" in reused.stderr
