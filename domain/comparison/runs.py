"""Comparison runs as the API sees them (比对批次查询与重新比对), with the role rules.

ADMIN may request a recomputation; ADMIN and AUTHORITY_OPERATOR may watch runs, but only the runs
whose scope their own covers: a run's figures are totals of its whole scope (the nation, or one
province), so a national run is seen by nationwide accounts only and a province run by those of
that province as a whole; city and county authorities see their figures through the statistics
instead. Who requested a run, and a failed run's technical error, are shown to administrators
only. School accounts may not watch runs.
"""
from __future__ import annotations

from zizhu.domain.comparison import queue
from zizhu.domain.reference.codes import Role
from zizhu.domain.errors import NotFound
from zizhu.domain.models import ComparisonRun
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.paging import page_size

WATCHERS = (Role.ADMIN, Role.AUTHORITY_OPERATOR)


def _visible_provinces(viewer: Viewer) -> tuple[str, ...] | None:
    """Provinces whose runs the viewer sees ('' = national runs); None = all."""
    viewer.require_role(*WATCHERS)
    prefix = viewer.region_prefix or ""
    if viewer.is_admin or prefix == "":
        return None
    return (prefix,) if len(prefix) == 2 else ()


def _as_seen_by(viewer: Viewer, run: ComparisonRun) -> ComparisonRun:
    """The run without what only administrators may see (the requester, the technical error)."""
    if not viewer.is_admin:
        run.requested_by = None
        if run.error:
            run.error = "比对未完成，详情请联系系统管理员" if run.status == "FAILED" else None
    return run


async def recompute(viewer: Viewer, period: str) -> ComparisonRun:
    """重新比对: a QUEUED MANUAL run, enqueued for the worker (QUEUE_UNAVAILABLE without Redis)."""
    viewer.require_role(Role.ADMIN)
    period = parse_semester(period).code
    return await queue.request_comparison(period, requested_by=viewer.username, trigger="MANUAL")


async def get_run(viewer: Viewer, run_id: int) -> ComparisonRun:
    provinces = _visible_provinces(viewer)
    run = await ComparisonRun.get_or_none(id=run_id)
    if run is None or (provinces is not None and run.province not in provinces):
        raise NotFound(f"未找到比对批次 {run_id}")
    return _as_seen_by(viewer, run)


async def list_runs(
    viewer: Viewer, period: str, first: int = 20, before_id: int | None = None
) -> tuple[list[ComparisonRun], bool]:
    """Runs of a period, newest first (keyset on id): (page, has_next)."""
    provinces = _visible_provinces(viewer)
    if provinces == ():
        return [], False
    qs = ComparisonRun.filter(period=period)
    if provinces is not None:
        qs = qs.filter(province__in=provinces)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    limit = page_size(first)
    rows = [_as_seen_by(viewer, r) for r in await qs.order_by("-id").limit(limit + 1)]
    return rows[:limit], len(rows) > limit


async def count_runs(viewer: Viewer, period: str) -> int:
    provinces = _visible_provinces(viewer)
    qs = ComparisonRun.filter(period=period)
    return await (qs if provinces is None else qs.filter(province__in=provinces)).count()
