"""The schema's shared vocabulary (术语表): descriptions of the names that mean the same thing on
every type and argument (period, stage, schoolCode, first, after …), applied once to the built
schema wherever the code gives none. A field or argument whose meaning is its own carries its
description in the code; `Type.name` entries here cover the few common names that differ.
tests/test_schema_lint.py checks that every type, field, argument and enum value is described.
"""

from __future__ import annotations

from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

TYPES = {
    "Query": "查询",
    "Mutation": "变更（每次写入均记入审计日志）",
}

# fields (output and input), by "Type.field" first, then by field name
FIELDS = {
    "period": "资助周期代码，如 2023-2024-1（2023-2024学年秋季学期）",
    "stage": "学段",
    "stages": "账号可见的学段；为空表示全部学段",
    "schoolCode": "学校标识码（10位）",
    "schoolName": "学校名称",
    "regionCode": "行政区划代码（6位）",
    "idNumber": "身份证件号（18位）",
    "name": "姓名",
    "Region.name": "行政区划名称",
    "Region.code": "行政区划代码（6位，全国为 000000）",
    "category": "特殊群体类型",
    "RegionReason.category": "特殊群体类型；为空表示不分类型",
    "RegionReasonInput.category": "特殊群体类型；为空表示不分类型",
    "categories": "特殊群体类型（中央下发与自采集合并）",
    "reason": "已填报的未资助原因；未填报为空",
    "code": "未资助原因代码（见 codeLists.reasons）",
    "FundingPeriod.code": "资助周期代码，如 2023-2024-1",
    "reasonCode": "未资助原因代码（见 codeLists.reasons）",
    "detail": "原因说明（选择“其他”时必填）",
    "reportedAt": "填报时间",
    "reportedBy": "填报账号",
    "username": "账号",
    "role": "账号角色",
    "scopeCode": "数据范围：学校账号为学校标识码，其他账号为行政区划代码",
    "token": "令牌：以 Authorization: Bearer <令牌> 随每个请求发送",
    "kind": "变动类型",
    "status": "状态",
    "trigger": "触发方式",
    "requestedBy": "发起账号",
    "queuedAt": "排队时间",
    "startedAt": "开始时间",
    "finishedAt": "完成时间",
    "updatedAt": "最后修改时间",
    "updatedBy": "最后设置的账号",
    "attempts": "已尝试次数",
    "error": "失败原因",
    "start": "开始时间（含）",
    "end": "结束时间（不含）",
    "isOpen": "按服务器当前时间是否开放",
    "action": "时间窗口动作",
    "projectCode": "资助项目代码（见 codeLists.projects）",
    "amount": "金额（元）",
    "label": "中文名称",
    "startDate": "开始日期",
    "endDate": "结束日期",
    "all": "全部来源（每名学生计一次）",
    "central": "中央下发",
    "selfCollected": "自采集",
    "created": "新增的记录数",
    "updated": "修改的记录数",
    "unchanged": "未变的记录数",
    "message": "说明",
    "errors": "每一处错误",
    "column": "列名",
}

# arguments, by "field.argument" first, then by argument name
ARGUMENTS = {
    "period": "资助周期代码，如 2023-2024-1（2023-2024学年秋季学期）",
    "stage": "学段；不填为账号可见的全部学段",
    "schoolCode": "学校标识码（10位）；学校账号默认为本校",
    "regionCode": "行政区划代码（6位）；默认为账号的范围",
    "category": "只看此特殊群体类型",
    "source": "只看此数据来源",
    "reasonStatus": "只看已填报或未填报原因的学生",
    "newlyUnfunded": "只看最近一次发布的比对新增的未资助学生",
    "first": "每页条数，1 到 500",
    "after": "从此游标之后开始（上一页的 pageInfo.endCursor）",
    "id": "对象的全局 ID（也接受原编号）",
    "ids": "对象的全局 ID 列表（也接受原编号）",
    "node.id": "对象的全局 ID",
    "nodes.ids": "对象的全局 ID 列表，至多 100 个",
    "input": "要填报的内容",
    "inputs": "要填报的内容，每名学生一条",
    "code": "代码",
    "region.code": "行政区划代码；默认为账号的范围",
    "setPeriod.code": "资助周期代码，如 2023-2024-1",
    "kind": "只看此变动类型；不填为两种都看",
    "status": "只看此审核状态",
    "action": "时间窗口动作",
    "start": "开始时间（含）",
    "end": "结束时间（不含）",
    "projectCode": "资助项目代码，默认为学前教育政府资助 PRE_GOV",
    "provinceCode": "省级行政区划代码；为空表示全国设置",
    "idNumber": "幼儿的身份证件号",
    "amount": "资助金额（元）",
    "name": "幼儿姓名；不填时取学籍中的姓名",
    "decision": "审核结果",
    "comment": "退回原因（退回时必填）",
    "file": "名单文件（.xlsx 或 UTF-8 CSV），表头与模板相同",
    "startDate": "开始日期",
    "endDate": "结束日期",
    "forceActive": "标记为有效：即使不在起止日期内也参加每日比对",
    "username": "账号",
    "password": "密码",
}


def _lookup(glossary: dict[str, str], owner: str, name: str) -> str | None:
    return glossary.get(f"{owner}.{name}") or glossary.get(name)


def describe(schema: GraphQLSchema) -> None:
    """Fill in the glossary's descriptions where the code gave none (never overriding one)."""
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__"):
            continue
        if not getattr(graphql_type, "description", None) and type_name in TYPES:
            graphql_type.description = TYPES[type_name]
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, field in graphql_type.fields.items():
                field.description = field.description or _lookup(FIELDS, type_name, field_name)
                for arg_name, arg in getattr(field, "args", {}).items():
                    arg.description = arg.description or _lookup(ARGUMENTS, field_name, arg_name)
