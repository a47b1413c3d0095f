"""Preschool government aid roster (学前教育政府资助名单) and its time windows (时间窗口).

Thin: every resolver calls zizhu.domain.roster (entries, importer, windows, overview). Each roster
mutation carries `@window(action: ENTRY|SCHOOL_REVIEW|AUTHORITY_REVIEW)`, enforced by
`zizhu.api.gql.directives.WindowGuard` and checked again by the domain as the last step of its
committing transaction. `RegionPreschoolRoster` is the reviewer's overview under `region`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from starlette.datastructures import UploadFile
from strawberry import relay
from strawberry.file_uploads import Upload
from strawberry.types import Info

from zizhu.api.gql.directives import RoleGuard, WindowGuard
from zizhu.api.gql.enums import AidStatus, ReviewDecision, WindowAction, WindowPhase
from zizhu.api.gql.from_domain import FromDomain
from zizhu.api.gql.nodes import MAX_INT, in_scope, int_keys, local_int, node_type
from zizhu.api.gql.pagination import Connection, connection, decode_code_cursor, decode_cursor, encode_code_cursor
from zizhu.domain.accounts.scopes import ADMINS, Viewer
from zizhu.domain.imports import ImportRejected
from zizhu.domain.models import AidRecord, TimeWindow
from zizhu.domain.reference import codes
from zizhu.domain.roster import entries as roster
from zizhu.domain.roster import importer as roster_import
from zizhu.domain.roster import overview, windows

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


# --- types -----------------------------------------------------------------------------------------
@node_type
@strawberry.type(name="TimeWindow", description="时间窗口 [start, end)：结束时间不含")
class TimeWindowType(FromDomain, relay.Node):
    pk: strawberry.Private[int]
    period: str
    project_code: str
    action: WindowAction
    province_code: str | None = strawberry.field(description="省级区划代码；为空表示全国")
    start: dt.datetime
    end: dt.datetime
    is_open: bool = strawberry.field(description="按服务器当前时间是否开放")
    state: WindowPhase = strawberry.field(description="按服务器当前时间：未开始、进行中、已截止")
    seconds_left: int = strawberry.field(description="距状态变化的秒数：未开始时距开始，进行中时距截止；已截止为 0")
    display: str = strawberry.field(
        description="页面红字显示的文字，如“录入时间：2023年9月1日0点至2024年1月25日24点”（0点截止写作前一日24点）"
    )
    updated_by: str

    @classmethod
    def from_domain(cls, obj: TimeWindow, /, **values: Any) -> Self:
        return super().from_domain(
            obj,
            pk=obj.id,
            action=codes.WindowAction(obj.action),
            province_code=f"{obj.province}0000" if obj.province else None,
            start=windows.in_shanghai(obj.start),
            end=windows.in_shanghai(obj.end),
            **values,
        )

    @classmethod
    def resolve_id(cls, root: TimeWindowType, *, info: Info) -> str:
        return str(root.pk)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()
        keys = int_keys(node_ids, MAX_INT)
        found = await windows.windows_by_ids(viewer, keys)
        now = info.context.now()
        return [_window(found[k], now) if k in found else None for k in keys]


@strawberry.type(description="当前生效的时间窗口（页面以红字显示起止时间）")
class RosterWindow(FromDomain):
    action: WindowAction
    start: dt.datetime | None
    end: dt.datetime | None
    is_open: bool
    state: WindowPhase = strawberry.field(description="按服务器当前时间：未开始、进行中、已截止（未设置视为已截止）")
    seconds_left: int = strawberry.field(description="距状态变化的秒数：未开始时距开始，进行中时距截止；已截止为 0")
    display: str = strawberry.field(
        description="页面红字显示的文字，如“录入时间：2023年9月1日0点至2024年1月25日24点”（0点截止写作前一日24点）"
    )
    province_code: str | None = strawberry.field(description="生效的是该省的单独设置；为空表示全国设置")

    @classmethod
    def from_domain(cls, obj: windows.WindowState, /, **values: Any) -> Self:
        return super().from_domain(
            obj, province_code=f"{obj.province}0000" if obj.province else None, state=obj.phase, **values
        )


@strawberry.type(description="名单记录按审核状态计数")
class RosterStatusCounts:
    draft: int = strawberry.field(description="录入")
    submitted: int = strawberry.field(description="已上报")
    school_approved: int = strawberry.field(description="学校审核通过")
    approved: int = strawberry.field(description="审核通过")
    returned: int = strawberry.field(description="退回")
    total: int = strawberry.field(description="合计")


@strawberry.type(description="一所幼儿园的名单概况：状态计数、是否有待本账号这一级处理的记录、适用于该园的三个时间窗口")
class SchoolPreschoolRoster:
    school_code: str
    school_name: str
    region_code: str = strawberry.field(description="主管区划代码")
    counts: RosterStatusCounts = strawberry.field(description="本园名单按审核状态计数")
    waiting_for_me: bool = strawberry.field(
        description="是否有待本账号这一级处理的记录（学校业务操作人员：录入、退回；学校审核人员：已上报；本级主管部门：学校审核通过）"
    )
    entry_window: RosterWindow = strawberry.field(description="名单录入时间")
    school_review_window: RosterWindow = strawberry.field(description="学校审核时间")
    authority_review_window: RosterWindow = strawberry.field(description="主管部门审核时间")


@strawberry.type(description="区域内幼儿园的学前教育政府资助名单概况（审核截止前查看哪些幼儿园还有待处理的记录）")
class RegionPreschoolRoster:
    period: str
    region_code: str
    totals: RosterStatusCounts = strawberry.field(description="本区域（含全部下级）合计")
    school_count: int = strawberry.field(description="幼儿园数")
    waiting_school_count: int = strawberry.field(description="有待本账号这一级处理记录的幼儿园数")

    @strawberry.field(description="每所幼儿园一行，按学校标识码排序；waitingForMe 为真时只列有待本账号处理记录的幼儿园")
    async def schools(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        waiting_for_me: Annotated[
            bool, strawberry.argument(description="只列有待本账号这一级处理记录的幼儿园")
        ] = False,
    ) -> Connection[SchoolPreschoolRoster]:
        viewer = await info.context.viewer()
        rows, more = await overview.region_schools(
            viewer, self.region_code, self.period, info.context.now(), first, decode_code_cursor(after), waiting_for_me
        )
        return connection(
            rows,
            more,
            lambda r: r.school.code,
            _school_roster,
            after=after,
            cursor=encode_code_cursor,
            counter=lambda: overview.count_region_schools(viewer, self.region_code, self.period, waiting_for_me),
        )


@node_type
@strawberry.type(description="学前教育政府资助名单记录")
class PreschoolRosterEntry(FromDomain, relay.Node):
    pk: strawberry.Private[int]
    id_number: str = strawberry.field(description="身份证件号（非本校账号脱敏显示）")
    name: str
    school_code: str
    period: str
    amount: Decimal
    status: AidStatus
    return_comment: str | None = strawberry.field(description="退回原因")
    updated_at: dt.datetime

    @classmethod
    def from_domain(cls, obj: AidRecord, /, **values: Any) -> Self:
        return super().from_domain(obj, pk=obj.id, status=codes.AidStatus(obj.status), **values)

    @classmethod
    def seen_by(cls, viewer: Viewer, obj: AidRecord) -> Self:
        """The entry as `viewer` sees it: the ID number masked unless it is the child's own school."""
        return cls.from_domain(obj, id_number=viewer.id_number_for(obj.id_number, obj.school_code))

    @classmethod
    def resolve_id(cls, root: PreschoolRosterEntry, *, info: Info) -> str:
        return str(root.pk)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False):
        viewer = await info.context.viewer()

        async def find(key: int):
            found = await roster.entries_in_scope(viewer, [key])
            await roster.fill_names(found)
            return found[0]

        return await in_scope(int_keys(node_ids), find, lambda row: PreschoolRosterEntry.seen_by(viewer, row))


