"""Unfunded statistics (特殊群体学生未资助情况统计): the counting rules applied to the published runs.

Members, funded and unfunded are precomputed by each run: `region_statistic` holds, per region,
the sums of its subtree (kind 'S') and of its own level (本级, kind 'O'), so a region's figures are
a key lookup and a nested rollup reads one row per region; `run_statistic` holds them per school.
unfunded = members − funded. reasonReported counts the published list's students who have a
reason for (period, stage, ID number); it is computed from the list when asked — never from a
stale copy — and reasonPending = unfunded − reasonReported. The read caches above this module are
keyed by the data version that every reason write moves (`zizhu.domain.versions`).

`Figures.load` answers several areas of one (period, stages) with at most four statements: the
published runs, the region rows, the school rows (only for school areas) and the reasons. With
`whole_subtree` it loads every region under the areas' common prefix, so a page that walks down a
region tree (province → cities → counties) is answered from one load.

With no published run for the period every count is zero and `run_id` / `computed_at` are None.
A school account sees its own school's statistics only; passing a region code is FORBIDDEN.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.engine import sources_of
from zizhu.domain.comparison.modules import module_for
from zizhu.domain.comparison.steps import counted, list_rows_of, project_code_literal, stat_columns
from zizhu.domain.models import ComparisonRun
from zizhu.domain.reference.codes import Category, Stage
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.reference.periods import parse_semester

_WIDE = [c for c, _, _ in stat_columns("members") + stat_columns("funded")]
_REPORTED = stat_columns("reported")


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
    """The figures of one area. Cells are built when asked for: a page that shows totals only
    never builds the 13 × 3 category cells."""

    period: str
    run_id: int | None
    computed_at: dt.datetime | None
    sums: dict[str, int] = field(default_factory=dict)  # members_/funded_/reported_ columns

    def cell(self, number: str, source: str) -> Counts:
        members = int(self.sums.get(f"members_{number}_{source}") or 0)
        funded = int(self.sums.get(f"funded_{number}_{source}") or 0)
        reported = int(self.sums.get(f"reported_{number}_{source}") or 0)
        return Counts(members, funded, members - funded, reported)

    @property
    def total(self) -> Counts:
        return self.cell("00", "all")

    @property
    def total_central(self) -> Counts:
        return self.cell("00", "central")

    @property
    def total_self_collected(self) -> Counts:
        return self.cell("00", "self")

    @property
    def by_category(self) -> list[CategoryCounts]:
        return [
            CategoryCounts(c, self.cell(c.number, "all"), self.cell(c.number, "central"), self.cell(c.number, "self"))
            for c in Category
        ]


@dataclass(frozen=True)
class Area:
    """What a statistic covers: kind 'prefix' (a region's subtree, value = its code prefix),
    'exact' (本级: schools whose region_code is `value`) or 'school' (one school)."""

    kind: str
    value: str

    @property
    def region_key(self) -> tuple[str, str]:
        """(region code, 'S' subtree / 'O' own level) of a region area's `region_statistic` rows."""
        if self.kind == "prefix":
            return self.value.ljust(6, "0"), "S"
        return self.value, "O"


def subtree(region_code: str) -> Area:
    return Area("prefix", region_prefix(region_code))


def own_level(region_code: str) -> Area:
    return Area("exact", region_code)


def _containing(region_code: str) -> list[tuple[str, str]]:
    """The region keys a school of `region_code` counts in (the rule `region_statistic` is built by)."""
    keys = [("000000", "S"), (region_code, "O")]
    if region_code != "000000":
        keys.append((region_code[:2] + "0000", "S"))
    if region_code[2:4] != "00":
        keys.append((region_code[:4] + "00", "S"))
    if region_code[4:6] != "00":
        keys.append((region_code, "S"))
    return keys


# --- SQL filters (values are inlined only after validation: ints, 2-digit provinces, stage enums)
def _runs_filter(sources, alias: str, period: str | None = None, province: str | None = None, project: str = "") -> str:
    """The rows of the published runs: by run id (`run_statistic`, `region_statistic`), or with
    `period` the `unfunded_result` versions that make up each run's list; of the stage-wide list
    ('') or of one project's module. A national run's rows of a province that has its own newer
    run are left out (`province` names the row's province)."""
    province = province or f"substr({alias}.school_code, 3, 2)"
    parts = []
    for run_id, scope, excluded in sources:
        if period:
            cond = list_rows_of(alias, run_id, period, scope or "", project)
        else:
            cond = f"{alias}.run_id = {int(run_id)} AND {alias}.project = '{project_code_literal(project)}'"
        if excluded:
            provinces = ", ".join(f"'{p}'" for p in excluded if p.isdigit() and len(p) == 2)
            cond += f" AND {province} NOT IN ({provinces})"
        parts.append(f"({cond})")
    return "(" + " OR ".join(parts) + ")"


def _stage_filter(stages: list[str], alias: str) -> str:
    return f"{alias}.stage IN ({', '.join(repr(Stage(s).value) for s in stages)})"


def _in(column: str, values: list[str], params: dict, name: str) -> str:
    names = {f"{name}{i}": v for i, v in enumerate(values)}
    params.update(names)
    return f"{column} IN ({', '.join(':' + n for n in names)})"


def _range(prefix: str, column: str, params: dict) -> str:
    """[prefix, next prefix) of a code column: a region's subtree, index-friendly."""
    if not prefix:
        return "1 = 1"
    params.update(lo=prefix, hi=prefix[:-1] + chr(ord(prefix[-1]) + 1))
    return f"{column} >= :lo AND {column} < :hi"


def _reported_sums(alias: str) -> str:
    return ", ".join(
        f"SUM({counted(c, s, f'{alias}.cm', f'{alias}.sm')} * {alias}.n) AS {col}" for col, c, s in _REPORTED
    )


@dataclass
class Figures:
    """The loaded figures of one (period, stages): region rows, school rows and reason counts."""

    period: str
    stages: tuple[str, ...]
    run: ComparisonRun | None
    project: str = ""  # '' the stage-wide list, else one project's module
    prefix: str | None = None  # the common code prefix of the region areas
    regions: dict[tuple[str, str], dict] = field(default_factory=dict)
    schools: dict[str, dict] = field(default_factory=dict)

    region_areas: list[Area] | None = None  # the areas whose region rows to load (None: whole subtree)
    school_codes: list[str] = field(default_factory=list)

    @classmethod
    def plan(
        cls, period: str, stages: list[str], areas: list[Area], whole_subtree: bool = False, project: str = ""
    ) -> Figures:
        """What a load of these areas will cover, known before it runs (`covers` works at once)."""
        regions = [a for a in areas if a.kind != "school"]
        prefix = os.path.commonprefix([a.value if a.kind == "prefix" else region_prefix(a.value) for a in regions])
        return cls(
            period=parse_semester(period).code,
            stages=tuple(stages),
            run=None,
            project=project,
            prefix=prefix if regions else None,
            region_areas=None if whole_subtree else regions,
            school_codes=sorted({a.value for a in areas if a.kind == "school"}),
        )

    @classmethod
    async def load(
        cls, period: str, stages: list[str], areas: list[Area], whole_subtree: bool = False, project: str = ""
    ) -> Figures:
        return await cls.plan(period, stages, areas, whole_subtree, project).fill()

    async def fill(self) -> Figures:
        runs = await ComparisonRun.filter(period=self.period, published=True).order_by("id")
        sources = sources_of(runs)
        self.run = runs[-1] if runs else None
        self.schools = {code: {} for code in self.school_codes}
        if sources and self.stages:
            if self.prefix is not None and self.region_areas != []:
                await self._load_regions(sources, self.prefix, self.region_areas)
            if self.school_codes:
                await self._load_schools(sources, self.school_codes)
        return self

    def covers(self, area: Area) -> bool:
        """Whether `of(area)` is answered by this load: its schools, or with a whole-subtree load
        any region under the prefix."""
        if area.kind == "school":
            return area.value in self.school_codes
        own = area.value if area.kind == "prefix" else region_prefix(area.value)
        return self.region_areas is None and self.prefix is not None and own.startswith(self.prefix)

    def of(self, area: Area) -> UnfundedStatistics:
        sums = self.schools.get(area.value) if area.kind == "school" else self.regions.get(area.region_key)
        return UnfundedStatistics(
            period=self.period,
            run_id=self.run.id if self.run else None,
            computed_at=self.run.finished_at if self.run else None,
            sums=sums or {},
        )

    async def _load_regions(self, sources, prefix: str, areas: list[Area] | None) -> None:
        params: dict = {}
        if areas is None:  # every region row under the prefix (the nation's own rows too at '')
            where = _range(prefix, "t.region_code", params)
        else:
            where = _in("t.region_code", sorted({a.region_key[0] for a in areas}), params, "region")
        rows = await db.fetch(
            f"""SELECT t.region_code, t.kind, {", ".join(f"SUM(t.{c}) AS {c}" for c in _WIDE)}
                  FROM region_statistic t
                 WHERE {_runs_filter(sources, 't', province='t.province', project=self.project)}
                   AND {_stage_filter(list(self.stages), 't')}
                   AND {where}
                 GROUP BY t.region_code, t.kind""",
            params,
        )
        for r in rows:
            self.regions[(r.pop("region_code"), r.pop("kind"))] = r
        # reasons: list rows with a reason, grouped by masks, then counted per (category, source)
        params = {"period": self.period}
        reported = await db.fetch(
            f"""SELECT g.region_code, {_reported_sums('g')}
                  FROM (SELECT t.region_code, t.central_mask AS cm, t.self_mask AS sm, COUNT(*) AS n
                          FROM unfunded_result t
                         WHERE {_runs_filter(sources, 't', self.period, project=self.project)}
                           AND {_stage_filter(list(self.stages), 't')}
                           AND {_range(prefix, 't.region_code', params)} AND EXISTS (
                               SELECT 1 FROM unfunded_reason r
                                WHERE r.period = :period AND r.stage = t.stage AND r.id_number = t.id_number)
                         GROUP BY t.region_code, t.central_mask, t.self_mask) g
                 GROUP BY g.region_code""",
            params,
        )
        for r in reported:
            for key in _containing(r["region_code"]):
                sums = self.regions.setdefault(key, {})
                for column, _, _ in _REPORTED:
                    sums[column] = sums.get(column, 0) + int(r[column] or 0)

    async def _load_schools(self, sources, codes: list[str]) -> None:
        params: dict = {}
        schools = _in("t.school_code", codes, params, "school")
        # rows carry their school's region_code, which leads the indexes of the run's rows
        region = f"t.region_code IN (SELECT region_code FROM school WHERE {_in('code', codes, params, 'school')})"
        where = f"{schools} AND {region} AND {_stage_filter(list(self.stages), 't')}"
        rows = await db.fetch(
            f"""SELECT t.school_code, {", ".join(f"SUM(t.{c}) AS {c}" for c in _WIDE)}
                  FROM run_statistic t WHERE {_runs_filter(sources, 't', project=self.project)} AND {where}
                 GROUP BY t.school_code""",
            params,
        )
        for r in rows:
            self.schools[r.pop("school_code")] = r
        reported = await db.fetch(
            f"""SELECT g.school_code, {_reported_sums('g')}
                  FROM (SELECT t.school_code, t.central_mask AS cm, t.self_mask AS sm, COUNT(*) AS n
                          FROM unfunded_result t
                         WHERE {_runs_filter(sources, 't', self.period, project=self.project)} AND {where} AND EXISTS (
                               SELECT 1 FROM unfunded_reason r
                                WHERE r.period = :period AND r.stage = t.stage AND r.id_number = t.id_number)
                         GROUP BY t.school_code, t.central_mask, t.self_mask) g
                 GROUP BY g.school_code""",
            {**params, "period": self.period},
        )
        for r in reported:
            self.schools.setdefault(r.pop("school_code"), {}).update(r)


async def statistics_for(
    period: str, areas: list[Area], stages: list[str], project: str = ""
) -> list[UnfundedStatistics]:
    """Statistics of each area (same period, stages and list: stage-wide or a project's module), loaded together."""
    figures = await Figures.load(period, stages, areas, project=project)
    return [figures.of(a) for a in areas]


async def area_for(viewer: Viewer, region_code: str | None) -> Area:
    """The area a viewer asks about: their school, or a region of their scope (NotFound outside)."""
    if viewer.is_school and not region_code:
        return Area("school", viewer.scope_code)
    region = await viewer.region(region_code)  # Forbidden for school accounts, NotFound outside scope
    return subtree(region.code)


async def unfunded_statistics(
    viewer: Viewer, period: str, region_code: str | None = None, stage: Stage | None = None, project: str | None = None
) -> UnfundedStatistics:
    """`unfundedStatistics(period, regionCode, stage, project)` as the viewer may see it: with
    `project`, that project's module (项目模块) of its stage."""
    module = await module_for(viewer, project, stage)
    area = await area_for(viewer, region_code)
    (result,) = await statistics_for(period, [area], module.stages, module.project)
    return result
