"""Data migrations: 0004 turns each run's full copy of its unfunded list into versions.

A fresh database (SQLite file or throw-away PostgreSQL database) is migrated up to 0003, filled
with old-style rows (one copy per run, keyed by run_id), then migrated to the latest schema. Each
copy must become valid for its own run only, except the newest succeeded run of each
(period, province) chain, whose rows stay current; every run must still read back its own list.
"""

from __future__ import annotations

import datetime as dt

import pytest
from tortoise.migrations.api import migrate as run_migrations

from tests.support.databases import blank_database
from zizhu.domain import db
from zizhu.domain.comparison.steps import list_rows_of

P1, P2 = "2023-2024-1", "2023-2024-2"
A, B, C = "110101201501011234", "110101201501012345", "430101201501013456"


async def _add_run(period: str, province: str, status: str, published: bool) -> int:
    await db.execute(
        "INSERT INTO comparison_run (period, province, trigger, status, published, queued_at)"
        " VALUES (:period, :province, 'CLI', :status, :published, :queued_at)",
        {
            "period": period,
            "province": province,
            "status": status,
            "published": published,
            "queued_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        },
    )
    return (await db.fetch("SELECT MAX(id) AS id FROM comparison_run"))[0]["id"]


async def _add_row(run_id: int, id_number: str, province: str = "11") -> None:
    await db.execute(
        "INSERT INTO unfunded_result (run_id, id_number, name, school_code, region_code, stage,"
        " province, central_mask, self_mask)"
        " VALUES (:run_id, :id_number, 'x', '1111111111', '110101', 'PRIMARY', :province, 1, 0)",
        {"run_id": run_id, "id_number": id_number, "province": province},
    )


async def _convert_and_check(url: str) -> None:
    await run_migrations(config=db.tortoise_config(url), target="models.0003_lean_unfunded_result_index")
    await db.close()

    await db.init(url)
    r1 = await _add_run(P1, "", "SUCCEEDED", False)
    r2 = await _add_run(P1, "", "SUCCEEDED", True)
    r3 = await _add_run(P1, "", "FAILED", False)  # newest of its chain, but failed: no list
    r4 = await _add_run(P2, "43", "SUCCEEDED", True)
    assert [r2, r3, r4] == [r1 + 1, r1 + 2, r1 + 3]
    await _add_row(r1, A)
    await _add_row(r1, B)
    await _add_row(r2, A)
    await _add_row(r4, C, "43")
    await _add_row(r4 + 100, B)  # a row whose run is gone (run_id was never a foreign key)
    await db.close()

    await run_migrations(config=db.tortoise_config(url))
    await db.close()

    await db.init(url)
    rows = await db.fetch(
        "SELECT id_number, period, scope, valid_from_run, valid_until_run FROM unfunded_result"
        " ORDER BY valid_from_run, id_number"
    )
    assert [tuple(r.values()) for r in rows] == [
        (A, P1, "", r1, r1 + 1),
        (B, P1, "", r1, r1 + 1),
        (A, P1, "", r2, None),
        (C, P2, "43", r4, None),
    ]

    async def list_of(run_id: int, period: str, scope: str = "") -> set[str]:
        found = await db.fetch(
            f"SELECT id_number FROM unfunded_result r WHERE {list_rows_of('r', run_id, period, scope)}"
        )
        return {r["id_number"] for r in found}

    assert await list_of(r1, P1) == {A, B}
    assert await list_of(r2, P1) == {A}
    assert await list_of(r4, P2, "43") == {C}


async def test_0004_turns_run_copies_into_versions(tmp_path, database_url, orm):
    async with blank_database(tmp_path, "mig") as url:
        try:
            await _convert_and_check(url)
        finally:  # the session's own database again for the tests that follow
            await db.close()
            await db.init(database_url)


async def _triggers_and_tables() -> tuple[set[str], set[str]]:
    triggers = await db.fetch(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST('special_group_record' AS regclass) AND NOT tgisinternal"
        " AND tgname NOT LIKE '%\\_logged'"  # the change log's (migration 0090)
    )
    tables = await db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND (tablename LIKE 'cmp\\_members%' OR tablename = 'comparison_member_stamp')"
    )
    return {r["tgname"] for r in triggers}, {r["tablename"] for r in tables}


