"""Time windows (填报/审核时间范围): when roster entry, school review and authority review are open.

Design notes: docs/design/domain-roster.md."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.accounts import audit
from zizhu.domain.accounts.scopes import ADMINS, Viewer
from zizhu.domain.errors import ValidationFailed, WindowClosed
from zizhu.domain.models import AidProject, Region, TimeWindow
from zizhu.domain.reference.codes import Cycle, WindowAction, WindowPhase
from zizhu.domain.reference.identity import province_of_school
from zizhu.domain.reference.periods import parse_aid_period, parse_semester
from zizhu.domain.settings import SHANGHAI

NATIONAL = ""
_AUDITED = ("period", "project_code", "action", "province", "start", "end")


@dataclass(frozen=True)
class WindowState:
    """The effective window of one (period, project, action, province) at one instant."""

    action: WindowAction
    start: dt.datetime | None
    end: dt.datetime | None
    province: str | None  # the overriding province, None when the national window (or none) applies
    is_open: bool
    phase: WindowPhase
    seconds_left: int  # until the phase changes: to the start (NOT_STARTED), to the end (OPEN); 0 when CLOSED
    display: str


# The page's red line names each window as the notice does.
DISPLAY_LABELS = {
    WindowAction.ENTRY: "录入时间",
    WindowAction.SCHOOL_REVIEW: "学校审核时间",
    WindowAction.AUTHORITY_REVIEW: "主管部门审核时间",
}


def phase(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> tuple[WindowPhase, int]:
    """(phase, seconds until it changes) of [start, end) at `now`; no window is CLOSED."""
    if start is None or end is None:
        return WindowPhase.CLOSED, 0
    now, start, end = in_shanghai(now), in_shanghai(start), in_shanghai(end)
    if now < start:
        return WindowPhase.NOT_STARTED, math.ceil((start - now).total_seconds())
    if now < end:
        return WindowPhase.OPEN, math.ceil((end - now).total_seconds())
    return WindowPhase.CLOSED, 0


def spoken_instant(value: dt.datetime, *, is_end: bool = False) -> str:
    """`2023年9月1日0点`; an end at midnight is 24点 of the day before, as the notice writes it."""
    t = in_shanghai(value)
    if is_end and t.time() == dt.time():
        day, hour = t.date() - dt.timedelta(days=1), 24
    else:
        day, hour = t.date(), t.hour
    text = f"{day.year}年{day.month}月{day.day}日{hour}点"
    if t.minute or t.second:
        text += f"{t.minute}分" + (f"{t.second}秒" if t.second else "")
    return text


def display(action: WindowAction, start: dt.datetime | None, end: dt.datetime | None) -> str:
    """The red reminder: "录入时间：2023年9月1日0点至2024年1月25日24点" (or "…：未设置")."""
    label = DISPLAY_LABELS[WindowAction(action)]
    if start is None or end is None:
        return f"{label}：未设置"
    return f"{label}：{spoken_instant(start)}至{spoken_instant(end, is_end=True)}"


def in_shanghai(value: dt.datetime) -> dt.datetime:
    """A tz-aware instant in Asia/Shanghai (naive values are taken as Shanghai local time)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(SHANGHAI)


def _instant(value: dt.datetime, argument: str) -> dt.datetime:
    """A window's start or end: years 2000-2099 (as periods are), checked before any time-zone
    arithmetic, which overflows at the ends of the calendar (0001, 9999-12-31 at -14:00)."""
    if not 2000 <= value.year <= 2099:
        raise ValidationFailed(f"时间须在 2000 年至 2099 年之间，而不是 {value.year} 年", argument=argument)
    return in_shanghai(value)


def is_open(window: TimeWindow | None, now: dt.datetime) -> bool:
    """start <= now < end; no window means closed."""
    return window is not None and in_shanghai(window.start) <= in_shanghai(now) < in_shanghai(window.end)


def province_code(text: str | None) -> str:
    """'' for national, else the 2-digit province from '43' or the region code '430000'."""
    t = (text or "").strip()
    if not t or t == "000000":
        return NATIONAL
    if len(t) == 2 and t.isdigit():
        return t
    if len(t) == 6 and t.isdigit() and t.endswith("0000"):
        return t[:2]
    raise ValidationFailed(f"省级行政区划代码“{t}”无效，应如 430000", argument="provinceCode")


async def _check_period(period: str, project_code: str) -> tuple[str, AidProject]:
    project = await AidProject.get_or_none(code=project_code)
    if project is None:
        raise ValidationFailed(f"资助项目 {project_code} 不存在", argument="projectCode")
    code = parse_semester(period).code if project.cycle == Cycle.SEMESTER.value else parse_aid_period(period)
    if project.cycle == Cycle.YEAR.value and code.count("-") != 1:
        raise ValidationFailed(f"项目 {project_code} 按学年资助，周期应如 2023-2024", argument="period")
    return code, project


