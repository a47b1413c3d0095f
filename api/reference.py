"""Code lists with Chinese labels, so a page never hard-codes a label (代码表查询)."""

from __future__ import annotations

import strawberry

from zizhu.api.exports import ExportFormat, StatisticsRows
from zizhu.api.gql.enums import enum_values
from zizhu.api.gql.errors import ErrorCode
from zizhu.api.gql.from_domain import FromDomain
from zizhu.domain.models import AidProject, ReasonCode
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
    export_formats: list[CodeItem] = strawberry.field(
        resolver=lambda: _api_items(ExportFormat), description="导出文件格式"
    )
    statistics_rows: list[CodeItem] = strawberry.field(
        resolver=lambda: _api_items(StatisticsRows), description="统计表的行（导出统计表时）"
    )
    error_codes: list[CodeItem] = strawberry.field(
        resolver=lambda: _api_items(ErrorCode), description="错误代码（errors[].extensions.code）"
    )

    @strawberry.field(description="未资助原因（99 须填写说明）")
    async def reasons(self) -> list[CodeItem]:
        return [CodeItem(code=r.code, label=r.label) for r in await ReasonCode.all().order_by("code")]

    @strawberry.field(description="资助项目目录")
    async def projects(self) -> list[AidProjectType]:
        return [AidProjectType.from_domain(p) for p in await AidProject.all().order_by("stage", "code")]


@strawberry.type
class CodeQuery:
    @strawberry.field(description="代码表（学段、特殊群体类型、数据来源、未资助原因、资助项目…）")
    def code_lists(self) -> CodeLists:
        return CodeLists()
