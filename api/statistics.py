"""Unfunded statistics and nested region rollups (未资助情况统计、区域逐级汇总), see docs/api.md.

Thin: scope and counting live in domain/statistics.py. A region's `unfundedStatistics` and
`ownLevelStatistics` go through one DataLoader per request, so the children of a region are
answered by one pair of grouped queries, not one per child.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from zizhu.api.enums import Category, Stage
from zizhu.domain.statistics import figures as stats
from zizhu.domain.models import Region as RegionRow


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


@strawberry.type(description="特殊群体学生未资助情况统计（无已发布比对结果时全部为 0）")
class UnfundedStatistics:
    period: str
    run_id: strawberry.ID | None = strawberry.field(description="所依据的已发布比对批次")
    computed_at: dt.datetime | None = strawberry.field(description="该批次完成时间")
    total: StatisticCounts = strawberry.field(description="合计（每名学生计一次）")
    total_central: StatisticCounts = strawberry.field(description="合计：中央下发")
    total_self_collected: StatisticCounts = strawberry.field(description="合计：自采集")
    by_category: list[CategoryStatistics] = strawberry.field(description="13 类特殊群体，按代码顺序")


def _counts(c: stats.Counts) -> StatisticCounts:
    return StatisticCounts(
        members=c.members, funded=c.funded, unfunded=c.unfunded,
        reason_reported=c.reason_reported, reason_pending=c.reason_pending,
    )


def _statistics(s: stats.UnfundedStatistics) -> UnfundedStatistics:
    return UnfundedStatistics(
        period=s.period,
        run_id=strawberry.ID(str(s.run_id)) if s.run_id is not None else None,
        computed_at=s.computed_at,
        total=_counts(s.total),
        total_central=_counts(s.total_central),
        total_self_collected=_counts(s.total_self_collected),
        by_category=[
            CategoryStatistics(
                category=c.category, all=_counts(c.all), central=_counts(c.central),
                self_collected=_counts(c.self_collected),
            )
            for c in s.by_category
        ],
    )


# key: (period, stages, area)
Key = tuple[str, tuple[str, ...], stats.Area]


async def _load(keys: list[Key]) -> list[UnfundedStatistics]:
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for i, (period, stages, _area) in enumerate(keys):
        groups[(period, stages)].append(i)
    out: list[UnfundedStatistics | None] = [None] * len(keys)
    for (period, stages), indexes in groups.items():
        results = await stats.statistics_for(period, [keys[i][2] for i in indexes], list(stages))
        for i, result in zip(indexes, results):
            out[i] = _statistics(result)
    return out  # type: ignore[return-value]


def _loader(info: Info) -> DataLoader:
    return info.context.loader("unfunded-statistics", lambda: DataLoader(load_fn=_load))


async def _region_statistics(info: Info, area: stats.Area, period: str, stage) -> UnfundedStatistics:
    viewer = await info.context.viewer()
    stages = tuple(viewer.visible_stages(stage))
    return await _loader(info).load((period, stages, area))


@strawberry.type(description="行政区划及其未资助情况逐级汇总")
class Region:
    code: str
    name: str
    level: str = strawberry.field(description="NATION / PROVINCE / CITY / COUNTY")

    @strawberry.field(description="直接下级行政区划")
    async def children(self, info: Info) -> list["Region"]:
        return [_region(r) for r in await RegionRow.filter(parent_code=self.code).order_by("code")]

    @strawberry.field(description="本区域（含全部下级）的统计")
    async def unfunded_statistics(self, info: Info, period: str, stage: Stage | None = None) -> UnfundedStatistics:
        return await _region_statistics(info, stats.subtree(self.code), period, stage)

    @strawberry.field(description="本级（直属本区域的学校）的统计")
    async def own_level_statistics(self, info: Info, period: str, stage: Stage | None = None) -> UnfundedStatistics:
        return await _region_statistics(info, stats.own_level(self.code), period, stage)


def _region(r: RegionRow) -> Region:
    return Region(code=r.code, name=r.name, level=r.level)


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