@strawberry.type(description="学前教育政府资助名单")
class PreschoolRoster:
    period: str
    school_code: str
    school_name: str
    entry_window: RosterWindow = strawberry.field(description="名单录入时间")
    school_review_window: RosterWindow = strawberry.field(description="学校审核时间")
    authority_review_window: RosterWindow = strawberry.field(description="主管部门审核时间")
    counts: RosterStatusCounts = strawberry.field(description="本园名单按审核状态计数")
    waiting_for_me: bool = strawberry.field(description="是否有待本账号这一级处理的记录")
    now: dt.datetime = strawberry.field(description="服务器当前时间（Asia/Shanghai）")

    @strawberry.field(description="名单记录总数（不分状态）")
    async def total_count(self, info: Info) -> int:
        return await roster.count_entries(await info.context.viewer(), self.period, self.school_code)

    @strawberry.field(description="名单记录（按 id 分页，可按状态筛选）")
    async def entries(
        self, info: Info, status: AidStatus | None = None, first: int = 50, after: str | None = None
    ) -> Connection[PreschoolRosterEntry]:
        viewer = await info.context.viewer()
        page = await roster.list_entries(viewer, self.period, self.school_code, status, first, decode_cursor(after))

        async def count() -> int:
            return page.total

        return connection(
            page.entries, page.has_next, lambda e: e.id, lambda e: PreschoolRosterEntry.seen_by(viewer, e), after, count
        )


