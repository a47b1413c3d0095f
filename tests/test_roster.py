"""Preschool roster (学前教育政府资助名单): windows per mutation, workflow, validation, scope, audit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from strawberry.relay import GlobalID

from tests.support.roster import (
    ADD,
    AUTHORITY_REVIEW,
    DELETE,
    KG,
    PERIOD,
    SCHOOL_REVIEW,
    SUBMIT,
    UPDATE,
    add,
    close_window,
    enrol,
    now,
    open_windows,
)
from tests.support.world import student_id
from zizhu.domain.comparison.engine import run_comparison_now
from zizhu.domain.models import AidRecord, AuditEntry, SpecialGroupRecord

ROSTER = """query($p: String!, $s: String, $st: AidStatus, $f: Int, $a: String) {
  preschoolRoster(period: $p, schoolCode: $s) {
    period schoolCode schoolName totalCount now
    entries(status: $st, first: $f, after: $a) { edges { cursor node { id idNumber name amount status returnComment } } pageInfo { hasNextPage endCursor } }
    entryWindow { start end isOpen provinceCode } schoolReviewWindow { start end isOpen provinceCode } } }"""
OTHER_SCHOOL = "2143000002"  # 芙蓉区实验小学 (school_op, school_rev), same county as KG


async def _statuses() -> dict[str, str]:
    return {r.name: r.status for r in await AidRecord.all()}


async def _snapshot() -> list[tuple]:
    return sorted(await AidRecord.all().values_list("id", "amount", "status", "return_comment"))


# --- windows, per mutation ---------------------------------------------------------------------------
@pytest.mark.parametrize("future", [False, True], ids=["closed-an-hour-ago", "opens-in-an-hour"])
async def test_every_entry_mutation_is_refused_outside_the_entry_window(gql, world, future):
    await open_windows("ENTRY", "SCHOOL_REVIEW", "AUTHORITY_REVIEW")
    op = await gql.login("kg_op")
    draft = await add(gql, op, await enrol(1, "甲"))
    newcomer = await enrol(2, "乙")
    await close_window("ENTRY", future=future)
    before = await _snapshot()
    calls = [
        (ADD, {"p": PERIOD, "i": newcomer, "a": "500", "s": None}),
        (UPDATE, {"id": draft["id"], "a": "900"}),
        (DELETE, {"id": draft["id"]}),
        (SUBMIT, {"ids": [draft["id"]]}),
    ]
    for query, variables in calls:
        body = await gql.post(query, variables, token=op)
        ext = body["errors"][0]["extensions"]
        assert (ext["code"], ext["action"]) == ("WINDOW_CLOSED", "ENTRY"), query
        assert ext["start"] and ext["end"]
    assert await _snapshot() == before
    # Open review windows do not open entry.
    assert await gql.error_code(SUBMIT, {"ids": [draft["id"]]}, token=op) == "WINDOW_CLOSED"


async def test_every_entry_mutation_works_inside_the_entry_window(gql, world):
    await open_windows("ENTRY")
    op = await gql.token_for("kg_op")
    a, b = await enrol(1, "甲"), await enrol(2, "乙")
    first = await add(gql, op, a, "1000")
    assert (first["idNumber"], first["name"], first["amount"], first["status"]) == (a, "甲", "1000.00", "DRAFT")
    second = await add(gql, op, b, "750.5")
    updated = (await gql.data(UPDATE, {"id": first["id"], "a": "1200.50"}, token=op))["updatePreschoolRosterEntry"]
    assert (updated["amount"], updated["status"]) == ("1200.50", "DRAFT")
    assert (await gql.data(DELETE, {"id": second["id"]}, token=op))["deletePreschoolRosterEntry"] == second["id"]
    submitted = (await gql.data(SUBMIT, {"ids": [first["id"]]}, token=op))["submitPreschoolRosterEntries"]
    assert [e["status"] for e in submitted] == ["SUBMITTED"]
    assert await _statuses() == {"甲": "SUBMITTED"}
    assert (await AidRecord.get(name="甲")).amount == Decimal("1200.50")


async def test_school_review_needs_the_school_review_window(gql, world):
    await open_windows("ENTRY", "AUTHORITY_REVIEW")
    op, rev = await gql.login("kg_op"), await gql.login("kg_rev")
    entry = await add(gql, op, await enrol(1, "甲"))
    await gql.data(SUBMIT, {"ids": [entry["id"]]}, token=op)
    approve = {"ids": [entry["id"]], "d": "APPROVE", "c": None}
    body = await gql.post(SCHOOL_REVIEW, approve, token=rev)  # no SCHOOL_REVIEW window at all
    assert body["errors"][0]["extensions"] == {
        "code": "WINDOW_CLOSED",
        "action": "SCHOOL_REVIEW",
        "start": None,
        "end": None,
        "period": PERIOD,
    }
    await close_window("SCHOOL_REVIEW")
    assert await gql.error_code(SCHOOL_REVIEW, approve, token=rev) == "WINDOW_CLOSED"
    await close_window("SCHOOL_REVIEW", future=True)
    assert await gql.error_code(SCHOOL_REVIEW, approve, token=rev) == "WINDOW_CLOSED"
    assert await _statuses() == {"甲": "SUBMITTED"}
    await open_windows("SCHOOL_REVIEW")
    reviewed = (await gql.data(SCHOOL_REVIEW, approve, token=rev))["schoolReviewPreschoolRosterEntries"]
    assert [e["status"] for e in reviewed] == ["SCHOOL_APPROVED"]


# --- workflow ------------------------------------------------------------------------------------------
async def test_full_workflow_and_approval_makes_the_child_funded_in_the_comparison(gql, world):
    await open_windows()
    child = await enrol(1, "甲")
    await SpecialGroupRecord.create(id_number=child, name="甲", category="01", source="CENTRAL", period=PERIOD)
    run = await run_comparison_now(PERIOD)
    assert (run.members, run.matched, run.funded, run.unfunded) == (1, 1, 0, 1)

    op, rev, county = await gql.token_for("kg_op"), await gql.token_for("kg_rev"), await gql.token_for("county_op")
    entry = await add(gql, op, child, "1500")
    await gql.data(SUBMIT, {"ids": [entry["id"]]}, token=op)
    await gql.data(SCHOOL_REVIEW, {"ids": [entry["id"]], "d": "APPROVE", "c": None}, token=rev)
    assert (await run_comparison_now(PERIOD)).funded == 0  # SCHOOL_APPROVED is not 上级审核通过 yet
    done = await gql.data(AUTHORITY_REVIEW, {"ids": [entry["id"]], "d": "APPROVE", "c": "同意"}, token=county)
    assert done["authorityReviewPreschoolRosterEntries"][0]["status"] == "APPROVED"
    record = await AidRecord.get(id_number=child)
    assert (record.project_code, record.period, record.status, record.amount) == (
        "PRE_GOV",
        PERIOD,
        "APPROVED",
        Decimal("1500.00"),
    )
    run = await run_comparison_now(PERIOD)
    assert (run.members, run.matched, run.funded, run.unfunded) == (1, 1, 1, 0)


async def test_refused_transitions_name_the_entry_and_change_nothing(gql, world):
    await open_windows()
    op, rev, county = await gql.token_for("kg_op"), await gql.token_for("kg_rev"), await gql.token_for("county_op")
    d = await add(gql, op, await enrol(1, "草稿"))
    s = await add(gql, op, await enrol(2, "已报"))
    await gql.data(SUBMIT, {"ids": [s["id"]]}, token=op)
    before = await _snapshot()

    async def conflict(query, variables, token):
        body = await gql.post(query, variables, token=token)
        return body["errors"][0]["extensions"]["code"], body["errors"][0]["message"]

    # school reviewer on a DRAFT, authority on a SUBMITTED one
    code, message = await conflict(SCHOOL_REVIEW, {"ids": [d["id"]], "d": "APPROVE", "c": None}, rev)
    assert code == "CONFLICT" and GlobalID.from_id(d["id"]).node_id in message and "草稿" in message
    code, message = await conflict(AUTHORITY_REVIEW, {"ids": [s["id"]], "d": "APPROVE", "c": None}, county)
    assert code == "CONFLICT" and "已报" in message
    # a SUBMITTED entry can no longer be edited, deleted or submitted again
    assert (await conflict(UPDATE, {"id": s["id"], "a": "1"}, op))[0] == "CONFLICT"
    assert (await conflict(DELETE, {"id": s["id"]}, op))[0] == "CONFLICT"
    assert (await conflict(SUBMIT, {"ids": [s["id"]]}, op))[0] == "CONFLICT"
    # batch: one entry in the wrong status and the whole batch is refused
    code, message = await conflict(SUBMIT, {"ids": [d["id"], s["id"]]}, op)
    assert code == "CONFLICT" and "已报" in message
    code, _ = await conflict(SCHOOL_REVIEW, {"ids": [s["id"], d["id"]], "d": "APPROVE", "c": None}, rev)
    assert code == "CONFLICT"
    # RETURN needs a comment
    assert (await conflict(SCHOOL_REVIEW, {"ids": [s["id"]], "d": "RETURN", "c": "  "}, rev))[0] == "VALIDATION"
    assert await _snapshot() == before
    assert await _statuses() == {"草稿": "DRAFT", "已报": "SUBMITTED"}


async def test_a_return_goes_back_to_the_school_which_edits_and_resubmits(gql, world):
    await open_windows()
    op, rev, county = await gql.login("kg_op"), await gql.login("kg_rev"), await gql.login("county_op")
    a = await add(gql, op, await enrol(1, "甲"), "1000")
    b = await add(gql, op, await enrol(2, "乙"), "1000")
    await gql.data(SUBMIT, {"ids": [a["id"], b["id"]]}, token=op)
    await gql.data(SCHOOL_REVIEW, {"ids": [a["id"], b["id"]], "d": "APPROVE", "c": None}, token=rev)
    returned = await gql.data(AUTHORITY_REVIEW, {"ids": [a["id"]], "d": "RETURN", "c": "金额有误"}, token=county)
    assert returned["authorityReviewPreschoolRosterEntries"][0]["returnComment"] == "金额有误"
    listed = (await gql.data(ROSTER, {"p": PERIOD, "st": "RETURNED"}, token=op))["preschoolRoster"]
    assert [(e["node"]["name"], e["node"]["returnComment"]) for e in listed["entries"]["edges"]] == [("甲", "金额有误")]
    fixed = (await gql.data(UPDATE, {"id": a["id"], "a": "800"}, token=op))["updatePreschoolRosterEntry"]
    assert (fixed["status"], fixed["amount"]) == ("RETURNED", "800.00")
    again = (await gql.data(SUBMIT, {"ids": [a["id"]]}, token=op))["submitPreschoolRosterEntries"][0]
    assert (again["status"], again["returnComment"]) == ("SUBMITTED", None)
    # School level may also return: back to the school again.
    await gql.data(SCHOOL_REVIEW, {"ids": [a["id"]], "d": "RETURN", "c": "请核对"}, token=rev)
    assert await _statuses() == {"甲": "RETURNED", "乙": "SCHOOL_APPROVED"}
    await gql.data(DELETE, {"id": a["id"]}, token=op)
    assert await _statuses() == {"乙": "SCHOOL_APPROVED"}


async def test_every_change_is_audited_with_who_before_and_after(gql, world):
    await open_windows()
    op, rev = await gql.token_for("kg_op"), await gql.token_for("kg_rev")
    e = await add(gql, op, await enrol(1, "甲"), "1000")
    await gql.data(UPDATE, {"id": e["id"], "a": "900"}, token=op)
    await gql.data(SUBMIT, {"ids": [e["id"]]}, token=op)
    await gql.data(SCHOOL_REVIEW, {"ids": [e["id"]], "d": "RETURN", "c": "请核对"}, token=rev)
    await gql.data(DELETE, {"id": e["id"]}, token=op)
    rows = await AuditEntry.filter(entity="aid_record", entity_key=GlobalID.from_id(e["id"]).node_id).order_by("id")
    assert [(r.actor, r.action) for r in rows] == [
        ("kg_op", "roster.add"),
        ("kg_op", "roster.update"),
        ("kg_op", "roster.submit"),
        ("kg_rev", "roster.school_review.return"),
        ("kg_op", "roster.delete"),
    ]
    assert rows[0].before is None and rows[0].after["amount"] == "1000.00"
    assert (rows[1].before["amount"], rows[1].after["amount"]) == ("1000.00", "900.00")
    assert (rows[3].before["status"], rows[3].after["status"], rows[3].after["return_comment"]) == (
        "SUBMITTED",
        "RETURNED",
        "请核对",
    )
    assert rows[4].after is None and rows[4].before["status"] == "RETURNED"
    assert all(r.at is not None for r in rows)


# --- validation ----------------------------------------------------------------------------------------
async def test_entry_validation(gql, world):
    await open_windows("ENTRY")
    op = await gql.token_for("kg_op")
    good = await enrol(1, "甲")
    graduated = await enrol(2, "乙", status="GRADUATED")
    primary = await enrol(3, "丙", stage="COMPULSORY")
    elsewhere = await enrol(4, "丁", school=OTHER_SCHOOL)
    not_enrolled = student_id(99, birth="20200101")

    async def code(id_number, amount="1000", name=None):
        q = "mutation($p: String!, $i: String!, $a: Decimal!, $n: String) { addPreschoolRosterEntry(period: $p, idNumber: $i, amount: $a, name: $n) { id } }"
        return await gql.error_code(q, {"p": PERIOD, "i": id_number, "a": amount, "n": name}, token=op)

    for child in (graduated, primary, elsewhere):
        assert await code(child) == "VALIDATION"
    assert await code(good[:17] + ("0" if good[17] != "0" else "1")) == "VALIDATION"  # check digit
    assert await code(not_enrolled) == "VALIDATION"
    for amount in ("0", "-5", "10.005", "NaN", "1e12"):
        assert await code(good, amount) == "VALIDATION", amount
    assert await code(good, name="张冠李戴") == "VALIDATION"
    assert await gql.error_code(ADD, {"p": "2023-2024", "i": good, "a": "1", "s": None}, token=op) == "VALIDATION"
    assert await AidRecord.all().count() == 0
    # lower-case x, spaces and "1000.10" are accepted; the same child twice is a CONFLICT
    entry = await add(gql, op, " " + good.lower() + " ", "1000.10")
    assert (entry["idNumber"], entry["amount"]) == (good, "1000.10")
    assert await code(good) == "CONFLICT"


async def test_one_entry_per_child_and_period_across_schools(gql, world):
    await open_windows("ENTRY")
    child = await enrol(1, "甲")
    await enrol(1, "甲", school=OTHER_SCHOOL)  # also enrolled (preschool class) at the primary school
    await add(gql, await gql.token_for("kg_op"), child)
    code = await gql.error_code(
        ADD, {"p": PERIOD, "i": child, "a": "1", "s": None}, token=await gql.token_for("school_op")
    )
    assert code == "CONFLICT"
    assert await AidRecord.all().count() == 1


async def test_a_school_learns_nothing_about_children_it_does_not_enrol(gql, world):
    """Adding a child of another school's roster answers exactly as for a child on no roster at all."""
    await open_windows("ENTRY")
    listed = await enrol(1, "甲")  # on the kindergarten's roster below, not enrolled at OTHER_SCHOOL
    unlisted = await enrol(2, "乙")  # on no roster
    await add(gql, await gql.token_for("kg_op"), listed)
    op = await gql.token_for("school_op")
    answers = []
    for child in (listed, unlisted):
        body = await gql.post(ADD, {"p": PERIOD, "i": child, "a": "1", "s": None}, token=op)
        (error,) = body["errors"]
        answers.append((error["extensions"], error["message"]))
    assert answers[0] == answers[1]
    assert answers[0][0]["code"] == "VALIDATION" and "不是本校" in answers[0][1]
    # The template import answers the same for both rows.
    from zizhu.domain.accounts.scopes import Viewer
    from zizhu.domain.imports import ImportRejected
    from zizhu.domain.reference.codes import Role
    from zizhu.domain.roster.importer import import_roster

    content = f"身份证件号,姓名,金额\n{listed},甲,1\n{unlisted},乙,1\n".encode()
    with pytest.raises(ImportRejected) as rejected:
        await import_roster(Viewer("school_op", Role.SCHOOL_OPERATOR, OTHER_SCHOOL, ()), PERIOD, content, "r.csv", now)
    assert [(e.row, e.column) for e in rejected.value.errors] == [(2, "身份证件号"), (3, "身份证件号")]
    assert len({e.message for e in rejected.value.errors}) == 1
    assert await AidRecord.all().count() == 1