async def effective_window(
    period: str, project_code: str, action: WindowAction, province: str, using_db=None
) -> TimeWindow | None:
    """The province's own window if one is set, else the national one, else None."""
    rows = await TimeWindow.filter(
        period=period,
        project_code=project_code,
        action=WindowAction(action).value,
        province__in=[NATIONAL, province],
    ).using_db(using_db)
    by_province = {w.province: w for w in rows}
    return by_province.get(province) or by_province.get(NATIONAL)


async def state(
    period: str, project_code: str, action: WindowAction, province: str, now: dt.datetime, using_db=None
) -> WindowState:
    window = await effective_window(period, project_code, action, province, using_db)
    return window_state(action, window, now)


def window_state(action: WindowAction, window: TimeWindow | None, now: dt.datetime) -> WindowState:
    """What a page shows of one window (or of none) at `now`."""
    start = in_shanghai(window.start) if window else None
    end = in_shanghai(window.end) if window else None
    current, seconds = phase(start, end, now)
    return WindowState(
        action=WindowAction(action),
        start=start,
        end=end,
        province=(window.province or None) if window else None,
        is_open=current == WindowPhase.OPEN,
        phase=current,
        seconds_left=seconds,
        display=display(action, start, end),
    )


async def effective_windows(
    period: str, project_code: str, provinces: set[str], now: dt.datetime, using_db=None
) -> dict[tuple[str, WindowAction], WindowState]:
    """(province, action) → the state of every action's window for several provinces, in one query."""
    rows = await TimeWindow.filter(
        period=period, project_code=project_code, province__in=[NATIONAL, *provinces]
    ).using_db(using_db)
    by_key = {(w.province, w.action): w for w in rows}
    return {
        (p, a): window_state(a, by_key.get((p, a.value)) or by_key.get((NATIONAL, a.value)), now)
        for p in provinces
        for a in WindowAction
    }


async def require_open(
    period: str, project_code: str, action: WindowAction, province: str, now: dt.datetime, using_db=None
) -> None:
    """Raise WindowClosed (with the window's start and end) unless the action is open at `now`."""
    s = await state(period, project_code, action, province, now, using_db)
    if s.is_open:
        return
    if s.start is None:
        message = f"{s.action.label}未开放：{period} 未设置时间范围"
    elif in_shanghai(now) < s.start:
        message = f"{s.action.label}尚未开始：开放时间 {_show(s.start)} 至 {_show(s.end)}"
    else:
        message = f"{s.action.label}已截止：开放时间 {_show(s.start)} 至 {_show(s.end)}"
    raise WindowClosed(
        message,
        action=s.action.value,
        start=s.start.isoformat() if s.start else None,
        end=s.end.isoformat() if s.end else None,
        period=period,
    )


def _show(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


async def set_window(
    viewer: Viewer,
    period: str,
    project_code: str,
    action: WindowAction,
    start: dt.datetime,
    end: dt.datetime,
    province: str | None = None,
) -> TimeWindow:
    """Create or replace the window of (period, project, action, province). ADMIN only, audited."""
    viewer.require_role(*ADMINS)
    period, project = await _check_period(period, project_code)
    prov = province_code(province)
    if prov and not await Region.exists(code=f"{prov}0000"):
        raise ValidationFailed(f"省级行政区划 {prov}0000 不存在", argument="provinceCode")
    start, end = _instant(start, "start"), _instant(end, "end")
    if not start < end:
        raise ValidationFailed("开始时间必须早于结束时间（结束时间不含）", argument="end")
    key = {"period": period, "project_code": project.code, "action": WindowAction(action).value, "province": prov}
    async with db.transaction() as tx:
        window = await TimeWindow.select_for_update().using_db(tx).get_or_none(**key)
        before = audit.snapshot(window, _AUDITED) if window else None
        if window is None:
            window = await TimeWindow.create(**key, start=start, end=end, updated_by=viewer.username, using_db=tx)
        else:
            window.start, window.end, window.updated_by = start, end, viewer.username
            await window.save(using_db=tx)
        await audit.record(
            viewer.username,
            "time_window.set",
            "time_window",
            "/".join(key.values()),
            before,
            audit.snapshot(window, _AUDITED),
            using_db=tx,
        )
    return window


async def list_windows(viewer: Viewer, period: str, project_code: str) -> list[TimeWindow]:
    """Windows of (period, project): all for the nation, national + own province otherwise."""
    period, project = await _check_period(period, project_code)
    query = TimeWindow.filter(period=period, project_code=project.code)
    own = viewer_province(viewer)
    if own is not None:
        query = query.filter(province__in=[NATIONAL, own])
    return await query.order_by("action", "province")


async def windows_by_ids(viewer: Viewer, ids: list[int]) -> dict[int, TimeWindow]:
    """The windows asked for that the viewer sees (national ones and its own province's)."""
    own = viewer_province(viewer)
    return {w.id: w for w in await TimeWindow.filter(id__in=ids or [0]) if own is None or w.province in (NATIONAL, own)}


def viewer_province(viewer: Viewer) -> str | None:
    """The one province an account lives in, or None for nation-wide accounts."""
    if viewer.is_school:
        return province_of_school(viewer.scope_code)
    prefix = viewer.region_prefix or ""
    return prefix[:2] or None
