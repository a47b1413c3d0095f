"""Unfunded students and their reasons (特殊群体学生未资助情况上报/查看) and the legacy history."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from zizhu.api.gql.directives import RoleGuard
from zizhu.api.gql.enums import AidStatus, AidVerdict, Category, ReasonStatus, Source, Stage
from zizhu.api.gql.from_domain import FromDomain
from zizhu.api.gql.nodes import int_keys, node_type
from zizhu.api.gql.pagination import Connection, connection, decode_cursor
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison import explanations
from zizhu.domain.comparison import published_list as unfunded
from zizhu.domain.models import ReasonCode
from zizhu.domain.models import RegionReason as RegionReasonRow
from zizhu.domain.reasons import reports as reasons
from zizhu.domain.reference import codes
from zizhu.domain.statistics import figures


async def _reason_labels(keys: list[str]) -> list[str]:
    labels = dict(await ReasonCode.filter(code__in=keys).values_list("code", "label"))
    return [labels.get(c, "") for c in keys]


@strawberry.type(description="已填报的未资助原因")
class ReportedReason:
    code: str
    detail: str
    inherited: bool = strawberry.field(description="由2023年秋季学期脱贫家庭学生未资助原因继承")
    reported_at: dt.datetime | None = strawberry.field(description="填报（或最近一次修改）时间")
    reported_by: str | None = strawberry.field(description="填报人（显示姓名；继承的原因为“历史原因继承”）")
    version: int = strawberry.field(description="版本号：每次修改加一；填报时传回 expectedVersion 可防止覆盖他人的修改")

    @strawberry.field(description="原因的中文名称（已停用的代码仍显示其名称）")
    async def label(self, info: Info) -> str:
        return await info.context.loader("reason-labels", lambda: DataLoader(load_fn=_reason_labels)).load(self.code)


@strawberry.type(description="学生的一条资助记录及其未计为已资助的原因")
class AidRecordExplanation(FromDomain):
    project_code: str = strawberry.field(description="资助项目代码")
    project_name: str = strawberry.field(description="资助项目名称")
    project_stage: Stage | None = strawberry.field(description="项目所属学段")
    period: str = strawberry.field(description="资助周期（学期或学年）")
    school_code: str = strawberry.field(description="填报该记录的学校")
    amount: Decimal = strawberry.field(description="金额（元）")
    status: AidStatus = strawberry.field(description="审核状态")
    verdict: AidVerdict = strawberry.field(description="未计为已资助的原因（代码）")
    verdict_label: str = strawberry.field(description="未计为已资助的原因（中文）")

    @classmethod
    def from_domain(cls, obj: explanations.AidExplanation, /, **values: Any) -> Self:
        return super().from_domain(obj, verdict_label=obj.verdict.label, **values)


async def _load_explanations(keys: list[explanations.Key]) -> list[list[explanations.AidExplanation]]:
    found = await explanations.explanations(keys)
    return [found[k] for k in keys]


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
    school_name: str = strawberry.field(description="学校名称")
    grade: str = strawberry.field(description="年级（学籍）")
    class_name: str = strawberry.field(description="班级（学籍；导入时未提供则为空）")
    unfunded_since: dt.datetime | None = strawberry.field(
        description="本次连续未资助的起始：开始这段连续在名单上的比对批次的完成时间（中间有一次已资助即重新计算）"
    )
    project: str | None = strawberry.field(description="所属项目模块的资助项目代码；学段总名单为空")
    key: strawberry.Private[explanations.Key]

    @strawberry.field(
        description="本学段前后学年的资助记录，及每条记录为何未计为已资助（录入、已上报、学校审核通过、退回、奖优或非助困项目、其他学段、其他周期）"
    )
    async def aid_records(self, info: Info) -> list[AidRecordExplanation]:
        loader = info.context.loader("aid-explanations", lambda: DataLoader(load_fn=_load_explanations))
        return [AidRecordExplanation.from_domain(e) for e in await loader.load(self.key)]

    @classmethod
    def from_domain(cls, obj: unfunded.UnfundedStudent, /, **values: Any) -> Self:
        reason = None
        if obj.reason_code:
            reason = ReportedReason(
                code=obj.reason_code,
                detail=obj.reason_detail or "",
                inherited=obj.reason_inherited,
                reported_at=obj.reported_at,
                reported_by=obj.reported_by,
                version=obj.reason_version,
            )
        return super().from_domain(
            obj,
            pk=obj.row_id,
            central_categories=obj.central,
            self_collected_categories=obj.self_collected,
            reason=reason,
            project=obj.project or None,
            key=(obj.period, obj.stage.value, obj.full_id_number, obj.project),
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
    project_code: str | None = strawberry.field(description="资助项目代码（历史文件未提供时为空）")

    @classmethod
    def from_domain(cls, obj: unfunded.LegacyReason, /, **values: Any) -> Self:
        return super().from_domain(obj, pk=obj.row_id, project_code=obj.project_code or None, **values)

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
        search: Annotated[
            str | None,
            strawberry.argument(description="查找：完整的身份证件号，或姓名的开头（至少一个字）；限于账号范围"),
        ] = None,
        project: Annotated[
            str | None,
            strawberry.argument(
                description="资助项目代码：该助困项目的项目模块（本学段未获该项目资助的学生）；为空为学段总名单"
            ),
        ] = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[UnfundedStudent]:
        viewer = await info.context.viewer()
        filters = unfunded.ListFilters(
            stage=stage,
            region_code=region_code,
            school_code=school_code,
            category=category,
            source=source,
            reason_reported=None if reason_status is None else reason_status == ReasonStatus.REPORTED,
            newly_unfunded=newly_unfunded,
            search=search,
            project=project,
        )
        items, more = await unfunded.list_unfunded_students(
            viewer, period, filters, first=first, after=decode_cursor(after)
        )

        async def count() -> int:
            return await figures.unfunded_list_count(viewer, period, filters)

        return connection(items, more, lambda s: s.row_id, UnfundedStudent.from_domain, after, count)

    @strawberry.field(description="脱贫家庭学生未资助情况查看（历史，只读）")
    async def legacy_poverty_reasons(
        self,
        info: Info,
        period: str | None = None,
        stage: Stage | None = None,
        region_code: str | None = None,
        school_code: str | None = None,
        project: Annotated[
            str | None,
            strawberry.argument(description="资助项目代码：只看该项目下的历史原因（空字符串为未注明项目的记录）"),
        ] = None,
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
            project=project,
            first=first,
            after=decode_cursor(after),
        )

        async def count() -> int:
            return await unfunded.count_legacy_reasons(
                viewer, period=period, stage=stage, region_code=region_code, school_code=school_code
            )

        return connection(items, more, lambda r: r.row_id, LegacyPovertyReason.from_domain, after, count)

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
