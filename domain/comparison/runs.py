"""Comparison runs as the API sees them (比对批次查询与重新比对), with the role rules.

Design notes: docs/design/domain-comparison.md."""

from __future__ import annotations

from zizhu.domain.accounts.scopes import SCHOOL_ROLES, Viewer
from zizhu.domain.comparison import queue
from zizhu.domain.errors import Forbidden, NotFound
from zizhu.domain.models import ComparisonRun
from zizhu.domain.paging import page_size
from zizhu.domain.reference.codes import Role
from zizhu.domain.reference.identity import province_of_school
from zizhu.domain.reference.periods import parse_semester

WATCHERS = (Role.ADMIN, Role.AUTHORITY_OPERATOR, *SCHOOL_ROLES)
RECOMPUTERS = (Role.ADMIN, Role.AUTHORITY_OPERATOR)  # who may ask for a recomputation (重新比对)

FIGURES = (
    "members",
    "matched",
    "unmatched",
    "duplicate_enrolments",
    "funded",
    "unfunded",
    "newly_unfunded",
    "newly_funded",
)


def _province_of(viewer: Viewer) -> str:
    """The viewer's province ('' for nationwide accounts)."""
    if viewer.is_school:
        return province_of_school(viewer.scope_code)
    return (viewer.region_prefix or "")[:2]


def _visible_provinces(viewer: Viewer) -> tuple[str, ...] | None:
    """Provinces whose runs the viewer sees ('' = national runs); None = all."""
    viewer.require_role(*WATCHERS)
    province = _province_of(viewer)
    if viewer.is_admin or (not viewer.is_school and province == ""):
        return None
    return ("", province)


def covers_figures(viewer: Viewer, run: ComparisonRun) -> bool:
    """Whether the viewer's scope covers the run's whole scope, so it may see the run's totals."""
    if viewer.is_admin:
        return True
    if viewer.is_school:
        return False
    prefix = viewer.region_prefix or ""
    return prefix == "" or (len(prefix) == 2 and prefix == run.province)


def _as_seen_by(viewer: Viewer, run: ComparisonRun) -> ComparisonRun:
    """The run without what the viewer may not see: totals of a scope larger than theirs, the
    requester and the technical error (administrators only)."""
    if not covers_figures(viewer, run):
        for name in FIGURES:
            setattr(run, name, None)
    if not viewer.is_admin:
        run.requested_by = None
        if run.error:
            run.error = "比对未完成，详情请联系系统管理员" if run.status == "FAILED" else None  # type: ignore[assignment]  # tortoise types TextField(null=True) as str
    return run


async def recompute(viewer: Viewer, period: str) -> ComparisonRun:
    """重新比对: a QUEUED MANUAL run, enqueued for the worker (QUEUE_UNAVAILABLE without Redis).
    ADMIN queues a national run; an authority of a province (county, city or province) a run of
    its own province — at most one waiting: while one is QUEUED, asking again returns it."""
    viewer.require_role(*RECOMPUTERS)
    period = parse_semester(period).code
    if viewer.is_admin:
        return await queue.request_comparison(period, requested_by=viewer.username, trigger="MANUAL")
    province = _province_of(viewer)
    if not province:
        raise Forbidden("全国范围的主管部门账号不能发起全国比对，请联系系统管理员")
    return await queue.request_province_comparison(period, province, requested_by=viewer.username)


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
