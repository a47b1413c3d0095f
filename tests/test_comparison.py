"""The comparison engine (docs/domain.md, the comparison): every rule on a hand-made data set, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from tortoise.expressions import Q

from tests.support.world import student_id
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.comparison.steps import list_rows_of
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.models import (
    AidRecord,
    ComparisonRun,
    Enrolment,
    RunChange,
    RunStatistic,
    SpecialGroupRecord,
    UnfundedReason,
    UnfundedResult,
)
from zizhu.domain.settings import SHANGHAI

P = "2023-2024-1"
P2 = "2023-2024-2"
PRIMARY = "2143000002"  # 芙蓉区实验小学, county 430102
PRIMARY_2 = "2143000003"  # 天心区九年一贯制学校, county 430103
HIGH = "3443000004"  # 长沙市第一中学, city 430100
UNIVERSITY = "4143000006"  # 湖南省属大学, province 430000


def sid(n: int) -> str:
    return student_id(n)


def x_id() -> str:
    """A valid ID whose check character is X."""
    return next(student_id(n) for n in range(1, 999) if student_id(n).endswith("X"))


async def member(id_number: str, category: str = "01", source: str = "CENTRAL", period: str = P) -> None:
    await SpecialGroupRecord.create(id_number=id_number, name="学生", category=category, source=source, period=period)


async def enrol(id_number: str, school: str = PRIMARY, stage: str = "COMPULSORY", status: str = "ENROLLED") -> None:
    await Enrolment.create(
        id_number=id_number, name="学生", school_code=school, stage=stage, status=status, province=school[2:4]
    )


async def aid(
    id_number: str, project: str = "CMP_LIVING", period: str = P, status: str = "APPROVED", school: str = PRIMARY
) -> None:
    await AidRecord.create(
        id_number=id_number,
        school_code=school,
        project_code=project,
        period=period,
        amount=Decimal("500.00"),
        status=status,
        province=school[2:4],
    )


async def compare(period: str = P) -> ComparisonRun:
    run = await comparison.run_comparison_now(period, trigger="CLI", requested_by="test")
    assert run.status == "SUCCEEDED", run.error
    return run


async def list_rows(run: ComparisonRun) -> list[UnfundedResult]:
    """The run's unfunded list as readers see it (the versions valid at that run)."""
    cond = list_rows_of("r", run.id, run.period, run.province)
    return list(await UnfundedResult.raw(f"SELECT * FROM unfunded_result r WHERE {cond} ORDER BY r.id"))


async def unfunded(run: ComparisonRun) -> set[str]:
    return {r.id_number for r in await list_rows(run)}


def counts(run: ComparisonRun) -> tuple[int, int, int, int, int]:
    return run.members, run.matched, run.unmatched, run.funded, run.unfunded


def cells(row: RunStatistic) -> dict[tuple[str, str], tuple[int, int, int]]:
    """The wide row read back as {(category, source): (members, funded, unfunded)}, non-empty cells only."""
    out = {}
    for category in ["00"] + [f"{k:02d}" for k in range(1, 14)]:
        for source in ("ALL", "CENTRAL", "SELF"):
            members = getattr(row, f"members_{category}_{source.lower()}")
            funded = getattr(row, f"funded_{category}_{source.lower()}")
            if members:
                out[(category, source)] = (members, funded, members - funded)
    return out


async def stat(run: ComparisonRun, school: str, category: str, source: str, stage: str = "COMPULSORY"):
    row = await RunStatistic.get_or_none(run_id=run.id, school_code=school, stage=stage, project="")
    return None if row is None else cells(row).get((category, source))


# --- funding rules -----------------------------------------------------------------------------
async def test_merit_aid_does_not_fund_relief_does(world):
    await member(sid(1))
    await enrol(sid(1), UNIVERSITY, "HIGHER")
    await aid(sid(1), "HE_NATIONAL_SCHOLARSHIP", "2023-2024")
    await member(sid(2))
    await enrol(sid(2), UNIVERSITY, "HIGHER")
    await aid(sid(2), "HE_GRANT", "2023-2024")
    await member(sid(3))
    await enrol(sid(3))
    await aid(sid(3), "CMP_NUTRITION")  # kind OTHER
    run = await compare()
    assert counts(run) == (3, 3, 0, 1, 2)
    assert await unfunded(run) == {sid(1), sid(3)}