@pytest.mark.postgres_only
async def test_0005_adds_and_removes_the_kept_members_trigger(tmp_path, database_url, orm):
    async with blank_database(tmp_path, "mig") as url:
        try:
            await run_migrations(config=db.tortoise_config(url))
            await db.close()
            await db.init(url)
            assert await _triggers_and_tables() == ({"special_group_record_changed"}, {"comparison_member_stamp"})
            await db.execute("CREATE UNLOGGED TABLE cmp_members_2023_2024_1 (id_number text)")
            await db.close()
            await run_migrations(config=db.tortoise_config(url), target="models.0004_scd2_unfunded_list")
            await db.close()
            await db.init(url)
            assert await _triggers_and_tables() == (set(), set())
            await db.close()
            await run_migrations(config=db.tortoise_config(url))
            await db.close()
            await db.init(url)
            assert await _triggers_and_tables() == ({"special_group_record_changed"}, {"comparison_member_stamp"})
        finally:
            await db.close()
            await db.init(database_url)


@pytest.mark.postgres_only
async def test_0090_adds_and_removes_the_change_log(tmp_path, database_url, orm):
    """The change log's triggers log the ID numbers a statement touched, and NULL for a school;
    going back to 0080 removes the triggers, the log, the stamps and the kept states."""
    logged = """SELECT c.relname AS t, count(*) AS n FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
                 WHERE g.tgname LIKE '%\\_logged' GROUP BY c.relname"""
    async with blank_database(tmp_path, "mig") as url:
        try:
            await run_migrations(config=db.tortoise_config(url))
            await db.close()
            await db.init(url)
            tables = ("aid_project", "aid_record", "enrolment", "region", "school", "special_group_record")
            assert {r["t"]: r["n"] for r in await db.fetch(logged)} == dict.fromkeys(tables, 4)
            await db.execute("DELETE FROM comparison_change")
            await db.execute(
                "INSERT INTO enrolment (id_number, name, school_code, stage, grade, status, province)"
                " VALUES ('43010220100101001X', '甲', '2143000002', 'COMPULSORY', '', 'ENROLLED', '43')"
            )
            await db.execute("UPDATE enrolment SET id_number = '430102201001010028'")
            await db.execute("UPDATE school SET name = name WHERE code = 'none'")  # no row: nothing logged
            await db.execute(
                "INSERT INTO school (code, name, region_code, province) VALUES ('2143000099', '乙', '430102', '43')"
            )
            rows = await db.fetch("SELECT id_number FROM comparison_change")
            assert sorted(r["id_number"] or "" for r in rows) == sorted(
                ["43010220100101001X", "43010220100101001X", "430102201001010028", ""]
            )
            await db.execute("CREATE UNLOGGED TABLE cmp_state_2023_2024_1 (id_number text)")
            await db.close()
            await run_migrations(config=db.tortoise_config(url), target="models.0080_duplicate_enrolments")
            await db.close()
            await db.init(url)
            assert await db.fetch(logged) == []
            left = await db.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND (tablename LIKE 'cmp\\_state%'"
                " OR tablename IN ('comparison_change', 'comparison_state_stamp'))"
            )
            assert left == []
        finally:
            await db.close()
            await db.init(database_url)


