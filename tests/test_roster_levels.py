"""The notice's three roster time limits and what reviewers need before the lock.

Each window action guards its own mutations, at 24:00 exactly and independently of the other two;
final approval is the kindergarten's own authority's; windows read as the notice writes them; the
region overview counts what the entries say; withdrawal; names; windows checked at commit.
"""

from __future__ import annotations

import datetime as dt

import pytest
from strawberry.relay import GlobalID

from tests.support.exports import download, link, sheet_rows, workbook
from tests.support.roster import (
    ADD,
    AUTHORITY_REVIEW,
    KG,
    PERIOD,
    SCHOOL_REVIEW,
    SUBMIT,
    UPDATE,
    WITHDRAW,
    add,
    enrol,
    open_windows,
    set_window,
)
from zizhu.domain.models import AidRecord, AuditEntry, School
from zizhu.domain.reference.codes import WindowAction, WindowPhase
from zizhu.domain.roster import windows
from zizhu.domain.settings import SHANGHAI

MIDNIGHT = dt.datetime(2024, 1, 26, tzinfo=SHANGHAI)  # 2024-01-25 24:00, end exclusive
LAST_SECOND = MIDNIGHT - dt.timedelta(seconds=1)
JAN_1 = dt.datetime(2024, 1, 1, tzinfo=SHANGHAI)
LONG_AGO = (dt.datetime(2023, 12, 1, tzinfo=SHANGHAI), dt.datetime(2023, 12, 2, tzinfo=SHANGHAI))
ACTIONS = ("ENTRY", "SCHOOL_REVIEW", "AUTHORITY_REVIEW")


async def entry(serial: int, name: str, status: str, school: str = KG) -> str:
    """An enrolled child with a roster entry in `status`; returns the entry's global ID."""
    child = await enrol(serial, name, school=school)
    row = await AidRecord.create(
        id_number=child,
        name=name,
        school_code=school,
        project_code="PRE_GOV",
        period=PERIOD,
        amount="800.00",
        status=status,
        province=school[2:4],
    )
    return str(GlobalID("PreschoolRosterEntry", str(row.id)))


async def _status(global_id: str) -> str:
    return (await AidRecord.get(id=int(GlobalID.from_id(global_id).node_id))).status


# --- three windows, each its own ---------------------------------------------------------------------
@pytest.mark.parametrize("action", ACTIONS)
async def test_each_window_guards_its_own_mutation_to_the_last_second_and_no_other(gql, world, clock, action):
    for other in ACTIONS:
        await set_window(other, *((JAN_1, MIDNIGHT) if other == action else LONG_AGO))
    calls = {  # action → (mutation, variables, token) acting on an entry in the right status
        "ENTRY": (SUBMIT, lambda e: {"ids": [e]}, await gql.login("kg_op"), "DRAFT"),
        "SCHOOL_REVIEW": (
            SCHOOL_REVIEW,
            lambda e: {"ids": [e], "d": "APPROVE"},
            await gql.login("kg_rev"),
            "SUBMITTED",
        ),
        "AUTHORITY_REVIEW": (
            AUTHORITY_REVIEW,
            lambda e: {"ids": [e], "d": "APPROVE"},
            await gql.login("county_op"),
            "SCHOOL_APPROVED",
        ),
    }
    serial = 0
    targets: dict[str, list[str]] = {}
    for a, (_, _, _, status) in calls.items():
        targets[a] = []
        for _ in range(2):
            serial += 1
            targets[a].append(await entry(serial, f"童{serial}", status))

    clock.value = LAST_SECOND  # 2024-01-25 23:59:59
    for a, (query, variables, token, status) in calls.items():
        body = await gql.post(query, variables(targets[a][0]), token=token)
        if a == action:
            assert not body.get("errors"), body
            assert await _status(targets[a][0]) != status
        else:
            ext = body["errors"][0]["extensions"]
            assert (ext["code"], ext["action"]) == ("WINDOW_CLOSED", a)
            assert await _status(targets[a][0]) == status

    clock.value = MIDNIGHT  # 2024-01-26 00:00:00
    query, variables, token, status = calls[action]
    body = await gql.post(query, variables(targets[action][1]), token=token)
    ext = body["errors"][0]["extensions"]
    assert (ext["code"], ext["action"], ext["end"]) == ("WINDOW_CLOSED", action, "2024-01-26T00:00:00+08:00")
    assert await _status(targets[action][1]) == status


