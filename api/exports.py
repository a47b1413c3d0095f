"""Exports (导出): short-lived signed download links from the schema, and the download route.

Each `export…` mutation takes the arguments of its query, checks them and the viewer's scope,
and returns a link to `GET /exports/{kind}.{format}?link=…`, valid for a few minutes and usable
without the Authorization header (a browser download). The route also answers a request that
carries `Authorization: Bearer <token>` and the filters as query parameters. Lists are streamed.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, cast
from urllib.parse import urlencode

import strawberry
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from strawberry.types import Info

from zizhu.api.gql.enums import AidStatus, Category, Source, Stage
from zizhu.api.reasons import ReasonStatus
from zizhu.api.web.downloads import attachment, error_response
from zizhu.domain.accounts.users import viewer_from_token
from zizhu.domain.errors import DomainError, Unauthenticated
from zizhu.domain.exports import links, lists, service


@strawberry.enum(description="导出文件格式")
class ExportFormat(Enum):
    XLSX = strawberry.enum_value("xlsx", description="Excel 工作簿（.xlsx）")
    CSV = strawberry.enum_value("csv", description="CSV（UTF-8，带 BOM，Excel 可直接打开）")

    @property
    def extension(self) -> str:
        """The value (`xlsx`, `csv`): strawberry's enum_value types it as its own definition."""
        return cast(str, self.value)


@strawberry.enum(description="统计表的行")
class StatisticsRows(Enum):
    REGIONS = strawberry.enum_value("REGIONS", description="每个下级区划一行，再加本级、合计")
    SCHOOLS = strawberry.enum_value("SCHOOLS", description="每所直属学校一行，再加合计")
    SUBTREE_SCHOOLS = strawberry.enum_value(
        "SUBTREE_SCHOOLS",
        description="本区域（含全部下级）的每所学校一行，含所属县（区）、市，按未填报原因从多到少排序（流式，单行表头）",
    )


@strawberry.type(description="导出文件的下载链接：短时有效，下载时无需再带登录凭证")
class ExportLink:
    url: str = strawberry.field(description="下载地址（GET）")
    filename: str = strawberry.field(description="文件名")
    expires_at: dt.datetime = strawberry.field(description="链接失效时间")


def _value(v) -> str | None:
    return v.value if isinstance(v, Enum) else v


async def _link(info: Info, kind: str, fmt: str, filters: dict) -> ExportLink:
    viewer = await info.context.viewer()
    filters = {k: _value(v) for k, v in filters.items() if v is not None}
    await service.check(kind, fmt, viewer, filters)
    token, expires = await links.sign(viewer.username, kind, fmt, filters, info.context.now())
    request = info.context.request
    base = str(request.base_url).rstrip("/") if request else ""
    return ExportLink(
        url=f"{base}/exports/{kind}.{fmt}?{urlencode({'link': token})}", filename=f"{kind}.{fmt}", expires_at=expires
    )


def _arg(description: str):
    return strawberry.argument(description=description)


Period = Annotated[str, _arg("资助周期（学期），如 2023-2024-1")]
OptionalPeriod = Annotated[str | None, _arg("资助周期（学期）；为空表示全部")]
StageFilter = Annotated[Stage | None, _arg("学段；为空表示账号可见的全部学段")]
RegionFilter = Annotated[str | None, _arg("行政区划代码；默认为当前账号的范围")]
SchoolFilter = Annotated[str | None, _arg("学校标识码；学校账号默认为本校")]
Format = Annotated[ExportFormat, _arg("文件格式")]
ProjectFilter = Annotated[str | None, _arg("资助项目代码：该助困项目的项目模块；为空为学段总名单")]


