"""Code lists with Chinese labels, so a page never hard-codes a label (代码表查询)."""
from __future__ import annotations

import strawberry

from zizhu.domain.reference import codes
from zizhu.domain.models import AidProject, ReasonCode


@strawberry.type(description="代码项")
class CodeItem:
    code: str
    label: str
    number: str | None = None


@strawberry.type(description="资助项目")
class AidProjectType:
    code: str
    name: str
    stage: str
    kind: str
    cycle: str


def _items(enum, number=False) -> list[CodeItem]:
    return [CodeItem(code=m.value, label=m.label, number=m.number if number else None) for m in enum]


@strawberry.type(description="全部代码表")
class CodeLists:
    stages: list[CodeItem] = strawberry.field(resolver=lambda: _items(codes.Stage))
    categories: list[CodeItem] = strawberry.field(resolver=lambda: _items(codes.Category, number=True))
    sources: list[CodeItem] = strawberry.field(resolver=lambda: _items(codes.Source))
    enrolment_statuses: list[CodeItem] = strawberry.field(resolver=lambda: _items(codes.EnrolmentStatus))
    aid_statuses: list[CodeItem] = strawberry.field(resolver=lambda: _items(codes.AidStatus))
    roles: list[CodeItem] = strawberry.field(resolver=lambda: _items(codes.Role))

    @strawberry.field(description="未资助原因（99 须填写说明）")
    async def reasons(self) -> list[CodeItem]:
        return [CodeItem(code=r.code, label=r.label) for r in await ReasonCode.all().order_by("code")]

    @strawberry.field(description="资助项目目录")
    async def projects(self) -> list[AidProjectType]:
        return [
            AidProjectType(code=p.code, name=p.name, stage=p.stage, kind=p.kind, cycle=p.cycle)
            for p in await AidProject.all().order_by("stage", "code")
        ]


@strawberry.type
class CodeQuery:
    @strawberry.field(description="代码表（学段、特殊群体类型、数据来源、未资助原因、资助项目…）")
    def code_lists(self) -> CodeLists:
        return CodeLists()
