"""The statistics' types: counts, per-category counts, and the statistics of one area."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from typing import Annotated, Any, Self

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from zizhu.api.gql.enums import Category
from zizhu.api.gql.from_domain import FromDomain
from zizhu.api.reasons import RegionReason
from zizhu.domain.reasons import reports as reasons
from zizhu.domain.statistics import figures as stats

ProjectArgument = Annotated[
    str | None,
    strawberry.argument(
        description="资助项目代码：该助困项目的项目模块（本学段特殊群体学生中未获该项目资助的）；为空为“未获任何助困项目资助”"
    ),
]


@strawberry.type(description="统计数：特殊群体学生数、已资助、未资助、已填报原因、未填报原因")
class StatisticCounts(FromDomain):
    members: int = strawberry.field(description="特殊群体学生数")
    funded: int = strawberry.field(description="已资助")
    unfunded: int = strawberry.field(description="未资助")
    reason_reported: int = strawberry.field(description="已填报原因（实时）")
    reason_pending: int = strawberry.field(description="未填报原因（实时）")


@strawberry.type(description="未资助原因分布中的一项：当前原因为该代码的未资助学生数")
class ReasonCount(FromDomain):
    code: str = strawberry.field(description="未资助原因代码")
    label: str = strawberry.field(description="原因")
    count: int = strawberry.field(description="未资助学生数（实时）")


def _reason_counts(lines: list[stats.ReasonCount]) -> list[ReasonCount]:
    return [ReasonCount.from_domain(r) for r in lines]


@strawberry.type(description="某一特殊群体类型的统计：全部、中央下发、自采集")
class CategoryStatistics(FromDomain):
    category: Category
    all: StatisticCounts
    central: StatisticCounts
    self_collected: StatisticCounts
    figures: strawberry.Private[stats.CategoryCounts]

    @strawberry.field(
        description="未资助原因分布（该类型，中央下发与自采集合计）：原因代码表的每个代码（含 0），按代码顺序；合计等于 all.reasonReported"
    )
    def by_reason(self) -> list[ReasonCount]:
        return _reason_counts(self.figures.by_reason)


@strawberry.type(description="特殊群体学生未资助情况统计（无已发布比对结果时全部为 0）")
class UnfundedStatistics(FromDomain):
    period: str
    run_id: strawberry.ID | None = strawberry.field(description="所依据的已发布比对批次")
    computed_at: dt.datetime | None = strawberry.field(description="该批次完成时间")
    figures: strawberry.Private[stats.UnfundedStatistics]

    @strawberry.field(
        description="未匹配学籍的特殊群体成员数（身份证件号无在读学籍；按户籍地区划及上传的主管部门归属，"
        "不分学段；学校统计为 null），名单见 unmatchedSpecialGroupMembers"
    )
    async def unmatched(self, info: Info) -> int | None:
        area = self.figures.area
        if area is None or area.kind == "school":
            return None
        loader = info.context.loader("unmatched-counts", lambda: DataLoader(load_fn=UnmatchedLoads()))
        return await loader.load((self.figures.period, area))

    @strawberry.field(description="合计（每名学生计一次）")
    async def total(self) -> StatisticCounts:
        return StatisticCounts.from_domain(self.figures.total)

    @strawberry.field(description="合计：中央下发")
    async def total_central(self) -> StatisticCounts:
        return StatisticCounts.from_domain(self.figures.total_central)

    @strawberry.field(description="合计：自采集")
    async def total_self_collected(self) -> StatisticCounts:
        return StatisticCounts.from_domain(self.figures.total_self_collected)

    @strawberry.field(description="13 类特殊群体，按代码顺序")
    async def by_category(self) -> list[CategoryStatistics]:
        return [
            CategoryStatistics.from_domain(
                c,
                all=StatisticCounts.from_domain(c.all),
                central=StatisticCounts.from_domain(c.central),
                self_collected=StatisticCounts.from_domain(c.self_collected),
                figures=c,
            )
            for c in self.figures.by_category
        ]

    @strawberry.field(
        description="未资助原因分布：原因代码表的每个代码（含 0），按代码顺序，为当前原因是该代码的未资助学生数；合计等于 total.reasonReported"
    )
    async def by_reason(self) -> list[ReasonCount]:
        return _reason_counts(self.figures.by_reason())

    @classmethod
    def from_domain(cls, obj: stats.UnfundedStatistics, /, **values: Any) -> Self:
        run_id = strawberry.ID(str(obj.run_id)) if obj.run_id is not None else None
        return super().from_domain(obj, run_id=run_id, figures=obj, **values)


@strawberry.type(description="本级（直属本区域的学校）的统计，及主管部门填报的本级未资助原因")
class OwnLevelStatistics(UnfundedStatistics):
    region_code: strawberry.Private[str]
    stages: strawberry.Private[tuple[str, ...]]

    @strawberry.field(description="本级未资助原因（主管部门填报，按学段、类型），与本级统计同一周期与学段")
    async def reasons(self, info: Info) -> list[RegionReason]:
        loader = info.context.loader("own-level-reasons", lambda: DataLoader(load_fn=_own_level_reasons))
        return [RegionReason.from_domain(r) for r in await loader.load((self.period, self.stages, self.region_code))]


class UnmatchedLoads:
    """Unmatched counts loaded in this request: a batch of areas that no earlier load covers loads
    every region under their common prefix, so a nested rollup costs one load, not one per level."""

    def __init__(self) -> None:
        self.loads: list[tuple[str, str, asyncio.Future]] = []  # (period, prefix, counts by region key)

    def _find(self, period: str, area: stats.Area):
        own = stats.own_prefix(area)
        return next((done for p, prefix, done in self.loads if p == period and own.startswith(prefix)), None)

    async def __call__(self, keys: list[tuple[str, stats.Area]]) -> list[int | None]:
        for period in {p for p, a in keys if self._find(p, a) is None}:
            prefix = os.path.commonprefix([stats.own_prefix(a) for p, a in keys if p == period])
            self.loads.append((period, prefix, asyncio.ensure_future(stats.unmatched_by_region(period, prefix))))
        return [(await self._find(p, a)).get(a.region_key, 0) for p, a in keys]


async def _own_level_reasons(keys: list[tuple[str, tuple[str, ...], str]]) -> list[list]:
    """One query per (period, stages) for every region asked about in the request."""
    found: dict = {}
    for period, stages in {(p, s) for p, s, _ in keys}:
        codes = sorted({c for p, s, c in keys if (p, s) == (period, stages)})
        for code, rows in (await reasons.own_level_reasons(period, codes, list(stages))).items():
            found[(period, stages, code)] = rows
    return [found.get(k, []) for k in keys]


def own_level(s: UnfundedStatistics, region_code: str, stages: tuple[str, ...]) -> OwnLevelStatistics:
    return OwnLevelStatistics.from_domain(s.figures, region_code=region_code, stages=stages)
