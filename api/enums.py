"""GraphQL enums: the English codes of docs/domain.md (labels are queryable through codeLists)."""
import strawberry

from zizhu.domain.reference import codes

Stage = strawberry.enum(codes.Stage, description="学段")
Category = strawberry.enum(codes.Category, description="特殊群体类型")
Source = strawberry.enum(codes.Source, description="数据来源")
EnrolmentStatus = strawberry.enum(codes.EnrolmentStatus, description="学籍状态")
AidStatus = strawberry.enum(codes.AidStatus, description="审核状态")
Role = strawberry.enum(codes.Role, description="账号角色")
WindowAction = strawberry.enum(codes.WindowAction, description="时间窗口动作")
