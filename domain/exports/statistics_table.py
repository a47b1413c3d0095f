"""The statistics table (特殊群体学生未资助情况统计表) of a region as an .xlsx workbook.

Design notes: docs/design/domain-exports.md."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.modules import module_for
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.exports.tabular import Column, Pages, neutralise
from zizhu.domain.models import Region, School
from zizhu.domain.reasons import reports
from zizhu.domain.reference.codes import Category, Stage
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.statistics import figures

REGIONS, SCHOOLS, SUBTREE_SCHOOLS = "REGIONS", "SCHOOLS", "SUBTREE_SCHOOLS"
MAX_ROWS = 5000
MAX_SUBTREE_SCHOOLS = 100_000  # the subtree school table: a large province's schools
PAGE_SCHOOLS = 500  # schools whose figures are loaded (and written) at once
MEASURES = ("特殊群体学生数", "已资助", "未资助", "已填报原因", "未填报原因")
SOURCES = ("合计", "中央下发", "自采集")
GROUPS = ("特殊群体学生合计", *(c.label for c in Category))
REASON_GROUP = "未资助原因分布"
HEADER_ROWS = 4  # title, category, source, count
OWN_REASONS_HEADER = "本级未资助原因"
NAME_COLUMNS = 2


@dataclass(frozen=True)
class StatisticsTable:
    title: str
    filename: str
    region_code: str
    rows: list[tuple[str, str, figures.UnfundedStatistics]]  # (code, name, figures)
    summary_rows: int  # the last rows: 本级 and 合计, or 合计
    reason_codes: tuple[tuple[str, str], ...] = ()  # (code, label) of the 未资助原因分布 columns
    own_level_reasons: str | None = None  # the region layout: its 本级 row's reasons, as text


def _cells(s: figures.UnfundedStatistics) -> list[int]:
    """The 14 × 3 × 5 counts of one row, then its count per reason code, in header order."""
    triples = [(s.total, s.total_central, s.total_self_collected)]
    triples += [(c.all, c.central, c.self_collected) for c in s.by_category]
    return [
        value
        for triple in triples
        for counts in triple
        for value in (counts.members, counts.funded, counts.unfunded, counts.reason_reported, counts.reason_pending)
    ] + [r.count for r in s.by_reason()]


def check_rows(rows: str) -> None:
    if rows not in (REGIONS, SCHOOLS, SUBTREE_SCHOOLS):
        raise ValidationFailed(f"无效的统计表类型“{rows}”", argument="rows")


def _stage_label(viewer: Viewer, stage: Stage | None) -> str:
    stages = viewer.visible_stages(stage)
    if len(stages) == len(Stage):
        return "全部学段"
    return "、".join(Stage(s).label for s in stages)


def _scope_label(viewer: Viewer, stage: Stage | None, project: str | None, stages: list[str] | None = None) -> str:
    """The stages (and the project, for a project's module) a table covers, for its title."""
    if project:
        return _stage_label(viewer, Stage(stages[0]) if stages else stage) + f"，项目 {project}"
    return _stage_label(viewer, stage)


async def statistics_table(
    viewer: Viewer,
    period: str,
    region_code: str | None = None,
    stage: Stage | None = None,
    rows: str = REGIONS,
    project: str | None = None,
) -> StatisticsTable:
    """The figures of the table, in the viewer's scope (school accounts: FORBIDDEN; outside: NOT_FOUND);
    with `project`, that project's module (项目模块)."""
    check_rows(rows)
    semester = parse_semester(period)
    region = await viewer.region(region_code)
    module = await module_for(viewer, project, stage)
    stages = module.stages
    if rows == REGIONS:
        children = await Region.filter(parent_code=region.code).order_by("code").limit(MAX_ROWS + 1)
        labelled = [(c.code, c.name, figures.subtree(c.code)) for c in children]
        labelled += [
            (region.code, "本级", figures.own_level(region.code)),
            (region.code, "合计", figures.subtree(region.code)),
        ]
    else:
        schools = await School.filter(region_code=region.code).order_by("code").limit(MAX_ROWS + 1)
        labelled = [(s.code, s.name, figures.Area("school", s.code)) for s in schools]
        labelled.append((region.code, "合计", figures.own_level(region.code)))
    if len(labelled) > MAX_ROWS:
        raise ValidationFailed(f"统计表最多 {MAX_ROWS} 行，请选择下级区划导出", argument="regionCode")
    results = await figures.statistics_for(semester.code, [area for _, _, area in labelled], stages, module.project)
    own_reasons = None
    if rows == REGIONS:
        labels = dict(results[0].reason_codes) if results else dict(await figures.reason_code_list())
        own = (await reports.own_level_reasons(semester.code, [region.code], stages))[region.code]
        own_reasons = reasons_text(own, labels)
    what = "学校" if rows == SCHOOLS else ""
    scope = _scope_label(viewer, stage, project, stages)
    title = f"{region.name}{what}特殊群体学生未资助情况统计表（{semester.label}，{scope}）"
    kind = "schools" if rows == SCHOOLS else "regions"
    return StatisticsTable(
        title=title,
        filename=f"unfunded-statistics-{kind}-{region.code}-{semester.code}.xlsx",
        region_code=region.code,
        rows=[(code, name, r) for (code, name, _), r in zip(labelled, results)],
        summary_rows=1 if rows == SCHOOLS else 2,
        reason_codes=tuple(results[0].reason_codes) if results else tuple(await figures.reason_code_list()),
        own_level_reasons=own_reasons,
    )


def reasons_text(reasons: list, labels: dict[str, str]) -> str:
    """本级未资助原因 as one cell: “义务教育·低保学生：01 学生本人…（说明）；…” (no category: all types)."""
    categories = {c.number: c.label for c in Category}
    parts = []
    for r in reasons:
        where = Stage(r.stage).label + (f"·{categories[r.category]}" if r.category in categories else "")
        text = f"{where}：{r.reason_code} {labels.get(r.reason_code, '')}"
        parts.append(text + (f"（{r.detail}）" if r.detail else ""))
    return "；".join(parts)


def workbook_bytes(table: StatisticsTable, rows: str = REGIONS) -> bytes:
    """The table as .xlsx (CPU work: call it off the event loop, see `statistics_workbook`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = "统计表"
    counts_width = NAME_COLUMNS + len(GROUPS) * len(SOURCES) * len(MEASURES) + len(table.reason_codes)
    width = counts_width + (1 if rows == REGIONS else 0)  # the region layout ends with 本级未资助原因
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    ws.cell(row=1, column=1, value=neutralise(table.title)).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    code_header = "学校标识码" if rows == SCHOOLS else "区划代码"
    for column, text in ((1, code_header), (2, "名称")):
        ws.cell(row=2, column=column, value=text)
        ws.merge_cells(start_row=2, start_column=column, end_row=HEADER_ROWS, end_column=column)
    column = NAME_COLUMNS + 1
    span = len(SOURCES) * len(MEASURES)
    for group in GROUPS:
        ws.cell(row=2, column=column, value=group)
        ws.merge_cells(start_row=2, start_column=column, end_row=2, end_column=column + span - 1)
        for i, source in enumerate(SOURCES):
            first = column + i * len(MEASURES)
            ws.cell(row=3, column=first, value=source)
            ws.merge_cells(start_row=3, start_column=first, end_row=3, end_column=first + len(MEASURES) - 1)
            for j, measure in enumerate(MEASURES):
                ws.cell(row=4, column=first + j, value=measure)
        column += span
    if table.reason_codes:
        ws.cell(row=2, column=column, value=REASON_GROUP)
        ws.merge_cells(start_row=2, start_column=column, end_row=2, end_column=column + len(table.reason_codes) - 1)
        for i, (code, label) in enumerate(table.reason_codes):
            ws.cell(row=3, column=column + i, value=f"{code} {label}")
            ws.merge_cells(start_row=3, start_column=column + i, end_row=HEADER_ROWS, end_column=column + i)
    if width > counts_width:
        ws.cell(row=2, column=width, value=OWN_REASONS_HEADER)
        ws.merge_cells(start_row=2, start_column=width, end_row=HEADER_ROWS, end_column=width)
    for row in ws.iter_rows(min_row=2, max_row=HEADER_ROWS, max_col=width):
        for cell in row:
            cell.font, cell.fill, cell.alignment, cell.border = bold, fill, centre, border

    for index, (code, name, result) in enumerate(table.rows):
        own = rows == REGIONS and index == len(table.rows) - table.summary_rows  # the 本级 row
        extra = [neutralise(table.own_level_reasons or "") if own else None] if width > counts_width else []
        ws.append([code, neutralise(name), *_cells(result), *extra])
        current = ws.max_row
        ws.cell(row=current, column=1).number_format = "@"  # codes stay text
        if index >= len(table.rows) - table.summary_rows:
            for cell in ws[current][:width]:
                cell.font = bold
    ws.column_dimensions["A"].width = 13
    ws.column_dimensions["B"].width = 24
    for index in range(NAME_COLUMNS + 1, counts_width + 1):
        ws.column_dimensions[get_column_letter(index)].width = 10
    if width > counts_width:
        ws.column_dimensions[get_column_letter(width)].width = 60
    ws.row_dimensions[4].height = 30
    ws.freeze_panes = ws.cell(row=HEADER_ROWS + 1, column=NAME_COLUMNS + 1).coordinate
    # On paper: A4 landscape, the width fitted to one page (as many pages down as it takes), and
    # the category/source/count header rows repeated on every page.
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = f"2:{HEADER_ROWS}"
    ws.print_options.horizontalCentered = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def workbook_file(table: StatisticsTable, rows: str = REGIONS) -> bytes:
    """The table as .xlsx, built in a worker thread."""
    return await asyncio.to_thread(workbook_bytes, table, rows)


# --- the subtree school table (streamed) -------------------------------------------------------
@dataclass(frozen=True)
class SubtreeSchools:
    """Every school of a region's subtree, most pending reasons first: what to stream."""

    title: str
    filename: str
    columns: list[Column]
    pages: Pages


def subtree_columns(reason_codes: list[tuple[str, str]]) -> list[Column]:
    """学校标识码, 学校名称, 所属县（区）, 所属市, then the 14 × 3 × 5 counts and the count per reason
    code (headers joined by ·), as `_cells` gives them."""
    lead = [
        Column("学校标识码", 13, text=True),
        Column("学校名称", 24),
        Column("所属县（区）", 12),
        Column("所属市", 12),
    ]
    counts = [Column(f"{g}·{s}·{m}", 12) for g in GROUPS for s in SOURCES for m in MEASURES]
    reasons = [Column(f"{REASON_GROUP}·{code} {label}", 12) for code, label in reason_codes]
    return lead + counts + reasons


async def _schools_in(viewer: Viewer, prefix: str, stage: Stage | None) -> list[dict]:
    """The subtree's schools (code, name, region_code), bounded; with a stage (or a stage-limited
    account) only the schools with enrolments in those stages, as the school drill-down lists them."""
    params: dict = {"limit": MAX_SUBTREE_SCHOOLS + 1}
    where = ["1 = 1"]
    if prefix:
        params.update(lo=prefix, hi=prefix[:-1] + chr(ord(prefix[-1]) + 1))
        where.append("s.region_code >= :lo AND s.region_code < :hi")
    if stage is not None or viewer.stages:
        stages = ", ".join(repr(Stage(v).value) for v in viewer.visible_stages(stage))
        where.append(f"EXISTS (SELECT 1 FROM enrolment e WHERE e.school_code = s.code AND e.stage IN ({stages}))")
    rows = await db.fetch(
        f"SELECT s.code, s.name, s.region_code FROM school s WHERE {' AND '.join(where)} ORDER BY s.code LIMIT :limit",
        params,
    )
    if len(rows) > MAX_SUBTREE_SCHOOLS:
        raise ValidationFailed(
            f"本区域学校超过 {MAX_SUBTREE_SCHOOLS} 所，请选择下级区划导出学校统计表", argument="regionCode"
        )
    return rows


async def _county_and_city(region_codes: set[str]) -> dict[str, tuple[str, str]]:
    """{a school's region: (county name, city name)}: a county and its city, a city alone, else ('', '')."""
    regions = {r.code: r for r in await Region.filter(code__in=sorted(region_codes) or [""])}
    parents = {r.parent_code for r in regions.values() if r.parent_code and r.parent_code not in regions}
    regions |= {r.code: r for r in await Region.filter(code__in=sorted(parents) or [""])}
    named = {}
    for code in region_codes:
        r = regions.get(code)
        if r is None:
            named[code] = ("", "")
        elif r.level == "COUNTY":
            parent = regions.get(r.parent_code or "")
            named[code] = (r.name, parent.name if parent is not None and parent.level == "CITY" else "")
        elif r.level == "CITY":
            named[code] = ("", r.name)
        else:
            named[code] = ("", "")
    return named


async def subtree_schools(
    viewer: Viewer, period: str, region_code: str | None, stage: Stage | None, project: str | None = None
) -> SubtreeSchools:
    """每所学校 of the subtree, sorted by pending reasons (未填报原因) descending, then by code, with
    its county and city; with `project`, of that project's module (项目模块). The order comes from
    one grouped count; the figures are then loaded and written `PAGE_SCHOOLS` schools at a time,
    so the table is never held whole."""
    semester = parse_semester(period)
    region = await viewer.region(region_code)
    module = await module_for(viewer, project, stage)
    stages = module.stages
    prefix = region_prefix(region.code)
    schools = await _schools_in(viewer, prefix, Stage(stages[0]) if project and stages else stage)
    pending = await figures.pending_by_school(semester.code, stages, prefix, module.project)
    schools.sort(key=lambda s: (-pending.get(s["code"], 0), s["code"]))
    names = await _county_and_city({s["region_code"] for s in schools})

    async def pages() -> Pages:
        for start in range(0, len(schools), PAGE_SCHOOLS):
            page = schools[start : start + PAGE_SCHOOLS]
            areas = [figures.Area("school", s["code"]) for s in page]
            results = await figures.statistics_for(semester.code, areas, stages, module.project)
            yield [(s["code"], s["name"], *names[s["region_code"]], *_cells(r)) for s, r in zip(page, results)]

    scope = _scope_label(viewer, stage, project, stages)
    title = f"{region.name}全部学校特殊群体学生未资助情况统计表（{semester.label}，{scope}，按未填报原因排序）"
    return SubtreeSchools(
        title=title,
        filename=f"unfunded-statistics-subtree-schools-{region.code}-{semester.code}.xlsx",
        columns=subtree_columns(await figures.reason_code_list()),
        pages=pages(),
    )
