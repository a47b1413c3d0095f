"""The statistics table (特殊群体学生未资助情况统计表) of a region as an .xlsx workbook.

Rows: one per subordinate region, then 本级 (the schools directly under the region) and 合计 (the
whole region) — or, for the school table, one per school directly under the region, then 合计
(those schools together). Columns: the category-free total and the 13 categories, each split
into 合计 / 中央下发 / 自采集, each of those into the five counts, under merged headers (category,
then source, then count), with the header and the name columns frozen and the period and stage in
the title. The figures come from `statistics.figures`, as `unfundedStatistics` answers them.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.modules import module_for
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.exports.tabular import neutralise
from zizhu.domain.models import Region, School
from zizhu.domain.reference.codes import Category, Stage
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.statistics import figures

REGIONS, SCHOOLS = "REGIONS", "SCHOOLS"
MAX_ROWS = 5000
MEASURES = ("特殊群体学生数", "已资助", "未资助", "已填报原因", "未填报原因")
SOURCES = ("合计", "中央下发", "自采集")
GROUPS = ("特殊群体学生合计", *(c.label for c in Category))
HEADER_ROWS = 4  # title, category, source, count
NAME_COLUMNS = 2


@dataclass(frozen=True)
class StatisticsTable:
    title: str
    filename: str
    region_code: str
    rows: list[tuple[str, str, figures.UnfundedStatistics]]  # (code, name, figures)
    summary_rows: int  # the last rows: 本级 and 合计, or 合计


def _cells(s: figures.UnfundedStatistics) -> list[int]:
    """The 14 × 3 × 5 counts of one row, in header order."""
    triples = [(s.total, s.total_central, s.total_self_collected)]
    triples += [(c.all, c.central, c.self_collected) for c in s.by_category]
    return [
        value
        for triple in triples
        for counts in triple
        for value in (counts.members, counts.funded, counts.unfunded, counts.reason_reported, counts.reason_pending)
    ]


def check_rows(rows: str) -> None:
    if rows not in (REGIONS, SCHOOLS):
        raise ValidationFailed(f"无效的统计表类型“{rows}”", argument="rows")


def _stage_label(viewer: Viewer, stage: Stage | None) -> str:
    stages = viewer.visible_stages(stage)
    if len(stages) == len(Stage):
        return "全部学段"
    return "、".join(Stage(s).label for s in stages)


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
    what = "学校" if rows == SCHOOLS else ""
    scope = _stage_label(viewer, Stage(stages[0]) if project else stage) + (f"，项目 {project}" if project else "")
    title = f"{region.name}{what}特殊群体学生未资助情况统计表（{semester.label}，{scope}）"
    kind = "schools" if rows == SCHOOLS else "regions"
    return StatisticsTable(
        title=title,
        filename=f"unfunded-statistics-{kind}-{region.code}-{semester.code}.xlsx",
        region_code=region.code,
        rows=[(code, name, r) for (code, name, _), r in zip(labelled, results)],
        summary_rows=1 if rows == SCHOOLS else 2,
    )


def workbook_bytes(table: StatisticsTable, rows: str = REGIONS) -> bytes:
    """The table as .xlsx (CPU work: call it off the event loop, see `statistics_workbook`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "统计表"
    width = NAME_COLUMNS + len(GROUPS) * len(SOURCES) * len(MEASURES)
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
    for row in ws.iter_rows(min_row=2, max_row=HEADER_ROWS, max_col=width):
        for cell in row:
            cell.font, cell.fill, cell.alignment, cell.border = bold, fill, centre, border

    for index, (code, name, result) in enumerate(table.rows):
        ws.append([code, neutralise(name), *_cells(result)])
        current = ws.max_row
        ws.cell(row=current, column=1).number_format = "@"  # codes stay text
        if index >= len(table.rows) - table.summary_rows:
            for cell in ws[current][:width]:
                cell.font = bold
    ws.column_dimensions["A"].width = 13
    ws.column_dimensions["B"].width = 24
    for index in range(NAME_COLUMNS + 1, width + 1):
        ws.column_dimensions[get_column_letter(index)].width = 10
    ws.row_dimensions[4].height = 30
    ws.freeze_panes = ws.cell(row=HEADER_ROWS + 1, column=NAME_COLUMNS + 1)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def workbook_file(table: StatisticsTable, rows: str = REGIONS) -> bytes:
    """The table as .xlsx, built in a worker thread."""
    return await asyncio.to_thread(workbook_bytes, table, rows)
