"""Unfunded statistics (特殊群体学生未资助情况统计): the counting rules of docs/domain.md.

Members, funded and unfunded come from the published run's `run_statistic` rows (one wide row
per school and stage, unfunded = members − funded), summed by region-code prefix (a region's
subtree) or by exact region code (本级, own level): the cost is O(regions), never a scan of
students. reasonReported is computed live from the published run's unfunded list joined to
`unfunded_reason` (period, stage, ID number), so a reason reported a second ago is already
counted; reasonPending = unfunded − reasonReported.

With no published run for the period every count is zero and `run_id` / `computed_at` are None.
A school account sees its own school's statistics only; passing a region code is FORBIDDEN
(`Viewer.region`). Several areas of one period are answered by one pair of grouped queries
(`statistics_for`), which the API's DataLoader uses for a region's children.
"""
from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from dataclasses import dataclass, field

from zizhu.domain import db
from zizhu.domain.reference.codes import Category, Stage
from zizhu.domain.comparison.engine import published_sources
from zizhu.domain.comparison.steps import counted, list_rows_of, stat_columns
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.models import ComparisonRun
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.accounts.scopes import Viewer


@dataclass
class Counts:
    """One statistics cell: 特殊群体学生数 / 已资助 / 未资助 / 已填报原因 (未填报 derived)."""

    members: int = 0
    funded: int = 0
    unfunded: int = 0
    reason_reported: int = 0

    @property
    def reason_pending(self) -> int:
        return self.unfunded - self.reason_reported


@dataclass
class CategoryCounts:
    category: Category
    all: Counts
    central: Counts
    self_collected: Counts


@dataclass
class UnfundedStatistics:
    period: str
    run_id: int | None
    computed_at: dt.datetime | None
    total: Counts
    total_central: Counts
    total_self_collected: Counts
    by_category: list[CategoryCounts] = field(default_factory=list)


@dataclass(frozen=True)
class Area:
    """What a statistic covers: kind 'prefix' (a region's subtree), 'exact' (本级: schools whose
    region_code is `value`) or 'school' (one school)."""

    kind: str
    value: str

    def covers(self, region_code: str, school_code: str) -> bool:
        if self.kind == "prefix":
            return region_code.startswith(self.value)
        if self.kind == "exact":
            return region_code == self.value
        return school_code == self.value


def subtree(region_code: str) -> Area:
    return Area("prefix", region_prefix(region_code))


def own_level(region_code: str) -> Area:
    return Area("exact", region_code)


def _period(period: str) -> str:
    return parse_semester(period).code


# --- SQL filters (values are inlined only after validation: ints, 2-digit provinces, stage enums)
def _runs_filter(sources: list[tuple[int, str | None, tuple[str, ...]]], alias: str, period: str | None = None) -> str:
    """The rows of the current runs: `run_statistic` rows by run id, or with `period` the
    `unfunded_result` versions that make up each run's list."""
    parts = []
    for run_id, province, excluded in sources:
        cond = list_rows_of(alias, run_id, period, province or "") if period else f"{alias}.run_id = {int(run_id)}"
        if excluded:
            provinces = ", ".join(f"'{p}'" for p in excluded if p.isdigit() and len(p) == 2)
            cond += f" AND substr({alias}.school_code, 3, 2) NOT IN ({provinces})"
        parts.append(f"({cond})")
    return "(" + " OR ".join(parts) + ")"


def _area_filter(areas: list[Area], alias: str) -> tuple[str, dict]:
    schools = sorted({a.value for a in areas if a.kind == "school"})
    if schools:
        names = {f"school{i}": code for i, code in enumerate(schools)}
        codes = ", ".join(":" + n for n in names)
        # rows carry their school's region_code, which leads the indexes of the run's rows
        region = f"{alias}.region_code IN (SELECT region_code FROM school WHERE code IN ({codes}))"
        return f"{alias}.school_code IN ({codes}) AND {region}", names
    prefix = os.path.commonprefix([a.value if a.kind == "prefix" else region_prefix(a.value) for a in areas])
    if not prefix:
        return "1 = 1", {}
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # [prefix, upper) is the subtree, index-friendly
    return f"{alias}.region_code >= :lo AND {alias}.region_code < :hi", {"lo": prefix, "hi": upper}


def _stage_filter(stages: list[str], alias: str) -> str:
    return f"{alias}.stage IN ({', '.join(repr(Stage(s).value) for s in stages)})"


