"""List exports (名单导出): the unfunded list, the poverty-family history, the preschool roster, the
region's preschool roster overview (名单审核概览: region totals on top, then one row per kindergarten),
the students with several 在读 enrolments of one stage and the unmatched special-group members.

Design notes: docs/design/domain-exports.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison import duplicates, explanations
from zizhu.domain.comparison import published_list as unfunded
from zizhu.domain.comparison import unmatched as unmatched_members
from zizhu.domain.comparison.modules import module_for
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.exports.tabular import Column, Pages, Row
from zizhu.domain.models import ReasonCode, School
from zizhu.domain.reference.codes import AidStatus, Category, LabelledEnum, Source, Stage, WindowAction
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.roster import entries as roster
from zizhu.domain.roster import overview
from zizhu.domain.settings import SHANGHAI

PAGE_ROWS = 500  # the list services' largest page
UNFUNDED, LEGACY, ROSTER = "unfunded-students", "legacy-poverty-reasons", "preschool-roster"
ROSTER_OVERVIEW = "preschool-roster-overview"
BOOLEANS = {"true": True, "false": False}
UNMATCHED = "unmatched-special-group-members"
DUPLICATES = "duplicate-enrolments"
REASON_STATUSES = {"REPORTED": True, "PENDING": False}
FILTERS = {  # export kind → the filters it takes (as in its GraphQL query)
    UNFUNDED: (
        "period",
        "stage",
        "regionCode",
        "schoolCode",
        "category",
        "source",
        "reasonStatus",
        "search",
        "project",
    ),
    LEGACY: ("period", "stage", "regionCode", "schoolCode", "project"),
    ROSTER: ("period", "schoolCode", "status"),
    ROSTER_OVERVIEW: ("period", "regionCode", "waitingForMe"),
    UNMATCHED: ("period", "regionCode", "category", "source"),
    DUPLICATES: ("period", "regionCode"),
}
MAX_FILTER_LENGTH = 50


@dataclass(frozen=True)
class ListExport:
    """What to stream: title (sheet name and file name), columns and the pages of rows."""

    title: str
    columns: list[Column]
    pages: Pages


def _enum(cls: type[LabelledEnum], value: str | None, argument: str):
    if not value:
        return None
    try:
        return cls(value)
    except ValueError:
        raise ValidationFailed(f"无效的取值“{value}”", argument=argument) from None


def parse_filters(kind: str, given: Mapping[str, str | None]) -> dict:
    """The filters of an export kind, parsed from text; unknown names or bad values are VALIDATION."""
    if kind not in FILTERS:
        raise ValidationFailed(f"未知的导出类型“{kind}”")
    unknown = sorted(set(given) - set(FILTERS[kind]))
    if unknown:
        raise ValidationFailed(f"导出不支持参数 {', '.join(unknown)}", argument=unknown[0])
    values = {k: (v or None) for k, v in given.items()}
    for name, value in values.items():
        if value is not None and len(value) > MAX_FILTER_LENGTH:
            raise ValidationFailed(f"参数 {name} 过长", argument=name)
    period = values.get("period")
    if kind != LEGACY or period:
        period = parse_semester(period or "").code
    status = values.get("reasonStatus")
    if status is not None and status not in REASON_STATUSES:
        raise ValidationFailed(f"无效的取值“{status}”", argument="reasonStatus")
    waiting = (values.get("waitingForMe") or "false").lower()
    if waiting not in BOOLEANS:
        raise ValidationFailed(f"无效的取值“{waiting}”", argument="waitingForMe")
    return {
        "period": period,
        "stage": _enum(Stage, values.get("stage"), "stage"),
        "region_code": values.get("regionCode"),
        "school_code": values.get("schoolCode"),
        "category": _enum(Category, values.get("category"), "category"),
        "source": _enum(Source, values.get("source"), "source"),
        "reason_reported": None if status is None else REASON_STATUSES[status],
        "status": _enum(AidStatus, values.get("status"), "status"),
        "waiting_for_me": BOOLEANS[waiting],
        "search": values.get("search"),
        # on the legacy list '' is a value (the rows whose file named no project)
        "project": given.get("project") if kind == LEGACY else values.get("project"),
    }


async def check(kind: str, viewer: Viewer, given: Mapping[str, str | None]) -> None:
    """Parse the filters and apply the viewer's scope (NOT_FOUND / FORBIDDEN), reading no rows."""
    f = parse_filters(kind, given)
    if kind == ROSTER:
        await roster.roster_school(viewer, f["school_code"])
    elif kind == ROSTER_OVERVIEW:
        await overview.region_totals(viewer, f["region_code"], f["period"])
    elif kind in (UNMATCHED, DUPLICATES):
        await viewer.region(f["region_code"])
    else:
        stage = f["stage"]
        if kind == UNFUNDED:
            unfunded.search_condition(f["search"], "r", {})
            if f["project"] is not None:
                module = await module_for(viewer, f["project"], stage)
                stage = Stage(module.stages[0])
        await unfunded.scope_conditions(viewer, "r", {}, f["region_code"], f["school_code"], stage)


