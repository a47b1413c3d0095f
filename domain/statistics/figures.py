"""Unfunded statistics (特殊群体学生未资助情况统计): the counting rules applied to the published runs.

Design notes: docs/design/domain-statistics.md."""

from __future__ import annotations

import datetime as dt
import os
from collections import OrderedDict
from dataclasses import dataclass, field

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison import published_list
from zizhu.domain.comparison import unmatched as unmatched_members
from zizhu.domain.comparison.engine import sources_of
from zizhu.domain.comparison.modules import module_for
from zizhu.domain.comparison.steps import counted, list_rows_of, project_code_literal, stat_columns
from zizhu.domain.models import ComparisonRun
from zizhu.domain.reference.codes import Category, Source, Stage
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.statistics import counter_sums
from zizhu.domain.statistics.content import Content

_WIDE = [c for c, _, _ in stat_columns("members") + stat_columns("funded")]
REASONS = "reasons"  # the key of a region's or school's reason rows among its sums
_REPORTED = stat_columns("reported")
_STAT_SOURCE = {None: "all", Source.CENTRAL: "central", Source.SELF: "self"}


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


@dataclass(frozen=True)
class ReasonCount:
    """未资助原因分布 one line: the unfunded students whose current reason has this code."""

    code: str
    label: str
    count: int


@dataclass
class CategoryCounts:
    category: Category
    all: Counts
    central: Counts
    self_collected: Counts
    statistics: UnfundedStatistics | None = None

    @property
    def by_reason(self) -> list[ReasonCount]:
        return self.statistics.by_reason(self.category.number) if self.statistics else []


@dataclass
class UnfundedStatistics:
    """The figures of one area. Cells are built when asked for: a page that shows totals only
    never builds the 13 × 3 category cells."""

    period: str
    run_id: int | None
    computed_at: dt.datetime | None
    sums: dict[str, int] = field(default_factory=dict)  # members_/funded_/reported_ columns
    # reason code → its reported_ columns (the reason counters), and the code list in code order
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    reason_codes: list[tuple[str, str]] = field(default_factory=list)
    area: Area | None = None
    # what `sums` and `reasons` were merged from, each part's sorted items computed once where it is
    # kept (None: sorted here)
    parts: tuple | None = field(default=None, repr=False, compare=False)
    _content: Content | None = field(default=None, repr=False, compare=False)

    def cell(self, number: str, source: str) -> Counts:
        members = int(self.sums.get(f"members_{number}_{source}") or 0)
        funded = int(self.sums.get(f"funded_{number}_{source}") or 0)
        reported = int(self.sums.get(f"reported_{number}_{source}") or 0)
        return Counts(members, funded, members - funded, reported)

    def by_reason(self, number: str = "00", source: str = "all") -> list[ReasonCount]:
        """The unfunded students of a cell per current reason code: every code of the list, zeros
        included, in code order (the counts add up to the cell's reasonReported)."""
        column = f"reported_{number}_{source}"
        return [
            ReasonCount(code, label, int(self.reasons.get(code, {}).get(column) or 0))
            for code, label in self.reason_codes
        ]

    def content_key(self) -> Content:
        """Everything the figures show, and the area they are of, as one hashable value: equal keys,
        equal answers."""
        if self._content is None:
            self._content = Content(
                (
                    self.period,
                    self.run_id,
                    self.computed_at,
                    self.parts
                    if self.parts is not None
                    else (
                        tuple(sorted(self.sums.items())),
                        tuple((code, tuple(sorted(r.items()))) for code, r in sorted(self.reasons.items())),
                    ),
                    tuple(self.reason_codes),
                    self.area,  # fields such as `unmatched` read the area's own rows
                )
            )
        return self._content

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
            CategoryCounts(
                c, self.cell(c.number, "all"), self.cell(c.number, "central"), self.cell(c.number, "self"), self
            )
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