async def _grouped(period: str, areas: list[Area], stages: list[str], sources) -> tuple[list[dict], list[dict]]:
    where_area, params = _area_filter(areas, "t")
    where = f"{where_area} AND {_stage_filter(stages, 't')}"
    # school areas need the school in the grouping; region areas only the region (O(regions))
    by_school = any(a.kind == "school" for a in areas)
    school, group = ("t.school_code", ", t.school_code") if by_school else ("''", "")
    wide = stat_columns("members") + stat_columns("funded")
    counts = await db.fetch(
        f"""SELECT t.region_code, {school} AS school_code, {", ".join(f"SUM(t.{c}) AS {c}" for c, _, _ in wide)}
              FROM run_statistic t WHERE {_runs_filter(sources, 't')} AND {where}
             GROUP BY t.region_code{group}""",
        params,
    )
    # reasons: rows grouped by their masks first, then each (category, source) column counts the groups it covers
    reported = ", ".join(
        f"SUM({counted(c, s, 'g.cm', 'g.sm')} * g.n) AS {column}"
        for column, c, s in stat_columns("reported")
    )
    reasons = await db.fetch(
        f"""SELECT g.region_code, g.school_code, {reported}
              FROM (SELECT t.region_code, {school} AS school_code, t.central_mask AS cm, t.self_mask AS sm,
                           COUNT(*) AS n
                      FROM unfunded_result t
                     WHERE {_runs_filter(sources, 't', period)} AND {where} AND EXISTS (
                           SELECT 1 FROM unfunded_reason r
                            WHERE r.period = :period AND r.stage = t.stage AND r.id_number = t.id_number)
                     GROUP BY t.region_code{group}, t.central_mask, t.self_mask) g
             GROUP BY g.region_code, g.school_code""",
        {**params, "period": period},
    )
    return counts, reasons


def _assemble(period: str, run: ComparisonRun | None, cells: dict[tuple[str, str], Counts]) -> UnfundedStatistics:
    def cell(category: str, source: str) -> Counts:
        return cells.get((category, source), Counts())

    return UnfundedStatistics(
        period=period,
        run_id=run.id if run else None,
        computed_at=run.finished_at if run else None,
        total=cell("00", "ALL"),
        total_central=cell("00", "CENTRAL"),
        total_self_collected=cell("00", "SELF"),
        by_category=[
            CategoryCounts(c, cell(c.number, "ALL"), cell(c.number, "CENTRAL"), cell(c.number, "SELF"))
            for c in Category
        ],
    )


async def statistics_for(period: str, areas: list[Area], stages: list[str]) -> list[UnfundedStatistics]:
    """Statistics of each area (same period and stages) with two grouped queries in all."""
    period = _period(period)
    sources = await published_sources(period)
    latest = await ComparisonRun.get_or_none(id=max(s[0] for s in sources)) if sources else None
    cells: list[dict[tuple[str, str], Counts]] = [defaultdict(Counts) for _ in areas]
    if sources and stages and areas:
        counts, reasons = await _grouped(period, areas, stages, sources)
        for i, area in enumerate(areas):
            for r in counts:
                if area.covers(r["region_code"], r["school_code"]):
                    for column, category, source in stat_columns("members"):
                        members, funded = int(r[column] or 0), int(r[f"funded_{category}_{source}"] or 0)
                        if members:
                            c = cells[i][(category, source.upper())]
                            c.members += members
                            c.funded += funded
                            c.unfunded += members - funded
            for r in reasons:
                if area.covers(r["region_code"], r["school_code"]):
                    for column, category, source in stat_columns("reported"):
                        if r[column]:
                            cells[i][(category, source.upper())].reason_reported += int(r[column])
    return [_assemble(period, latest, c) for c in cells]


async def area_for(viewer: Viewer, region_code: str | None) -> Area:
    """The area a viewer asks about: their school, or a region of their scope (NotFound outside)."""
    if viewer.is_school and not region_code:
        return Area("school", viewer.scope_code)
    region = await viewer.region(region_code)  # Forbidden for school accounts, NotFound outside scope
    return subtree(region.code)


async def unfunded_statistics(
    viewer: Viewer, period: str, region_code: str | None = None, stage: Stage | None = None
) -> UnfundedStatistics:
    """`unfundedStatistics(period, regionCode, stage)` as the viewer may see it."""
    stages = viewer.visible_stages(stage)
    area = await area_for(viewer, region_code)
    (result,) = await statistics_for(period, [area], stages)
    return result
