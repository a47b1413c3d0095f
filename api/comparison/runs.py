"""Comparison runs (比对批次): request a recomputation, watch its progress and results."""
from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from strawberry.types import Info

from zizhu.api.pagination import Connection, connection, decode_cursor
from zizhu.domain.comparison import runs
from zizhu.domain.errors import NotFound
from zizhu.domain.models import ComparisonRun as RunRow


@strawberry.enum(description="比对批次状态")
class RunStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.enum(description="比对触发方式")
class RunTrigger(Enum):
    CRON = "CRON"
    MANUAL = "MANUAL"
    CLI = "CLI"


@strawberry.type(description="比对批次：一次特殊群体学生与资助名单的比对")
class ComparisonRun:
    id: strawberry.ID
    period: str
    province: str = strawberry.field(description="省份代码；空表示全国")
    trigger: RunTrigger
    requested_by: str | None
    status: RunStatus
    published: bool = strawberry.field(description="是否为当前发布的结果")
    queued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int
    members: int = strawberry.field(description="特殊群体学生数")
    matched: int = strawberry.field(description="匹配到在读学籍的学生数")
    unmatched: int = strawberry.field(description="未匹配到在读学籍的学生数")
    funded: int = strawberry.field(description="已资助（学生×学段）")
    unfunded: int = strawberry.field(description="未资助（学生×学段）")
    newly_unfunded: int = strawberry.field(description="较上次发布新增未资助")
    newly_funded: int = strawberry.field(description="较上次发布新获资助")
    error: str | None


def _run(r: RunRow) -> ComparisonRun:
    return ComparisonRun(
        id=strawberry.ID(str(r.id)), period=r.period, province=r.province, trigger=RunTrigger(r.trigger),
        requested_by=r.requested_by, status=RunStatus(r.status), published=r.published,
        queued_at=r.queued_at, started_at=r.started_at, finished_at=r.finished_at, attempts=r.attempts,
        members=r.members, matched=r.matched, unmatched=r.unmatched, funded=r.funded, unfunded=r.unfunded,
        newly_unfunded=r.newly_unfunded, newly_funded=r.newly_funded, error=r.error,
    )


def _run_id(value: strawberry.ID) -> int:
    try:
        return int(value)
    except ValueError:
        raise NotFound(f"未找到比对批次 {value}") from None


@strawberry.type
class ComparisonRunQuery:
    @strawberry.field(description="一个比对批次的进度与结果")
    async def comparison_run(self, info: Info, id: strawberry.ID) -> ComparisonRun:
        viewer = await info.context.viewer()
        return _run(await runs.get_run(viewer, _run_id(id)))

    @strawberry.field(description="某资助周期的比对批次，最新的在前")
    async def comparison_runs(
        self, info: Info, period: str, first: int = 20, after: str | None = None
    ) -> Connection[ComparisonRun]:
        viewer = await info.context.viewer()
        items, more = await runs.list_runs(viewer, period, first=first, before_id=decode_cursor(after))
        return connection(items, more, lambda r: r.id, _run)


@strawberry.type
class ComparisonRunMutation:
    @strawberry.mutation(description="重新比对（系统管理员）：排队一次比对，返回排队中的批次")
    async def recompute_unfunded(self, info: Info, period: str) -> ComparisonRun:
        viewer = await info.context.viewer()
        return _run(await runs.recompute(viewer, period))