# --- paging ----------------------------------------------------------------------------------------
Fetch = Callable[[Any], Awaitable[tuple[list, bool]]]  # after the last key (a row id or a code)


async def _pages(first: tuple[list, bool], fetch: Fetch, key: Callable, to_rows) -> AsyncIterator[list[Row]]:
    """Pages after the one already read (`first`), each turned into rows, until none follows."""
    items, more = first
    while True:
        if items:
            yield await to_rows(items)
        if not more or not items:
            return
        items, more = await fetch(key(items[-1]))


class _SchoolNames:
    """School names looked up page by page (bounded by the schools in scope, not by the rows)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    async def of(self, codes: set[str]) -> dict[str, str]:
        missing = [c for c in codes if c not in self.names]
        if missing:
            self.names.update(dict(await School.filter(code__in=missing).values_list("code", "name")))
        return self.names


def _labels(categories: list[Category]) -> str:
    return "、".join(c.label for c in categories)


async def _reason_labels() -> dict[str, str]:
    """Every reason code's label, retired ones too (a small code list, read once per page)."""
    return dict(await ReasonCode.all().values_list("code", "label"))


def _key(s: unfunded.UnfundedStudent) -> explanations.Key:
    return (s.period, s.stage.value, s.full_id_number, s.project)


# --- the three lists -----------------------------------------------------------------------------
UNFUNDED_COLUMNS = [
    Column("身份证件号", 21, text=True),
    Column("姓名", 10),
    Column("学校标识码", 13, text=True),
    Column("学校名称", 24),
    Column("学段", 12),
    Column("特殊群体类型", 30),
    Column("中央下发", 24),
    Column("自采集", 24),
    Column("原因填报状态", 12),
    Column("未资助原因代码", 8, text=True),
    Column("未资助原因", 36),
    Column("原因说明", 30),
    Column("原因来源", 12),
    Column("填报时间", 20),
    Column("年级", 10),
    Column("班级", 10),
    Column("连续未资助起始", 20),
    Column("填报人", 12),
    Column("资助记录情况", 48),
]
LEGACY_COLUMNS = [
    Column("身份证件号", 21, text=True),
    Column("姓名", 10),
    Column("学校标识码", 13, text=True),
    Column("学校名称", 24),
    Column("学段", 12),
    Column("资助周期", 13, text=True),
    Column("未资助原因代码", 8, text=True),
    Column("未资助原因", 36),
    Column("原因说明", 30),
    Column("填报时间", 20),
    Column("资助项目代码", 20, text=True),
]
ROSTER_COLUMNS = [
    Column("身份证件号", 21, text=True),
    Column("姓名", 10),
    Column("学校标识码", 13, text=True),
    Column("学校名称", 24),
    Column("资助周期", 13, text=True),
    Column("金额", 12),
    Column("审核状态", 14),
    Column("退回原因", 30),
    Column("更新时间", 20),
]

