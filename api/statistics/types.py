"""The statistics' types: counts, per-category counts, and the statistics of one area."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from zizhu.api.gql.enums import Category
from zizhu.domain.statistics import figures as stats

ProjectArgument = Annotated[
    str | None,
    strawberry.argument(
        description="资助项目代码：该助困项目的项目模块（本学段特殊群体学生中未获该项目资助的）；为空为“未获任何助困项目资助”"
    ),
]


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
        members=c.members,
        funded=c.funded,
        unfunded=c.unfunded,
        reason_reported=c.reason_reported,
        reason_pending=c.reason_pending,
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
                category=c.category,
                all=_counts(c.all),
                central=_counts(c.central),
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