@strawberry.type(description="模板导入中的一处错误")
class RosterRowError(FromDomain):
    row: int = strawberry.field(description="Excel 中的行号（表头为第1行）")
    column: str
    message: str


@strawberry.type(description="导入成功")
class RosterImported(FromDomain):
    count: int = strawberry.field(description="导入的行数")
    created: int
    updated: int
    unchanged: int


@strawberry.type(description="文件被拒绝，未写入任何数据")
class RosterImportRejected:
    message: str
    errors: list[RosterRowError]


RosterImportResult = Annotated[
    RosterImported | RosterImportRejected, strawberry.union("RosterImportResult", description="名单导入结果")
]


def _window(w: TimeWindow, now: dt.datetime) -> TimeWindowType:
    state = windows.window_state(codes.WindowAction(w.action), w, now)
    return TimeWindowType.from_domain(
        w, is_open=state.is_open, state=state.phase, seconds_left=state.seconds_left, display=state.display
    )


def _counts(c: overview.StatusCounts) -> RosterStatusCounts:
    return RosterStatusCounts(
        draft=c.draft,
        submitted=c.submitted,
        school_approved=c.school_approved,
        approved=c.approved,
        returned=c.returned,
        total=c.total,
    )


def _school_roster(r: overview.SchoolRoster) -> SchoolPreschoolRoster:
    return SchoolPreschoolRoster(
        school_code=r.school.code,
        school_name=r.school.name,
        region_code=r.school.region_code,
        counts=_counts(r.counts),
        waiting_for_me=r.waiting_for_me,
        entry_window=RosterWindow.from_domain(r.windows[codes.WindowAction.ENTRY]),
        school_review_window=RosterWindow.from_domain(r.windows[codes.WindowAction.SCHOOL_REVIEW]),
        authority_review_window=RosterWindow.from_domain(r.windows[codes.WindowAction.AUTHORITY_REVIEW]),
    )


async def region_preschool_roster(info: Info, region_code: str, period: str) -> RegionPreschoolRoster:
    """The overview of a region (used by `Region.preschoolRoster`)."""
    viewer = await info.context.viewer()
    t = await overview.region_totals(viewer, region_code, period)
    return RegionPreschoolRoster(
        period=t.period,
        region_code=t.region.code,
        totals=_counts(t.counts),
        school_count=t.schools,
        waiting_school_count=t.waiting_schools,
    )


# --- the window guard's view of each mutation ------------------------------------------------------
def _entry_ids(values: Iterable) -> list[int]:
    """Roster entry ids from their global IDs (or bare ids)."""
    return [local_int(v, "PreschoolRosterEntry") for v in values]