# --- who gives the final approval ---------------------------------------------------------------------
async def test_only_the_kindergartens_own_authority_gives_the_final_approval(gql, world):
    await open_windows()
    county_kg = await entry(1, "甲", "SCHOOL_APPROVED")  # 芙蓉区第一幼儿园, administered by 芙蓉区 430102
    await School.create(code="1143000020", name="长沙市直属幼儿园", region_code="430100", province="43")
    city_kg = await entry(2, "乙", "SCHOOL_APPROVED", school="1143000020")  # administered by 长沙市 430100
    approve = {"d": "APPROVE", "c": None}

    for user in ("city_op", "province_op", "province_preschool_op"):
        body = await gql.post(AUTHORITY_REVIEW, {"ids": [county_kg], **approve}, token=await gql.login(user))
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", user
        assert "主管部门" in body["errors"][0]["message"]
    for user in ("kg_rev", "kg_op", "admin"):  # a school reviewer cannot give the final approval
        assert await gql.error_code(AUTHORITY_REVIEW, {"ids": [county_kg], **approve}, token=await gql.login(user)) == (
            "FORBIDDEN"
        )
    # a batch with one school of another level is refused whole
    county = await gql.login("county_op")
    assert await gql.error_code(AUTHORITY_REVIEW, {"ids": [county_kg, city_kg], **approve}, token=county) in (
        "NOT_FOUND",
        "FORBIDDEN",
    )
    assert await _status(county_kg) == "SCHOOL_APPROVED"
    done = await gql.data(AUTHORITY_REVIEW, {"ids": [county_kg], **approve}, token=county)
    assert done["authorityReviewPreschoolRosterEntries"][0]["status"] == "APPROVED"

    # the city kindergarten: the city approves, the county does not see it, the province only watches
    assert await gql.error_code(AUTHORITY_REVIEW, {"ids": [city_kg], **approve}, token=county) == "NOT_FOUND"
    province = await gql.login("province_op")
    assert await gql.error_code(AUTHORITY_REVIEW, {"ids": [city_kg], **approve}, token=province) == "FORBIDDEN"
    returned = await gql.data(
        AUTHORITY_REVIEW, {"ids": [city_kg], "d": "RETURN", "c": "请补充材料"}, token=await gql.login("city_op")
    )
    assert returned["authorityReviewPreschoolRosterEntries"][0]["status"] == "RETURNED"
    audited = await AuditEntry.filter(entity="aid_record", action__startswith="roster.authority_review").order_by("id")
    assert [(a.actor, a.action) for a in audited] == [
        ("county_op", "roster.authority_review.approve"),
        ("city_op", "roster.authority_review.return"),
    ]


# --- the reminder in the notice's words -----------------------------------------------------------------
def test_display_writes_midnight_as_24_of_the_day_before():
    start = dt.datetime(2023, 9, 1, tzinfo=SHANGHAI)
    assert windows.display(WindowAction.ENTRY, start, MIDNIGHT) == "录入时间：2023年9月1日0点至2024年1月25日24点"
    assert windows.display(WindowAction.SCHOOL_REVIEW, start, MIDNIGHT - dt.timedelta(days=7)) == (
        "学校审核时间：2023年9月1日0点至2024年1月18日24点"
    )
    end = dt.datetime(2024, 1, 25, 17, 30, tzinfo=SHANGHAI)
    assert windows.display(WindowAction.AUTHORITY_REVIEW, start + dt.timedelta(hours=8), end) == (
        "主管部门审核时间：2023年9月1日8点至2024年1月25日17点30分"
    )
    # an instant in another zone is worded in Beijing time
    utc_end = dt.datetime(2024, 1, 25, 16, 0, tzinfo=dt.UTC)
    assert windows.display(WindowAction.ENTRY, start, utc_end).endswith("2024年1月25日24点")
    assert windows.display(WindowAction.ENTRY, None, None) == "录入时间：未设置"


