"""Run leases (比对批次租约): a RUNNING run is held by the process executing it.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import cast

from tortoise.expressions import Q

from zizhu.domain.accounts import audit
from zizhu.domain.models import ComparisonRun
from zizhu.domain.settings import SHANGHAI

log = logging.getLogger("zizhu.comparison")

LEASE_S = 300.0
RENEW_EVERY_S = 60.0
LAPSED_MESSAGE = "执行比对的进程已停止（租约过期），本批次作废；下一次比对将正常进行"
REAPER = "system"


class SystemClock:
    """The time leases are measured in: the wall clock, and asyncio's sleep between renewals."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(SHANGHAI)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


CLOCK = SystemClock()  # the seam where tests put a clock they move by hand


def _now() -> dt.datetime:
    return CLOCK.now()


def lease_end(seconds: float | None = None) -> dt.datetime:
    return _now() + dt.timedelta(seconds=LEASE_S if seconds is None else seconds)


async def renew(run_id: int, seconds: float | None = None) -> bool:
    """Extend the lease of a RUNNING run; False when the run is no longer RUNNING (lease lost)."""
    return bool(await ComparisonRun.filter(id=run_id, status="RUNNING").update(lease_until=lease_end(seconds)))


async def _keep_renewing(run_id: int) -> None:
    while True:
        await CLOCK.sleep(RENEW_EVERY_S)
        try:
            if not await renew(run_id):
                log.warning("comparison run %s lost its lease", run_id)
                return
        except Exception:  # a failed renewal is retried at the next beat; the lease may lapse
            log.exception("renewing the lease of comparison run %s failed", run_id)


@contextlib.asynccontextmanager
async def renewing(run_id: int) -> AsyncIterator[None]:
    """Renew the run's lease in the background while the body runs."""
    task = asyncio.create_task(_keep_renewing(run_id))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _lapsed(now: dt.datetime) -> Q:
    # a run started before leases existed has none: it lapses LEASE_S after its start
    return Q(status="RUNNING") & (
        Q(lease_until__lt=now) | (Q(lease_until__isnull=True) & Q(started_at__lt=now - dt.timedelta(seconds=LEASE_S)))
    )


async def expire_lapsed_runs(but: int | None = None) -> list[int]:
    """Mark FAILED every RUNNING run whose lease has expired (except run `but`, which the caller
    is about to take over); returns their ids. Audited."""
    now = _now()
    expired: list[int] = []
    lapsed = await ComparisonRun.filter(_lapsed(now)).exclude(id=but or 0).values_list("id", flat=True)
    for run_id in cast(list[int], lapsed):  # tortoise types a flat values_list as tuples
        # the same condition again: a run renewed or finished meanwhile is left alone
        if await ComparisonRun.filter(_lapsed(now), id=run_id).update(
            status="FAILED", finished_at=now, lease_until=None, error=LAPSED_MESSAGE
        ):
            log.warning("comparison run %s: lease expired, marked FAILED", run_id)
            await audit.record(
                REAPER, "COMPARISON_LEASE_EXPIRED", "comparison_run", str(run_id), after={"status": "FAILED"}
            )
            expired.append(run_id)
    return expired
