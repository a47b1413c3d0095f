"""Students with several 在读 enrolments of one stage (重复学籍) and the school each is counted at."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from zizhu.api.gql.enums import Stage
from zizhu.api.gql.pagination import Connection, connection, decode_cursor
from zizhu.domain.comparison import duplicates


@strawberry.type(description="重复学籍学生在读的一所学校")
class DuplicateEnrolmentSchool:
    school_code: str = strawberry.field(description="学校标识码")
    school_name: str = strawberry.field(description="学校名称")
    region_code: str = strawberry.field(description="学校的主管行政区划代码")
    region_name: str = strawberry.field(description="学校的主管行政区划名称")
    chosen: bool = strawberry.field(description="比对计入此校（该学段最近导入或变更的学籍；同时则学校标识码最小者）")


@strawberry.type(description="同一学段有多条在读学籍的特殊群体学生：比对只计入其中一所学校")
class DuplicateEnrolment:
    id_number: str = strawberry.field(description="身份证件号（脱敏）")
    name: str
    stage: Stage
    chosen_school_code: str = strawberry.field(description="计入的学校，未资助原因由该校填报")
    schools: list[DuplicateEnrolmentSchool] = strawberry.field(description="全部在读学校，计入的学校在前")


def _duplicate(d: duplicates.DuplicateEnrolment) -> DuplicateEnrolment:
    return DuplicateEnrolment(
        id_number=d.id_number,
        name=d.name,
        stage=d.stage,
        chosen_school_code=d.chosen_school.school_code,
        schools=[
            DuplicateEnrolmentSchool(
                school_code=s.school_code,
                school_name=s.school_name,
                region_code=s.region_code,
                region_name=s.region_name,
                chosen=s.chosen,
            )
            for s in d.schools
        ],
    )


@strawberry.type
class DuplicateEnrolmentQuery:
    @strawberry.field(
        description="重复学籍：同一学段有多条在读学籍、比对只计入其中一所学校的特殊群体学生（最近一次发布的比对结果）；"
        "主管部门可见其范围内任一学校涉及的学生"
    )
    async def duplicate_enrolments(
        self, info: Info, period: str, region_code: str | None = None, first: int = 50, after: str | None = None
    ) -> Connection[DuplicateEnrolment]:
        viewer = await info.context.viewer()
        items, more = await duplicates.list_duplicate_enrolments(
            viewer, period, region_code=region_code, first=first, after=decode_cursor(after)
        )

        async def count() -> int:
            return await duplicates.count_duplicate_enrolments(viewer, period, region_code=region_code)

        return connection(items, more, lambda d: d.row_id, _duplicate, after, count)
