"""Unfunded statistics, nested region rollups and school drill-down (未资助情况统计、逐级汇总、学校下钻).

Thin: scope and counting live in zizhu.domain.statistics. Per request, one DataLoader answers every
region's and school's statistics: the first batch of regions loads the precomputed rows of the whole
subtree under them, so the levels below are answered from memory; regions' children come from one
load of the subtree too. A province → cities → counties rollup costs a fixed number of statements.
Category cells are built only when a query selects them.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections import defaultdict

from typing import Iterable

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from zizhu.api.enums import Category, RegionLevel, Stage
from zizhu.api.nodes import in_scope, node_type
from zizhu.api.pagination import Connection, connection, decode_code_cursor, encode_code_cursor
from zizhu.domain.errors import Forbidden, NotFound
from zizhu.domain.paging import page_size
from zizhu.domain.statistics import trends
from zizhu.domain.models import Region as RegionRow
from zizhu.domain.models import School as SchoolRow
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.statistics import figures as stats
from zizhu.domain.statistics import schools as school_lists

@strawberry.type(description="统计数：特殊群体学生数、已资助、未资助、已填报原因、未填报原因")
class StatisticCounts:
    members: int = strawberry.field(description="特殊群体学生数")
    funded: int = strawberry.field(description="已资助")
    unfunded: int = strawberry.field(description="未资助")
    reason_reported: int = strawberry.field(description="已填报原因（实时）")
    reason_pending: int = strawberry.field(description="未填报原因（实时）")


@strawberry.type(description="某一特殊群体类型的统计：全部、中央下发、自采集")
class CategoryStatistics:
    category: Category
    all: StatisticCounts
    central: StatisticCounts
    self_collected: StatisticCounts


def _counts(c: stats.Counts) -> StatisticCounts:
    return StatisticCounts(
        members=c.members, funded=c.funded, unfunded=c.unfunded,
        reason_reported=c.reason_reported, reason_pending=c.reason_pending,
    )


@strawberry.type(description="特殊群体学生未资助情况统计（无已发布比对结果时全部为 0）")
class UnfundedStatistics:
    period: str
    run_id: strawberry.ID | None = strawberry.field(description="所依据的已发布比对批次")
    computed_at: dt.datetime | None = strawberry.field(description="该批次完成时间")
    figures: strawberry.Private[stats.UnfundedStatistics]

    @strawberry.field(description="合计（每名学生计一次）")
    async def total(self) -> StatisticCounts:
        return _counts(self.figures.total)

    @strawberry.field(description="合计：中央下发")
    async def total_central(self) -> StatisticCounts:
        return _counts(self.figures.total_central)

    @strawberry.field(description="合计：自采集")
    async def total_self_collected(self) -> StatisticCounts:
        return _counts(self.figures.total_self_collected)

    @strawberry.field(description="13 类特殊群体，按代码顺序")
    async def by_category(self) -> list[CategoryStatistics]:
        return [
            CategoryStatistics(
                category=c.category, all=_counts(c.all), central=_counts(c.central),
                self_collected=_counts(c.self_collected),
            )
            for c in self.figures.by_category
        ]


def _statistics(s: stats.UnfundedStatistics) -> UnfundedStatistics:
    return UnfundedStatistics(
        period=s.period,
        run_id=strawberry.ID(str(s.run_id)) if s.run_id is not None else None,
        computed_at=s.computed_at,
        figures=s,
    )


# --- per-request loaders ---------------------------------------------------------------------
Key = tuple[str, tuple[str, ...], stats.Area]  # (period code, stages, area)


class StatisticsLoads:
    """The figures loaded in this request. A batch of keys that no load (finished or still running)
    covers starts one load of the whole subtree under its regions (and of its schools)."""

    def __init__(self) -> None:
        self.loads: list[tuple[stats.Figures, asyncio.Future]] = []

    def _find(self, period: str, stages: tuple[str, ...], area: stats.Area):
        for figures, done in self.loads:
            if figures.period == period and figures.stages == stages and figures.covers(area):
                return figures, done
        return None

    async def __call__(self, keys: list[Key]) -> list[UnfundedStatistics]:
        missing: dict[tuple[str, tuple[str, ...]], list[stats.Area]] = defaultdict(list)
        for period, stages, area in keys:
            if self._find(period, stages, area) is None:
                missing[(period, stages)].append(area)
        for (period, stages), areas in missing.items():
            figures = stats.Figures.plan(period, list(stages), areas, whole_subtree=True)
            self.loads.append((figures, asyncio.ensure_future(figures.fill())))
        found = [self._find(p, s, a) for p, s, a in keys]
        for _, done in {id(f): f for f in found}.values():
            await done
        return [_statistics(figures.of(area)) for (figures, _), (_, _, area) in zip(found, keys)]


class RegionTree:
    """Regions loaded in this request: children of a parent come from one load of the subtree
    under the first parents asked for."""

    def __init__(self) -> None:
        self.loads: list[tuple[str, dict[str, list[RegionRow]]]] = []  # (prefix, children by parent)

    def _find(self, parent: str) -> list[RegionRow] | None:
        own = region_prefix(parent)
        for prefix, children in self.loads:
            if own.startswith(prefix):
                return children.get(parent, [])
        return None

    async def __call__(self, parents: list[str]) -> list[list[RegionRow]]:
        missing = [p for p in parents if self._find(p) is None]
        if missing:
            prefix = os.path.commonprefix([region_prefix(p) for p in missing])
            query = RegionRow.all()
            if prefix:
                query = query.filter(code__gte=prefix, code__lt=prefix[:-1] + chr(ord(prefix[-1]) + 1))
            children: dict[str, list[RegionRow]] = defaultdict(list)
            for row in await query.order_by("code"):
                children[row.parent_code].append(row)
            self.loads.append((prefix, children))
        return [self._find(p) or [] for p in parents]


async def _stages_of(codes: list[str]) -> list[list[Stage]]:
    served = await school_lists.stages_of(codes)
    return [served[c] for c in codes]


def _loader(info: Info, name: str, load) -> DataLoader:
    return info.context.loader(name, lambda: DataLoader(load_fn=load()))


async def _area_statistics(info: Info, area: stats.Area, period: str, stage) -> UnfundedStatistics:
    viewer = await info.context.viewer()
    stages = tuple(viewer.visible_stages(stage))
    key = (parse_semester(period).code, stages, area)
    return await _loader(info, "unfunded-statistics", StatisticsLoads).load(key)


# --- types -------------------------------------------------------------------------------------
@node_type
@strawberry.type(description="学校（学校标识码、名称、主管区划、开设学段）及其未资助情况统计")
class School(relay.Node):
    code: str = strawberry.field(description="学校标识码")
    name: str = strawberry.field(description="学校名称")
    region_code: str = strawberry.field(description="主管行政区划代码")

    @classmethod
    def resolve_id(cls, root: "School", *, info: Info) -> str:
        return root.code

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        return await in_scope(node_ids, viewer.school, _school, missing=(Forbidden, NotFound))

    @strawberry.field(description="主管行政区划")
    async def region(self, info: Info) -> "Region":
        return _region(await _loader(info, "region-by-code", lambda: _regions_by_code).load(self.region_code))

    @strawberry.field(description="学校有在籍学生的学段")
    async def stages(self, info: Info) -> list[Stage]:
        return await _loader(info, "school-stages", lambda: _stages_of).load(self.code)

    @strawberry.field(description="本校的统计")
    async def unfunded_statistics(self, info: Info, period: str, stage: Stage | None = None) -> UnfundedStatistics:
        return await _area_statistics(info, stats.Area("school", self.code), period, stage)

    @strawberry.field(description="未资助变化趋势：该资助周期每个已发布比对批次时本校的人数，从早到晚")
    async def unfunded_trend(self, info: Info, period: str, stage: Stage | None = None) -> list["TrendPoint"]:
        viewer = await info.context.viewer()
        return _trend(await trends.trend_for(period, stats.Area("school", self.code), viewer.visible_stages(stage)))


async def _regions_by_code(codes: list[str]) -> list[RegionRow]:
    rows = {r.code: r for r in await RegionRow.filter(code__in=codes)}
    return [rows[c] for c in codes]


def _school(row: SchoolRow) -> School:
    return School(code=row.code, name=row.name, region_code=row.region_code)


@strawberry.type(description="未资助变化趋势中的一点：一个已发布比对批次时的人数")
class TrendPoint:
    run_id: strawberry.ID = strawberry.field(description="比对批次（其名单历史可能已被清理）")
    computed_at: dt.datetime = strawberry.field(description="该批次完成时间")
    members: int = strawberry.field(description="特殊群体学生数")
    funded: int = strawberry.field(description="已资助")
    unfunded: int = strawberry.field(description="未资助")


def _trend(points: list[trends.TrendPoint]) -> list[TrendPoint]:
    return [TrendPoint(run_id=strawberry.ID(str(p.run_id)), computed_at=p.computed_at, members=p.members,
                       funded=p.funded, unfunded=p.unfunded) for p in points]


@node_type
@strawberry.type(description="行政区划及其未资助情况逐级汇总")
class Region(relay.Node):
    code: str
    name: str
    level: RegionLevel = strawberry.field(description="级别")

    @classmethod
    def resolve_id(cls, root: "Region", *, info: Info) -> str:
        return root.code

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        return await in_scope(node_ids, viewer.region, _region, missing=(Forbidden, NotFound))

    @strawberry.field(description="未资助变化趋势：该资助周期每个已发布比对批次时本区域（含全部下级）的人数，从早到晚")
    async def unfunded_trend(self, info: Info, period: str, stage: Stage | None = None) -> list[TrendPoint]:
        viewer = await info.context.viewer()
        return _trend(await trends.trend_for(period, stats.subtree(self.code), viewer.visible_stages(stage)))

    @strawberry.field(description="直接下级行政区划")
    async def children(self, info: Info) -> list["Region"]:
        rows = await _loader(info, "region-children", RegionTree).load(self.code)
        return [_region(r) for r in rows]

    @strawberry.field(description="本区域（含全部下级）的统计")
    async def unfunded_statistics(self, info: Info, period: str, stage: Stage | None = None) -> UnfundedStatistics:
        return await _area_statistics(info, stats.subtree(self.code), period, stage)

    @strawberry.field(description="本级（直属本区域的学校）的统计")
    async def own_level_statistics(self, info: Info, period: str, stage: Stage | None = None) -> UnfundedStatistics:
        return await _area_statistics(info, stats.own_level(self.code), period, stage)

    @strawberry.field(
        description="本区域（含全部下级）的学校，按学校标识码排序；指定学段时只列有该学段在籍学生的学校"
    )
    async def schools(
        self, info: Info, stage: Stage | None = None, first: int = 50, after: str | None = None
    ) -> Connection[School]:
        viewer = await info.context.viewer()
        rows, more = await school_lists.schools_of_region(
            viewer, self.code, stage, page_size(first), decode_code_cursor(after)
        )
        return connection(rows, more, lambda r: r.code, _school, after=after, cursor=encode_code_cursor)


def _region(r: RegionRow) -> Region:
    return Region(code=r.code, name=r.name, level=RegionLevel(r.level))


@strawberry.type
class StatisticsQuery:
    @strawberry.field(
        description="特殊群体学生未资助情况统计；regionCode 默认为当前账号的范围，学校账号为本校（不可指定区域）"
    )
    async def unfunded_statistics(
        self, info: Info, period: str, region_code: str | None = None, stage: Stage | None = None
    ) -> UnfundedStatistics:
        viewer = await info.context.viewer()
        return _statistics(await stats.unfunded_statistics(viewer, period, region_code, stage))

    @strawberry.field(description="行政区划（默认为当前账号的范围），可逐级查看下级及其统计")
    async def region(self, info: Info, code: str | None = None) -> Region:
        viewer = await info.context.viewer()
        return _region(await viewer.region(code))

    @strawberry.field(description="学校（默认为学校账号的本校）；范围外的学校视为不存在")
    async def school(self, info: Info, code: str | None = None) -> School:
        viewer = await info.context.viewer()
        return _school(await viewer.school(code))
