"""The arq worker against the real Redis: the 02:00 Asia/Shanghai cron, one run per period and
day, a job run end to end in burst mode, bounded retries, and the carry-over job."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from zoneinfo import ZoneInfo

from arq.connections import create_pool
from arq.worker import Worker, create_worker

from tests.support.arq_queue import drop_queue
from tests.support.tiny_comparison import tiny_data_set
from tests.support.world import student_id
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.comparison import queue
from zizhu.domain.models import AuditEntry, ComparisonRun, LegacyPovertyReason, Period, UnfundedReason
from zizhu.workers import main as worker_main
from zizhu.workers.jobs import MAX_TRIES, nightly_compare

UTC = dt.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
P = "2023-2024-1"
SCHOOL = "2143000002"
# 02:00 on 2024-01-10 in Shanghai, given as the UTC instant (18:00 the day before).
TICK = dt.datetime(2024, 1, 9, 18, 0, tzinfo=UTC)


def burst_worker(pool, name: str, **ctx) -> Worker:
    """The real job functions and start-up hooks, run once over the queue."""
    return Worker(
        functions=worker_main.FUNCTIONS,
        redis_pool=pool,
        burst=True,
        poll_delay=0,
        handle_signals=False,
        queue_name=name,
        on_startup=worker_main.startup,
        on_shutdown=worker_main.shutdown,
        ctx=ctx,
    )


async def run_burst(name: str, **ctx) -> Worker:
    """A burst worker on its own pool (Worker.close() closes it)."""
    pool = await create_pool(queue.redis_settings(), default_queue_name=name)
    worker = burst_worker(pool, name, **ctx)
    try:
        await worker.main()
    finally:
        await worker.close()  # closes the pool too
    return worker


# --- the cron ------------------------------------------------------------------------------
async def test_cron_is_registered_at_0200_shanghai(pool, arq_queue):
    assert worker_main.WorkerSettings.timezone.key == "Asia/Shanghai"
    (job,) = worker_main.WorkerSettings.cron_jobs
    assert (job.name, job.hour, job.minute, job.second, job.unique) == ("cron:nightly_compare", 2, 0, 0, True)
    assert job.keep_result_s >= 24 * 3600

    # Drive the worker's own cron loop on a far-future day (a fresh job id on every test run).
    day = dt.date(2200, 1, 10) + dt.timedelta(days=random.randrange(30000))
    eve = dt.datetime.combine(day, dt.time(1, 59, 59), SHANGHAI)
    workers = [
        create_worker(
            worker_main.WorkerSettings,
            redis_pool=pool,
            queue_name=arq_queue,
            burst=True,
            poll_delay=0,
            handle_signals=False,
        )
        for _ in range(2)
    ]
    expected_utc = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(18, 0, 0, 123000), UTC)
    expected_ms = (expected_utc - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(milliseconds=1)
    cron_job_id = f"cron:nightly_compare:{expected_ms}"
    try:
        for w in workers:
            await w.run_cron(eve, delay=0.5)  # computes the next run only
        assert await pool.queued_jobs(queue_name=arq_queue) == []
        # Both workers tick at 02:00:00 Shanghai: one job.
        at_two = dt.datetime.combine(day, dt.time(2, 0, 0), SHANGHAI)
        await asyncio.gather(*(w.run_cron(at_two, delay=0.5) for w in workers))
        jobs = await pool.queued_jobs(queue_name=arq_queue)
        assert [(j.function, j.job_id) for j in jobs] == [("cron:nightly_compare", cron_job_id)]
        # Scheduled (deferred) for 18:00 UTC the day before, i.e. 02:00 Shanghai.
        assert jobs[0].score == expected_ms
        # Later that night nothing more is enqueued.
        for w in workers:
            await w.run_cron(at_two + dt.timedelta(hours=1), delay=0.5)
        assert len(await pool.queued_jobs(queue_name=arq_queue)) == 1
    finally:
        await drop_queue(arq_queue, extra_job_ids=(cron_job_id,))


async def test_nightly_tick_enqueues_one_job_per_active_period(pool, arq_queue):
    await Period.create(
        code="2022-2023-2",
        academic_year="2022-2023",
        term=2,
        start_date=dt.date(2023, 3, 1),
        end_date=dt.date(2023, 8, 31),
        force_active=True,
    )
    await Period.create(
        code="2023-2024-2",
        academic_year="2023-2024",
        term=2,
        start_date=dt.date(2024, 3, 1),
        end_date=dt.date(2024, 8, 31),
    )
    run_ids = await nightly_compare({"redis": pool, "clock": lambda: TICK})

    # The current semester was created with its default dates.
    current = await Period.get(code=P)
    assert (current.start_date, current.end_date) == (dt.date(2023, 9, 1), dt.date(2024, 2, 29))
    jobs = sorted(await pool.queued_jobs(queue_name=arq_queue), key=lambda j: j.job_id)
    assert [j.job_id for j in jobs] == [
        f"{arq_queue}:compare:2022-2023-2:2024-01-10",
        f"{arq_queue}:compare:2023-2024-1:2024-01-10",
    ]
    assert {j.function for j in jobs} == {"compare_period"}
    runs = await ComparisonRun.all().order_by("period")
    assert [(r.period, r.trigger, r.status, r.requested_by) for r in runs] == [
        ("2022-2023-2", "CRON", "QUEUED", "cron"),
        (P, "CRON", "QUEUED", "cron"),
    ]
    assert sorted(j.args for j in jobs) == sorted((r.id,) for r in runs) and sorted(run_ids) == sorted(
        r.id for r in runs
    )


async def test_two_concurrent_ticks_on_one_day_make_one_run(pool, arq_queue):
    ctx = {"redis": pool, "clock": lambda: TICK}
    first, second = await asyncio.gather(nightly_compare(ctx), nightly_compare(ctx))
    assert first == second and len(first) == 1
    assert await ComparisonRun.all().count() == 1
    assert len(await pool.queued_jobs(queue_name=arq_queue)) == 1
    # Another tick later the same Shanghai day (23:59) changes nothing; the next day is a new run.
    late = {"redis": pool, "clock": lambda: dt.datetime(2024, 1, 10, 15, 59, tzinfo=UTC)}
    assert await nightly_compare(late) == first
    assert await ComparisonRun.all().count() == 1
    next_day = {"redis": pool, "clock": lambda: dt.datetime(2024, 1, 10, 16, 0, tzinfo=UTC)}
    await nightly_compare(next_day)
    assert await ComparisonRun.all().count() == 2
    assert len(await pool.queued_jobs(queue_name=arq_queue)) == 2


# --- running jobs ------------------------------------------------------------------------
async def test_worker_runs_the_nightly_comparison_end_to_end(pool, arq_queue, world):
    await tiny_data_set()
    await nightly_compare({"redis": pool, "clock": lambda: TICK})
    worker = await run_burst(arq_queue)

    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    (run,) = await ComparisonRun.all()
    assert (run.status, run.published, run.attempts, run.error) == ("SUCCEEDED", True, 1, None)
    assert (run.members, run.matched, run.unmatched, run.funded, run.unfunded) == (3, 2, 1, 1, 1)
    assert run.started_at is not None and run.finished_at is not None
    assert (await comparison.published_run(P)).id == run.id
    assert await pool.queued_jobs(queue_name=arq_queue) == []
    # The job's result is kept, so the same tick cannot be enqueued again today.
    await nightly_compare({"redis": pool, "clock": lambda: TICK})
    assert await pool.queued_jobs(queue_name=arq_queue) == []
    assert await ComparisonRun.all().count() == 1


async def test_failing_job_is_retried_then_failed_and_the_last_good_run_stays(pool, arq_queue, world, monkeypatch):
    await tiny_data_set()
    good = await comparison.run_comparison_now(P, trigger="CLI", requested_by="cli")
    assert (good.status, good.published) == ("SUCCEEDED", True)

    calls = []

    async def boom(step: str) -> None:
        if step == "statistics":
            calls.append(step)
            raise RuntimeError("磁盘已满")

    monkeypatch.setattr(comparison, "STEP_HOOK", boom)
    requested = await queue.request_comparison(P, requested_by="admin")
    worker = await run_burst(arq_queue, retry_defer_s=0)

    assert len(calls) == MAX_TRIES == 3
    assert (worker.jobs_retried, worker.jobs_failed) == (2, 1)
    failed = await ComparisonRun.get(id=requested.id)
    assert (failed.status, failed.published, failed.attempts) == ("FAILED", False, 3)
    assert "磁盘已满" in failed.error and failed.finished_at is not None
    still = await ComparisonRun.get(id=good.id)
    assert (still.status, still.published, still.unfunded) == ("SUCCEEDED", True, 1)
    assert (await comparison.published_run(P)).id == good.id
    assert await AuditEntry.filter(action="COMPARISON_FAILED", entity_key=str(requested.id)).count() == 1


async def test_worker_does_not_reopen_the_orm_it_was_given(pool, arq_queue):
    ctx: dict = {}
    await worker_main.startup(ctx)
    assert ctx["orm"] is None  # the test session's ORM is open: use it, do not re-init
    await worker_main.shutdown(ctx)
    assert await ComparisonRun.all().count() == 0  # still usable


async def test_carry_over_job(pool, arq_queue, world):
    await LegacyPovertyReason.create(
        id_number=student_id(9), school_code=SCHOOL, province="43", stage="COMPULSORY", period=P, reason_code="01"
    )
    await pool.enqueue_job("carry_over", _queue_name=arq_queue, _job_id=f"{arq_queue}:carry-over")
    worker = await run_burst(arq_queue)
    assert worker.jobs_complete == 1
    (reason,) = await UnfundedReason.all()
    assert (reason.id_number, reason.inherited, reason.reported_by) == (student_id(9), True, "carry-over")
    assert (await AuditEntry.get(action="CARRY_OVER")).actor == "worker"