def test_state_and_seconds_left_follow_the_clock():
    start = dt.datetime(2024, 1, 1, tzinfo=SHANGHAI)
    assert windows.phase(start, MIDNIGHT, start - dt.timedelta(seconds=90)) == (WindowPhase.NOT_STARTED, 90)
    assert windows.phase(start, MIDNIGHT, start) == (WindowPhase.OPEN, 25 * 86400)
    assert windows.phase(start, MIDNIGHT, LAST_SECOND) == (WindowPhase.OPEN, 1)
    assert windows.phase(start, MIDNIGHT, MIDNIGHT) == (WindowPhase.CLOSED, 0)
    assert windows.phase(None, None, MIDNIGHT) == (WindowPhase.CLOSED, 0)


async def test_every_time_window_has_state_seconds_left_and_display(gql, world, clock):
    await set_window("ENTRY", JAN_1, MIDNIGHT)
    await set_window("SCHOOL_REVIEW", MIDNIGHT, MIDNIGHT + dt.timedelta(days=7))
    query = "query($p: String!) { timeWindows(period: $p) { action state secondsLeft display } }"
    clock.value = LAST_SECOND - dt.timedelta(minutes=1)
    listed = (await gql.data(query, {"p": PERIOD}, token=await gql.login("county_op")))["timeWindows"]
    assert listed == [
        {
            "action": "ENTRY",
            "state": "OPEN",
            "secondsLeft": 61,
            "display": "录入时间：2024年1月1日0点至2024年1月25日24点",
        },
        {
            "action": "SCHOOL_REVIEW",
            "state": "NOT_STARTED",
            "secondsLeft": 61,
            "display": "学校审核时间：2024年1月26日0点至2024年2月1日24点",
        },
    ]
    roster = """query { preschoolRoster(period: "2023-2024-1") {
      entryWindow { state secondsLeft } authorityReviewWindow { state secondsLeft display } } }"""
    clock.value = MIDNIGHT
    shown = (await gql.data(roster, token=await gql.login("kg_op")))["preschoolRoster"]
    assert shown == {
        "entryWindow": {"state": "CLOSED", "secondsLeft": 0},
        "authorityReviewWindow": {"state": "CLOSED", "secondsLeft": 0, "display": "主管部门审核时间：未设置"},
    }


# --- the overview -------------------------------------------------------------------------------------
OVERVIEW = """query($r: String, $f: Int, $a: String, $w: Boolean) { region(code: $r) {
  preschoolRoster(period: "2023-2024-1") {
    regionCode schoolCount waitingSchoolCount
    totals { draft submitted schoolApproved approved returned total }
    schools(first: $f, after: $a, waitingForMe: $w) {
      edges { cursor node { schoolCode schoolName regionCode waitingForMe
        counts { draft submitted schoolApproved approved returned total }
        entryWindow { display provinceCode } schoolReviewWindow { state } authorityReviewWindow { state } } }
      pageInfo { hasNextPage endCursor } } } } }"""
COUNT_FIELDS = {
    "draft": "DRAFT",
    "submitted": "SUBMITTED",
    "schoolApproved": "SCHOOL_APPROVED",
    "approved": "APPROVED",
    "returned": "RETURNED",
}
# kindergarten → statuses of its entries; every state appears somewhere
KINDERGARTENS = {
    KG: ["DRAFT", "SUBMITTED", "SUBMITTED", "SCHOOL_APPROVED", "APPROVED", "RETURNED"],  # 芙蓉区 430102
    "1143000021": ["SCHOOL_APPROVED", "SCHOOL_APPROVED", "APPROVED"],  # 芙蓉区 430102
    "1143000022": ["SUBMITTED", "DRAFT"],  # 天心区 430103
    "1143000023": [],  # 芙蓉区, enrolled children but nothing entered yet
    "1143000024": ["SCHOOL_APPROVED"],  # 株洲 荷塘区 430202: outside 长沙
}


