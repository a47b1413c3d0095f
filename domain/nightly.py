"""The 02:00 tick (每日比对): first the history carry-over, then one comparison per active period.

The carry-over (`zizhu.domain.reasons.carryover`) is idempotent and never overwrites a reason, so
running it every night carries legacy reasons imported late the next night. A failing carry-over
is recorded and does not stop the comparisons. Each tick is one `nightly_tick` row per Shanghai
date (a second tick on the same day updates it), which admins read with its runs' status.
"""

from __future__ import annotations

import datetime as dt
import logging

from arq.connections import ArqRedis

from zizhu.domain.accounts import audit
from zizhu.domain.accounts.scopes import ADMINS, Viewer
from zizhu.domain.comparison import queue
from zizhu.domain.models import ComparisonRun, NightlyTick
from zizhu.domain.paging import page_size
from zizhu.domain.reasons.carryover import carry_over_legacy_reasons
from zizhu.domain.settings import SHANGHAI

log = logging.getLogger("zizhu.nightly")


async def run_tick(pool: ArqRedis, day: dt.date, now: dt.datetime) -> NightlyTick:
    """Carry the history over, then enqueue the day's comparisons; the outcome is recorded."""
    tick, _ = await NightlyTick.get_or_create(day=day, defaults={"started_at": now})
    tick.started_at, tick.finished_at = now, None
    try:
        carried = await carry_over_legacy_reasons(queue.CRON_ACTOR, now)
        tick.carried_over, tick.carry_over_error = carried, None  # type: ignore[assignment]  # tortoise types TextField(null=True) as str
    except Exception as exc:  # recorded; the comparisons still run on the reasons already there
        log.exception("the nightly carry-over of %s failed", day)
        tick.carried_over, tick.carry_over_error = None, f"{type(exc).__name__}: {exc}"[:2000]
    await tick.save()
    runs = await queue.schedule_daily(pool, day)
    tick.run_ids = ",".join(str(r.id) for r in runs)
    tick.finished_at = dt.datetime.now(SHANGHAI)
    await tick.save()
    await audit.record(
        queue.CRON_ACTOR,
        "NIGHTLY_TICK",
        "nightly_tick",
        day.isoformat(),
        after={"carried_over": tick.carried_over, "carry_over_error": tick.carry_over_error, "runs": tick.run_ids},
    )
    return tick


def run_ids(tick: NightlyTick) -> list[int]:
    return [int(i) for i in tick.run_ids.split(",") if i]


async def list_ticks(viewer: Viewer, first: int = 7) -> list[NightlyTick]:
    """The latest ticks, newest first (系统管理员)."""
    limit = page_size(first)
    viewer.require_role(*ADMINS)
    return await NightlyTick.all().order_by("-day").limit(limit)


async def runs_of_ids(ids: list[int]) -> list[ComparisonRun]:
    """A tick's runs that still exist (old runs are pruned), in id order."""
    return await ComparisonRun.filter(id__in=ids or [0]).order_by("id")
