"""The upgrade's own roster windows (升级通知中的填报时间): 2023-2024 autumn, deadline 2024-01-25 24:00.

`zizhu migrate` creates the national PRE_GOV windows of 2023-2024-1 for ENTRY, SCHOOL_REVIEW and
AUTHORITY_REVIEW (the notice's three time limits) when they are missing, and never changes a window an admin has set or moved, nor a province's override.
"""

from __future__ import annotations

import datetime as dt

from tests.support.databases import blank_database
from tests.support.roster import ADD, AUTHORITY_REVIEW, PERIOD, SCHOOL_REVIEW, SUBMIT, add, enrol, set_window
from zizhu.domain import db, installation
from zizhu.domain.demo import load_demo
from zizhu.domain.models import AuditEntry, Period, Region, TimeWindow
from zizhu.domain.roster import windows
from zizhu.domain.roster.upgrade_windows import seed_upgrade_windows
from zizhu.domain.settings import SHANGHAI

SEPT_1 = dt.datetime(2023, 9, 1, tzinfo=SHANGHAI)
MIDNIGHT = dt.datetime(2024, 1, 26, tzinfo=SHANGHAI)  # 2024-01-25 24:00, end exclusive
LAST_SECOND = MIDNIGHT - dt.timedelta(seconds=1)

LIST = "query($p: String!) { timeWindows(period: $p) { action provinceCode start end isOpen updatedBy } }"
WINDOW = "start end isOpen provinceCode state display"
ROSTER = f"""query($p: String!) {{ preschoolRoster(period: $p) {{
  entryWindow {{ {WINDOW} }} schoolReviewWindow {{ {WINDOW} }} authorityReviewWindow {{ {WINDOW} }} }} }}"""
ACTIONS = ("AUTHORITY_REVIEW", "ENTRY", "SCHOOL_REVIEW")  # as listed: by action code
LABELS = {"ENTRY": "录入时间", "SCHOOL_REVIEW": "学校审核时间", "AUTHORITY_REVIEW": "主管部门审核时间"}


async def _windows() -> list[tuple]:
    """(action, province, start, end, updated_by) of every window, in Asia/Shanghai."""
    rows = await TimeWindow.filter(period=PERIOD, project_code="PRE_GOV").order_by("action", "province")
    return [
        (w.action, w.province, windows.in_shanghai(w.start), windows.in_shanghai(w.end), w.updated_by) for w in rows
    ]


SEEDED = [(a, "", SEPT_1, MIDNIGHT, "system") for a in ACTIONS]


async def test_migrating_a_fresh_database_sets_the_three_windows_and_again_keeps_the_admins(
    tmp_path, database_url, orm
):
    async with blank_database(tmp_path, "fresh") as url:
        try:
            await installation.migrate(url)
            await db.init(url)
            assert await _windows() == SEEDED
            seeded = await AuditEntry.filter(action="time_window.seed").order_by("id")
            assert sorted((a.actor, a.entity_key, a.before, a.after["end"]) for a in seeded) == [
                ("system", f"{PERIOD}/PRE_GOV/{action}/", None, "2024-01-26T00:00:00+08:00") for action in ACTIONS
            ]
            # An admin moves the entry deadline and gives 湖南 its own authority review window.
            await Region.create(code="430000", name="湖南省", parent_code="000000", level="PROVINCE")
            await set_window("ENTRY", SEPT_1, MIDNIGHT + dt.timedelta(days=5))
            await set_window("AUTHORITY_REVIEW", MIDNIGHT, MIDNIGHT + dt.timedelta(days=10), province="430000")
            await db.close()

            await installation.migrate(url)
            await db.init(url)
            assert await _windows() == [
                ("AUTHORITY_REVIEW", "", SEPT_1, MIDNIGHT, "system"),
                ("AUTHORITY_REVIEW", "43", MIDNIGHT, MIDNIGHT + dt.timedelta(days=10), "admin"),
                ("ENTRY", "", SEPT_1, MIDNIGHT + dt.timedelta(days=5), "admin"),
                ("SCHOOL_REVIEW", "", SEPT_1, MIDNIGHT, "system"),
            ]
            assert await AuditEntry.filter(action="time_window.seed").count() == 3
        finally:  # the session's own database again for the tests that follow
            await db.close()
            await db.init(database_url)


