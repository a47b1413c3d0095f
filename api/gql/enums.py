"""GraphQL enums: the English codes of the code lists, each value described by its Chinese label.

Every enum here is also listed with its labels by `codeLists` (zizhu.api.reference), so a page
never hard-codes a label.
"""

import strawberry

from zizhu.domain.reference import codes


def labelled(enum: type[codes.LabelledEnum], description: str):
    """`strawberry.enum` whose values carry their Chinese labels as descriptions."""
    graphql_enum = strawberry.enum(enum, description=description)
    for value in graphql_enum.__strawberry_definition__.values:
        value.description = enum(value.value).label
    return graphql_enum


Stage = labelled(codes.Stage, "学段")
Category = labelled(codes.Category, "特殊群体类型")
Source = labelled(codes.Source, "数据来源")
EnrolmentStatus = labelled(codes.EnrolmentStatus, "学籍状态")
AidStatus = labelled(codes.AidStatus, "审核状态")
Role = labelled(codes.Role, "账号角色")
WindowAction = labelled(codes.WindowAction, "时间窗口动作")
RegionLevel = labelled(codes.RegionLevel, "行政区划级别")
ProjectKind = labelled(codes.ProjectKind, "资助项目类别")
Cycle = labelled(codes.Cycle, "资助周期类型")
RunStatus = labelled(codes.RunStatus, "比对批次状态")
RunTrigger = labelled(codes.RunTrigger, "比对触发方式")
ReasonStatus = labelled(codes.ReasonStatus, "原因填报状态")
ChangeKind = labelled(codes.ChangeKind, "比对变动类型（较上一次发布的批次）")
ReviewDecision = labelled(codes.ReviewDecision, "审核结果：通过或退回")
AidVerdict = labelled(codes.AidVerdict, "资助记录未计为已资助的原因")