async def _overview_world() -> None:
    names = {"1143000021": "芙蓉区第二幼儿园", "1143000022": "天心区幼儿园", "1143000023": "芙蓉区第三幼儿园"}
    regions = {"1143000021": "430102", "1143000022": "430103", "1143000023": "430102", "1143000024": "430202"}
    for code, region in regions.items():
        await School.create(code=code, name=names.get(code, "荷塘区幼儿园"), region_code=region, province="43")
    serial = 0
    for school, statuses in KINDERGARTENS.items():
        for status in statuses:
            serial += 1
            await entry(serial, f"童{serial}", status, school=school)
    await enrol(99, "未录入", school="1143000023")


def _counts(statuses: list[str]) -> dict:
    counts = {field: statuses.count(status) for field, status in COUNT_FIELDS.items()}
    return {**counts, "total": len(statuses)}


async def test_the_overview_counts_what_the_entries_say_and_who_is_waiting(gql, world):
    await open_windows()
    await set_window("ENTRY", JAN_1, MIDNIGHT, province="430000")  # 湖南's own entry window
    await _overview_world()
    city = await gql.login("city_op")
    view = (await gql.data(OVERVIEW, {"r": "430100", "f": 50}, token=city))["region"]["preschoolRoster"]
    changsha = [KG, "1143000021", "1143000022", "1143000023"]
    rows = [e["node"] for e in view["schools"]["edges"]]
    assert [r["schoolCode"] for r in rows] == changsha
    for r in rows:  # each line equals its entries' statuses, read back from the table itself
        stored = [s for (s,) in await AidRecord.filter(school_code=r["schoolCode"]).values_list("status")]
        assert r["counts"] == _counts(stored) == _counts(KINDERGARTENS[r["schoolCode"]])
        assert r["entryWindow"] == {
            "display": "录入时间：2024年1月1日0点至2024年1月25日24点",
            "provinceCode": "430000",
        }
        assert (r["schoolReviewWindow"]["state"], r["authorityReviewWindow"]["state"]) == ("OPEN", "OPEN")
    everything = [s for c in changsha for s in KINDERGARTENS[c]]
    assert view["totals"] == _counts(everything)
    assert (view["schoolCount"], view["waitingSchoolCount"]) == (4, 0)  # the city only watches county schools
    assert not any(r["waitingForMe"] for r in rows)

    # the county: its kindergartens with entries waiting for the authority review
    county = await gql.login("county_op")
    own = (await gql.data(OVERVIEW, {"r": "430102", "f": 50}, token=county))["region"]["preschoolRoster"]
    flags = {e["node"]["schoolCode"]: e["node"]["waitingForMe"] for e in own["schools"]["edges"]}
    assert flags == {KG: True, "1143000021": True, "1143000023": False}
    assert own["waitingSchoolCount"] == 2
    waiting = (await gql.data(OVERVIEW, {"r": "430102", "f": 1, "w": True}, token=county))["region"]["preschoolRoster"]
    page = waiting["schools"]
    assert [e["node"]["schoolCode"] for e in page["edges"]] == [KG] and page["pageInfo"]["hasNextPage"]
    rest = await gql.data(
        OVERVIEW, {"r": "430102", "f": 1, "w": True, "a": page["pageInfo"]["endCursor"]}, token=county
    )
    rest_page = rest["region"]["preschoolRoster"]["schools"]
    assert [e["node"]["schoolCode"] for e in rest_page["edges"]] == ["1143000021"]
    assert rest_page["pageInfo"]["hasNextPage"] is False

    # the school reviewer: what waits for it is the SUBMITTED entries, at its own school only
    school_view = """query { preschoolRoster(period: "2023-2024-1") {
      waitingForMe counts { submitted schoolApproved total } } }"""
    rev = (await gql.data(school_view, token=await gql.login("kg_rev")))["preschoolRoster"]
    assert rev == {"waitingForMe": True, "counts": {"submitted": 2, "schoolApproved": 1, "total": 6}}
    op = (await gql.data(school_view, token=await gql.login("kg_op")))["preschoolRoster"]
    assert op["waitingForMe"] is True  # a draft and a returned entry wait for the school's operator
    # once the county has approved, nothing waits for it at KG, while the reviewer still has two
    (approved_id,) = await AidRecord.filter(school_code=KG, status="SCHOOL_APPROVED").values_list("id", flat=True)
    await gql.data(
        AUTHORITY_REVIEW,
        {"ids": [str(GlobalID("PreschoolRosterEntry", str(approved_id)))], "d": "APPROVE"},
        token=county,
    )
    again = (await gql.data(OVERVIEW, {"r": "430102", "f": 50, "w": True}, token=county))["region"]["preschoolRoster"]
    assert [e["node"]["schoolCode"] for e in again["schools"]["edges"]] == ["1143000021"]
    assert (await gql.data(school_view, token=await gql.login("kg_rev")))["preschoolRoster"]["waitingForMe"] is True

    # school accounts have no region view; an authority sees only its subtree
    assert await gql.error_code(OVERVIEW, {"r": "430102"}, token=await gql.login("kg_rev")) == "FORBIDDEN"
    assert await gql.error_code(OVERVIEW, {"r": "430200"}, token=city) == "NOT_FOUND"


