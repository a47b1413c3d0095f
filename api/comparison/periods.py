"""Funding periods (资助周期): dates and whether the nightly comparison covers them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

import strawberry
from strawberry.types import Info

from zizhu.api.gql.directives import RoleGuard
from zizhu.api.gql.from_domain import FromDomain
from zizhu.domain.accounts.scopes import ADMINS
from zizhu.domain.comparison import schedule as periods_active
from zizhu.domain.models import Period
from zizhu.domain.reference.periods import parse_semester


@strawberry.type(description="资助周期")
class FundingPeriod(FromDomain):
    code: str
    label: str
    start_date: dt.date
    end_date: dt.date
    force_active: bool = strawberry.field(description="管理员标记为有效（即使不在起止日期内）")
    is_active: bool = strawberry.field(description="今天（Asia/Shanghai）是否参加每日02:00比对")

    @classmethod
    def from_domain(cls, obj: Period, /, **values: Any) -> Self:
        return super().from_domain(obj, label=parse_semester(obj.code).label, **values)


@strawberry.type
class PeriodQuery:
    @strawberry.field(description="资助周期列表（新的在前）")
    async def periods(self, info: Info) -> list[FundingPeriod]:
        await info.context.viewer()
        today = periods_active.shanghai_today(info.context.now())
        await periods_active.ensure_semester(today)
        return [
            FundingPeriod.from_domain(p, is_active=periods_active.is_active(p, today))
            for p in await periods_active.list_periods()
        ]


@strawberry.type
class PeriodMutation:
    @strawberry.mutation(
        description="设置资助周期的起止日期或标记为有效（系统管理员）", extensions=[RoleGuard(*ADMINS)]
    )
    async def set_period(
        self,
        info: Info,
        code: str,
        start_date: dt.date | None = None,
        end_date: dt.date | None = None,
        force_active: bool | None = None,
    ) -> FundingPeriod:
        viewer = await info.context.viewer()
        period = await periods_active.configure_period(
            viewer, code, start_date=start_date, end_date=end_date, force_active=force_active
        )
        today = periods_active.shanghai_today(info.context.now())
        return FundingPeriod.from_domain(period, is_active=periods_active.is_active(period, today))
