"""Preschool government aid roster (学前教育政府资助名单): entry, submission and two-level review.

Design notes: docs/design/domain-roster.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from zizhu.domain import db
from zizhu.domain.accounts import audit
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from zizhu.domain.models import AidRecord, Enrolment, School
from zizhu.domain.paging import page_size
from zizhu.domain.reference.codes import (
    PRESCHOOL_PROJECT,
    AidStatus,
    EnrolmentStatus,
    ReviewDecision,
    Role,
    Stage,
    WindowAction,
)
from zizhu.domain.reference.identity import validate_id_number
from zizhu.domain.reference.inputs import reject_duplicates
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.roster import windows

PROJECT = PRESCHOOL_PROJECT
Now = Callable[[], dt.datetime]
EDITABLE = (AidStatus.DRAFT.value, AidStatus.RETURNED.value)
AUDITED = ("id_number", "name", "school_code", "period", "amount", "status", "return_comment")
MAX_AMOUNT = Decimal("9999999999.99")  # aid_record.amount is DECIMAL(12, 2)
ENTRY_ROLES = (Role.SCHOOL_OPERATOR,)
NOT_ENROLLED = "该幼儿不是本校学前教育在读学生"
NOT_OWN_AUTHORITY = "只有幼儿园的主管部门（本级）可以审核该园名单，上级部门只能查看"


@dataclass(frozen=True)
class ReviewLevel:
    """One review level: who gives it, under which window, the status it acts on and the one after APPROVE."""

    action: WindowAction
    role: Role
    acts_on: AidStatus
    approved: AidStatus
    verb: str


SCHOOL_REVIEW = ReviewLevel(
    WindowAction.SCHOOL_REVIEW, Role.SCHOOL_REVIEWER, AidStatus.SUBMITTED, AidStatus.SCHOOL_APPROVED, "school_review"
)
AUTHORITY_REVIEW = ReviewLevel(
    WindowAction.AUTHORITY_REVIEW,
    Role.AUTHORITY_OPERATOR,
    AidStatus.SCHOOL_APPROVED,
    AidStatus.APPROVED,
    "authority_review",
)
LEVELS = {level.action: level for level in (SCHOOL_REVIEW, AUTHORITY_REVIEW)}


# --- value checks (shared with the template import) --------------------------------------------
def check_period(text: str) -> str:
    """PRE_GOV is paid per semester: `2023-2024-1`."""
    return parse_semester(text).code


def check_amount(raw: Decimal | str | float | int) -> Decimal:
    """A positive amount in yuan with at most two decimals (金额)."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValidationFailed(f"金额“{raw}”不是数字", argument="amount") from None
    if not value.is_finite() or value <= 0:
        raise ValidationFailed("金额必须大于0", argument="amount")
    if value > MAX_AMOUNT:
        raise ValidationFailed(f"金额“{raw}”过大", argument="amount")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationFailed(f"金额“{raw}”最多两位小数", argument="amount")
    return value.quantize(Decimal("0.01"))


def child_problems(
    id_number: str,
    name: str | None,
    enrolled: dict[str, str],
    existing: AidRecord | None,
    school_code: str,
    allow_editable: bool,
) -> list[tuple[str, str]]:
    """(column, message) for a child who cannot be put on this school's roster.

    Only what the school may know: a child who is not enrolled here gets that answer alone, so
    no school can learn whether a stranger's ID number is on any other roster.
    """
    if id_number not in enrolled:
        return [("身份证件号", NOT_ENROLLED)]
    problems: list[tuple[str, str]] = []
    if name and name != enrolled[id_number]:
        problems.append(("姓名", f"姓名“{name}”与学籍姓名不一致"))
    if existing is not None:
        if existing.school_code != school_code:
            problems.append(("身份证件号", "该幼儿本周期已在其他学校的资助名单中"))
        elif not allow_editable or existing.status not in EDITABLE:
            status = AidStatus(existing.status).label
            problems.append(("身份证件号", f"该幼儿本周期已有名单记录（{status}）"))
    return problems


async def enrolled_names(school_code: str, id_numbers: Iterable[str], using_db=None) -> dict[str, str]:
    """ID number → name of the children enrolled (在读) in PRESCHOOL at the school."""
    ids = list(set(id_numbers))
    found: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        rows = (
            await Enrolment.filter(
                school_code=school_code,
                stage=Stage.PRESCHOOL.value,
                status=EnrolmentStatus.ENROLLED.value,
                id_number__in=ids[i : i + 500],
            )
            .using_db(using_db)
            .values_list("id_number", "name")
        )
        found.update(dict(rows))
    return found


