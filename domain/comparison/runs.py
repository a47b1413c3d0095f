"""Comparison runs as the API sees them (比对批次查询与重新比对), with the role rules.

ADMIN may request a recomputation and watches every run; authorities and schools watch the
national runs and those of their own province (what a run changed is then scoped like the
unfunded list, `zizhu.domain.comparison.changes`).
"""
from __future__ import annotations

from zizhu.domain.comparison import queue
from zizhu.domain.reference.codes import Role
from zizhu.domain.errors import NotFound
from zizhu.domain.models import ComparisonRun
from zizhu.domain.reference.identity import province_of_school
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.paging import page_size

WATCHERS = (Role.ADMIN, Role.AUTHORITY_OPERATOR)


def _visible_provinces(viewer: Viewer) -> tuple[str, ...] | None:
    """Provinces whose runs the viewer sees ('' = national runs); None = all."""
    if viewer.is_admin:
        return None
    if viewer.is_school:
        return ("", province_of_school(viewer.scope_code))
    viewer.require_role(*WATCHERS)
    return ("", (viewer.region_prefix or "")[:2])


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
    return run


async def list_runs(
    viewer: Viewer, period: str, first: int = 20, before_id: int | None = None
) -> tuple[list[ComparisonRun], bool]:
    """Runs of a period, newest first (keyset on id): (page, has_next)."""
    provinces = _visible_provinces(viewer)
    qs = ComparisonRun.filter(period=period)
    if provinces is not None:
        qs = qs.filter(province__in=provinces)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    limit = page_size(first)
    rows = await qs.order_by("-id").limit(limit + 1)
    return rows[:limit], len(rows) > limit


async def count_runs(viewer: Viewer, period: str) -> int:
    provinces = _visible_provinces(viewer)
    qs = ComparisonRun.filter(period=period)
    return await (qs if provinces is None else qs.filter(province__in=provinces)).count()
