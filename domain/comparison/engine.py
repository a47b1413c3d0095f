"""The special-group comparison (特殊群体学生资助比对), docs/domain.md: runs and their publication.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import cast

from zizhu.domain import db, versions
from zizhu.domain.comparison import incremental, leases, reason_counts, steps
from zizhu.domain.errors import NotFound
from zizhu.domain.models import ComparisonRun
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.settings import SHANGHAI

log = logging.getLogger("zizhu.comparison")

HISTORY = 10  # runs kept per (period, province)
STEP_HOOK: Callable[[str], Awaitable[None]] | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


async def _step(name: str) -> None:
    if STEP_HOOK is not None:
        await STEP_HOOK(name)


async def _publish(tx, run: ComparisonRun, counts: dict[str, int], changes: tuple[int, int]) -> dt.datetime:
    if run.province:
        await db.execute(
            "UPDATE comparison_run SET published = :f WHERE period = :period AND province = :province"
            " AND published = :t AND id <> :run",
            {"f": False, "t": True, "period": run.period, "province": run.province, "run": run.id},
            client=tx,
        )
    else:  # a national run supersedes every run of the period
        await db.execute(
            "UPDATE comparison_run SET published = :f WHERE period = :period AND published = :t AND id <> :run",
            {"f": False, "t": True, "period": run.period, "run": run.id},
            client=tx,
        )
    members = counts["members"] if not run.province else counts["matched"]
    finished = _now()
    held = (
        await ComparisonRun.filter(id=run.id, status="RUNNING")
        .using_db(tx)
        .update(
            status="SUCCEEDED",
            published=True,
            finished_at=finished,
            error=None,
            lease_until=None,
            members=members,
            matched=counts["matched"],
            unmatched=members - counts["matched"],
            funded=counts["funded"],
            unfunded=counts["unfunded"],
            newly_unfunded=changes[0],
            newly_funded=changes[1],
            duplicate_enrolments=counts["duplicate_enrolments"],
        )
    )
    if not held:  # its lease expired and it was marked FAILED meanwhile: publish nothing
        raise RuntimeError(f"comparison run {run.id} lost its lease before publishing")
    await versions.bump(tx, province=run.province or None)  # a national run moves every area
    return finished


async def prune_history(period: str, province: str = "", keep: int | None = None) -> int:
    """Delete finished, unpublished runs of (period, province) beyond the newest `keep` (default
    HISTORY), with their statistics and changes, and the list versions no remaining run can see any
    more (closed at or before the oldest remaining run). Returns how many runs were removed."""
    keep = HISTORY if keep is None else keep
    keep_ids = [r.id for r in await ComparisonRun.filter(period=period, province=province).order_by("-id").limit(keep)]
    old = await ComparisonRun.filter(
        period=period, province=province, published=False, status__in=("SUCCEEDED", "FAILED")
    ).exclude(id__in=keep_ids or [0])
    for run in old:
        async with db.transaction() as tx:
            for table in (
                "run_statistic",
                "region_statistic",
                "run_change",
                "duplicate_enrolment",
                "reason_count",
                "unmatched_member",
            ):
                await db.execute(f"DELETE FROM {table} WHERE run_id = :run", {"run": run.id}, client=tx)
            await ComparisonRun.filter(id=run.id).using_db(tx).delete()
    oldest = await ComparisonRun.filter(period=period, province=province).order_by("id").first()
    if oldest is not None:
        await db.execute(
            "DELETE FROM unfunded_result WHERE period = :period AND scope = :scope"
            " AND valid_until_run IS NOT NULL AND valid_until_run <= :oldest",
            {"period": period, "scope": province, "oldest": oldest.id},
        )
    return len(old)


# --- public interface ----------------------------------------------------------------------
async def create_run(
    period: str, trigger: str, requested_by: str | None, province: str = "", job_id: str | None = None
) -> ComparisonRun:
    """Insert a QUEUED run (or return the existing run of `job_id`)."""
    semester = parse_semester(period)
    if job_id:
        existing = await ComparisonRun.get_or_none(job_id=job_id)
        if existing is not None:
            return existing
    return await ComparisonRun.create(
        period=semester.code,
        province=province,
        trigger=trigger,
        requested_by=requested_by,
        status="QUEUED",
        queued_at=_now(),
        job_id=job_id,
    )


async def get_run(run_id: int) -> ComparisonRun:
    run = await ComparisonRun.get_or_none(id=run_id)
    if run is None:
        raise NotFound(f"未找到比对批次 {run_id}")
    return run


async def _compute_and_publish(
    tx, run: ComparisonRun, work: steps.Work, previous: int | None, full: bool = False
) -> None:
    """`previous`: the chain's latest succeeded run (whose list rows are current), None for a first
    run. A national run on PostgreSQL computes only the students who changed since `previous` when
    it can (`incremental`), and carries the rest over, unless `full`."""
    baseline = previous is not None
    seen = await incremental.snapshot(work)
    changed = None if full else await incremental.changes_since(work, run, previous)
    only = work.dirty if changed else None
    if changed:
        log.info(
            "comparison run %s computed from the changes of %s students since run %s",
            run.id,
            work.rows[work.dirty],
            previous,
        )
    await _step("members")
    await steps.members(work, run, only)
    await _step("matched")
    await steps.matched(work, run)
    await steps.unmatched(work, run, also=changed.other_unmatched() if changed else "")
    await _step("duplicates")
    duplicates = await steps.duplicates(work, run)
    if changed:
        duplicates = await changed.other_duplicates()
    await _step("unfunded")
    await steps.unfunded(work, run, await changed.aid_records() if changed else "aid_record")
    await _step("results")
    await steps.list_rows(work, run, baseline, work.listed_before if changed else None)
    await _step("statistics")
    await steps.statistics(work, run.id, changed.earlier() if changed else None)
    await _step("changes")
    changes = await steps.changes(work, run) if baseline else (0, 0)
    counts = {**await (changed.counts() if changed else steps.counts(work)), "duplicate_enrolments": duplicates}
    await incremental.keep_state(work, run, seen, changed)
    # from here to the commit no reason of the period is written: the counters stay exact
    await reason_counts.hold_for_publication(tx, run.period)
    await reason_counts.for_new_run(tx, run.id, run.period, run.province, previous, work.diff)
    await _step("publish")
    finished = await _publish(tx, run, counts, changes)
    await reason_counts.drop_unpublished(tx, run.period)
    await steps.history(work, run, finished)
    await work.drop()


async def _keep_members(period: str) -> None:
    """Bring the period's kept members up to date (PostgreSQL). The run is correct without them:
    it then groups the records itself, so a failure here is only logged."""
    try:
        await steps.keep_members(period)
    except Exception:
        log.exception("keeping the members of %s failed", period)


async def execute_run(run_id: int, full: bool = False) -> ComparisonRun:
    """Compute and publish the run. On failure: rolled back, error recorded, status left RUNNING,
    exception re-raised (the caller retries or calls `mark_failed`).

    While it works the run holds a lease (`leases`), renewed in the background; RUNNING runs
    whose lease expired (their worker died) are marked FAILED first, so they never hold this
    run up.

    Runs of a chain must publish in id order (a run's list versions are valid from its id on):
    a run that finds, once it holds the chain's lock, that a newer run of the chain has already
    succeeded (e.g. a retry overtaken by a manual recompute) is marked FAILED as superseded —
    the newer run's figures are fresher anyway — and nothing is written.

    `full`: compute every student, even where the changes since the previous run would do."""
    run = await get_run(run_id)
    if run.status == "SUCCEEDED":
        return run
    await leases.expire_lapsed_runs(but=run.id)
    await ComparisonRun.filter(id=run.id).update(
        status="RUNNING", started_at=_now(), attempts=run.attempts + 1, lease_until=leases.lease_end()
    )
    newer = None
    try:
        if db.is_postgres() and (full or not await incremental.worth_trying(run.period, run.province)):
            await _keep_members(run.period)
        async with leases.renewing(run.id), db.transaction() as tx:
            work = steps.Work(tx, run.id, db.is_postgres(tx))
            await work.prepare(run)
            succeeded = cast(
                list[int],
                await ComparisonRun.filter(  # the chain's other runs that succeeded
                    period=run.period, province=run.province, status="SUCCEEDED"
                )
                .using_db(tx)
                .exclude(id=run.id)
                .values_list("id", flat=True),
            )
            newer = max((i for i in succeeded if i > run.id), default=None)
            if newer is None:  # a first run of the chain has no baseline for changes
                await _compute_and_publish(tx, run, work, max(succeeded, default=None), full)
    except BaseException as exc:
        await ComparisonRun.filter(id=run.id).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    if newer is not None:
        log.warning("comparison run %s superseded by run %s", run.id, newer)
        return await mark_failed(run.id, f"已被较新的比对批次 {newer} 取代（它已先完成），本批次未计算")
    try:
        await prune_history(run.period, run.province)
    except Exception:  # the run is published; a failed clean-up is retried after the next run
        log.exception("pruning the run history of %s failed", run.period)
    return await get_run(run.id)


async def mark_failed(run_id: int, error: str) -> ComparisonRun:
    await get_run(run_id)
    await ComparisonRun.filter(id=run_id).update(
        status="FAILED", finished_at=_now(), error=error[:2000], lease_until=None
    )
    return await get_run(run_id)


async def run_comparison_now(
    period: str, trigger: str = "CLI", requested_by: str | None = None, full: bool = False
) -> ComparisonRun:
    """Create and execute a run in-process (`zizhu compare [--full]`). A failure returns the FAILED run."""
    run = await create_run(period, trigger, requested_by)
    try:
        return await execute_run(run.id, full)
    except Exception as exc:
        log.exception("comparison run %s failed", run.id)
        return await mark_failed(run.id, f"{type(exc).__name__}: {exc}")


async def published_run(period: str, province: str = "") -> ComparisonRun | None:
    return await ComparisonRun.filter(period=period, province=province, published=True).order_by("-id").first()


def sources_of(published: list[ComparisonRun]) -> list[tuple[int, str | None, tuple[str, ...]]]:
    """The runs whose rows are current, from a period's published runs in id order: (run_id,
    province or None for national, provinces to exclude from a national run because a newer
    province run replaced them)."""
    provinces = tuple(sorted({r.province for r in published if r.province}))
    return [(r.id, r.province or None, () if r.province else provinces) for r in published]


async def published_sources(period: str) -> list[tuple[int, str | None, tuple[str, ...]]]:
    """`sources_of` the published runs of `period`."""
    return sources_of(await ComparisonRun.filter(period=period, published=True).order_by("id"))