# --- SQL filters (values are inlined only after validation: ints, 2-digit provinces, stage enums)
def _runs_filter(
    sources, alias: str, period: str | None = None, province: str | None = None, project: str | None = ""
) -> str:
    """The rows of the published runs: by run id (`run_statistic`, `region_statistic`,
    `reason_count`), or with `period` the `unfunded_result` versions that make up each run's list;
    of the stage-wide list ('') or of one project's module (None: a table without projects, the
    reason counters). A national run's rows of a province that has its own newer run are left out
    (`province` names the row's province)."""
    province = province or f"substr({alias}.school_code, 3, 2)"
    parts = []
    for run_id, scope, excluded in sources:
        if period:
            cond = list_rows_of(alias, run_id, period, scope or "", project)
        else:
            cond = f"{alias}.run_id = {int(run_id)}"
            if project is not None:
                cond += f" AND {alias}.project = '{project_code_literal(project)}'"
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
    """reported_<category>_<source> sums of reason counter rows (masks and n)."""
    return ", ".join(
        f"SUM({counted(c, s, f'{alias}.central_mask', f'{alias}.self_mask')} * {alias}.n) AS {col}"
        for col, c, s in _REPORTED
    )


@dataclass
class Figures:
    """The loaded figures of one (period, stages): region rows, school rows and reason counts."""

    period: str
    stages: tuple[str, ...]
    run: ComparisonRun | None
    runs: list[ComparisonRun] = field(default_factory=list)  # the period's published runs
    project: str = ""  # '' the stage-wide list, else one project's module
    prefix: str | None = None  # the common code prefix of the region areas
    regions: dict[tuple[str, str], dict] = field(default_factory=dict)
    region_parts: dict[tuple[str, str], tuple] = field(default_factory=dict)  # what each region's sums hold
    schools: dict[str, dict] = field(default_factory=dict)

    reason_codes: list[tuple[str, str]] = field(default_factory=list)  # (code, label) in code order

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
        self.runs = runs
        sources = sources_of(runs)
        self.run = runs[-1] if runs else None
        self.schools = {code: {} for code in self.school_codes}
        self.reason_codes = await reason_code_list()
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
        sums = dict(
            (self.schools.get(area.value) if area.kind == "school" else self.regions.get(area.region_key)) or {}
        )
        reasons = sums.pop(REASONS, {})
        return UnfundedStatistics(
            period=self.period,
            run_id=self.run.id if self.run else None,
            computed_at=self.run.finished_at if self.run else None,
            sums=sums,
            reasons=reasons,
            reason_codes=self.reason_codes,
            area=area,
            parts=None if area.kind == "school" or self.project else self.region_parts.get(area.region_key, ()),
        )

    async def _load_regions(self, sources, prefix: str, areas: list[Area] | None) -> None:
        params: dict = {}
        if areas is None:  # every region row under the prefix (the nation's own rows too at '')
            where = _range(prefix, "t.region_code", params)
        else:
            where = _in("t.region_code", sorted({a.region_key[0] for a in areas}), params, "region")
        runs = _runs_filter(sources, "t", province="t.province", project=self.project)
        stages = _stage_filter(list(self.stages), "t")
        # a published run's region rows never change: loaded once per process, copied per request
        # (the runs are named by id and finish time, so a database built again never meets old rows)
        runs_key = tuple((r.id, str(r.finished_at), r.province) for r in self.runs)
        memo_key = (runs_key, repr(sources), self.project, stages, where, repr(sorted(params.items())))
        loaded = _REGION_ROWS.get(memo_key)
        if loaded is None:
            rows = await db.fetch(
                f"""SELECT t.region_code, t.kind, {", ".join(f"SUM(t.{c}) AS {c}" for c in _WIDE)}
                      FROM region_statistic t WHERE {runs} AND {stages} AND {where}
                     GROUP BY t.region_code, t.kind""",
                params,
            )
            loaded = {(r.pop("region_code"), r.pop("kind")): (r, Content(tuple(sorted(r.items())))) for r in rows}
            _remember(memo_key, loaded)
        self.regions.update({key: dict(sums) for key, (sums, _) in loaded.items()})
        if not self.project:  # the reason counters, kept per process and read again only where they moved
            runs = _runs_filter(sources, "t", province="t.province", project=None)
            counters = await counter_sums.region_rows(runs, stages, prefix, (runs_key, repr(sources), stages, prefix))
            for key, (every, by_code, _) in counters.items():
                sums = self.regions.setdefault(key, {})
                sums.update(every)
                if by_code:
                    sums[REASONS] = by_code
            self.region_parts = {
                key: (loaded[key][1] if key in loaded else (), counters[key][2] if key in counters else ())
                for key in self.regions
            }
            return
        # a module's reasons: counted from its list rows (the counters hold the stage-wide list's)
        params = {"period": self.period}
        subtree = _range(prefix, "t.region_code", params)
        sql = reason_rollup_sql("1 = 1", "1 = 1", "1 = 1", table=f"({self._live_reasons(sources, stages, subtree)}) t")
        for r in await db.fetch(sql, params):
            key, kind, code = r.pop("k"), r.pop("kind"), r.pop("reason_code")
            sums = self.regions.setdefault((key, kind), {})
            if code == "":
                sums.update(r)
            else:
                sums.setdefault(REASONS, {})[code] = {c: v for c, v in r.items() if v is not None}

    def _live_reasons(self, sources, *conditions: str) -> str:
        """The published list rows of this load's module that have a reason, counted per (region,
        school, category masks, reason code) like the reason counters (alias t in `conditions`)."""
        return f"""SELECT t.region_code, t.school_code, t.central_mask, t.self_mask, u.reason_code, COUNT(*) AS n
                     FROM unfunded_result t
                     JOIN unfunded_reason u ON u.period = :period AND u.stage = t.stage AND u.id_number = t.id_number
                    WHERE {_runs_filter(sources, "t", self.period, project=self.project)} AND {" AND ".join(conditions)}
                    GROUP BY t.region_code, t.school_code, t.central_mask, t.self_mask, u.reason_code"""

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
        if self.project:  # a module's reasons: counted from its list rows (the counters hold the stage-wide list's)
            params["period"] = self.period
            counters = f"({self._live_reasons(sources, where)}) t"
        else:
            counters = (
                f"reason_count t WHERE {_runs_filter(sources, 't', province='t.province', project=None)} AND {where}"
            )
        reported = await db.fetch(
            f"""SELECT t.school_code, t.reason_code, {_reported_sums("t")}
                  FROM {counters} GROUP BY t.school_code, t.reason_code""",
            params,
        )
        for r in reported:
            sums = self.schools.setdefault(r.pop("school_code"), {})
            sums.setdefault(REASONS, {})[r.pop("reason_code")] = r
            for column, _, _ in _REPORTED:
                sums[column] = sums.get(column, 0) + int(r[column] or 0)