async def test_only_approved_aid_funds(world):
    for n, status in enumerate(["DRAFT", "SUBMITTED", "SCHOOL_APPROVED", "RETURNED", "APPROVED"], start=1):
        await member(sid(n))
        await enrol(sid(n))
        await aid(sid(n), status=status)
    run = await compare()
    assert counts(run) == (5, 5, 0, 1, 4)
    assert await unfunded(run) == {sid(1), sid(2), sid(3), sid(4)}


async def test_another_stages_relief_project_does_not_fund(world):
    await member(sid(1))
    await enrol(sid(1))
    await aid(sid(1), "GH_GRANT", school=HIGH)
    await member(sid(2))
    await enrol(sid(2), HIGH, "GENERAL_HIGH")
    await aid(sid(2), "GH_GRANT", school=HIGH)
    run = await compare()
    assert counts(run) == (2, 2, 0, 1, 1)
    assert await unfunded(run) == {sid(1)}


async def test_year_cycle_project_funds_both_semesters_only_its_year(world):
    for period in (P, P2):
        for n in (1, 2, 3):
            await member(sid(n), period=period)
    for n in (1, 2, 3):
        await enrol(sid(n), UNIVERSITY, "HIGHER")
    await aid(sid(1), "HE_GRANT", "2023-2024", school=UNIVERSITY)
    await aid(sid(2), "HE_GRANT", "2022-2023", school=UNIVERSITY)  # last year's grant
    await aid(sid(3), "CMP_LIVING", P2)  # a semester record of the other semester (and stage)
    autumn, spring = await compare(P), await compare(P2)
    assert counts(autumn) == (3, 3, 0, 1, 2)
    assert counts(spring) == (3, 3, 0, 1, 2)
    assert await unfunded(autumn) == await unfunded(spring) == {sid(2), sid(3)}


async def test_semester_project_funds_only_its_semester(world):
    await member(sid(1))
    await member(sid(1), period=P2)
    await enrol(sid(1))
    await aid(sid(1), period=P)
    autumn, spring = await compare(P), await compare(P2)
    assert (autumn.funded, autumn.unfunded) == (1, 0)
    assert (spring.funded, spring.unfunded) == (0, 1)


async def test_funding_is_by_person_and_stage_not_school(world):
    await member(sid(1))
    await enrol(sid(1), PRIMARY)
    await aid(sid(1), school=PRIMARY_2)
    run = await compare()
    assert counts(run) == (1, 1, 0, 1, 0)


# --- matching ------------------------------------------------------------------------------------
async def test_members_not_enrolled_are_unmatched(world):
    await member(sid(1))  # no enrolment at all
    await member(sid(2))
    await enrol(sid(2), status="GRADUATED")
    await member(sid(3))
    await enrol(sid(3), status="TRANSFERRED")
    await enrol(sid(3), PRIMARY_2)
    await member(sid(4), period=P2)
    await enrol(sid(4))  # another period's member
    run = await compare()
    assert counts(run) == (3, 1, 2, 0, 1)
    assert {(r.id_number, r.school_code) for r in await list_rows(run)} == {(sid(3), PRIMARY_2)}


async def test_lower_case_x_matches_and_duplicates_do_not_double_count(world):
    x = x_id()
    await member(x.lower(), "01", "CENTRAL")
    await member(x, "01", "CENTRAL")  # the same record again, upper-case
    await member(x, "05", "SELF")
    await enrol(x)
    await member(sid(500))
    await enrol(sid(500))
    await aid(sid(500))
    await aid(sid(500), "CMP_NUTRITION")  # two aid records, one funded row
    run = await compare()
    assert counts(run) == (2, 2, 0, 1, 1)
    (row,) = await list_rows(run)
    assert (row.id_number, row.central_mask, row.self_mask) == (x, 1, 16)
    assert await stat(run, PRIMARY, "00", "ALL") == (2, 1, 1)
    assert await stat(run, PRIMARY, "01", "CENTRAL") == (2, 1, 1)
    assert await stat(run, PRIMARY, "05", "SELF") == (1, 0, 1)
    assert await stat(run, PRIMARY, "05", "CENTRAL") is None