async def test_the_overview_export_is_the_same_table_with_the_totals_on_top(gql, world):
    await open_windows()
    await _overview_world()
    county = await gql.login("county_op")
    view = (await gql.data(OVERVIEW, {"r": "430102", "f": 50}, token=county))["region"]["preschoolRoster"]
    mutation = "mutation($r: String, $w: Boolean) { exportPreschoolRosterOverview(period: \"2023-2024-1\", regionCode: $r, waitingForMe: $w) { url filename } }"
    got = await link(gql, county, mutation, {"r": "430102"})
    assert got["filename"] == "preschool-roster-overview.xlsx"
    rows = sheet_rows(workbook(await download(gql, got["url"])))
    fields = ["draft", "submitted", "schoolApproved", "approved", "returned", "total"]
    top = rows[0]
    assert top[0] == "430102" and "合计" in top[1]
    assert top[3:9] == [view["totals"][f] for f in fields]
    listed = [
        (
            n["schoolCode"],
            n["schoolName"],
            n["regionCode"],
            *[n["counts"][f] for f in fields],
            "是" if n["waitingForMe"] else "否",
        )
        for n in (e["node"] for e in view["schools"]["edges"])
    ]
    assert [tuple(r[:10]) for r in rows[1:]] == listed
    assert rows[1][10].startswith("录入时间：") and rows[1][11].startswith("学校审核时间：")
    # "waiting for me" only, and the download is audited
    only = await link(gql, county, mutation, {"r": "430102", "w": True})
    waiting_rows = sheet_rows(workbook(await download(gql, only["url"])))
    assert [r[0] for r in waiting_rows[1:]] == [KG, "1143000021"]
    assert await AuditEntry.filter(actor="county_op", action="export.preschool-roster-overview").count() == 2
    # out of scope: refused before a link is made
    body = await gql.post(mutation, {"r": "430202"}, token=county)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# --- withdrawal -----------------------------------------------------------------------------------------
