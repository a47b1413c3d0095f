"""Active funding periods (当前有效资助周期): what the 02:00 comparison covers.

A period (row of `period`) is active while the Shanghai date is inside [start_date, end_date], or
when an admin marks it `force_active`. The semester containing today always exists: it is
created with its default dates the first time it is needed.
"""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import Q

from zizhu.domain.accounts import audit
from zizhu.domain.accounts.scopes import ADMINS, Viewer
from zizhu.domain.errors import NotFound, ValidationFailed
from zizhu.domain.models import Period
from zizhu.domain.reference.periods import parse_semester, semester_for
from zizhu.domain.settings import SHANGHAI

SYSTEM_ACTOR = "system"


def shanghai_today(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(SHANGHAI)).astimezone(SHANGHAI).date()


def is_active(period: Period, day: dt.date) -> bool:
    """Does the 02:00 comparison cover `period` on `day` (a Shanghai date)?"""
    return period.force_active or period.start_date <= day <= period.end_date


async def require_known_period(code: str) -> Period:
    """The period row of `code`, or NotFound when no file ever named that period (nothing to compare)."""
    semester = parse_semester(code)
    period = await Period.get_or_none(code=semester.code)
    if period is None:
        raise NotFound(
            f"资助周期 {semester.code}（{semester.label}）没有任何数据，未比对：请先导入该周期的特殊群体名单和资助记录"
        )
    return period


async def _period_row(semester) -> tuple[Period, bool]:
    """The period row of `semester`, created with the semester's default dates if missing."""
    start, end = semester.default_dates()
    return await Period.get_or_create(
        code=semester.code,
        defaults={"academic_year": semester.academic_year, "term": semester.term, "start_date": start, "end_date": end},
    )


async def ensure_semester(day: dt.date) -> Period:
    """The period row of the semester containing `day`, created with default dates if missing."""
    period, created = await _period_row(semester_for(day))
    if created:
        await audit.record(
            SYSTEM_ACTOR,
            "CREATE",
            "period",
            period.code,
            after={"start_date": period.start_date, "end_date": period.end_date},
        )
    return period


async def active_periods(day: dt.date) -> list[str]:
    """Codes of the periods active on `day` (a Shanghai date), oldest first."""
    await ensure_semester(day)
    rows = await Period.filter(Q(start_date__lte=day, end_date__gte=day) | Q(force_active=True)).order_by("code")
    return [p.code for p in rows]


async def configure_period(
    viewer: Viewer,
    code: str,
    *,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    force_active: bool | None = None,
) -> Period:
    """An admin sets a period's dates or marks it active (资助周期设置). Audited."""
    viewer.require_role(*ADMINS)
    period, _ = await _period_row(parse_semester(code))
    fields = ("start_date", "end_date", "force_active")
    before = audit.snapshot(period, fields)
    period.start_date = start_date or period.start_date
    period.end_date = end_date or period.end_date
    if force_active is not None:
        period.force_active = force_active
    if period.start_date > period.end_date:
        raise ValidationFailed("开始日期不能晚于结束日期", argument="startDate")
    await period.save()
    await audit.record(
        viewer.username, "period.configure", "period", period.code, before=before, after=audit.snapshot(period, fields)
    )
    return period


async def list_periods() -> list[Period]:
    return await Period.all().order_by("-code")
