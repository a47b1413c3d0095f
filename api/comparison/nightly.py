"""The 02:00 tick (每日比对) as admins see it: the carry-over's outcome and the runs it started."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

import strawberry
from strawberry.types import Info

from zizhu.api.comparison.runs import ComparisonRun
from zizhu.api.gql.directives import RoleGuard
from zizhu.api.gql.from_domain import FromDomain
from zizhu.domain import nightly
from zizhu.domain.accounts.scopes import ADMINS
from zizhu.domain.models import NightlyTick as TickRow


@strawberry.type(description="每日 02:00 比对：先继承历史原因，再为每个有效资助周期排队比对")
class NightlyTick(FromDomain):
    day: dt.date = strawberry.field(description="日期（Asia/Shanghai）")
    started_at: dt.datetime = strawberry.field(description="开始时间")
    finished_at: dt.datetime | None = strawberry.field(description="完成时间；为空表示未完成（如任务队列不可用）")
    carried_over: int | None = strawberry.field(description="本次继承的历史原因条数；继承失败时为空")
    carry_over_error: str | None = strawberry.field(description="历史原因继承失败的原因")
    run_ids: strawberry.Private[list[int]]

    @strawberry.field(description="本次排队的比对批次及其状态（已清理的批次不再列出）")
    async def runs(self) -> list[ComparisonRun]:
        return [ComparisonRun.from_domain(r) for r in await nightly.runs_of_ids(self.run_ids)]

    @classmethod
    def from_domain(cls, obj: TickRow, /, **values: Any) -> Self:
        return super().from_domain(obj, run_ids=nightly.run_ids(obj), **values)


@strawberry.type
class NightlyQuery:
    @strawberry.field(description="最近的每日比对（系统管理员），新的在前", extensions=[RoleGuard(*ADMINS)])
    async def nightly_ticks(self, info: Info, first: int = 7) -> list[NightlyTick]:
        viewer = await info.context.viewer()
        return [NightlyTick.from_domain(t) for t in await nightly.list_ticks(viewer, first)]