async def test_withdraw_before_review_and_not_after(gql, world, clock):
    await open_windows()
    op, rev = await gql.login("kg_op"), await gql.login("kg_rev")
    a = await add(gql, op, await enrol(1, "甲"))
    b = await add(gql, op, await enrol(2, "乙"))
    await gql.data(SUBMIT, {"ids": [a["id"], b["id"]]}, token=op)
    back = (await gql.data(WITHDRAW, {"ids": [a["id"]]}, token=op))["withdrawPreschoolRosterEntries"]
    assert [(e["status"], e["name"]) for e in back] == [("DRAFT", "甲")]
    edited = (await gql.data(UPDATE, {"id": a["id"], "a": "1500"}, token=op))["updatePreschoolRosterEntry"]
    assert (edited["status"], edited["amount"]) == ("DRAFT", "1500.00")
    # a DRAFT cannot be withdrawn; once reviewed, neither can a submitted one
    assert await gql.error_code(WITHDRAW, {"ids": [a["id"]]}, token=op) == "CONFLICT"
    await gql.data(SCHOOL_REVIEW, {"ids": [b["id"]], "d": "APPROVE"}, token=rev)
    body = await gql.post(WITHDRAW, {"ids": [b["id"]]}, token=op)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT" and "学校审核通过" in body["errors"][0]["message"]
    # a batch with one reviewed entry is refused whole
    await gql.data(SUBMIT, {"ids": [a["id"]]}, token=op)
    assert await gql.error_code(WITHDRAW, {"ids": [a["id"], b["id"]]}, token=op) == "CONFLICT"
    assert await _status(a["id"]) == "SUBMITTED"
    # only inside the entry window, and only by the school's operator
    assert await gql.error_code(WITHDRAW, {"ids": [a["id"]]}, token=rev) == "FORBIDDEN"
    clock.value = dt.datetime.now(SHANGHAI) + dt.timedelta(hours=2)
    body = await gql.post(WITHDRAW, {"ids": [a["id"]]}, token=op)
    assert (body["errors"][0]["extensions"]["code"], body["errors"][0]["extensions"]["action"]) == (
        "WINDOW_CLOSED",
        "ENTRY",
    )
    assert await _status(a["id"]) == "SUBMITTED"
    key = GlobalID.from_id(a["id"]).node_id
    audited = await AuditEntry.filter(entity="aid_record", entity_key=key, action="roster.withdraw")
    assert [(x.actor, x.before["status"], x.after["status"]) for x in audited] == [("kg_op", "SUBMITTED", "DRAFT")]


# --- names ----------------------------------------------------------------------------------------------
AID_HEADERS = "身份证件号,学校标识码,资助项目代码,资助周期,金额,审核状态\n"
STUDENT_HEADERS = "身份证件号,姓名,学校标识码,学段,年级,学籍状态\n"


async def test_entries_from_imported_aid_records_show_the_childs_name(gql, world, tmp_path):
    from tests.support.world import student_id
    from zizhu.domain.imports import run_import

    first, later = student_id(1, birth="20200101"), student_id(2, birth="20200101")
    (tmp_path / "students.csv").write_text(STUDENT_HEADERS + f"{first},王小一,{KG},学前教育,大班,在读\n")
    (tmp_path / "aid.csv").write_text(
        AID_HEADERS + f"{first},{KG},PRE_GOV,{PERIOD},1000,已上报\n{later},{KG},PRE_GOV,{PERIOD},1000,录入\n"
    )
    await run_import("students", tmp_path / "students.csv", actor="test")
    await run_import("aid", tmp_path / "aid.csv", actor="test")
    assert dict(await AidRecord.all().values_list("id_number", "name")) == {first: "王小一", later: ""}
    # the enrolment of the second child arrives after its aid record: the name is filled then
    (tmp_path / "students2.csv").write_text(STUDENT_HEADERS + f"{later},王小二,{KG},学前教育,大班,在读\n")
    await run_import("students", tmp_path / "students2.csv", actor="test")
    assert dict(await AidRecord.all().values_list("id_number", "name")) == {first: "王小一", later: "王小二"}

    # a row still stored without a name (as before this version) is shown with the enrolment's name
    await AidRecord.filter(id_number=later).update(name="")
    county = await gql.login("county_op")
    query = """query { preschoolRoster(period: "2023-2024-1", schoolCode: "1143000001") {
      entries { edges { node { id name } } } } }"""
    nodes = [e["node"] for e in (await gql.data(query, token=county))["preschoolRoster"]["entries"]["edges"]]
    assert [n["name"] for n in nodes] == ["王小一", "王小二"]
    by_node = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on PreschoolRosterEntry { name } } }",
        {"id": nodes[1]["id"]},
        token=county,
    )
    assert by_node["node"]["name"] == "王小二"
    mutation = "mutation { exportPreschoolRoster(period: \"2023-2024-1\", schoolCode: \"1143000001\") { url } }"
    exported = sheet_rows(workbook(await download(gql, (await link(gql, county, mutation, {}))["url"])))
    assert [r[1] for r in exported] == ["王小一", "王小二"]