_REGION_ROWS: OrderedDict[tuple, dict] = OrderedDict()
_REGION_ROWS_KEPT = 64


def _remember(key: tuple, rows: dict) -> None:
    _REGION_ROWS[key] = rows
    while len(_REGION_ROWS) > _REGION_ROWS_KEPT:
        _REGION_ROWS.popitem(last=False)


def reason_rollup_sql(runs: str, stages: str, where: str, table: str = "reason_count t") -> str:
    """The reason counters of the published runs summed per region key (code, 'S' subtree /
    'O' own level, the rule `region_statistic` is built by): with reason_code '' every
    reported_<category>_<source> column over all codes; per reason code the reported_<category>_all
    columns (the others NULL: byReason counts either source). Sums are bigint (a SUM of bigint
    would be numeric, slower to compute and to decode). `table` may be any rows of the counters'
    columns (a project module's list rows counted when read)."""
    grouped = f"""SELECT t.region_code, t.reason_code, {_reported_sums("t")}
                    FROM {table} WHERE {runs} AND {stages} AND {where}
                   GROUP BY t.region_code, t.reason_code"""
    every = ", ".join(f"CAST(SUM(g.{c}) AS bigint) AS {c}" for c, _, _ in _REPORTED)
    by_code = ", ".join(
        f"CAST(SUM(g.{c}) AS bigint) AS {c}" if source == "all" else f"NULL AS {c}" for c, _, source in _REPORTED
    )
    levels = [
        ("'000000'", "'S'", "1 = 1"),
        ("substr(g.region_code, 1, 2) || '0000'", "'S'", "g.region_code <> '000000'"),
        ("substr(g.region_code, 1, 4) || '00'", "'S'", "substr(g.region_code, 3, 2) <> '00'"),
        ("g.region_code", "'S'", "substr(g.region_code, 5, 2) <> '00'"),
        ("g.region_code", "'O'", "1 = 1"),
    ]
    selects = [
        f"SELECT {key} AS k, {kind} AS kind, {code} AS reason_code, {columns} FROM g WHERE {condition} GROUP BY {by}"
        for key, kind, condition in levels
        for code, columns, by in (("g.reason_code", by_code, "1, 3"), ("''", every, "1"))
    ]
    return f"WITH g AS ({grouped}) " + " UNION ALL ".join(selects)