async def test_several_categories_and_sources_count_once_each(world):
    a, b, c = sid(1), sid(2), sid(3)
    for cat, src in [("01", "CENTRAL"), ("05", "CENTRAL"), ("05", "SELF"), ("07", "SELF")]:
        await member(a, cat, src)
    await member(b, "01", "SELF")
    await member(c, "13", "CENTRAL")
    await aid(c)
    for n in (a, b, c):
        await enrol(n)
    run = await compare()
    assert counts(run) == (3, 3, 0, 1, 2)
    masks = {r.id_number: (r.central_mask, r.self_mask) for r in await list_rows(run)}
    assert masks == {a: (1 + 16, 16 + 64), b: (0, 1)}
    expected = {
        ("00", "ALL"): (3, 1, 2),
        ("00", "CENTRAL"): (2, 1, 1),
        ("00", "SELF"): (2, 0, 2),
        ("01", "ALL"): (2, 0, 2),
        ("01", "CENTRAL"): (1, 0, 1),
        ("01", "SELF"): (1, 0, 1),
        ("05", "ALL"): (1, 0, 1),
        ("05", "CENTRAL"): (1, 0, 1),
        ("05", "SELF"): (1, 0, 1),
        ("07", "ALL"): (1, 0, 1),
        ("07", "SELF"): (1, 0, 1),
        ("13", "ALL"): (1, 1, 0),
        ("13", "CENTRAL"): (1, 1, 0),
    }
    rows = await RunStatistic.filter(run_id=run.id, project="")
    assert len(rows) == 1 and cells(rows[0]) == expected
    assert {(r.school_code, r.region_code, r.stage) for r in rows} == {(PRIMARY, "430102", "COMPULSORY")}


async def test_one_student_in_two_stages_counts_once_per_stage(world):
    await member(sid(1))
    await enrol(sid(1), PRIMARY_2, "COMPULSORY")
    await enrol(sid(1), HIGH, "GENERAL_HIGH")
    await aid(sid(1), "GH_GRANT", school=HIGH)
    run = await compare()
    assert counts(run) == (1, 1, 0, 1, 1)
    assert await stat(run, PRIMARY_2, "00", "ALL") == (1, 0, 1)
    assert await stat(run, HIGH, "00", "ALL", "GENERAL_HIGH") == (1, 1, 0)


# --- runs, changes, publication -----------------------------------------------------------------
async def test_two_runs_of_one_period_at_once_keep_one_list(world):
    for n in (1, 2, 3):
        await member(sid(n))
        await enrol(sid(n))
    await compare()
    await aid(sid(1))  # funded now
    await member(sid(4))
    await enrol(sid(4))  # a new unfunded student: both runs would add it
    runs = [await comparison.create_run(P, "MANUAL", "admin") for _ in range(2)]
    done = await asyncio.gather(*(comparison.execute_run(r.id) for r in runs))
    # the newer one always succeeds; the older one too if it took the chain's lock first, else
    # it finds the newer one succeeded and is superseded
    assert done[1].status == "SUCCEEDED"
    assert done[0].status == "SUCCEEDED" or "取代" in done[0].error
    assert await unfunded(await comparison.published_run(P)) == {sid(2), sid(3), sid(4)}
    assert await UnfundedResult.filter(valid_until_run=None).count() == 3  # no row added twice
    assert sorted((r.newly_unfunded, r.newly_funded) for r in done) == [(0, 0), (1, 1)]


async def test_a_run_overtaken_by_a_newer_one_is_superseded_not_published(world):
    for n in (1, 2):
        await member(sid(n))
        await enrol(sid(n))
    await compare()
    retried, manual = [await comparison.create_run(P, trigger, "admin") for trigger in ("CRON", "MANUAL")]
    await aid(sid(1))
    await member(sid(3))
    await enrol(sid(3))
    manual = await comparison.execute_run(manual.id)  # the manual recompute finishes first
    retried = await comparison.execute_run(retried.id)  # then the older run's retry comes in
    assert (retried.status, retried.published) == ("FAILED", False)
    assert f"{manual.id}" in retried.error and "取代" in retried.error
    assert (await comparison.published_run(P)).id == manual.id
    assert await unfunded(manual) == {sid(2), sid(3)}
    assert (manual.newly_unfunded, manual.newly_funded) == (1, 1)


async def test_rerun_changes_and_reasons_survive(world):
    a, b, c = sid(1), sid(2), sid(3)
    for n in (a, b, c):
        await member(n)
        await enrol(n)
    await aid(c)
    first = await compare()
    assert (first.unfunded, first.newly_unfunded, first.newly_funded) == (2, 0, 0)  # no baseline
    await UnfundedReason.create(
        period=P,
        stage="COMPULSORY",
        id_number=b,
        school_code=PRIMARY,
        province="43",
        reason_code="01",
        reported_by="school_op",
        reported_at=dt.datetime(2024, 1, 2, tzinfo=SHANGHAI),
    )
    await aid(a)  # a becomes funded
    await AidRecord.filter(id_number=c).update(status="RETURNED")  # c loses its aid
    await Enrolment.filter(id_number=b).update(status="GRADUATED")  # b leaves: neither list
    second = await compare()
    assert counts(second) == (3, 2, 1, 1, 1)
    assert (second.newly_unfunded, second.newly_funded) == (1, 1)
    changes = {(r.change, r.id_number) for r in await RunChange.filter(run_id=second.id)}
    assert changes == {("NEWLY_FUNDED", a), ("NEWLY_UNFUNDED", c)}
    assert await UnfundedReason.filter(period=P, id_number=b).count() == 1
    assert [r.id for r in await ComparisonRun.filter(published=True)] == [second.id]
    assert await comparison.published_run(P) == second


