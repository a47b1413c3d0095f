"""Funding periods (资助周期): dates and whether the nightly comparison covers them."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from zizhu.domain.comparison import schedule as periods_active
from zizhu.domain.reference.periods import parse_semester


@strawberry.type(description="资助周期")
class FundingPeriod:
    code: str
    label: str
    start_date: dt.date
    end_date: dt.date
    force_active: bool = strawberry.field(description="管理员标记为有效（即使不在起止日期内）")
    is_active: bool = strawberry.field(description="今天（Asia/Shanghai）是否参加每日02:00比对")


def _period(p, today: dt.date) -> FundingPeriod:
    return FundingPeriod(
        code=p.code,
        label=parse_semester(p.code).label,
        start_date=p.start_date,
        end_date=p.end_date,
        force_active=p.force_active,
        is_active=p.force_active or p.start_date <= today <= p.end_date,
    )


@strawberry.type
class PeriodQuery:
    @strawberry.field(description="资助周期列表（新的在前）")
    async def periods(self, info: Info) -> list[FundingPeriod]:
        await info.context.viewer()
        today = periods_active.shanghai_today(info.context.now())
        await periods_active.ensure_semester(today)
        return [_period(p, today) for p in await periods_active.list_periods()]


@strawberry.type
class PeriodMutation:
    @strawberry.mutation(description="设置资助周期的起止日期或标记为有效（系统管理员）")
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
        return _period(period, periods_active.shanghai_today(info.context.now()))