_REASON_CODES: list[tuple[str, str]] = []


async def reason_code_list() -> list[tuple[str, str]]:
    """The reason code list (未资助原因代码), (code, label) in code order, retired codes included
    (their reasons keep counting). Read once per process; `forget_reason_codes` drops it when the
    list changes (`zizhu migrate`, `setReasonCode`)."""
    if not _REASON_CODES:
        _REASON_CODES[:] = [
            (r["code"], r["label"]) for r in await db.fetch("SELECT code, label FROM reason_code ORDER BY code")
        ]
    return list(_REASON_CODES)


def forget_reason_codes() -> None:
    """Drop this process's copy of the reason code list (it has changed)."""
    _REASON_CODES.clear()


def own_prefix(area: Area) -> str:
    """The code prefix of a region area's subtree (its own code's prefix for own level)."""
    return area.value if area.kind == "prefix" else region_prefix(area.value)


async def unmatched_by_region(period: str, prefix: str) -> dict[tuple[str, str], int]:
    """未匹配学籍 members per region key ((code, 'S'/'O')) of every region under `prefix`, from the
    published runs: two statements (the runs, one grouped count)."""
    sources = sources_of(await ComparisonRun.filter(period=parse_semester(period).code, published=True).order_by("id"))
    return await unmatched_members.counts_by_region(sources, prefix) if sources else {}


async def pending_by_school(period: str, stages: list[str], prefix: str, project: str = "") -> dict[str, int]:
    """未填报原因 per school of a region's subtree (code prefix): the published list's rows of the
    stages (the stage-wide list, or a project's module) with no reason for (period, stage, ID
    number) — live, as reasonPending. Schools with none are missing. One grouped statement."""
    period = parse_semester(period).code
    sources = sources_of(await ComparisonRun.filter(period=period, published=True).order_by("id"))
    if not sources or not stages:
        return {}
    params: dict = {"period": period}
    rows = await db.fetch(
        f"""SELECT t.school_code, COUNT(*) AS n FROM unfunded_result t
             WHERE {_runs_filter(sources, "t", period, project=project)} AND {_stage_filter(stages, "t")}
               AND {_range(prefix, "t.region_code", params)} AND NOT EXISTS (
                   SELECT 1 FROM unfunded_reason r
                    WHERE r.period = :period AND r.stage = t.stage AND r.id_number = t.id_number)
             GROUP BY t.school_code""",
        params,
    )
    return {r["school_code"]: int(r["n"]) for r in rows}


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


async def unfunded_list_count(viewer: Viewer, period: str, f: published_list.ListFilters) -> int:
    """The number of rows of the unfunded list for these filters (its totalCount): read from the
    statistics cell that counts exactly them (a key lookup and the area's reason counts) rather
    than counted on the list; newly unfunded students, a search and a project module have no
    such cell: they are counted on the list."""
    if f.newly_unfunded or f.search is not None or f.project is not None:
        return await published_list.count_unfunded_students(viewer, period, f)
    stages = viewer.visible_stages(f.stage)
    if f.school_code or (viewer.is_school and not f.region_code):  # the list's own choice of area
        area = Area("school", (await viewer.school(f.school_code)).code)
    else:
        area = subtree((await viewer.region(f.region_code)).code)
    (figures,) = await statistics_for(period, [area], stages)
    cell = figures.cell(f.category.number if f.category else "00", _STAT_SOURCE[f.source])
    if f.reason_reported is None:
        return cell.unfunded
    return cell.reason_reported if f.reason_reported else cell.reason_pending