async def test_failure_between_steps_keeps_previous_run_published(world):
    await member(sid(1))
    await enrol(sid(1))
    first = await compare()
    await member(sid(2))
    await enrol(sid(2))

    for step in ("statistics", "changes", "publish"):

        async def boom(name: str, step=step) -> None:
            if name == step:
                raise RuntimeError(f"killed at {name}")

        comparison.STEP_HOOK = boom
        try:
            run = await comparison.create_run(P, "MANUAL", "admin")
            with pytest.raises(RuntimeError):
                await comparison.execute_run(run.id)
        finally:
            comparison.STEP_HOOK = None
        run = await ComparisonRun.get(id=run.id)
        assert (run.status, run.published, run.attempts) == ("RUNNING", False, 1)
        assert f"killed at {step}" in run.error
        assert await UnfundedResult.filter(Q(valid_from_run=run.id) | Q(valid_until_run=run.id)).count() == 0
        assert await RunStatistic.filter(run_id=run.id).count() == 0
        assert (await comparison.published_run(P)).id == first.id
        assert await stat(first, PRIMARY, "00", "ALL") == (1, 0, 1)
        assert await unfunded(first) == {sid(1)}
        failed = await comparison.mark_failed(run.id, "gave up")
        assert (failed.status, failed.error) == ("FAILED", "gave up")

    later = await compare()
    assert (later.unfunded, later.newly_unfunded) == (2, 1)


async def test_run_comparison_now_returns_failed_run(world):
    async def boom(name: str) -> None:
        raise RuntimeError("disk full")

    comparison.STEP_HOOK = boom
    try:
        run = await comparison.run_comparison_now(P)
    finally:
        comparison.STEP_HOOK = None
    assert run.status == "FAILED" and "disk full" in run.error and run.finished_at is not None
    assert await comparison.published_run(P) is None


async def test_history_is_bounded(world):
    await member(sid(1))
    await enrol(sid(1))
    runs = []
    for n in range(12):  # a new name every night: every run closes one version and adds one
        await Enrolment.filter(id_number=sid(1)).update(name=f"学生{n}")
        runs.append(await compare())
    kept = await ComparisonRun.filter(period=P).order_by("id").values_list("id", flat=True)
    assert kept == [r.id for r in runs[2:]]
    assert sorted(await UnfundedResult.all().values_list("valid_from_run", flat=True)) == kept
    for n, run in enumerate(runs[2:], start=2):
        assert [r.name for r in await list_rows(run)] == [f"学生{n}"]
    assert (await comparison.published_run(P)).id == runs[-1].id


async def test_unchanged_rerun_writes_no_list_rows_and_old_runs_stay_readable(world):
    a, b = sid(1), sid(2)
    for n in (a, b):
        await member(n)
        await enrol(n)
    first = await compare()
    rows = await UnfundedResult.all().count()
    second = await compare()
    assert await UnfundedResult.all().count() == rows == 2  # shared by both runs
    assert await unfunded(first) == await unfunded(second) == {a, b}
    await member(a, "05", "SELF")  # a changes (a new category): a new version, not a change event
    await aid(b)  # b is funded now
    third = await compare()
    assert (third.newly_unfunded, third.newly_funded) == (0, 1)
    assert [(r.id_number, r.central_mask, r.self_mask) for r in await list_rows(third)] == [(a, 1, 16)]
    assert sorted((r.id_number, r.self_mask) for r in await list_rows(second)) == [(a, 0), (b, 0)]
    assert await UnfundedResult.all().count() == 3


async def test_create_run_validates_period_and_reuses_job_id(world):
    with pytest.raises(ValidationFailed):
        await comparison.create_run("2023-2025-1", "MANUAL", "admin")
    one = await comparison.create_run(P, "CRON", None, job_id="compare:2023-2024-1:2024-01-02")
    two = await comparison.create_run(P, "CRON", None, job_id="compare:2023-2024-1:2024-01-02")
    assert one.id == two.id and one.status == "QUEUED"
