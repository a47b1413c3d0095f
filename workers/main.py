"""arq worker settings (`zizhu worker`): the 02:00 Asia/Shanghai cron and the on-demand jobs.

`cron()` has no timezone argument: `timezone` on the settings makes 02:00 mean Shanghai time
whatever the host's zone (02:00 Shanghai = 18:00 UTC the day before). `unique=True` plus kept
results stop a second worker, or a restarted one, from running the same tick again; the
comparison jobs themselves carry a per-(period, day) job id (zizhu.domain.comparison.queue.daily_job_id).
"""

from __future__ import annotations

import asyncio
from typing import Any

import arq
from arq import cron, func
from arq.typing import WorkerSettingsBase
from tortoise import Tortoise

from zizhu.domain import db
from zizhu.domain.comparison import leases, queue
from zizhu.domain.operations import heartbeat
from zizhu.domain.settings import SHANGHAI
from zizhu.workers.jobs import MAX_TRIES, carry_over, compare_period, nightly_compare

KEEP_RESULT_S = 2 * 24 * 3600  # > 1 day: the same tick/job id is never enqueued twice
COMPARE_TIMEOUT_S = 6 * 3600  # a national comparison may take long; arq's default is 300 s


async def startup(ctx: dict[str, Any]) -> None:
    """Open the ORM, unless the hosting process already has it open (tests, embedding); fail the
    runs left RUNNING by a worker that died (their lease expired); start this worker's heartbeat."""
    ctx["orm"] = None if Tortoise.is_inited() else await db.init()
    await leases.expire_lapsed_runs()
    if ctx.get("redis") is not None:
        ctx["worker_id"] = heartbeat.worker_id()
        ctx["heartbeat"] = asyncio.create_task(heartbeat.keep_beating(ctx["redis"], ctx["worker_id"]))


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("heartbeat") is not None:
        ctx["heartbeat"].cancel()
        await heartbeat.forget(ctx["redis"], ctx["worker_id"])
    # on_shutdown runs in another task: Tortoise.close_connections() would find no context
    # there and do nothing, so close through the handle kept at startup.
    if ctx.get("orm") is not None:
        await ctx["orm"].close_connections()


FUNCTIONS = [
    func(compare_period, max_tries=MAX_TRIES, keep_result=KEEP_RESULT_S, timeout=COMPARE_TIMEOUT_S),
    func(carry_over, max_tries=1, keep_result=KEEP_RESULT_S, timeout=COMPARE_TIMEOUT_S),
]
NIGHTLY = cron(nightly_compare, hour=2, minute=0, unique=True, keep_result=KEEP_RESULT_S, max_tries=1)


class WorkerSettings(WorkerSettingsBase):  # arq's protocol, named so its attribute types apply
    """The queue name and Redis come from the settings when the worker starts (run_worker)."""

    functions = FUNCTIONS
    cron_jobs = (NIGHTLY,)  # arq reads it as a sequence
    timezone = SHANGHAI
    keep_result = KEEP_RESULT_S
    on_startup = staticmethod(startup)  # a hook, not a method
    on_shutdown = staticmethod(shutdown)


def run_worker() -> None:
    """Run the worker until stopped; settings are re-read from the environment now (logging is
    configured by the command line)."""
    arq.run_worker(WorkerSettings, queue_name=queue.queue_name(), redis_settings=queue.redis_settings(fail_fast=False))