async def existing_entries(period: str, id_numbers: Iterable[str], using_db=None) -> dict[str, AidRecord]:
    """ID number → the PRE_GOV entry of the period (any school: one entry per child and period)."""
    ids = list(set(id_numbers))
    found: dict[str, AidRecord] = {}
    for i in range(0, len(ids), 500):
        for row in await AidRecord.filter(project_code=PROJECT, period=period, id_number__in=ids[i : i + 500]).using_db(
            using_db
        ):
            found[row.id_number] = row
    return found


# --- scope ---------------------------------------------------------------------------------------
async def entry_school(viewer: Viewer, school_code: str | None = None) -> School:
    """The school whose roster a school operator enters (its own; any other is NotFound)."""
    viewer.require_role(*ENTRY_ROLES)
    viewer.require_stage(Stage.PRESCHOOL)
    return await viewer.school(school_code)


async def roster_school(viewer: Viewer, school_code: str | None) -> School:
    """The school whose roster the viewer reads: a school account's own, else one of its subtree."""
    viewer.require_stage(Stage.PRESCHOOL)
    if not viewer.is_school and not school_code:
        raise ValidationFailed("请指定学校标识码", argument="schoolCode")
    return await viewer.school(school_code)


def _entry_id(raw) -> int:
    try:
        return int(str(raw))
    except ValueError:
        raise NotFound(f"未找到名单记录 {raw}") from None


async def entries_in_scope(viewer: Viewer, ids: Iterable, using_db=None, lock: bool = False) -> list[AidRecord]:
    """The entries asked for, in order; NotFound for one that is missing or outside scope."""
    viewer.require_stage(Stage.PRESCHOOL)
    wanted = [_entry_id(i) for i in ids]
    reject_duplicates(wanted, "ids")
    if not wanted:
        raise ValidationFailed("请至少选择一条名单记录", argument="ids")
    query = AidRecord.filter(id__in=wanted, project_code=PROJECT)
    if lock:
        query = query.select_for_update()
    rows = {r.id: r for r in await query.using_db(using_db)}
    schools = {
        s.code: s for s in await School.filter(code__in={r.school_code for r in rows.values()}).using_db(using_db)
    }
    for entry_id in wanted:
        row = rows.get(entry_id)
        if row is None or row.school_code not in schools or not viewer.covers_school(schools[row.school_code]):
            raise NotFound(f"未找到名单记录 {entry_id}", entryId=str(entry_id))
    return [rows[i] for i in wanted]


def _require_action_role(viewer: Viewer, action: WindowAction) -> None:
    action = WindowAction(action)
    viewer.require_role(*(ENTRY_ROLES if action == WindowAction.ENTRY else (LEVELS[action].role,)))


def is_own_authority(viewer: Viewer, school: School) -> bool:
    """Is the viewer the school's own 主管部门 (an authority whose scope is exactly the school's region)?"""
    return viewer.role == Role.AUTHORITY_OPERATOR and viewer.scope_code == school.region_code


async def _require_own_authority(viewer: Viewer, entries: Iterable[AidRecord], using_db=None) -> None:
    """FORBIDDEN unless every entry's school is administered by exactly the viewer's region."""
    codes = {e.school_code for e in entries}
    schools = await School.filter(code__in=codes).using_db(using_db)
    for school in schools:
        if not is_own_authority(viewer, school):
            raise Forbidden(NOT_OWN_AUTHORITY, schoolCode=school.code, regionCode=school.region_code)


async def window_targets(
    viewer: Viewer,
    action: WindowAction,
    *,
    period: str | None = None,
    school_code: str | None = None,
    ids: Iterable | None = None,
) -> set[tuple[str, str]]:
    """(period, province) pairs whose window guards a roster action (used by the API guard)."""
    _require_action_role(viewer, action)
    if ids is not None:
        found = await entries_in_scope(viewer, ids)
        if action == WindowAction.AUTHORITY_REVIEW:
            await _require_own_authority(viewer, found)
        return {(e.period, e.province) for e in found}
    school = await (entry_school(viewer, school_code) if action == WindowAction.ENTRY else viewer.school(school_code))
    return {(check_period(period or ""), school.province)}


async def _require_windows(entries: Iterable[AidRecord], action: WindowAction, now: Now, tx) -> None:
    """The windows of the entries' (period, province), on the clock read now: call it last in the
    transaction, right before it commits."""
    instant = now()
    for period, province in sorted({(e.period, e.province) for e in entries}):
        await windows.require_open(period, PROJECT, action, province, instant, using_db=tx)


def _conflict(entry: AidRecord, doing: str) -> Conflict:
    status = AidStatus(entry.status)
    return Conflict(
        f"名单记录 {entry.id}（{entry.name}）状态为“{status.label}”，不能{doing}",
        entryId=str(entry.id),
        status=status.value,
    )