async def test_0012_remembers_the_runs_that_succeeded_for_trends(tmp_path, database_url, orm):
    """Runs that succeeded before 0012 become trend points with their statistics' totals; a failed
    run does not."""
    async with blank_database(tmp_path, "mig") as url:
        try:
            await run_migrations(config=db.tortoise_config(url), target="models.0005_kept_members")
            await db.close()
            await db.init(url)
            good = await _add_run(P1, "", "SUCCEEDED", True)
            failed = await _add_run(P1, "", "FAILED", False)
            for run_id in (good, failed):
                await db.execute(
                    "INSERT INTO run_statistic (run_id, school_code, region_code, stage, members_00_all,"
                    " funded_00_all) VALUES (:run, '2143000002', '430102', 'COMPULSORY', 5, 2)",
                    {"run": run_id},
                )
            await db.close()
            await run_migrations(config=db.tortoise_config(url))
            await db.close()
            await db.init(url)
            history = await db.fetch("SELECT run_id, period, scope FROM run_history")
            assert [tuple(r.values()) for r in history] == [(good, P1, "")]
            trend = await db.fetch("SELECT run_id, school_code, stage, members, funded FROM run_trend")
            assert [tuple(r.values()) for r in trend] == [(good, "2143000002", "COMPULSORY", 5, 2)]
        finally:
            await db.close()
            await db.init(database_url)


async def test_0030_splits_review_windows_in_two_and_names_the_roster_entries(tmp_path, database_url, orm):
    """Each shared REVIEW window becomes a SCHOOL_REVIEW and an AUTHORITY_REVIEW window with the
    same bounds; aid records stored without a name take the child's name from the enrolment at
    their school (the preschool one first)."""
    start = dt.datetime(2023, 9, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    end = dt.datetime(2024, 1, 26, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    async with blank_database(tmp_path, "zizhu_mig") as url:
        try:
            await run_migrations(config=db.tortoise_config(url), target="models.0012_reporting_history")
            await db.close()
            await db.init(url)
            for action, province, until in (
                ("ENTRY", "", end),
                ("REVIEW", "", end),
                ("REVIEW", "43", end + dt.timedelta(days=3)),
            ):
                await db.execute(
                    "INSERT INTO time_window (period, project_code, action, province, start, \"end\", updated_by)"
                    " VALUES (:p, 'PRE_GOV', :a, :prov, :s, :e, 'admin')",
                    {"p": P1, "a": action, "prov": province, "s": start, "e": until},
                )
            for id_number, stage, name in (
                (A, "COMPULSORY", "小学名"),
                (A, "PRESCHOOL", "王一"),
                (C, "PRESCHOOL", "李三"),
            ):
                await db.execute(
                    "INSERT INTO enrolment (id_number, name, school_code, stage, grade, status, province)"
                    " VALUES (:i, :n, '1143000001', :s, '', 'ENROLLED', '43')",
                    {"i": id_number, "n": name, "s": stage},
                )
            for id_number, name in ((A, ""), (B, ""), (C, "已有名")):
                await db.execute(
                    "INSERT INTO aid_record (id_number, name, school_code, project_code, period, amount, status,"
                    " province, updated_at) VALUES (:i, :n, '1143000001', 'PRE_GOV', :p, 1000, 'SUBMITTED', '43', :t)",
                    {"i": id_number, "n": name, "p": P1, "t": start},
                )
            await db.close()
            await run_migrations(config=db.tortoise_config(url))
            await db.close()
            await db.init(url)
            rows = await db.fetch("SELECT action, province, \"end\" FROM time_window ORDER BY action, province")
            got = [
                (
                    r["action"],
                    r["province"],
                    dt.datetime.fromisoformat(str(r["end"])) if isinstance(r["end"], str) else r["end"],
                )
                for r in rows
            ]
            assert [(a, p) for a, p, _ in got] == [
                ("AUTHORITY_REVIEW", ""),
                ("AUTHORITY_REVIEW", "43"),
                ("ENTRY", ""),
                ("SCHOOL_REVIEW", ""),
                ("SCHOOL_REVIEW", "43"),
            ]
            ends = {(a, p): e for a, p, e in got}
            assert ends[("SCHOOL_REVIEW", "43")] == ends[("AUTHORITY_REVIEW", "43")] == end + dt.timedelta(days=3)
            assert ends[("SCHOOL_REVIEW", "")] == ends[("AUTHORITY_REVIEW", "")] == end
            names = await db.fetch("SELECT id_number, name FROM aid_record ORDER BY id_number")
            assert {r["id_number"]: r["name"] for r in names} == {A: "王一", B: "", C: "已有名"}
        finally:
            await db.close()
            await db.init(database_url)
