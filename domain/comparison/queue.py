"""The queue seam (任务队列): the only domain module that talks to arq/Redis.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.exceptions import RedisError
from tortoise.exceptions import IntegrityError

from zizhu.domain import settings
from zizhu.domain.accounts import audit
from zizhu.domain.comparison import leases
from zizhu.domain.comparison.engine import create_run, mark_failed
from zizhu.domain.comparison.schedule import active_periods
from zizhu.domain.errors import NotOperational, QueueUnavailable
from zizhu.domain.models import ComparisonRun

log = logging.getLogger("zizhu.queue")

QUEUE_ENV = "ZIZHU_QUEUE"
DEFAULT_QUEUE = "zizhu"
COMPARE_JOB = "compare_period"
CONNECT_TIMEOUT_S = 1
REPLY_TIMEOUT_S = 3.0  # the longest any call to Redis may take before the queue counts as unavailable
UNAVAILABLE_MESSAGE = "任务队列（Redis）暂不可用，比对未能排队，请稍后重试"
PENDING = ("QUEUED",)
CRON_ACTOR = "cron"


def queue_name() -> str:
    """The arq queue (env ZIZHU_QUEUE, default 'zizhu'); tests use one per test."""
    return settings.load().queue


def redis_settings(fail_fast: bool = True) -> RedisSettings:
    """REDIS_URL as arq settings; `fail_fast` for request paths (1 s timeout, no retries)."""
    rs = RedisSettings.from_dsn(settings.load().redis_url)
    if fail_fast:
        rs.conn_timeout = CONNECT_TIMEOUT_S
        rs.conn_retries = 0
    return rs


def daily_job_id(period: str, day: dt.date) -> str:
    """One comparison of a period per Shanghai day: `{queue}:compare:{period}:{yyyy-mm-dd}`.

    arq job ids are global to the Redis database, so they carry the queue name: deployments (and
    test runs) sharing one Redis with different queues never suppress each other's jobs.
    """
    return f"{queue_name()}:compare:{period}:{day.isoformat()}"


def manual_job_id(period: str, trigger: str) -> str:
    return f"{queue_name()}:{trigger.lower()}:{period}:{uuid.uuid4().hex[:16]}"


async def check_reachable() -> None:
    """Ping Redis once (1 s to connect, REPLY_TIMEOUT_S for the answer), or raise NotOperational
    saying what to fix: a Redis that accepts connections and never answers must not hang a start."""
    where = redis_settings()
    try:
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            pool = await create_pool(where, default_queue_name=queue_name())
        await pool.aclose()
    except TimeoutError as exc:
        raise NotOperational(
            f"Redis {where.host}:{where.port} 接受了连接，但 {REPLY_TIMEOUT_S:g} 秒内没有应答："
            "请确认 REDIS_URL 指向的是可用的 Redis（而不是其他服务或已挂起的进程）"
        ) from exc
    except (OSError, RedisError) as exc:
        raise NotOperational(
            f"无法连接 Redis {where.host}:{where.port}：请确认 Redis 已启动，并检查 REDIS_URL"
        ) from exc


@asynccontextmanager
async def connection() -> AsyncIterator[ArqRedis]:
    """A short-lived arq pool, or QueueUnavailable."""
    try:
        async with asyncio.timeout(REPLY_TIMEOUT_S):  # create_pool pings: a mute server must not hang us
            pool = await create_pool(redis_settings(), default_queue_name=queue_name())
    except (OSError, RedisError, TimeoutError) as exc:
        log.warning("redis unreachable: %s", exc)
        raise QueueUnavailable(UNAVAILABLE_MESSAGE) from exc
    try:
        yield pool
    finally:
        await pool.aclose()


async def enqueue_run(pool: ArqRedis, run: ComparisonRun) -> bool:
    """Put `compare_period(run.id)` on the queue; False when that job id is already queued or done."""
    try:
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            job = await pool.enqueue_job(COMPARE_JOB, run.id, _job_id=run.job_id, _queue_name=queue_name())
    except (OSError, RedisError, TimeoutError) as exc:
        log.warning("redis did not take the job: %r", exc)
        raise QueueUnavailable(UNAVAILABLE_MESSAGE) from exc
    return job is not None


async def request_province_comparison(period: str, province: str, requested_by: str) -> ComparisonRun:
    """An authority's recompute of its own province: the (period, province) run still QUEUED if
    there is one, else a new one. The job id numbers the chain's runs, so two requests at once
    create one run (the second finds the first's job id)."""
    waiting = await ComparisonRun.filter(period=period, province=province, status__in=PENDING).order_by("id").first()
    if waiting is not None:
        return waiting
    number = await ComparisonRun.filter(period=period, province=province).count()
    job_id = f"{queue_name()}:province:{period}:{province}:{number}"
    return await request_comparison(period, requested_by, "MANUAL", province=province, job_id=job_id)


async def request_comparison(
    period: str, requested_by: str, trigger: str = "MANUAL", province: str = "", job_id: str | None = None
) -> ComparisonRun:
    """Create a QUEUED run and enqueue it (重新比对). Audited.

    Redis is checked before the run is created, so an unreachable queue leaves no run at all; if
    it fails between the check and the enqueue, the run is marked FAILED with the reason, so no
    run lingers as QUEUED without a job.
    """
    await leases.expire_lapsed_runs()
    async with connection() as pool:
        job_id = job_id or manual_job_id(period, trigger)
        try:
            run = await create_run(period, trigger, requested_by, province=province, job_id=job_id)
        except IntegrityError:  # a concurrent request inserted the same job id first: that run
            return await create_run(period, trigger, requested_by, province=province, job_id=job_id)
        try:
            await enqueue_run(pool, run)
        except QueueUnavailable as exc:
            await mark_failed(run.id, exc.message)
            await audit.record(
                requested_by,
                "RECOMPUTE_FAILED",
                "comparison_run",
                str(run.id),
                after={"period": period, "error": exc.message},
            )
            raise
    await audit.record(
        requested_by,
        "RECOMPUTE_REQUESTED",
        "comparison_run",
        str(run.id),
        after={"period": period, "province": province, "trigger": trigger, "job_id": run.job_id},
    )
    return run


async def schedule_daily(pool: ArqRedis, day: dt.date) -> list[ComparisonRun]:
    """The 02:00 tick: one run and one job per active period for the Shanghai date `day`.

    Re-running the tick on the same day returns the same runs and enqueues nothing new (a
    still-QUEUED run is re-offered under the same job id, which arq ignores unless the job was lost).
    """
    runs = []
    for period in await active_periods(day):
        run = await _daily_run(period, day)
        if run.status in PENDING and await enqueue_run(pool, run):
            log.info("enqueued comparison of %s (run %s)", period, run.id)
            await audit.record(
                CRON_ACTOR,
                "COMPARISON_SCHEDULED",
                "comparison_run",
                str(run.id),
                after={"period": period, "job_id": run.job_id},
            )
        runs.append(run)
    return runs


async def _daily_run(period: str, day: dt.date) -> ComparisonRun:
    job_id = daily_job_id(period, day)
    try:
        return await create_run(period, "CRON", CRON_ACTOR, job_id=job_id)
    except IntegrityError:  # a concurrent tick inserted the same job id first: use its run
        return await create_run(period, "CRON", CRON_ACTOR, job_id=job_id)