@strawberry.type
class ExportMutation:
    @strawberry.mutation(
        description="导出统计表（.xlsx）：下级区划（或直属学校）逐行，含本级、合计；范围与 unfundedStatistics 相同"
    )
    async def export_unfunded_statistics(
        self,
        info: Info,
        period: Period,
        region_code: RegionFilter = None,
        stage: StageFilter = None,
        rows: Annotated[StatisticsRows, _arg("统计表的行：下级区划、直属学校或全部学校")] = StatisticsRows.REGIONS,
        project: ProjectFilter = None,
    ) -> ExportLink:
        return await _link(
            info,
            service.STATISTICS,
            service.XLSX,
            {"period": period, "regionCode": region_code, "stage": stage, "rows": rows, "project": project},
        )

    @strawberry.mutation(description="导出未资助名单（.xlsx 或 CSV，流式）；筛选、范围与脱敏与 unfundedStudents 相同")
    async def export_unfunded_students(
        self,
        info: Info,
        period: Period,
        stage: StageFilter = None,
        region_code: RegionFilter = None,
        school_code: SchoolFilter = None,
        category: Annotated[Category | None, _arg("特殊群体类型")] = None,
        source: Annotated[Source | None, _arg("数据来源")] = None,
        reason_status: Annotated[ReasonStatus | None, _arg("原因填报状态")] = None,
        search: Annotated[str | None, _arg("查找：完整的身份证件号，或姓名的开头")] = None,
        project: ProjectFilter = None,
        format: Format = ExportFormat.XLSX,
    ) -> ExportLink:
        return await _link(
            info,
            lists.UNFUNDED,
            format.extension,
            {
                "period": period,
                "stage": stage,
                "regionCode": region_code,
                "schoolCode": school_code,
                "category": category,
                "source": source,
                "reasonStatus": reason_status,
                "search": search,
                "project": project,
            },
        )

    @strawberry.mutation(description="导出脱贫家庭学生历史未资助原因（只读历史）；范围与 legacyPovertyReasons 相同")
    async def export_legacy_poverty_reasons(
        self,
        info: Info,
        period: OptionalPeriod = None,
        stage: StageFilter = None,
        region_code: RegionFilter = None,
        school_code: SchoolFilter = None,
        project: Annotated[str | None, _arg("资助项目代码（空字符串为未注明项目的记录）")] = None,
        format: Format = ExportFormat.XLSX,
    ) -> ExportLink:
        return await _link(
            info,
            lists.LEGACY,
            format.extension,
            {
                "period": period,
                "stage": stage,
                "regionCode": region_code,
                "schoolCode": school_code,
                "project": project,
            },
        )

    @strawberry.mutation(description="导出学前教育政府资助名单；范围与 preschoolRoster 相同")
    async def export_preschool_roster(
        self,
        info: Info,
        period: Period,
        school_code: Annotated[str | None, _arg("学校标识码；学校账号默认为本校，主管部门须指定")] = None,
        status: Annotated[AidStatus | None, _arg("审核状态")] = None,
        format: Format = ExportFormat.XLSX,
    ) -> ExportLink:
        return await _link(
            info, lists.ROSTER, format.extension, {"period": period, "schoolCode": school_code, "status": status}
        )

    @strawberry.mutation(description="导出重复学籍学生名单（每所学校一行）；范围与 duplicateEnrolments 相同")
    async def export_duplicate_enrolments(
        self, info: Info, period: Period, region_code: RegionFilter = None, format: Format = ExportFormat.XLSX
    ) -> ExportLink:
        return await _link(info, lists.DUPLICATES, format.extension, {"period": period, "regionCode": region_code})

    @strawberry.mutation(
        description="导出区域内幼儿园的学前教育政府资助名单概况（.xlsx）：区域合计在上，每所幼儿园一行；"
        "范围与 region { preschoolRoster } 相同"
    )
    async def export_preschool_roster_overview(
        self,
        info: Info,
        period: Period,
        region_code: RegionFilter = None,
        waiting_for_me: Annotated[bool, _arg("只列有待本账号这一级处理记录的幼儿园")] = False,
    ) -> ExportLink:
        return await _link(
            info,
            lists.ROSTER_OVERVIEW,
            service.XLSX,
            {"period": period, "regionCode": region_code, "waitingForMe": "true" if waiting_for_me else None},
        )


# --- the download route ----------------------------------------------------------------------------
async def _viewer_and_filters(request: Request, kind: str, fmt: str):
    query = dict(request.query_params)
    token = query.pop("link", None)
    if token is not None:
        username, version, filters = links.verify(token, kind, fmt)
        return await links.viewer_for(username, version), filters
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not bearer.strip():
        raise Unauthenticated("请先登录，或使用导出接口返回的下载链接")
    return await viewer_from_token(bearer.strip()), query


async def download(request: Request) -> Response:
    kind, fmt = request.path_params["kind"], request.path_params["format"]
    try:
        service.check_kind(kind, fmt)
        viewer, filters = await _viewer_and_filters(request, kind, fmt)
        file = await service.open_export(kind, fmt, viewer, filters)
    except DomainError as e:
        return error_response(e)
    headers = {"Content-Disposition": attachment(file.filename, f"{file.title}.{fmt}"), "Cache-Control": "no-store"}
    if isinstance(file.body, bytes):
        return Response(file.body, media_type=file.media_type, headers=headers)
    return StreamingResponse(file.body, media_type=file.media_type, headers=headers)


ROUTES = [Route("/exports/{kind}.{format}", download, methods=["GET"])]
