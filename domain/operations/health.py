"""Readiness (就绪检查) and queue health (队列状况) for operators.

Readiness: the database answers, Redis answers, and a worker sent a heartbeat recently.
Queue health (ADMIN): the workers and their last heartbeat, queued and running jobs, the last
02:00 tick and its runs, and QUEUED runs that no worker is taking — QUEUED while no worker is
alive, or for longer than STALLED_AFTER.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from zizhu.domain import db
from zizhu.domain.accounts.scopes import ADMINS, Viewer
from zizhu.domain.comparison import queue
from zizhu.domain.errors import QueueUnavailable
from zizhu.domain.models import ComparisonRun
from zizhu.domain.operations import heartbeat

STALLED_AFTER = dt.timedelta(minutes=10)
MAX_LISTED_RUNS = 100


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class QueueHealth:
    queue: str
    redis_ok: bool
    workers: list[heartbeat.WorkerBeat] = field(default_factory=list)
    alive_workers: int = 0
    queued_jobs: int = 0
    running_jobs: int = 0
    last_tick: heartbeat.NightlyTick | None = None
    last_tick_runs: list[ComparisonRun] = field(default_factory=list)
    stalled_runs: list[ComparisonRun] = field(default_factory=list)


async def _database_check() -> Check:
    try:
        await db.fetch("SELECT 1 AS ok")
    except Exception as exc:
        return Check("database", False, type(exc).__name__)
    return Check("database", True)


async def readiness() -> list[Check]:
    """database, redis and worker checks; each `ok` or not with a short reason."""
    checks = [await _database_check()]
    try:
        async with queue.connection() as redis:
            await redis.ping()
            now = heartbeat.utcnow()
            alive = [w for w in await heartbeat.workers(redis) if w.alive(now)]
    except (QueueUnavailable, OSError, RedisError, TimeoutError) as exc:
        return checks + [Check("redis", False, type(exc).__name__), Check("worker", False, "redis unreachable")]
    checks.append(Check("redis", True))
    checks.append(Check("worker", bool(alive), f"{len(alive)} alive" if alive else "no heartbeat"))
    return checks


async def _job_counts(redis) -> tuple[int, int]:
    name = queue.queue_name()
    queued = await redis.zcard(name)
    running = 0
    async for _ in redis.scan_iter(match=f"arq:in-progress:{name}:*"):
        running += 1
    return queued, running


async def stalled_runs(any_worker_alive: bool, now: dt.datetime) -> list[ComparisonRun]:
    """QUEUED runs no worker is taking (all of them while no worker is alive)."""
    qs = ComparisonRun.filter(status="QUEUED")
    if any_worker_alive:
        qs = qs.filter(queued_at__lt=now - STALLED_AFTER)
    return await qs.order_by("queued_at").limit(MAX_LISTED_RUNS)


async def queue_health(viewer: Viewer | None) -> QueueHealth:
    """The queue as an operator needs to see it (ADMIN only; None = the system itself)."""
    if viewer is not None:
        viewer.require_role(*ADMINS)
    now = heartbeat.utcnow()
    health = QueueHealth(queue=queue.queue_name(), redis_ok=False)
    try:
        async with queue.connection() as redis:
            health.workers = await heartbeat.workers(redis)
            health.queued_jobs, health.running_jobs = await _job_counts(redis)
            health.last_tick = await heartbeat.last_tick(redis)
            health.redis_ok = True
    except (QueueUnavailable, OSError, RedisError, TimeoutError):
        pass
    health.alive_workers = sum(1 for w in health.workers if w.alive(now))
    if health.last_tick and health.last_tick.run_ids:
        health.last_tick_runs = await ComparisonRun.filter(id__in=health.last_tick.run_ids).order_by("id")
    health.stalled_runs = await stalled_runs(health.alive_workers > 0, now)
    return health
