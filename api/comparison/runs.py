"""Comparison runs (比对批次): request a recomputation, watch its progress and results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import strawberry
from strawberry import relay
from strawberry.types import Info

from zizhu.api.gql.enums import Category, ChangeKind, RunStatus, RunTrigger, Stage
from zizhu.api.gql.nodes import in_scope, int_keys, local_int, node_type
from zizhu.api.gql.pagination import Connection, connection, decode_cursor
from zizhu.domain.comparison import changes as run_changes
from zizhu.domain.comparison import runs
from zizhu.domain.errors import NotFound
from zizhu.domain.models import ComparisonRun as RunRow


@node_type
@strawberry.type(description="比对变动：本批次新增未资助或新获资助的学生")
class StudentChange(relay.Node):
    pk: strawberry.Private[int]
    kind: ChangeKind
    id_number: str = strawberry.field(description="身份证件号（本校以外脱敏）")
    name: str
    school_code: str
    stage: Stage
    categories: list[Category] = strawberry.field(description="该学生的特殊群体类型（名单历史已清理时为空）")

    @classmethod
    def resolve_id(cls, root: StudentChange, *, info: Info) -> str:
        return str(root.pk)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        keys = int_keys(node_ids)
        found = await run_changes.changes_by_ids(viewer, keys)
        return [_change(found[k]) if k in found else None for k in keys]


def _change(c: run_changes.StudentChange) -> StudentChange:
    return StudentChange(
        pk=c.row_id,
        kind=c.kind,
        id_number=c.id_number,
        name=c.name,
        school_code=c.school_code,
        stage=c.stage,
        categories=c.categories,
    )


@node_type
@strawberry.type(description="比对批次：一次特殊群体学生与资助名单的比对")
class ComparisonRun(relay.Node):
    pk: strawberry.Private[int]
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
    members: int | None = strawberry.field(
        description="特殊群体学生数（本批次全范围的合计，仅向范围覆盖本批次的账号显示，否则为空）"
    )
    matched: int | None = strawberry.field(
        description="匹配到在读学籍的学生数（本批次全范围的合计，仅向范围覆盖本批次的账号显示，否则为空）"
    )
    unmatched: int | None = strawberry.field(
        description="未匹配到在读学籍的学生数（本批次全范围的合计，仅向范围覆盖本批次的账号显示，否则为空）"
    )
    duplicate_enrolments: int | None = strawberry.field(
        description="同一学段有多条在读学籍、只计入其中一所学校的学生数（重复学籍）"
        "（本批次全范围的合计，仅向范围覆盖本批次的账号显示，否则为空）"
    )
    funded: int | None = strawberry.field(
        description="已资助（学生×学段）（本批次全范围的合计，仅向范围覆盖本批次的账号显示，否则为空）"
    )
    unfunded: int | None = strawberry.field(
        description="未资助（学生×学段）（本批次全范围的合计，仅向范围覆盖本批次的账号显示，否则为空）"
    )
    newly_unfunded: int | None = strawberry.field(
        description="较上次发布新增未资助（本批次全范围的合计，仅向范围覆盖本批次的账号显示，否则为空）"
    )
    newly_funded: int | None = strawberry.field(
        description="较上次发布新获资助（本批次全范围的合计，仅向范围覆盖本批次的账号显示，否则为空）"
    )
    error: str | None

    @classmethod
    def resolve_id(cls, root: ComparisonRun, *, info: Info) -> str:
        return str(root.pk)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        return await in_scope(int_keys(node_ids), lambda key: runs.get_run(viewer, key), _run)

    @strawberry.field(description="本批次的变动名单：新增未资助或新获资助的学生，按本账号范围（学校只见本校）")
    async def changes(
        self, info: Info, kind: ChangeKind | None = None, first: int = 50, after: str | None = None
    ) -> Connection[StudentChange]:
        viewer = await info.context.viewer()
        items, more = await run_changes.list_changes(viewer, self.pk, kind, first=first, after=decode_cursor(after))

        async def count() -> int:
            return await run_changes.count_changes(viewer, self.pk, kind)

        return connection(items, more, lambda c: c.row_id, _change, after, count)


def _run(r: RunRow) -> ComparisonRun:
    return ComparisonRun(
        pk=r.id,
        period=r.period,
        province=r.province,
        trigger=RunTrigger(r.trigger),
        requested_by=r.requested_by,
        status=RunStatus(r.status),
        published=r.published,
        queued_at=r.queued_at,
        started_at=r.started_at,
        finished_at=r.finished_at,
        attempts=r.attempts,
        members=r.members,
        matched=r.matched,
        unmatched=r.unmatched,
        duplicate_enrolments=r.duplicate_enrolments,
        funded=r.funded,
        unfunded=r.unfunded,
        newly_unfunded=r.newly_unfunded,
        newly_funded=r.newly_funded,
        error=r.error,
    )


def _run_id(value: strawberry.ID) -> int:
    try:
        return local_int(value, "ComparisonRun")
    except NotFound:
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

        async def count() -> int:
            return await runs.count_runs(viewer, period)

        return connection(items, more, lambda r: r.id, _run, after, count)


@strawberry.type
class ComparisonRunMutation:
    @strawberry.mutation(description="重新比对（系统管理员）：排队一次比对，返回排队中的批次")
    async def recompute_unfunded(self, info: Info, period: str) -> ComparisonRun:
        viewer = await info.context.viewer()
        return _run(await runs.recompute(viewer, period))
