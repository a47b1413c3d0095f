"""GraphQL enums: the English codes of the code lists, each value described by its Chinese label.

Every enum here is also listed with its labels by `codeLists` (zizhu.api.reference), so a page
never hard-codes a label.
"""

import strawberry
from strawberry.types.enum import EnumValue, has_enum_definition

from zizhu.domain.reference import codes


def enum_values(enum: type) -> list[EnumValue]:
    """The GraphQL values of a strawberry enum (to describe or to list them)."""
    assert has_enum_definition(enum), enum
    return enum.__strawberry_definition__.values


def labelled(enum: type[codes.LabelledEnum], description: str) -> None:
    """Make `enum` a GraphQL enum (strawberry decorates it in place) whose values carry their Chinese
    labels as descriptions."""
    for value in enum_values(strawberry.enum(enum, description=description)):
        value.description = enum(value.value).label


labelled(codes.Stage, "学段")
labelled(codes.Category, "特殊群体类型")
labelled(codes.Source, "数据来源")
labelled(codes.EnrolmentStatus, "学籍状态")
labelled(codes.AidStatus, "审核状态")
labelled(codes.Role, "账号角色")
labelled(codes.WindowAction, "时间窗口动作：名单录入、学校审核、主管部门审核")
labelled(codes.WindowPhase, "时间窗口状态（按服务器时间）")
labelled(codes.RegionLevel, "行政区划级别")
labelled(codes.ProjectKind, "资助项目类别")
labelled(codes.Cycle, "资助周期类型")
labelled(codes.RunStatus, "比对批次状态")
labelled(codes.RunTrigger, "比对触发方式")
labelled(codes.ReasonStatus, "原因填报状态")
labelled(codes.ChangeKind, "比对变动类型（较上一次发布的批次）")
labelled(codes.ReviewDecision, "审核结果：通过或退回")
labelled(codes.AidVerdict, "资助记录未计为已资助的原因")

# The GraphQL enums are the code lists themselves.
Stage = codes.Stage
Category = codes.Category
Source = codes.Source
EnrolmentStatus = codes.EnrolmentStatus
AidStatus = codes.AidStatus
Role = codes.Role
WindowAction = codes.WindowAction
WindowPhase = codes.WindowPhase
RegionLevel = codes.RegionLevel
ProjectKind = codes.ProjectKind
Cycle = codes.Cycle
RunStatus = codes.RunStatus
RunTrigger = codes.RunTrigger
ReasonStatus = codes.ReasonStatus
ChangeKind = codes.ChangeKind
ReviewDecision = codes.ReviewDecision
AidVerdict = codes.AidVerdict
