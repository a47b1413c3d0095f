"""The Region and School nodes: nested rollups and the school drill-down."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Self

import strawberry
from strawberry import relay
from strawberry.types import Info

from zizhu.api.gql.enums import RegionLevel, Stage
from zizhu.api.gql.from_domain import FromDomain
from zizhu.api.gql.nodes import in_scope, node_type
from zizhu.api.gql.pagination import Connection, connection, decode_code_cursor, encode_code_cursor
from zizhu.api.roster import RegionPreschoolRoster, region_preschool_roster
from zizhu.api.statistics.loaders import RegionTree, _area_statistics, _loader, _module, _stages_of
from zizhu.api.statistics.types import OwnLevelStatistics, ProjectArgument, UnfundedStatistics, own_level
from zizhu.domain.errors import Forbidden, NotFound
from zizhu.domain.models import Region as RegionRow
from zizhu.domain.paging import page_size
from zizhu.domain.statistics import figures as stats
from zizhu.domain.statistics import schools as school_lists
from zizhu.domain.statistics import trends


@node_type
@strawberry.type(description="学校（学校标识码、名称、主管区划、开设学段）及其未资助情况统计")
class School(FromDomain, relay.Node):
    code: str = strawberry.field(description="学校标识码")
    name: str = strawberry.field(description="学校名称")
    region_code: str = strawberry.field(description="主管行政区划代码")

    @classmethod
    def resolve_id(cls, root: School, *, info: Info) -> str:
        return root.code

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        return await in_scope(node_ids, viewer.school, School.from_domain, missing=(Forbidden, NotFound))

    @strawberry.field(description="主管行政区划")
    async def region(self, info: Info) -> Region:
        return Region.from_domain(
            await _loader(info, "region-by-code", lambda: _regions_by_code).load(self.region_code)
        )

    @strawberry.field(description="学校有在籍学生的学段")
    async def stages(self, info: Info) -> list[Stage]:
        return await _loader(info, "school-stages", lambda: _stages_of).load(self.code)

    @strawberry.field(description="本校的统计；指定 project 为该助困项目的项目模块")
    async def unfunded_statistics(
        self, info: Info, period: str, stage: Stage | None = None, project: ProjectArgument = None
    ) -> UnfundedStatistics:
        return await _area_statistics(info, stats.Area("school", self.code), period, stage, project)

    @strawberry.field(description="未资助变化趋势：该资助周期每个已发布比对批次时本校的人数，从早到晚")
    async def unfunded_trend(self, info: Info, period: str, stage: Stage | None = None) -> list[TrendPoint]:
        viewer = await info.context.viewer()
        points = await trends.trend_for(period, stats.Area("school", self.code), viewer.visible_stages(stage))
        return [TrendPoint.from_domain(p) for p in points]


async def _regions_by_code(codes: list[str]) -> list[RegionRow]:
    rows = {r.code: r for r in await RegionRow.filter(code__in=codes)}
    return [rows[c] for c in codes]


@strawberry.type(description="未资助变化趋势中的一点：一个已发布比对批次时的人数")
class TrendPoint(FromDomain):
    run_id: strawberry.ID = strawberry.field(description="比对批次（其名单历史可能已被清理）")
    computed_at: dt.datetime = strawberry.field(description="该批次完成时间")
    members: int = strawberry.field(description="特殊群体学生数")
    funded: int = strawberry.field(description="已资助")
    unfunded: int = strawberry.field(description="未资助")

    @classmethod
    def from_domain(cls, obj: trends.TrendPoint, /, **values: Any) -> Self:
        return super().from_domain(obj, run_id=strawberry.ID(str(obj.run_id)), **values)


@node_type
@strawberry.type(description="行政区划及其未资助情况逐级汇总")
class Region(FromDomain, relay.Node):
    code: str
    name: str
    level: RegionLevel = strawberry.field(description="级别")

    @classmethod
    def from_domain(cls, obj: RegionRow, /, **values: Any) -> Self:
        return super().from_domain(obj, level=RegionLevel(obj.level), **values)

    @classmethod
    def resolve_id(cls, root: Region, *, info: Info) -> str:
        return root.code

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        return await in_scope(node_ids, viewer.region, Region.from_domain, missing=(Forbidden, NotFound))

    @strawberry.field(description="未资助变化趋势：该资助周期每个已发布比对批次时本区域（含全部下级）的人数，从早到晚")
    async def unfunded_trend(self, info: Info, period: str, stage: Stage | None = None) -> list[TrendPoint]:
        viewer = await info.context.viewer()
        points = await trends.trend_for(period, stats.subtree(self.code), viewer.visible_stages(stage))
        return [TrendPoint.from_domain(p) for p in points]

    @strawberry.field(description="直接下级行政区划")
    async def children(self, info: Info) -> list[Region]:
        rows = await _loader(info, "region-children", RegionTree).load(self.code)
        return [Region.from_domain(r) for r in rows]

    @strawberry.field(description="本区域（含全部下级）的统计；指定 project 为该助困项目的项目模块")
    async def unfunded_statistics(
        self, info: Info, period: str, stage: Stage | None = None, project: ProjectArgument = None
    ) -> UnfundedStatistics:
        return await _area_statistics(info, stats.subtree(self.code), period, stage, project)

    @strawberry.field(
        description="本级（直属本区域的学校）的统计，及本级未资助原因；指定 project 为该助困项目的项目模块"
    )
    async def own_level_statistics(
        self, info: Info, period: str, stage: Stage | None = None, project: ProjectArgument = None
    ) -> OwnLevelStatistics:
        figures = await _area_statistics(info, stats.own_level(self.code), period, stage, project)
        module = await _module(info, project, stage)  # its stages: the visible ones, or the project's
        return own_level(figures, self.code, tuple(module.stages))

    @strawberry.field(description="本区域（含全部下级）的学校，按学校标识码排序；指定学段时只列有该学段在籍学生的学校")
    async def schools(
        self, info: Info, stage: Stage | None = None, first: int = 50, after: str | None = None
    ) -> Connection[School]:
        viewer = await info.context.viewer()
        rows, more = await school_lists.schools_of_region(
            viewer, self.code, stage, page_size(first), decode_code_cursor(after)
        )
        return connection(
            rows,
            more,
            lambda r: r.code,
            School.from_domain,
            after=after,
            cursor=encode_code_cursor,
            counter=lambda: school_lists.count_schools_of_region(viewer, self.code, stage),
        )

    @strawberry.field(
        description="本区域（含全部下级）幼儿园的学前教育政府资助名单概况：区域合计，及每所幼儿园的状态计数、"
        "是否有待本账号处理的记录和三个时间窗口（不缓存）"
    )
    async def preschool_roster(self, info: Info, period: str) -> RegionPreschoolRoster:
        return await region_preschool_roster(info, self.code, period)
