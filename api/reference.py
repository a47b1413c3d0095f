"""Code lists with Chinese labels, so a page never hard-codes a label (代码表查询)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from zizhu.api.exports import ExportFormat, StatisticsRows
from zizhu.api.gql.directives import RoleGuard
from zizhu.api.gql.enums import Cycle, ProjectKind, Stage, enum_values
from zizhu.api.gql.errors import ErrorCode
from zizhu.api.gql.from_domain import FromDomain
from zizhu.domain.accounts.scopes import ADMINS
from zizhu.domain.comparison import catalogue
from zizhu.domain.reasons import codes as reason_codes
from zizhu.domain.reference import codes


@strawberry.type(description="代码项：英文代码及其中文名称")
class CodeItem:
    code: str = strawberry.field(description="英文代码（即 GraphQL 枚举值）")
    label: str = strawberry.field(description="中文名称")
    number: str | None = strawberry.field(default=None, description="两位数字代码（仅特殊群体类型）")


@strawberry.type(description="资助项目")
class AidProjectType(FromDomain):
    code: str = strawberry.field(description="资助项目代码")
    name: str = strawberry.field(description="项目名称")
    stage: str = strawberry.field(description="学段代码（见 codeLists.stages）")
    kind: str = strawberry.field(description="项目类别代码（见 codeLists.projectKinds）；只有助困类决定是否已资助")
    cycle: str = strawberry.field(description="资助周期类型代码（见 codeLists.cycles）")
    retired: bool = strawberry.field(description="已停用：不再接收资助记录，没有项目模块；已有记录照常计算")


@strawberry.type(description="未资助原因代码")
class ReasonCodeItem(FromDomain):
    code: str = strawberry.field(description="两位数字代码")
    label: str = strawberry.field(description="中文名称")
    needs_detail: bool = strawberry.field(description="选择时须填写说明")
    retired: bool = strawberry.field(description="已停用：不能再选择，已填报的原因仍显示其名称")


def _items(enum, number=False) -> list[CodeItem]:
    return [CodeItem(code=m.value, label=m.label, number=m.number if number else None) for m in enum]


def _api_items(enum) -> list[CodeItem]:
    """An enum defined in the API only (no domain code list): its values and their descriptions."""
    return [CodeItem(code=v.name, label=v.description or v.name) for v in enum_values(enum)]


def _list(enum, description: str, number: bool = False):
    """A codeLists field listing `enum` with its labels."""
    return strawberry.field(resolver=lambda: _items(enum, number), description=description)


@strawberry.type(description="全部代码表：每个 GraphQL 枚举及未资助原因、资助项目，均附中文名称")
class CodeLists:
    stages: list[CodeItem] = _list(codes.Stage, "学段")
    categories: list[CodeItem] = _list(codes.Category, "特殊群体类型（含两位数字代码）", number=True)
    sources: list[CodeItem] = _list(codes.Source, "数据来源")
    enrolment_statuses: list[CodeItem] = _list(codes.EnrolmentStatus, "学籍状态")
    aid_statuses: list[CodeItem] = _list(codes.AidStatus, "资助名单审核状态")
    roles: list[CodeItem] = _list(codes.Role, "账号角色")
    window_actions: list[CodeItem] = _list(codes.WindowAction, "时间窗口动作")
    window_phases: list[CodeItem] = _list(codes.WindowPhase, "时间窗口状态")
    region_levels: list[CodeItem] = _list(codes.RegionLevel, "行政区划级别")
    project_kinds: list[CodeItem] = _list(codes.ProjectKind, "资助项目类别")
    cycles: list[CodeItem] = _list(codes.Cycle, "资助周期类型")
    run_statuses: list[CodeItem] = _list(codes.RunStatus, "比对批次状态")
    run_triggers: list[CodeItem] = _list(codes.RunTrigger, "比对触发方式")
    reason_statuses: list[CodeItem] = _list(codes.ReasonStatus, "原因填报状态")
    change_kinds: list[CodeItem] = _list(codes.ChangeKind, "比对变动类型")
    review_decisions: list[CodeItem] = _list(codes.ReviewDecision, "审核结果")
    aid_verdicts: list[CodeItem] = _list(codes.AidVerdict, "资助记录未计为已资助的原因")
    export_formats: list[CodeItem] = strawberry.field(
        resolver=lambda: _api_items(ExportFormat), description="导出文件格式"
    )
    statistics_rows: list[CodeItem] = strawberry.field(
        resolver=lambda: _api_items(StatisticsRows), description="统计表的行（导出统计表时）"
    )
    error_codes: list[CodeItem] = strawberry.field(
        resolver=lambda: _api_items(ErrorCode), description="错误代码（errors[].extensions.code）"
    )

    @strawberry.field(description="未资助原因（含已停用的代码，以便显示历史原因的名称）")
    async def reasons(self) -> list[ReasonCodeItem]:
        return [ReasonCodeItem.from_domain(r) for r in await reason_codes.list_reason_codes()]

    @strawberry.field(description="资助项目目录（含已停用的项目）")
    async def projects(self) -> list[AidProjectType]:
        return [AidProjectType.from_domain(p) for p in await catalogue.list_projects()]


@strawberry.type
class CodeQuery:
    @strawberry.field(description="代码表（学段、特殊群体类型、数据来源、未资助原因、资助项目…）")
    def code_lists(self) -> CodeLists:
        return CodeLists()


@strawberry.input(description="新增或修改资助项目（系统管理员）；未给出的项保持不变，新增时除 retired 外均须填写")
class ProjectInput:
    code: str = strawberry.field(description="资助项目代码（大写字母、数字、下划线）")
    name: str | None = strawberry.field(default=None, description="项目名称")
    stage: Stage | None = strawberry.field(default=None, description="学段（新增后不能修改）")
    kind: ProjectKind | None = strawberry.field(default=None, description="项目类别：只有助困类决定是否已资助")
    cycle: Cycle | None = strawberry.field(default=None, description="资助周期类型：学期或学年")
    retired: bool | None = strawberry.field(default=None, description="停用（true）或重新启用（false）")


@strawberry.input(description="新增或停用未资助原因代码（系统管理员）；代码不重复使用")
class ReasonCodeInput:
    code: str = strawberry.field(description="两位数字代码")
    label: str | None = strawberry.field(default=None, description="原因名称（新增时必填；已有代码不能改名）")
    needs_detail: bool | None = strawberry.field(default=None, description="选择时须填写说明（仅新增时）")
    retired: bool | None = strawberry.field(default=None, description="停用（true）；停用后不能再启用")


@strawberry.type
class CatalogueMutation:
    @strawberry.mutation(
        description="维护资助项目目录（系统管理员）：新增项目（如省级自设助困项目）、修改类别或周期、停用；下次比对起生效",
        extensions=[RoleGuard(*ADMINS)],
    )
    async def set_project(self, info: Info, input: ProjectInput) -> AidProjectType:
        viewer = await info.context.viewer()
        change = catalogue.ProjectChange(
            code=input.code,
            name=input.name,
            stage=input.stage,
            kind=input.kind,
            cycle=input.cycle,
            retired=input.retired,
        )
        return AidProjectType.from_domain(await catalogue.set_project(viewer.username, change))

    @strawberry.mutation(
        description="维护未资助原因代码（系统管理员）：新增或停用；代码不重复使用，历史原因保留名称",
        extensions=[RoleGuard(*ADMINS)],
    )
    async def set_reason_code(self, info: Info, input: ReasonCodeInput) -> ReasonCodeItem:
        viewer = await info.context.viewer()
        change = reason_codes.ReasonCodeChange(
            code=input.code, label=input.label, needs_detail=input.needs_detail, retired=input.retired
        )
        return ReasonCodeItem.from_domain(await reason_codes.set_reason_code(viewer.username, change))
