"""A national run computed from the day's changes (domain/comparison/incremental.py) publishes
exactly what a full run would: under random writes of every kind (raw SQL included), each run
computed from the changes is followed by a full run that must find nothing to change — the same
statistics, region rows, unmatched members, duplicate placements, totals and list (hypothesis).
And the runs that must be full are: a first run, a changed school or project, a large import,
a lost state."""

from __future__ import annotations

import logging
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_comparison import P, aid, compare, enrol, member, sid
from zizhu.domain import db
from zizhu.domain.comparison import engine, incremental, reason_counts
from zizhu.domain.comparison.steps import list_rows_of
from zizhu.domain.models import AidRecord, ComparisonRun, Enrolment, SpecialGroupRecord

pytestmark = pytest.mark.postgres_only

SCHOOLS = ("2143000002", "2143000003", "2143000008", "2144000009")  # compulsory, two provinces
STUDENTS = 8
EXAMPLES = int(os.environ.get("ZIZHU_HYPOTHESIS_EXAMPLES", "15"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("ZIZHU_HYPOTHESIS_EXPLORE"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def who(n: int) -> str:
    return sid(200 + n)


async def run_from_changes(caplog) -> ComparisonRun:
    """A national run that must have been computed from the changes."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zizhu.comparison"):
        run = await compare()
    assert any("from the changes" in r.getMessage() for r in caplog.records), "the run was a full one"
    return run


async def run_in_full() -> ComparisonRun:
    run = await engine.run_comparison_now(P, trigger="CLI", requested_by="test", full=True)
    assert run.status == "SUCCEEDED", run.error
    return run


async def rows(table: str, run_id: int, *, drop: tuple[str, ...] = ("id", "run_id")) -> list[tuple]:
    found = await db.fetch(f"SELECT * FROM {table} WHERE run_id = :run", {"run": run_id})
    return sorted(tuple(str(v) for k, v in r.items() if k not in drop) for r in found)


async def published(run: ComparisonRun) -> dict:
    """Everything a run publishes, keyed so that two runs of the same data compare equal."""
    listed = await db.fetch(
        f"""SELECT id_number, school_code, stage, project, name, region_code, province, central_mask, self_mask
              FROM unfunded_result o WHERE {list_rows_of("o", run.id, P, "", None)}"""
    )
    totals = ("members", "matched", "unmatched", "funded", "unfunded", "duplicate_enrolments")
    return {
        "totals": {k: getattr(run, k) for k in totals},
        "list": sorted(tuple(r.values()) for r in listed),
        **{t: await rows(t, run.id) for t in ("run_statistic", "region_statistic", "unmatched_member")},
        "duplicate_enrolment": await rows("duplicate_enrolment", run.id),
    }


async def same_as_a_full_run(run: ComparisonRun) -> None:
    full = await run_in_full()
    assert await published(full) == await published(run)
    assert (full.newly_unfunded, full.newly_funded) == (0, 0)
    assert not await db.fetch(  # the full run closed and added no list row
        "SELECT id FROM unfunded_result WHERE valid_from_run = :r OR valid_until_run = :r", {"r": full.id}
    )
    assert await reason_counts.recount() == []


student = st.integers(1, STUDENTS)
school = st.sampled_from(SCHOOLS)
operation = st.one_of(
    st.tuples(st.just("fund"), student, st.sampled_from(["CMP_LIVING", "CMP_NUTRITION"])),
    st.tuples(st.just("unfund"), student),
    st.tuples(st.just("return aid"), student),
    st.tuples(st.just("move"), student, school),
    st.tuples(st.just("enrol twice"), student, school),
    st.tuples(st.just("leave"), student),
    st.tuples(st.just("new category"), student, st.integers(1, 13)),
    st.tuples(st.just("drop records"), student),
    st.tuples(st.just("rename"), student),
    st.tuples(st.just("report"), student),
    st.tuples(st.just("run"), st.sampled_from(["national", "province"])),
)


async def apply(op: tuple, caplog) -> None:
    kind, *args = op
    n = args[0] if args and isinstance(args[0], int) and kind != "run" else 0
    if kind == "fund":
        if not await AidRecord.exists(id_number=who(n), project_code=args[1]):
            await aid(who(n), args[1])
    elif kind == "unfund":
        await AidRecord.filter(id_number=who(n)).delete()
    elif kind == "return aid":  # raw SQL: no domain code involved
        await db.execute("UPDATE aid_record SET status = 'RETURNED' WHERE id_number = :id", {"id": who(n)})
    elif kind == "move":
        await Enrolment.filter(id_number=who(n)).update(status="TRANSFERRED")
        if await Enrolment.exists(id_number=who(n), school_code=args[1]):
            await Enrolment.filter(id_number=who(n), school_code=args[1]).update(status="ENROLLED")
        else:
            await enrol(who(n), args[1])
    elif kind == "enrol twice":
        if not await Enrolment.exists(id_number=who(n), school_code=args[1]):
            await enrol(who(n), args[1])
    elif kind == "leave":
        await db.execute("UPDATE enrolment SET status = 'GRADUATED' WHERE id_number = :id", {"id": who(n)})
    elif kind == "new category":
        category = f"{args[1]:02d}"
        if not await SpecialGroupRecord.exists(id_number=who(n), category=category, source="SELF"):
            await member(who(n), category, "SELF")
    elif kind == "drop records":
        await SpecialGroupRecord.filter(id_number=who(n)).delete()
    elif kind == "rename":
        await db.execute("UPDATE enrolment SET name = name || '改' WHERE id_number = :id", {"id": who(n)})
    elif kind == "report":
        await db.execute(
            """INSERT INTO unfunded_reason (period, stage, id_number, school_code, province, reason_code,
                                            detail, reported_by, reported_at)
               SELECT CAST(:p AS VARCHAR), 'COMPULSORY', CAST(:id AS VARCHAR), e.school_code, e.province, '01', '', 'test', now()
                 FROM enrolment e WHERE e.id_number = :id AND e.status = 'ENROLLED'
                  AND NOT EXISTS (SELECT 1 FROM unfunded_reason r WHERE r.period = :p AND r.id_number = :id)
                LIMIT 1""",
            {"p": P, "id": who(n)},
        )
        await reason_counts_rebuilt()
    elif args[0] == "province":
        run = await engine.create_run(P, "CLI", "test", province="43")
        assert (await engine.execute_run(run.id)).status == "SUCCEEDED"
    else:
        await same_as_a_full_run(await run_from_changes(caplog))


async def reason_counts_rebuilt() -> None:
    """A reason written by raw SQL bypasses the counters: count them again, as an operator would."""
    async with db.transaction() as tx:
        await reason_counts.rebuild_period(tx, P)


@pytest.fixture
async def students(world):
    for n in range(1, STUDENTS + 1):
        await member(who(n), f"{n:02d}", "CENTRAL" if n % 2 else "SELF")
        if n % 3 == 0:
            await member(who(n), "05", "SELF")
        if n != STUDENTS:  # the last one is not enrolled anywhere: unmatched
            await enrol(who(n), SCHOOLS[n % len(SCHOOLS)])
        if n % 4 == 0:
            await aid(who(n), "CMP_NUTRITION")
    await compare()  # a first run: full, and keeps the state


@PROPERTY
@given(ops=st.lists(operation, min_size=1, max_size=8))
async def test_a_run_from_the_changes_publishes_what_a_full_run_would(students, caplog, ops):
    for op in ops:
        await apply(op, caplog)
    await apply(("run", "national"), caplog)


async def test_the_runs_that_must_be_full_are(students, caplog):
    await aid(who(1))
    await run_from_changes(caplog)  # the fixture's run kept the state
    for write in (
        "UPDATE school SET name = name || '新' WHERE code = '2143000002'",  # the schools changed
        "UPDATE aid_project SET name = name WHERE code = 'CMP_LIVING'",  # the catalogue changed
        "TRUNCATE run_trend",  # not a table of the comparison's inputs: still from the changes
    ):
        await db.execute(write)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="zizhu.comparison"):
            run = await compare()
        partial = any("from the changes" in r.getMessage() for r in caplog.records)
        assert partial == write.startswith("TRUNCATE"), write
        await same_as_a_full_run(run)
    await db.execute(f"TRUNCATE {incremental.state_table(P)}")  # as a crash leaves an unlogged table
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zizhu.comparison"):
        await compare()
    assert not any("from the changes" in r.getMessage() for r in caplog.records)
    await db.execute(
        "INSERT INTO enrolment (id_number, name, school_code, stage, grade, status, province)"
        " SELECT '43' || lpad(CAST(i AS text), 16, '0'), '批量', '2143000002', 'COMPULSORY', '', 'ENROLLED', '43'"
        " FROM generate_series(1, 100001) i"
    )  # a statement too large to log student by student
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zizhu.comparison"):
        await compare()
    assert not any("from the changes" in r.getMessage() for r in caplog.records)
    await aid(who(2))
    await same_as_a_full_run(await run_from_changes(caplog))