# --- scope and roles -------------------------------------------------------------------------------------
async def test_roles_and_scope(gql, world):
    await open_windows()
    op = await gql.token_for("kg_op")
    entry = await add(gql, op, await enrol(1, "甲"))
    child = await enrol(2, "乙")
    other = await gql.token_for("other_school_op")
    # another school's operator: the entry and the school do not exist for them
    assert await gql.error_code(UPDATE, {"id": entry["id"], "a": "1"}, token=other) == "NOT_FOUND"
    assert await gql.error_code(DELETE, {"id": entry["id"]}, token=other) == "NOT_FOUND"
    assert await gql.error_code(SUBMIT, {"ids": [entry["id"]]}, token=other) == "NOT_FOUND"
    assert await gql.error_code(ADD, {"p": PERIOD, "i": child, "a": "1", "s": KG}, token=other) == "NOT_FOUND"
    assert await gql.error_code(ROSTER, {"p": PERIOD, "s": KG}, token=other) == "NOT_FOUND"
    assert await gql.error_code(DELETE, {"id": "999999"}, token=op) == "NOT_FOUND"
    # a reviewer cannot enter, an operator cannot review, an admin does neither
    rev = await gql.token_for("kg_rev")
    assert await gql.error_code(ADD, {"p": PERIOD, "i": child, "a": "1", "s": None}, token=rev) == "FORBIDDEN"
    assert await gql.error_code(UPDATE, {"id": entry["id"], "a": "1"}, token=rev) == "FORBIDDEN"
    assert await gql.error_code(SUBMIT, {"ids": [entry["id"]]}, token=rev) == "FORBIDDEN"
    approve = {"ids": [entry["id"]], "d": "APPROVE", "c": None}
    for query in (SCHOOL_REVIEW, AUTHORITY_REVIEW):
        assert await gql.error_code(query, approve, token=op) == "FORBIDDEN"
        assert await gql.error_code(query, approve, token=await gql.login("admin")) == "FORBIDDEN"
    await gql.data(SUBMIT, {"ids": [entry["id"]]}, token=op)
    # another school's reviewer, an authority outside the subtree
    school_rev = await gql.login("school_rev")
    assert await gql.error_code(SCHOOL_REVIEW, approve, token=school_rev) == "NOT_FOUND"
    # each level has its own mutation: the authority cannot give the school review, nor the reviewer the final one
    assert await gql.error_code(SCHOOL_REVIEW, approve, token=await gql.login("county_op")) == "FORBIDDEN"
    await gql.data(SCHOOL_REVIEW, approve, token=rev)
    assert await gql.error_code(AUTHORITY_REVIEW, approve, token=rev) == "FORBIDDEN"
    gd = await gql.login("gd_op")
    assert await gql.error_code(AUTHORITY_REVIEW, approve, token=gd) == "NOT_FOUND"
    assert await gql.error_code(ROSTER, {"p": PERIOD, "s": KG}, token=gd) == "NOT_FOUND"
    assert await _statuses() == {"甲": "SCHOOL_APPROVED"}


