"""The statistics' root fields: unfundedStatistics, region and school."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from zizhu.api.gql.enums import Stage
from zizhu.api.statistics.nodes import Region, School
from zizhu.api.statistics.types import ProjectArgument, UnfundedStatistics
from zizhu.domain.statistics import figures as stats


@strawberry.type
class StatisticsQuery:
    @strawberry.field(
        description="特殊群体学生未资助情况统计；regionCode 默认为当前账号的范围，学校账号为本校（不可指定区域）"
    )
    async def unfunded_statistics(
        self,
        info: Info,
        period: str,
        region_code: str | None = None,
        stage: Stage | None = None,
        project: ProjectArgument = None,
    ) -> UnfundedStatistics:
        viewer = await info.context.viewer()
        return UnfundedStatistics.from_domain(
            await stats.unfunded_statistics(viewer, period, region_code, stage, project)
        )

    @strawberry.field(description="行政区划（默认为当前账号的范围），可逐级查看下级及其统计")
    async def region(self, info: Info, code: str | None = None) -> Region:
        viewer = await info.context.viewer()
        return Region.from_domain(await viewer.region(code))

    @strawberry.field(description="学校（默认为学校账号的本校）；范围外的学校视为不存在")
    async def school(self, info: Info, code: str | None = None) -> School:
        viewer = await info.context.viewer()
        return School.from_domain(await viewer.school(code))
