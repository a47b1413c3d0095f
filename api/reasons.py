"""Unfunded students and their reasons (特殊群体学生未资助情况上报/查看) and the legacy history."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any, Self

import strawberry
from strawberry import relay
from strawberry.types import Info

from zizhu.api.gql.directives import RoleGuard
from zizhu.api.gql.enums import Category, ReasonStatus, Source, Stage
from zizhu.api.gql.from_domain import FromDomain
from zizhu.api.gql.nodes import int_keys, node_type
from zizhu.api.gql.pagination import Connection, connection, decode_cursor
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison import published_list as unfunded
from zizhu.domain.models import RegionReason as RegionReasonRow
from zizhu.domain.reasons import reports as reasons
from zizhu.domain.reference import codes


@strawberry.type(description="已填报的未资助原因")
class ReportedReason:
    code: str
    detail: str
    inherited: bool = strawberry.field(description="由2023年秋季学期脱贫家庭学生未资助原因继承")
    reported_at: dt.datetime | None
    version: int = strawberry.field(description="版本号：每次修改加一；填报时传回 expectedVersion 可防止覆盖他人的修改")


class RowNode(FromDomain, relay.Node):
    """A Node whose key is its row id (`pk`), resolved through `_by_ids(viewer, keys)`."""

    @staticmethod
    async def _by_ids(viewer: Viewer, keys: list[int]) -> dict[int, Any]:
        raise NotImplementedError  # each node type finds its rows

    @classmethod
    def resolve_id(cls, root, *, info: Info) -> str:
        return str(root.pk)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        keys = int_keys(node_ids)
        found = await cls._by_ids(viewer, keys)
        return [found.get(k) for k in keys]


@node_type
@strawberry.type(description="未资助的特殊群体学生")
class UnfundedStudent(RowNode):
    pk: strawberry.Private[int]
    id_number: str = strawberry.field(description="身份证件号（本校以外脱敏）")
    name: str
    school_code: str
    stage: Stage
    categories: list[Category]
    central_categories: list[Category] = strawberry.field(description="中央下发的类型")
    self_collected_categories: list[Category] = strawberry.field(description="自采集的类型")
    reason: ReportedReason | None

    @classmethod
    def from_domain(cls, obj: unfunded.UnfundedStudent, /, **values: Any) -> Self:
        reason = None
        if obj.reason_code:
            reason = ReportedReason(
                code=obj.reason_code,
                detail=obj.reason_detail or "",
                inherited=obj.reason_inherited,
                reported_at=obj.reported_at,
                version=obj.reason_version,
            )
        return super().from_domain(
            obj,
            pk=obj.row_id,
            central_categories=obj.central,
            self_collected_categories=obj.self_collected,
            reason=reason,
            **values,
        )

    @staticmethod
    async def _by_ids(viewer, keys: list[int]) -> dict:
        return {k: UnfundedStudent.from_domain(s) for k, s in (await unfunded.students_by_ids(viewer, keys)).items()}


@node_type
@strawberry.type(description="脱贫家庭学生（原建档立卡）历史未资助原因（只读）")
class LegacyPovertyReason(RowNode):
    pk: strawberry.Private[int]
    id_number: str
    name: str
    school_code: str
    stage: Stage
    period: str
    reason_code: str
    detail: str
    reported_at: dt.datetime | None

    @classmethod
    def from_domain(cls, obj: unfunded.LegacyReason, /, **values: Any) -> Self:
        return super().from_domain(obj, pk=obj.row_id, **values)

    @staticmethod
    async def _by_ids(viewer, keys: list[int]) -> dict:
        return {k: LegacyPovertyReason.from_domain(r) for k, r in (await unfunded.legacy_by_ids(viewer, keys)).items()}


@node_type
@strawberry.type(description="主管部门本级未资助原因")
class RegionReason(RowNode):
    pk: strawberry.Private[int]
    period: str
    stage: Stage
    region_code: str
    category: Category | None
    reason_code: str
    detail: str
    reported_by: str
    reported_at: dt.datetime
    version: int = strawberry.field(description="版本号：每次修改加一")

    @classmethod
    def from_domain(cls, obj: RegionReasonRow, /, **values: Any) -> Self:
        category = next((c for c in codes.Category if c.number == obj.category), None)
        return super().from_domain(obj, pk=obj.id, stage=codes.Stage(obj.stage), category=category, **values)

    @staticmethod
    async def _by_ids(viewer, keys: list[int]) -> dict:
        found = await reasons.region_reasons_by_ids(viewer, keys)
        return {k: RegionReason.from_domain(r) for k, r in found.items()}


_EXPECTED_VERSION = "填报人看到的版本号（尚无原因时为 0）；原因已被他人修改时返回 CONFLICT。不传则不检查"


@strawberry.input(description="填报一名学生的未资助原因")
class ReasonInput:
    period: str
    stage: Stage
    id_number: str
    reason_code: str
    detail: str = ""
    expected_version: int | None = strawberry.field(default=None, description=_EXPECTED_VERSION)


@strawberry.input(description="主管部门填报本级未资助原因")
class RegionReasonInput:
    period: str
    stage: Stage
    reason_code: str
    detail: str = ""
    category: Category | None = None
    expected_version: int | None = strawberry.field(default=None, description=_EXPECTED_VERSION)


@strawberry.type
class ReasonQuery:
    @strawberry.field(description="未资助的特殊群体学生名单（最近一次发布的比对结果）")
    async def unfunded_students(
        self,
        info: Info,
        period: str,
        stage: Stage | None = None,
        region_code: str | None = None,
        school_code: str | None = None,
        category: Category | None = None,
        source: Source | None = None,
        reason_status: ReasonStatus | None = None,
        newly_unfunded: bool = False,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[UnfundedStudent]:
        viewer = await info.context.viewer()
        items, more = await unfunded.list_unfunded_students(
            viewer,
            period,
            stage=stage,
            region_code=region_code,
            school_code=school_code,
            category=category,
            source=source,
            reason_reported=None if reason_status is None else reason_status == ReasonStatus.REPORTED,
            newly_unfunded=newly_unfunded,
            first=first,
            after=decode_cursor(after),
        )
        return connection(items, more, lambda s: s.row_id, UnfundedStudent.from_domain, after)

    @strawberry.field(description="脱贫家庭学生未资助情况查看（历史，只读）")
    async def legacy_poverty_reasons(
        self,
        info: Info,
        period: str | None = None,
        stage: Stage | None = None,
        region_code: str | None = None,
        school_code: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[LegacyPovertyReason]:
        viewer = await info.context.viewer()
        items, more = await unfunded.list_legacy_reasons(
            viewer,
            period=period,
            stage=stage,
            region_code=region_code,
            school_code=school_code,
            first=first,
            after=decode_cursor(after),
        )
        return connection(items, more, lambda r: r.row_id, LegacyPovertyReason.from_domain, after)

    @strawberry.field(description="主管部门本级未资助原因")
    async def region_reasons(
        self, info: Info, period: str, region_code: str | None = None, stage: Stage | None = None
    ) -> list[RegionReason]:
        viewer = await info.context.viewer()
        return [RegionReason.from_domain(r) for r in await reasons.region_reasons(viewer, period, region_code, stage)]


def _report(i: ReasonInput) -> reasons.ReasonReport:
    """The input as the domain takes it (the same fields)."""
    return reasons.ReasonReport(**dataclasses.asdict(i))


@strawberry.type
class ReasonMutation:
    @strawberry.mutation(
        description="学校填报一名未资助学生的原因，返回更新后的该学生", extensions=[RoleGuard(*reasons.REPORTERS)]
    )
    async def report_unfunded_reason(self, info: Info, input: ReasonInput) -> UnfundedStudent:
        viewer = await info.context.viewer()
        saved = await reasons.report_reasons(viewer, [_report(input)], info.context.now())
        return UnfundedStudent.from_domain((await unfunded.students_of_reasons(viewer, saved))[0])

    @strawberry.mutation(
        description="学校批量填报未资助原因（全部成功或全部不保存），返回更新后的学生",
        extensions=[RoleGuard(*reasons.REPORTERS)],
    )
    async def report_unfunded_reasons(self, info: Info, inputs: list[ReasonInput]) -> list[UnfundedStudent]:
        viewer = await info.context.viewer()
        saved = await reasons.report_reasons(viewer, [_report(i) for i in inputs], info.context.now())
        return [UnfundedStudent.from_domain(s) for s in await unfunded.students_of_reasons(viewer, saved)]

    @strawberry.mutation(description="主管部门填报本级未资助原因", extensions=[RoleGuard(*reasons.REGION_REPORTERS)])
    async def report_region_reason(self, info: Info, input: RegionReasonInput) -> RegionReason:
        viewer = await info.context.viewer()
        saved = await reasons.report_region_reason(
            viewer,
            input.period,
            input.stage,
            input.reason_code,
            input.detail,
            input.category,
            info.context.now(),
            expected_version=input.expected_version,
        )
        return RegionReason.from_domain(saved)