async def test_roster_query_windows_masking_and_pages(gql, world, clock):
    await open_windows("ENTRY")
    op = await gql.token_for("kg_op")
    ids = [await enrol(i, f"童{i}") for i in range(1, 6)]
    for i in ids:
        await add(gql, op, i, "600")
    first = (await gql.data(ROSTER, {"p": PERIOD, "f": 2}, token=op))["preschoolRoster"]
    assert (first["schoolCode"], first["schoolName"], first["totalCount"]) == (KG, "芙蓉区第一幼儿园", 5)
    assert [e["node"]["idNumber"] for e in first["entries"]["edges"]] == ids[:2]
    assert first["entryWindow"]["isOpen"] is True and first["entryWindow"]["provinceCode"] is None
    assert first["schoolReviewWindow"] == {"start": None, "end": None, "isOpen": False, "provinceCode": None}
    rest = await gql.data(ROSTER, {"p": PERIOD, "f": 10, "a": first["entries"]["pageInfo"]["endCursor"]}, token=op)
    assert [e["node"]["name"] for e in rest["preschoolRoster"]["entries"]["edges"]] == ["童3", "童4", "童5"]
    assert rest["preschoolRoster"]["entries"]["pageInfo"]["hasNextPage"] is False
    # an authority must name a school of its subtree and sees masked ID numbers
    county = await gql.token_for("county_op")
    assert await gql.error_code(ROSTER, {"p": PERIOD}, token=county) == "VALIDATION"
    seen = (await gql.data(ROSTER, {"p": PERIOD, "s": KG, "f": 1}, token=county))["preschoolRoster"]
    assert seen["entries"]["edges"][0]["node"]["idNumber"] == ids[0][:6] + "********" + ids[0][14:]
    # the server's clock is reported so a page can count down
    import datetime as dt

    from zizhu.domain.settings import SHANGHAI

    clock.value = dt.datetime(2024, 1, 25, 23, 59, 59, tzinfo=SHANGHAI)
    shown = (await gql.data(ROSTER, {"p": PERIOD, "f": 1}, token=op))["preschoolRoster"]
    assert shown["now"] == "2024-01-25T23:59:59+08:00" and shown["entryWindow"]["isOpen"] is False


async def test_an_authority_without_the_preschool_stage_sees_no_roster(gql, world):
    from tests.support.world import _password_hash
    from zizhu.domain.models import Account

    await Account.create(
        username="hn_high_op",
        password_hash=_password_hash(),
        role="AUTHORITY_OPERATOR",
        scope_code="430000",
        stages="GENERAL_HIGH",
    )
    await open_windows()
    op = await gql.token_for("kg_op")
    entry = await add(gql, op, await enrol(1, "甲"))
    token = await gql.token_for("hn_high_op")
    assert await gql.error_code(ROSTER, {"p": PERIOD, "s": KG}, token=token) == "NOT_FOUND"
    returning = {"ids": [entry["id"]], "d": "RETURN", "c": "x"}
    assert await gql.error_code(AUTHORITY_REVIEW, returning, token=token) == "NOT_FOUND"