# --- entry (SCHOOL_OPERATOR, ENTRY window) -------------------------------------------------------
async def add_entry(
    viewer: Viewer,
    period: str,
    id_number: str,
    amount,
    now: Now,
    name: str | None = None,
    school_code: str | None = None,
) -> AidRecord:
    school = await entry_school(viewer, school_code)
    period, id_number, amount = check_period(period), validate_id_number(id_number), check_amount(amount)
    name = (name or "").strip() or None
    async with db.transaction() as tx:
        enrolled = await enrolled_names(school.code, [id_number], tx)
        existing = (await existing_entries(period, [id_number], tx)).get(id_number)
        problems = child_problems(id_number, name, enrolled, existing, school.code, allow_editable=False)
        if problems:
            error = Conflict if id_number in enrolled and existing is not None else ValidationFailed
            raise error("；".join(m for _, m in problems), argument="idNumber")
        entry = await AidRecord.create(
            id_number=id_number,
            name=enrolled[id_number],
            school_code=school.code,
            project_code=PROJECT,
            period=period,
            amount=amount,
            status=AidStatus.DRAFT.value,
            province=school.province,
            using_db=tx,
        )
        await audit.record(
            viewer.username,
            "roster.add",
            "aid_record",
            str(entry.id),
            None,
            audit.snapshot(entry, AUDITED),
            using_db=tx,
        )
        await windows.require_open(period, PROJECT, WindowAction.ENTRY, school.province, now(), using_db=tx)
    return entry


async def _editable_entry(viewer: Viewer, entry_id, doing: str, now: Now, tx) -> AidRecord:
    viewer.require_role(*ENTRY_ROLES)
    (entry,) = await entries_in_scope(viewer, [entry_id], using_db=tx, lock=True)
    if entry.status not in EDITABLE:
        raise _conflict(entry, doing)
    return entry


async def update_entry(viewer: Viewer, entry_id, amount, now: Now) -> AidRecord:
    """Change the amount of a DRAFT or RETURNED entry (it keeps its status)."""
    amount = check_amount(amount)
    async with db.transaction() as tx:
        entry = await _editable_entry(viewer, entry_id, "修改", now, tx)
        before = audit.snapshot(entry, AUDITED)
        entry.amount = amount
        await entry.save(using_db=tx)
        await audit.record(
            viewer.username,
            "roster.update",
            "aid_record",
            str(entry.id),
            before,
            audit.snapshot(entry, AUDITED),
            using_db=tx,
        )
        await _require_windows([entry], WindowAction.ENTRY, now, tx)
    return entry


async def delete_entry(viewer: Viewer, entry_id, now: Now) -> str:
    async with db.transaction() as tx:
        entry = await _editable_entry(viewer, entry_id, "删除", now, tx)
        before = audit.snapshot(entry, AUDITED)
        await entry.delete(using_db=tx)
        await audit.record(viewer.username, "roster.delete", "aid_record", str(entry.id), before, None, using_db=tx)
        await _require_windows([entry], WindowAction.ENTRY, now, tx)
    return str(entry.id)


async def _move(viewer: Viewer, entry: AidRecord, status: AidStatus, comment: str | None, verb: str, tx) -> None:
    before = audit.snapshot(entry, AUDITED)
    entry.status, entry.return_comment = status.value, comment  # type: ignore[assignment]  # tortoise types TextField(null=True) as str
    await entry.save(using_db=tx)
    await audit.record(
        viewer.username,
        f"roster.{verb}",
        "aid_record",
        str(entry.id),
        before,
        audit.snapshot(entry, AUDITED),
        using_db=tx,
    )


async def submit_entries(viewer: Viewer, ids: Iterable, now: Now) -> list[AidRecord]:
    """DRAFT/RETURNED → SUBMITTED (学校上报), all or none."""
    return await _entry_move(viewer, ids, now, EDITABLE, AidStatus.SUBMITTED, "上报", "submit")


async def withdraw_entries(viewer: Viewer, ids: Iterable, now: Now) -> list[AidRecord]:
    """SUBMITTED → DRAFT (撤回): the school takes back entries no reviewer has acted on, all or none.

    An entry a reviewer has approved or returned is no longer SUBMITTED: CONFLICT."""
    return await _entry_move(viewer, ids, now, (AidStatus.SUBMITTED.value,), AidStatus.DRAFT, "撤回", "withdraw")


async def _entry_move(
    viewer: Viewer, ids: Iterable, now: Now, allowed: tuple[str, ...], target: AidStatus, doing: str, verb: str
) -> list[AidRecord]:
    viewer.require_role(*ENTRY_ROLES)
    async with db.transaction() as tx:
        entries = await entries_in_scope(viewer, ids, using_db=tx, lock=True)
        for entry in entries:
            if entry.status not in allowed:
                raise _conflict(entry, doing)
        for entry in entries:
            await _move(viewer, entry, target, None, verb, tx)
        await _require_windows(entries, WindowAction.ENTRY, now, tx)
    return entries


