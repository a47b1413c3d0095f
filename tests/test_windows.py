"""Time windows (时间窗口): setting, listing, the effective window, the 24:00 boundary, overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.roster import (
    ADD,
    ADMIN,
    GD,
    HOUR,
    KG,
    PERIOD,
    add,
    add_gd_operator,
    close_window,
    enrol,
    now,
    open_windows,
    set_window,
)
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.errors import Forbidden, ValidationFailed, WindowClosed
from zizhu.domain.models import AidRecord, AuditEntry, TimeWindow
from zizhu.domain.reference.codes import Role, WindowAction
from zizhu.domain.roster import windows
from zizhu.domain.settings import SHANGHAI

SET = """mutation($p: String!, $a: WindowAction!, $s: DateTime!, $e: DateTime!, $prov: String) {
  setTimeWindow(period: $p, action: $a, start: $s, end: $e, provinceCode: $prov) {
    period projectCode action provinceCode start end isOpen updatedBy } }"""
LIST = "query($p: String!) { timeWindows(period: $p) { action provinceCode start end isOpen } }"

# 2023-2024 autumn: roster entry until 2024-01-25 24:00 Beijing time (docs/domain.md, time windows).
JAN_1 = dt.datetime(2024, 1, 1, tzinfo=SHANGHAI)
MIDNIGHT = dt.datetime(2024, 1, 26, 0, 0, tzinfo=SHANGHAI)


async def test_admin_sets_national_and_province_windows_and_each_account_sees_its_own(gql, world, clock):
    clock.value = dt.datetime(2024, 1, 10, 12, tzinfo=SHANGHAI)
    admin = await gql.token_for("admin")
    national = (
        await gql.data(
            SET,
            {"p": PERIOD, "a": "ENTRY", "s": "2024-01-01T00:00:00+08:00", "e": "2024-01-26T00:00:00+08:00"},
            token=admin,
        )
    )["setTimeWindow"]
    assert national == {
        "period": PERIOD,
        "projectCode": "PRE_GOV",
        "action": "ENTRY",
        "provinceCode": None,
        "start": "2024-01-01T00:00:00+08:00",
        "end": "2024-01-26T00:00:00+08:00",
        "isOpen": True,
        "updatedBy": "admin",
    }
    # 湖南 is given a later window; an instant in UTC is shown in Asia/Shanghai.
    hunan = (
        await gql.data(
            SET,
            {
                "p": PERIOD,
                "a": "ENTRY",
                "s": "2024-01-14T16:00:00Z",
                "e": "2024-02-01T00:00:00+08:00",
                "prov": "430000",
            },
            token=admin,
        )
    )["setTimeWindow"]
    assert (hunan["provinceCode"], hunan["start"], hunan["isOpen"]) == ("430000", "2024-01-15T00:00:00+08:00", False)
    await gql.data(
        SET,
        {
            "p": PERIOD,
            "a": "SCHOOL_REVIEW",
            "s": "2024-02-01T00:00:00+08:00",
            "e": "2024-02-10T00:00:00+08:00",
            "prov": "44",
        },
        token=admin,
    )

    as_admin = (await gql.data(LIST, {"p": PERIOD}, token=admin))["timeWindows"]
    assert [(w["action"], w["provinceCode"]) for w in as_admin] == [
        ("ENTRY", None),
        ("ENTRY", "430000"),
        ("SCHOOL_REVIEW", "440000"),
    ]
    county = (await gql.data(LIST, {"p": PERIOD}, token=await gql.token_for("county_op")))["timeWindows"]
    assert [(w["action"], w["provinceCode"]) for w in county] == [("ENTRY", None), ("ENTRY", "430000")]
    school = (await gql.data(LIST, {"p": PERIOD}, token=await gql.token_for("kg_op")))["timeWindows"]
    assert [(w["action"], w["provinceCode"]) for w in school] == [("ENTRY", None), ("ENTRY", "430000")]
    guangdong = (await gql.data(LIST, {"p": PERIOD}, token=await gql.token_for("gd_op")))["timeWindows"]
    assert [(w["action"], w["provinceCode"], w["isOpen"]) for w in guangdong] == [
        ("ENTRY", None, True),
        ("SCHOOL_REVIEW", "440000", False),
    ]


async def test_set_window_is_an_audited_upsert(world):
    await set_window("ENTRY", JAN_1, MIDNIGHT)
    await set_window("ENTRY", JAN_1, MIDNIGHT + dt.timedelta(days=5))
    rows = await TimeWindow.all()
    assert len(rows) == 1 and rows[0].end == dt.datetime(2024, 1, 31, tzinfo=SHANGHAI)
    audits = await AuditEntry.filter(action="time_window.set").order_by("id")
    assert [a.actor for a in audits] == ["admin", "admin"]
    assert audits[0].before is None and audits[0].after["end"] == "2024-01-26T00:00:00+08:00"
    assert audits[1].before["end"] == "2024-01-26T00:00:00+08:00"
    assert audits[1].after["end"] == "2024-01-31T00:00:00+08:00"


async def test_set_window_refuses_bad_input_and_non_admins(gql, world):
    admin = await gql.token_for("admin")
    good = {"p": PERIOD, "a": "ENTRY", "s": "2024-01-01T00:00:00+08:00", "e": "2024-01-26T00:00:00+08:00"}
    for username in ("province_op", "kg_op", "kg_rev"):
        assert await gql.error_code(SET, good, token=await gql.token_for(username)) == "FORBIDDEN"
    assert await gql.error_code(SET, {**good, "e": good["s"]}, token=admin) == "VALIDATION"
    assert await gql.error_code(SET, {**good, "e": "2023-12-31T00:00:00+08:00"}, token=admin) == "VALIDATION"
    assert await gql.error_code(SET, {**good, "p": "2023-2024-3"}, token=admin) == "VALIDATION"
    assert await gql.error_code(SET, {**good, "prov": "990000"}, token=admin) == "VALIDATION"
    assert await gql.error_code(SET, {**good, "prov": "430100"}, token=admin) == "VALIDATION"
    with pytest.raises(ValidationFailed, match="资助项目"):
        await windows.set_window(ADMIN, PERIOD, "NO_SUCH", WindowAction.ENTRY, JAN_1, MIDNIGHT)
    with pytest.raises(Forbidden):
        await windows.set_window(
            Viewer("x", Role.AUTHORITY_OPERATOR, "000000"), PERIOD, "PRE_GOV", "ENTRY", JAN_1, MIDNIGHT
        )
    assert await TimeWindow.all().count() == 0


async def test_a_naive_instant_is_read_as_shanghai_time(world):
    await set_window("ENTRY", dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 26))
    w = await windows.effective_window(PERIOD, "PRE_GOV", WindowAction.ENTRY, "43")
    assert windows.in_shanghai(w.end) == MIDNIGHT
    assert windows.is_open(w, dt.datetime(2024, 1, 25, 15, 59, 59, tzinfo=dt.UTC))
    assert not windows.is_open(w, dt.datetime(2024, 1, 25, 16, 0, 0, tzinfo=dt.UTC))


async def test_end_is_exclusive_at_24_00(gql, world, clock):
    """截止 2024-01-25 24 点: 23:59:59 is inside, 2024-01-26 00:00:00 is outside."""
    await set_window("ENTRY", JAN_1, MIDNIGHT)
    first, second = await enrol(1, "王一"), await enrol(2, "王二")
    token = await gql.token_for("kg_op")
    clock.value = dt.datetime(2024, 1, 25, 23, 59, 59, tzinfo=SHANGHAI)
    await add(gql, token, first)
    clock.value = MIDNIGHT
    body = await gql.post(ADD, {"p": PERIOD, "i": second, "a": "800", "s": None}, token=token)
    error = body["errors"][0]
    assert error["extensions"] == {
        "code": "WINDOW_CLOSED",
        "action": "ENTRY",
        "start": "2024-01-01T00:00:00+08:00",
        "end": "2024-01-26T00:00:00+08:00",
        "period": PERIOD,
    }
    assert "已截止" in error["message"] and "2024-01-26 00:00:00" in error["message"]
    assert [r.id_number for r in await AidRecord.all()] == [first]
    # Before the start it is closed as well, with a message saying so.
    clock.value = JAN_1 - dt.timedelta(seconds=1)
    body = await gql.post(ADD, {"p": PERIOD, "i": second, "a": "800", "s": None}, token=token)
    assert body["errors"][0]["extensions"]["code"] == "WINDOW_CLOSED"
    assert "尚未开始" in body["errors"][0]["message"]


async def test_no_window_means_closed(gql, world):
    child = await enrol(1, "李一")
    body = await gql.post(ADD, {"p": PERIOD, "i": child, "a": "500", "s": None}, token=await gql.token_for("kg_op"))
    assert body["errors"][0]["extensions"] == {
        "code": "WINDOW_CLOSED",
        "action": "ENTRY",
        "start": None,
        "end": None,
        "period": PERIOD,
    }
    # A window of another period or of the other action does not open it either.
    await open_windows("ENTRY", province=None)
    with pytest.raises(WindowClosed):
        await windows.require_open("2023-2024-2", "PRE_GOV", WindowAction.ENTRY, "43", now())
    with pytest.raises(WindowClosed):
        await windows.require_open(PERIOD, "PRE_GOV", WindowAction.SCHOOL_REVIEW, "43", now())
    with pytest.raises(WindowClosed):
        await windows.require_open(PERIOD, "PRE_GOV", WindowAction.AUTHORITY_REVIEW, "43", now())
    assert await AidRecord.all().count() == 0


async def test_province_override_opens_hunan_while_the_nation_is_closed(gql, world):
    await add_gd_operator()
    await close_window("ENTRY")  # national: ended an hour ago
    await open_windows("ENTRY", province="430000")
    hunan_child, gd_child = await enrol(1, "湘一"), await enrol(2, "粤一", school=GD)
    await add(gql, await gql.token_for("kg_op"), hunan_child)
    code = await gql.error_code(
        ADD, {"p": PERIOD, "i": gd_child, "a": "500", "s": None}, token=await gql.token_for("gd_kg_op")
    )
    assert code == "WINDOW_CLOSED"
    assert [r.school_code for r in await AidRecord.all()] == [KG]


async def test_province_override_closes_hunan_while_the_nation_is_open(gql, world):
    await add_gd_operator()
    await open_windows("ENTRY")
    await close_window("ENTRY", future=True, province="43")  # 湖南 opens only in an hour
    hunan_child, gd_child = await enrol(1, "湘一"), await enrol(2, "粤一", school=GD)
    body = await gql.post(
        ADD, {"p": PERIOD, "i": hunan_child, "a": "500", "s": None}, token=await gql.token_for("kg_op")
    )
    assert body["errors"][0]["extensions"]["code"] == "WINDOW_CLOSED"
    assert "尚未开始" in body["errors"][0]["message"]
    await add(gql, await gql.token_for("gd_kg_op"), gd_child)
    assert [r.school_code for r in await AidRecord.all()] == [GD]
    state = await windows.state(PERIOD, "PRE_GOV", WindowAction.ENTRY, "43", now())
    assert (state.province, state.is_open) == ("43", False)
    state = await windows.state(PERIOD, "PRE_GOV", WindowAction.ENTRY, "44", now())
    assert (state.province, state.is_open) == (None, True)
    assert state.end - state.start == 2 * HOUR