DUPLICATE_COLUMNS = [
    Column("身份证件号", 21, text=True),
    Column("姓名", 10),
    Column("学段", 12),
    Column("学校标识码", 13, text=True),
    Column("学校名称", 24),
    Column("主管区划代码", 10, text=True),
    Column("主管区划", 16),
    Column("计入本校", 8),
]


async def _unfunded(viewer: Viewer, f: dict) -> ListExport:
    schools = _SchoolNames()

    filters = unfunded.ListFilters(
        stage=f["stage"],
        region_code=f["region_code"],
        school_code=f["school_code"],
        category=f["category"],
        source=f["source"],
        reason_reported=f["reason_reported"],
        search=f["search"],
        project=f["project"],
    )

    async def fetch(after: int | None):
        return await unfunded.list_unfunded_students(viewer, f["period"], filters, first=PAGE_ROWS, after=after)

    async def rows(items: list[unfunded.UnfundedStudent]) -> list[Row]:
        names = await schools.of({s.school_code for s in items})
        labels = await _reason_labels()
        records = await explanations.explanations([_key(s) for s in items])  # one statement per page
        return [
            (
                s.id_number,
                s.name,
                s.school_code,
                names.get(s.school_code, ""),
                s.stage.label,
                _labels(s.categories),
                _labels(s.central),
                _labels(s.self_collected),
                "已填报" if s.reason_code else "未填报",
                s.reason_code,
                labels.get(s.reason_code or "", ""),
                s.reason_detail,
                ("继承历史原因" if s.reason_inherited else "学校填报") if s.reason_code else None,
                s.reported_at,
                s.grade,
                s.class_name,
                s.unfunded_since,
                s.reported_by,
                explanations.short_text(records[_key(s)]),
            )
            for s in items
        ]

    pages = _pages(await fetch(None), fetch, lambda s: s.row_id, rows)
    return ListExport(f"特殊群体学生未资助名单{f['period']}", UNFUNDED_COLUMNS, pages)


async def _legacy(viewer: Viewer, f: dict) -> ListExport:
    schools = _SchoolNames()

    async def fetch(after: int | None):
        return await unfunded.list_legacy_reasons(
            viewer,
            period=f["period"],
            stage=f["stage"],
            region_code=f["region_code"],
            school_code=f["school_code"],
            project=f["project"],
            first=PAGE_ROWS,
            after=after,
        )

    async def rows(items: list[unfunded.LegacyReason]) -> list[Row]:
        names = await schools.of({r.school_code for r in items})
        labels = await _reason_labels()
        return [
            (
                r.id_number,
                r.name,
                r.school_code,
                names.get(r.school_code, ""),
                r.stage.label,
                r.period,
                r.reason_code,
                labels.get(r.reason_code, ""),
                r.detail,
                r.reported_at,
                r.project_code,
            )
            for r in items
        ]

    pages = _pages(await fetch(None), fetch, lambda r: r.row_id, rows)
    return ListExport(f"脱贫家庭学生历史未资助原因{f['period'] or ''}", LEGACY_COLUMNS, pages)


async def _roster(viewer: Viewer, f: dict) -> ListExport:
    first = await roster.list_entries(viewer, f["period"], f["school_code"], f["status"], PAGE_ROWS, None)
    school = first.school

    async def fetch(after: int | None):
        page = await roster.list_entries(viewer, f["period"], school.code, f["status"], PAGE_ROWS, after)
        return page.entries, page.has_next

    async def rows(items) -> list[Row]:
        return [
            (
                viewer.id_number_for(e.id_number, e.school_code),
                e.name,
                e.school_code,
                school.name,
                e.period,
                e.amount,
                AidStatus(e.status).label,
                e.return_comment,
                e.updated_at,
            )
            for e in items
        ]

    pages = _pages((first.entries, first.has_next), fetch, lambda e: e.id, rows)
    return ListExport(f"学前教育政府资助名单{school.code}-{first.period}", ROSTER_COLUMNS, pages)


