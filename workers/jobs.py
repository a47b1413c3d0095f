"""arq jobs (后台任务): the 02:00 comparison tick, one comparison run, the history carry-over.

Jobs are thin: they call domain services. `ctx` may carry `clock` (a callable returning an aware
datetime, default: now in Asia/Shanghai) and `retry_defer_s` (seconds before a retry, default
RETRY_DEFER_S times the try number); tests set both.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from arq import Retry

from zizhu.domain import nightly
from zizhu.domain.accounts import audit
from zizhu.domain.comparison import leases
from zizhu.domain.comparison.engine import execute_run, get_run, mark_failed
from zizhu.domain.comparison.schedule import shanghai_today
from zizhu.domain.operations import heartbeat
from zizhu.domain.reasons.carryover import carry_over_legacy_reasons
from zizhu.domain.settings import SHANGHAI

log = logging.getLogger("zizhu.worker")

MAX_TRIES = 3  # a failing comparison is tried this many times, then marked FAILED
RETRY_DEFER_S = 60
WORKER_ACTOR = "worker"


def _now(ctx: dict[str, Any]) -> dt.datetime:
    clock = ctx.get("clock")
    return clock() if clock else dt.datetime.now(SHANGHAI)


async def nightly_compare(ctx: dict[str, Any]) -> list[int]:
    """The 02:00 cron: the history carry-over, then one `compare_period` per active period (at
    most once a day); the outcome is recorded as the day's tick (in the database for admins, and
    in Redis for the queue health)."""
    now = _now(ctx)
    day = shanghai_today(now)
    await leases.expire_lapsed_runs()
    try:
        tick = await nightly.run_tick(ctx["redis"], day, now)
    except Exception as exc:
        await heartbeat.record_tick(ctx["redis"], day, [], error=f"{type(exc).__name__}: {exc}")
        raise
    run_ids = nightly.run_ids(tick)
    await heartbeat.record_tick(ctx["redis"], day, run_ids)
    return run_ids


async def compare_period(ctx: dict[str, Any], run_id: int) -> dict[str, Any]:
    """Execute one comparison run; retried up to MAX_TRIES, then the run is marked FAILED."""
    run = await get_run(run_id)
    if run.status == "FAILED":  # given up already (e.g. by the API when enqueueing failed)
        log.warning("comparison run %s is FAILED, not executed again", run_id)
        return {"run": run_id, "status": run.status}
    try:
        run = await execute_run(run_id)
    except Exception as exc:
        tries = ctx.get("job_try", 1)
        if tries < MAX_TRIES:
            defer = ctx.get("retry_defer_s", RETRY_DEFER_S * tries)
            await leases.renew(run_id, defer + leases.LEASE_S)  # still held while waiting for the retry
            log.warning(
                "comparison run %s failed (try %s of %s), retrying in %ss: %s", run_id, tries, MAX_TRIES, defer, exc
            )
            raise Retry(defer=defer) from exc
        error = f"{type(exc).__name__}: {exc}"
        log.error("comparison run %s failed after %s tries: %s", run_id, tries, error, exc_info=exc)
        await mark_failed(run_id, f"重试 {tries} 次后仍失败：{error}")
        await audit.record(
            WORKER_ACTOR, "COMPARISON_FAILED", "comparison_run", str(run_id), after={"tries": tries, "error": error}
        )
        raise
    return {"run": run.id, "status": run.status, "unfunded": run.unfunded}


async def carry_over(ctx: dict[str, Any]) -> int:
    """The history carry-over as a job (same as `zizhu carry-over`)."""
    return await carry_over_legacy_reasons(actor=WORKER_ACTOR)