# --- checked at commit ------------------------------------------------------------------------------------
class SlowClock:
    """The server's clock, moved on by each audited write: a slow request without real sleeping."""

    def __init__(self, start: dt.datetime, step: dt.timedelta) -> None:
        self.value, self.step = start, step

    def __call__(self) -> dt.datetime:
        return self.value


@pytest.fixture
def slow_writes(monkeypatch):
    """Make every audited write take `clock.step` of the clock's time."""
    from zizhu.domain.accounts import audit

    original = audit.record
    clocks: list[SlowClock] = []

    async def record(*args, **kwargs):
        for c in clocks:
            c.value += c.step
        return await original(*args, **kwargs)

    monkeypatch.setattr(audit, "record", record)
    return clocks


@pytest.fixture
async def slow_gql(orm, slow_writes):
    import httpx

    from tests.conftest import GraphQLClient
    from zizhu.api.app import create_app

    clock = SlowClock(LAST_SECOND - dt.timedelta(seconds=3), dt.timedelta(seconds=1))
    slow_writes.append(clock)
    app = create_app(clock=clock, manage_orm=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        client = GraphQLClient(http)
        client.clock = clock
        yield client


async def test_a_slowed_import_crossing_the_windows_end_writes_nothing(slow_gql, world):
    from tests.test_roster_import import csv_bytes, imported, upload

    await set_window("ENTRY", JAN_1, MIDNIGHT)
    token = await slow_gql.login("kg_op")
    children = [(await enrol(i, f"童{i}"), f"童{i}") for i in range(1, 6)]
    slow_gql.clock.value = LAST_SECOND - dt.timedelta(seconds=3)  # starts inside; five rows take five seconds
    body = await upload(slow_gql.http, token, csv_bytes(*((i, n, "500") for i, n in children)), "r.csv")
    error = body["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["end"]) == ("WINDOW_CLOSED", "2024-01-26T00:00:00+08:00")
    assert slow_gql.clock.value > MIDNIGHT
    assert await AidRecord.all().count() == 0
    assert await AuditEntry.filter(action="roster.import").count() == 0
    # two rows fit before the end: they are written
    slow_gql.clock.value = LAST_SECOND - dt.timedelta(seconds=3)
    assert (await imported(slow_gql.http, token, csv_bytes(*((i, n, "500") for i, n in children[:2])), "r.csv"))[
        "created"
    ] == 2


async def test_single_and_batch_actions_crossing_the_windows_end_write_nothing(slow_gql, world):
    for action in ACTIONS:
        await set_window(action, JAN_1, MIDNIGHT)
    op, rev = await slow_gql.login("kg_op"), await slow_gql.login("kg_rev")
    clock = slow_gql.clock
    drafts = [await entry(i, f"童{i}", "DRAFT") for i in range(1, 6)]
    submitted = [await entry(i, f"童{i}", "SUBMITTED") for i in range(6, 11)]

    clock.value = LAST_SECOND  # a single add: its audited write moves the clock past the end
    body = await slow_gql.post(ADD, {"p": PERIOD, "i": await enrol(20, "晚到"), "a": "500", "s": None}, token=op)
    assert body["errors"][0]["extensions"]["code"] == "WINDOW_CLOSED"
    assert not await AidRecord.filter(name="晚到").exists()

    clock.value = LAST_SECOND - dt.timedelta(seconds=3)  # a batch of five, one second each
    body = await slow_gql.post(SUBMIT, {"ids": drafts}, token=op)
    assert body["errors"][0]["extensions"]["code"] == "WINDOW_CLOSED"
    assert [await _status(d) for d in drafts] == ["DRAFT"] * 5

    clock.value = LAST_SECOND - dt.timedelta(seconds=3)
    body = await slow_gql.post(SCHOOL_REVIEW, {"ids": submitted, "d": "APPROVE"}, token=rev)
    assert (body["errors"][0]["extensions"]["code"], body["errors"][0]["extensions"]["action"]) == (
        "WINDOW_CLOSED",
        "SCHOOL_REVIEW",
    )
    assert [await _status(s) for s in submitted] == ["SUBMITTED"] * 5
    assert not await AuditEntry.filter(action__startswith="roster.").exists()