OVERVIEW_COLUMNS = [
    Column("学校标识码", 13, text=True),
    Column("学校名称", 24),
    Column("主管区划代码", 12, text=True),
    *(Column(s.label, 10) for s in AidStatus),
    Column("合计", 8),
    Column("待本级处理", 10),
    Column("录入时间", 40),
    Column("学校审核时间", 40),
    Column("主管部门审核时间", 40),
]


def _overview_counts(counts: overview.StatusCounts) -> tuple:
    return (*(counts.of(s) for s in AidStatus), counts.total)


async def _roster_overview(viewer: Viewer, f: dict) -> ListExport:
    totals = await overview.region_totals(viewer, f["region_code"], f["period"])
    region = totals.region
    now = dt.datetime.now(SHANGHAI)  # the windows' bounds are exported, not their state

    async def fetch(after: str | None):
        return await overview.region_schools(
            viewer, region.code, totals.period, now, PAGE_ROWS, after, f["waiting_for_me"]
        )

    async def rows(items) -> list[Row]:
        return [
            (
                r.school.code,
                r.school.name,
                r.school.region_code,
                *_overview_counts(r.counts),
                "是" if r.waiting_for_me else "否",
                *(r.windows[a].display for a in WindowAction),
            )
            for r in items
        ]

    async def pages() -> Pages:
        yield [
            (
                region.code,
                f"{region.name}合计（{totals.schools}所幼儿园）",
                region.code,
                *_overview_counts(totals.counts),
                f"{totals.waiting_schools}所",
                "",
                "",
                "",
            )
        ]
        async for page in _pages(await fetch(None), fetch, lambda r: r.school.code, rows):
            yield page

    return ListExport(f"学前教育政府资助名单概况{region.code}-{totals.period}", OVERVIEW_COLUMNS, pages())


UNMATCHED_COLUMNS = [
    Column("身份证件号", 21, text=True),
    Column("姓名", 10),
    Column("户籍地区划代码", 10, text=True),
    Column("特殊群体类型", 30),
    Column("中央下发", 24),
    Column("自采集", 24),
]


async def _unmatched(viewer: Viewer, f: dict) -> ListExport:
    async def fetch(after: int | None):
        return await unmatched_members.list_unmatched(
            viewer,
            f["period"],
            region_code=f["region_code"],
            category=f["category"],
            source=f["source"],
            first=PAGE_ROWS,
            after=after,
        )

    async def rows(items: list[unmatched_members.UnmatchedMember]) -> list[Row]:
        return [
            (m.id_number, m.name, m.region_code, _labels(m.categories), _labels(m.central), _labels(m.self_collected))
            for m in items
        ]

    pages = _pages(await fetch(None), fetch, lambda m: m.row_id, rows)
    return ListExport(f"未匹配学籍的特殊群体成员{f['period']}", UNMATCHED_COLUMNS, pages)


async def _duplicates(viewer: Viewer, f: dict) -> ListExport:
    async def fetch(after: int | None):
        return await duplicates.list_duplicate_enrolments(
            viewer, f["period"], region_code=f["region_code"], first=PAGE_ROWS, after=after
        )

    async def rows(items: list[duplicates.DuplicateEnrolment]) -> list[Row]:
        return [
            (
                d.id_number,
                d.name,
                d.stage.label,
                s.school_code,
                s.school_name,
                s.region_code,
                s.region_name,
                "是" if s.chosen else "否",
            )
            for d in items
            for s in d.schools
        ]

    pages = _pages(await fetch(None), fetch, lambda d: d.row_id, rows)
    return ListExport(f"重复学籍学生名单{f['period']}", DUPLICATE_COLUMNS, pages)


_OPENERS = {
    UNFUNDED: _unfunded,
    LEGACY: _legacy,
    ROSTER: _roster,
    ROSTER_OVERVIEW: _roster_overview,
    DUPLICATES: _duplicates,
    UNMATCHED: _unmatched,
}


async def open_list(kind: str, viewer: Viewer, given: Mapping[str, str | None]) -> ListExport:
    """The export of a list: the first page is read here, so scope and filter errors come before
    any byte is sent; the rest is read as the pages are consumed."""
    f = parse_filters(kind, given)
    return await _OPENERS[kind](viewer, f)