async def test_seeding_creates_only_the_missing_national_window(orm):
    await Region.create(code="430000", name="湖南省", parent_code="000000", level="PROVINCE")
    await set_window("SCHOOL_REVIEW", MIDNIGHT, MIDNIGHT + dt.timedelta(days=3))
    await set_window("ENTRY", SEPT_1, MIDNIGHT - dt.timedelta(days=10), province="430000")
    created = await seed_upgrade_windows()
    assert sorted((w.action, w.province) for w in created) == [("AUTHORITY_REVIEW", ""), ("ENTRY", "")]
    assert await _windows() == [
        ("AUTHORITY_REVIEW", "", SEPT_1, MIDNIGHT, "system"),
        ("ENTRY", "", SEPT_1, MIDNIGHT, "system"),
        ("ENTRY", "43", SEPT_1, MIDNIGHT - dt.timedelta(days=10), "admin"),
        ("SCHOOL_REVIEW", "", MIDNIGHT, MIDNIGHT + dt.timedelta(days=3), "admin"),
    ]
    assert await seed_upgrade_windows() == []


async def test_the_window_starts_on_the_period_rows_start_date(orm):
    await Period.create(
        code=PERIOD, academic_year="2023-2024", term=1, start_date=dt.date(2023, 8, 28), end_date=dt.date(2024, 2, 29)
    )
    await seed_upgrade_windows()
    late_august = dt.datetime(2023, 8, 28, tzinfo=SHANGHAI)
    assert [(w[0], w[2], w[3]) for w in await _windows()] == [(a, late_august, MIDNIGHT) for a in ACTIONS]


async def test_the_seeded_windows_are_listed_shown_and_enforced(gql, world, clock):
    await seed_upgrade_windows()
    clock.value = LAST_SECOND
    shown = [
        {
            "action": a,
            "provinceCode": None,
            "start": "2023-09-01T00:00:00+08:00",
            "end": "2024-01-26T00:00:00+08:00",
            "isOpen": True,
            "updatedBy": "system",
        }
        for a in ACTIONS
    ]
    assert (await gql.data(LIST, {"p": PERIOD}, token=await gql.token_for("admin")))["timeWindows"] == shown

    op, rev, county = await gql.login("kg_op"), await gql.login("kg_rev"), await gql.login("county_op")
    bounds = {"start": "2023-09-01T00:00:00+08:00", "end": "2024-01-26T00:00:00+08:00", "provinceCode": None}

    def expected(is_open: bool) -> dict:
        return {
            f"{key}Window": {
                **bounds,
                "isOpen": is_open,
                "state": "OPEN" if is_open else "CLOSED",
                "display": f"{LABELS[action]}：2023年9月1日0点至2024年1月25日24点",
            }
            for key, action in (
                ("entry", "ENTRY"),
                ("schoolReview", "SCHOOL_REVIEW"),
                ("authorityReview", "AUTHORITY_REVIEW"),
            )
        }

    roster = (await gql.data(ROSTER, {"p": PERIOD}, token=op))["preschoolRoster"]
    assert roster == expected(True)

    # 2024-01-25 23:59:59: entry and both reviews pass.
    first, second = await enrol(1, "王一"), await enrol(2, "王二")
    entry = await add(gql, op, first)
    late = await add(gql, op, second)
    await gql.data(SUBMIT, {"ids": [entry["id"], late["id"]]}, token=op)
    reviewed = await gql.data(SCHOOL_REVIEW, {"ids": [entry["id"]], "d": "APPROVE", "c": None}, token=rev)
    assert reviewed["schoolReviewPreschoolRosterEntries"][0]["status"] == "SCHOOL_APPROVED"
    returned = await gql.data(AUTHORITY_REVIEW, {"ids": [entry["id"]], "d": "RETURN", "c": "请核对"}, token=county)
    assert returned["authorityReviewPreschoolRosterEntries"][0]["status"] == "RETURNED"

    # 2024-01-26 00:00:00: all are refused, the error carrying the window's bounds.
    clock.value = MIDNIGHT
    closed = {
        "code": "WINDOW_CLOSED",
        "start": "2023-09-01T00:00:00+08:00",
        "end": "2024-01-26T00:00:00+08:00",
        "period": PERIOD,
    }
    body = await gql.post(ADD, {"p": PERIOD, "i": await enrol(3, "王三"), "a": "800", "s": None}, token=op)
    assert body["errors"][0]["extensions"] == {**closed, "action": "ENTRY"}
    assert "已截止" in body["errors"][0]["message"]
    body = await gql.post(SCHOOL_REVIEW, {"ids": [late["id"]], "d": "APPROVE", "c": None}, token=rev)
    assert body["errors"][0]["extensions"] == {**closed, "action": "SCHOOL_REVIEW"}
    roster = (await gql.data(ROSTER, {"p": PERIOD}, token=op))["preschoolRoster"]
    assert roster == expected(False)


async def test_the_demo_still_opens_its_own_windows(orm):
    await seed_upgrade_windows()
    await load_demo()
    demo = await _windows()
    assert [(w[0], w[1], w[3] - w[2], w[4]) for w in demo] == [(a, "", dt.timedelta(days=31), "demo") for a in ACTIONS]
    assert await seed_upgrade_windows() == []
    assert await _windows() == demo