# --- review (SCHOOL_REVIEWER: SCHOOL_REVIEW window; the school's own authority: AUTHORITY_REVIEW) ---
async def school_review(
    viewer: Viewer, ids: Iterable, decision: ReviewDecision, comment: str | None, now: Now
) -> list[AidRecord]:
    """学校审核: SUBMITTED → SCHOOL_APPROVED or RETURNED, by the school's reviewer, all or none."""
    return await review_entries(viewer, SCHOOL_REVIEW, ids, decision, comment, now)


async def authority_review(
    viewer: Viewer, ids: Iterable, decision: ReviewDecision, comment: str | None, now: Now
) -> list[AidRecord]:
    """主管部门审核: SCHOOL_APPROVED → APPROVED or RETURNED, only by the school's own authority."""
    return await review_entries(viewer, AUTHORITY_REVIEW, ids, decision, comment, now)


async def review_entries(
    viewer: Viewer, level: ReviewLevel, ids: Iterable, decision: ReviewDecision, comment: str | None, now: Now
) -> list[AidRecord]:
    """Approve or return entries at one review level, all or none. RETURN needs a comment."""
    viewer.require_role(level.role)
    decision = ReviewDecision(decision)
    comment = (comment or "").strip() or None
    if decision == ReviewDecision.RETURN and not comment:
        raise ValidationFailed("退回时必须填写退回原因", argument="comment")
    target = level.approved if decision == ReviewDecision.APPROVE else AidStatus.RETURNED
    async with db.transaction() as tx:
        entries = await entries_in_scope(viewer, ids, using_db=tx, lock=True)
        if level is AUTHORITY_REVIEW:
            await _require_own_authority(viewer, entries, tx)
        for entry in entries:
            if entry.status != level.acts_on.value:
                raise _conflict(entry, decision.label)
        for entry in entries:
            keep = comment if decision == ReviewDecision.RETURN else None
            await _move(viewer, entry, target, keep, f"{level.verb}.{decision.value.lower()}", tx)
        await _require_windows(entries, level.action, now, tx)
    return entries


# --- reading -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RosterPage:
    school: School
    period: str
    entries: list[AidRecord]
    has_next: bool
    total: int


async def list_entries(
    viewer: Viewer,
    period: str,
    school_code: str | None = None,
    status: AidStatus | None = None,
    first: int = 50,
    after_id: int | None = None,
) -> RosterPage:
    """One page of a school's roster (keyset on id)."""
    page_size(first)
    school = await roster_school(viewer, school_code)
    period = check_period(period)
    query = AidRecord.filter(project_code=PROJECT, period=period, school_code=school.code)
    if status is not None:
        query = query.filter(status=AidStatus(status).value)
    total = await query.count()
    if after_id is not None:
        query = query.filter(id__gt=after_id)
    rows = await query.order_by("id").limit(first + 1)
    entries = rows[:first]
    await fill_names(entries)
    return RosterPage(school=school, period=period, entries=entries, has_next=len(rows) > first, total=total)


async def fill_names(entries: list[AidRecord], using_db=None) -> None:
    """Give an entry stored without a name (姓名) the child's name from the enrolment at its school,
    preschool first (in place, not saved): the API and the export show the same name."""
    missing = [e for e in entries if not e.name]
    if not missing:
        return
    rows = await (
        Enrolment.filter(school_code__in={e.school_code for e in missing}, id_number__in={e.id_number for e in missing})
        .using_db(using_db)
        .exclude(name="")
        .order_by("id")
        .values_list("id_number", "school_code", "stage", "name")
    )
    names: dict[tuple[str, str], str] = {}
    for id_number, school_code, _, name in sorted(rows, key=lambda r: r[2] != Stage.PRESCHOOL.value):
        names.setdefault((id_number, school_code), name)
    for e in missing:
        e.name = names.get((e.id_number, e.school_code), "")


async def count_entries(viewer: Viewer, period: str, school_code: str | None = None) -> int:
    """How many entries a school's roster of `period` has, whatever their status."""
    school = await roster_school(viewer, school_code)
    return await AidRecord.filter(project_code=PROJECT, period=check_period(period), school_code=school.code).count()


async def roster_windows(period: str, school: School, now: dt.datetime) -> dict[WindowAction, windows.WindowState]:
    """The effective ENTRY, SCHOOL_REVIEW and AUTHORITY_REVIEW windows of a school's roster, for display."""
    period = check_period(period)
    states = await windows.effective_windows(period, PROJECT, {school.province}, now)
    return {action: states[(school.province, action)] for action in WindowAction}
