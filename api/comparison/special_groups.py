"""Special-group lists (特殊群体名单) in the API: the members that matched no 在读 enrolment
(未匹配学籍), their export, and an authority's upload of its own self-collected list (自采集)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from zizhu.api.exports import ExportFormat, ExportLink, Format, _link
from zizhu.api.gql.enums import Category, Source
from zizhu.api.gql.pagination import Connection, connection, decode_cursor
from zizhu.api.roster import MAX_UPLOAD_BYTES, RosterRowError
from zizhu.domain.comparison import unmatched
from zizhu.domain.exports import lists
from zizhu.domain.imports import ImportRejected, import_self_collected


@strawberry.type(description="未匹配学籍的特殊群体成员：身份证件号没有任何在读学籍")
class UnmatchedSpecialGroupMember:
    id_number: str = strawberry.field(description="身份证件号（脱敏）")
    name: str
    region_code: str = strawberry.field(
        description="户籍地行政区划：身份证件号前六位，区划表中没有时取最近的上级（市、省），否则为全国"
    )
    categories: list[Category]
    central_categories: list[Category] = strawberry.field(description="中央下发的类型")
    self_collected_categories: list[Category] = strawberry.field(description="自采集的类型")
    sources: list[Source] = strawberry.field(description="数据来源")


def _member(m: unmatched.UnmatchedMember) -> UnmatchedSpecialGroupMember:
    return UnmatchedSpecialGroupMember(
        id_number=m.id_number,
        name=m.name,
        region_code=m.region_code,
        categories=m.categories,
        central_categories=m.central,
        self_collected_categories=m.self_collected,
        sources=m.sources,
    )


@strawberry.type(description="自采集名单已导入")
class SpecialGroupsImported:
    count: int = strawberry.field(description="文件中的数据行数")
    inserted: int = strawberry.field(description="新增的记录")
    updated: int = strawberry.field(description="修改的记录（姓名变化）")
    unchanged: int = strawberry.field(description="未变的记录")
    removed: int = strawberry.field(description="本区划此前上传、本文件中已没有而删除的记录")


@strawberry.type(description="文件被拒绝，未写入任何数据")
class SpecialGroupsImportRejected:
    message: str
    errors: list[RosterRowError]


SpecialGroupsImportResult = Annotated[
    SpecialGroupsImported | SpecialGroupsImportRejected,
    strawberry.union("SpecialGroupsImportResult", description="自采集名单导入结果"),
]


@strawberry.type
class SpecialGroupQuery:
    @strawberry.field(
        description="未匹配学籍的特殊群体成员（最近一次发布的比对结果）：身份证件号没有在读学籍的成员，"
        "归属其户籍地区划（及上传该成员的主管部门区划）；regionCode 默认为当前账号的范围；学校账号无权查看"
    )
    async def unmatched_special_group_members(
        self,
        info: Info,
        period: str,
        region_code: str | None = None,
        category: Category | None = None,
        source: Source | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[UnmatchedSpecialGroupMember]:
        viewer = await info.context.viewer()
        items, more = await unmatched.list_unmatched(
            viewer,
            period,
            region_code=region_code,
            category=category,
            source=source,
            first=first,
            after=decode_cursor(after),
        )

        async def count() -> int:
            return await unmatched.count_unmatched(
                viewer, period, region_code=region_code, category=category, source=source
            )

        return connection(items, more, lambda m: m.row_id, _member, after, count)


@strawberry.type
class SpecialGroupMutation:
    @strawberry.mutation(
        description="主管部门上传本区划的自采集特殊群体名单（特殊群体名单模板，.xlsx 或 CSV，GraphQL multipart 上传）："
        "每行须为自采集、资助周期为 period；替换本区划此前上传的该周期自采集记录，整批成功或整批不变；"
        "下次比对起生效"
    )
    async def import_special_groups(self, info: Info, period: str, file: Upload) -> SpecialGroupsImportResult:
        viewer = await info.context.viewer()
        assert isinstance(file, UploadFile)  # what the Upload scalar is on this (Starlette) server
        if file.size and file.size > MAX_UPLOAD_BYTES:
            return SpecialGroupsImportRejected(
                message="文件过大", errors=[RosterRowError(row=1, column="", message="文件不能超过 20MB")]
            )
        try:
            result = await import_self_collected(viewer, period, file.file, file.filename)
        except ImportRejected as rejected:
            return SpecialGroupsImportRejected(
                message=f"文件有 {len(rejected.errors)} 处错误，未导入任何数据",
                errors=[RosterRowError(row=e.row, column=e.column, message=e.message) for e in rejected.errors],
            )
        return SpecialGroupsImported(
            count=result.rows,
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            removed=result.removed,
        )

    @strawberry.mutation(
        description="导出未匹配学籍的特殊群体成员（.xlsx 或 CSV，流式）；范围与筛选同 unmatchedSpecialGroupMembers"
    )
    async def export_unmatched_special_group_members(
        self,
        info: Info,
        period: str,
        region_code: str | None = None,
        category: Category | None = None,
        source: Source | None = None,
        format: Format = ExportFormat.XLSX,
    ) -> ExportLink:
        filters = {"period": period, "regionCode": region_code, "category": category, "source": source}
        return await _link(info, lists.UNMATCHED, format.extension, filters)