async def _targets(viewer: Viewer, action: codes.WindowAction, kwargs: dict[str, Any]):
    ids = kwargs.get("ids")
    if ids is None and "id" in kwargs:
        ids = [kwargs["id"]]
    if ids is not None:
        ids = _entry_ids(ids)
    pairs = await roster.window_targets(
        viewer, action, period=kwargs.get("period"), school_code=kwargs.get("school_code"), ids=ids
    )
    return [(period, roster.PROJECT, province) for period, province in pairs]


# Strawberry runs the last extension first: the role, then the window.
ENTRY = [WindowGuard(codes.WindowAction.ENTRY, _targets), RoleGuard(*roster.ENTRY_ROLES)]
SCHOOL_REVIEW = [WindowGuard(codes.WindowAction.SCHOOL_REVIEW, _targets), RoleGuard(roster.SCHOOL_REVIEW.role)]
AUTHORITY_REVIEW = [
    WindowGuard(codes.WindowAction.AUTHORITY_REVIEW, _targets),
    RoleGuard(roster.AUTHORITY_REVIEW.role),
]


def _clock(info: Info):
    return info.context.now


# --- queries ---------------------------------------------------------------------------------------
@strawberry.type
class RosterQuery:
    @strawberry.field(description="学前教育政府资助名单（含录入、审核时间窗口与服务器时间）")
    async def preschool_roster(self, info: Info, period: str, school_code: str | None = None) -> PreschoolRoster:
        viewer = await info.context.viewer()
        school = await roster.roster_school(viewer, school_code)
        period = roster.check_period(period)
        now = info.context.now()
        (summary,) = await overview.summaries(viewer, period, [school], now)
        return PreschoolRoster(
            period=period,
            school_code=school.code,
            school_name=school.name,
            entry_window=RosterWindow.from_domain(summary.windows[codes.WindowAction.ENTRY]),
            school_review_window=RosterWindow.from_domain(summary.windows[codes.WindowAction.SCHOOL_REVIEW]),
            authority_review_window=RosterWindow.from_domain(summary.windows[codes.WindowAction.AUTHORITY_REVIEW]),
            counts=_counts(summary.counts),
            waiting_for_me=summary.waiting_for_me,
            now=now,
        )

    @strawberry.field(description="资助周期的时间窗口（全国设置及本省单独设置）")
    async def time_windows(self, info: Info, period: str, project_code: str = roster.PROJECT) -> list[TimeWindowType]:
        viewer = await info.context.viewer()
        now = info.context.now()
        return [_window(w, now) for w in await windows.list_windows(viewer, period, project_code)]


# --- mutations -------------------------------------------------------------------------------------
@strawberry.type
class RosterMutation:
    @strawberry.mutation(
        description="设置时间窗口（系统管理员）；provinceCode 为空表示全国，否则为该省单独设置",
        extensions=[RoleGuard(*ADMINS)],
    )
    async def set_time_window(
        self,
        info: Info,
        period: str,
        action: WindowAction,
        start: dt.datetime,
        end: dt.datetime,
        project_code: str = roster.PROJECT,
        province_code: str | None = None,
    ) -> TimeWindowType:
        viewer = await info.context.viewer()
        w = await windows.set_window(viewer, period, project_code, action, start, end, province_code)
        return _window(w, info.context.now())

    @strawberry.mutation(description="录入一名幼儿（学校业务操作人员）", extensions=ENTRY)
    async def add_preschool_roster_entry(
        self,
        info: Info,
        period: str,
        id_number: str,
        amount: Decimal,
        name: str | None = None,
        school_code: str | None = None,
    ) -> PreschoolRosterEntry:
        viewer = await info.context.viewer()
        e = await roster.add_entry(viewer, period, id_number, amount, _clock(info), name, school_code)
        return PreschoolRosterEntry.seen_by(viewer, e)

    @strawberry.mutation(description="修改金额（仅录入、退回状态）", extensions=ENTRY)
    async def update_preschool_roster_entry(
        self, info: Info, id: strawberry.ID, amount: Decimal
    ) -> PreschoolRosterEntry:
        viewer = await info.context.viewer()
        e = await roster.update_entry(viewer, _entry_ids([id])[0], amount, _clock(info))
        return PreschoolRosterEntry.seen_by(viewer, e)

    @strawberry.mutation(description="删除（仅录入、退回状态），返回被删除记录的全局 id", extensions=ENTRY)
    async def delete_preschool_roster_entry(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        viewer = await info.context.viewer()
        deleted = await roster.delete_entry(viewer, _entry_ids([id])[0], _clock(info))
        return strawberry.ID(str(relay.GlobalID("PreschoolRosterEntry", str(deleted))))

    @strawberry.mutation(description="学校上报（录入、退回 → 已上报），整批成功或整批不变", extensions=ENTRY)
    async def submit_preschool_roster_entries(self, info: Info, ids: list[strawberry.ID]) -> list[PreschoolRosterEntry]:
        viewer = await info.context.viewer()
        entries = await roster.submit_entries(viewer, _entry_ids(ids), _clock(info))
        return [PreschoolRosterEntry.seen_by(viewer, e) for e in entries]

    @strawberry.mutation(
        description="模板批量导入（.xlsx 或 UTF-8 CSV，GraphQL multipart 上传），整批成功或整批不变",
        extensions=ENTRY,
    )
    async def import_preschool_roster(self, info: Info, period: str, file: Upload) -> RosterImportResult:
        viewer = await info.context.viewer()
        assert isinstance(file, UploadFile)  # what the Upload scalar is on this (Starlette) server
        if file.size and file.size > MAX_UPLOAD_BYTES:
            return RosterImportRejected(
                message="文件过大", errors=[RosterRowError(row=1, column="", message="文件不能超过 20MB")]
            )
        try:
            result = await roster_import.import_roster(viewer, period, file.file, file.filename, _clock(info))
        except ImportRejected as rejected:
            return RosterImportRejected(
                message=f"文件有 {len(rejected.errors)} 处错误，未导入任何数据",
                errors=[RosterRowError.from_domain(e) for e in rejected.errors],
            )
        return RosterImported.from_domain(result, count=result.rows)

    @strawberry.mutation(
        description="撤回（已上报 → 录入）：学校业务操作人员在名单录入时间内撤回尚未审核的记录；已审核的不能撤回，"
        "整批成功或整批不变",
        extensions=ENTRY,
    )
    async def withdraw_preschool_roster_entries(
        self, info: Info, ids: list[strawberry.ID]
    ) -> list[PreschoolRosterEntry]:
        viewer = await info.context.viewer()
        return [
            PreschoolRosterEntry.seen_by(viewer, e)
            for e in await roster.withdraw_entries(viewer, _entry_ids(ids), _clock(info))
        ]

    @strawberry.mutation(
        description="学校审核（学校审核人员：已上报 → 学校审核通过/退回），退回须填写原因，整批成功或整批不变",
        extensions=SCHOOL_REVIEW,
    )
    async def school_review_preschool_roster_entries(
        self, info: Info, ids: list[strawberry.ID], decision: ReviewDecision, comment: str | None = None
    ) -> list[PreschoolRosterEntry]:
        viewer = await info.context.viewer()
        entries = await roster.school_review(viewer, _entry_ids(ids), decision, comment, _clock(info))
        return [PreschoolRosterEntry.seen_by(viewer, e) for e in entries]

    @strawberry.mutation(
        description="主管部门审核（学校审核通过 → 审核通过/退回）：只有幼儿园的主管部门（账号范围即该园所属区划）可审核，"
        "上级部门只能查看；退回须填写原因，整批成功或整批不变",
        extensions=AUTHORITY_REVIEW,
    )
    async def authority_review_preschool_roster_entries(
        self, info: Info, ids: list[strawberry.ID], decision: ReviewDecision, comment: str | None = None
    ) -> list[PreschoolRosterEntry]:
        viewer = await info.context.viewer()
        entries = await roster.authority_review(viewer, _entry_ids(ids), decision, comment, _clock(info))
        return [PreschoolRosterEntry.seen_by(viewer, e) for e in entries]
