"""Unfunded reasons (未资助原因): schools report one per unfunded student, authorities their own level's.

A reason belongs to (period, stage, ID number), never to a comparison run: a rerun keeps it, and
a student who becomes funded keeps it in history.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from zizhu.domain.accounts import audit
from zizhu.domain import db
from zizhu.domain.reference.codes import REASON_NEEDS_DETAIL, Category, Role, Stage
from zizhu.domain.errors import NotFound, ValidationFailed
from zizhu.domain.reference.identity import normalise_id_number, validate_id_number
from zizhu.domain.reference.inputs import reject_duplicates
from zizhu.domain.models import ReasonCode, RegionReason, UnfundedReason
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.steps import list_rows_of
from zizhu.domain.reasons.unfunded_list import published_run_id

AUDITED = ("reason_code", "detail", "inherited", "reported_by", "reported_at")


@dataclass(frozen=True)
class ReasonReport:
    """One reason to report (填报未资助原因)."""

    period: str
    stage: Stage
    id_number: str
    reason_code: str
    detail: str = ""


async def _check_reason_code(code: str, detail: str) -> str | None:
    if not await ReasonCode.exists(code=code):
        return f"未资助原因代码 {code} 不存在"
    if code == REASON_NEEDS_DETAIL and not detail.strip():
        return "选择“其他”原因时须填写说明"
    return None


async def _unfunded_row(period: str, stage: Stage, id_number: str, school_code: str) -> dict | None:
    run_id = await published_run_id(period)
    if run_id is None:
        return None
    rows = await db.fetch(
        f"SELECT school_code, province FROM unfunded_result r WHERE {list_rows_of('r', run_id, period)} AND stage = :stage "
        "AND id_number = :id AND school_code = :school "
        "AND region_code = (SELECT region_code FROM school WHERE code = :school)",  # the index leads with (period, scope, region, school)
        {"stage": stage.value, "id": id_number, "school": school_code},
    )
    return rows[0] if rows else None


async def _upsert_audited(model, key: dict, values: dict, audited: tuple[str, ...], actor: str,
                          action: str, entity: str, tx):
    """Insert or update the row of `key` with `values` and audit before/after, inside `tx`."""
    existing = await model.filter(**key).using_db(tx).first()
    before = audit.snapshot(existing, audited) if existing else None
    if existing:
        await model.filter(id=existing.id).using_db(tx).update(**values)
        row = await model.get(id=existing.id, using_db=tx)
    else:
        row = await model.create(**key, **values, using_db=tx)
    await audit.record(actor, action, entity, "/".join(str(v) for v in key.values()),
                       before=before, after=audit.snapshot(row, audited), using_db=tx)
    return row


async def _check_report(viewer: Viewer, r: ReasonReport) -> tuple[ReasonReport, str, dict]:
    parse_semester(r.period)
    id_number = validate_id_number(r.id_number)
    message = await _check_reason_code(r.reason_code, r.detail)
    if message:
        raise ValidationFailed(message)
    row = None
    if viewer.allows_stage(r.stage):
        row = await _unfunded_row(r.period, r.stage, id_number, viewer.scope_code)
    if row is None:
        raise NotFound("该学生不在本校未资助名单中")
    return r, id_number, row


async def report_reasons(viewer: Viewer, reports: list[ReasonReport], now: dt.datetime) -> list[UnfundedReason]:
    """Report reasons for unfunded students of the viewer's school, all or nothing."""
    viewer.require_role(Role.SCHOOL_OPERATOR)
    if not reports:
        raise ValidationFailed("没有要填报的原因")
    reject_duplicates([(r.period.strip(), r.stage, normalise_id_number(r.id_number)) for r in reports], "inputs")
    problems: list[tuple[int, Exception]] = []
    checked: list[tuple[ReasonReport, str, dict]] = []
    for index, r in enumerate(reports):
        try:
            checked.append(await _check_report(viewer, r))
        except (ValidationFailed, NotFound) as e:
            problems.append((index, e))
    if problems:
        if len(reports) == 1:
            raise problems[0][1]
        details = [{"index": i, "message": e.message} for i, e in problems]
        raise ValidationFailed(f"{len(problems)} 条原因有误，均未保存", problems=details)

    saved: list[UnfundedReason] = []
    async with db.transaction() as tx:
        for r, id_number, row in checked:
            key = {"period": r.period, "stage": r.stage.value, "id_number": id_number}
            values = {
                "reason_code": r.reason_code, "detail": r.detail.strip(), "inherited": False,
                "reported_by": viewer.username, "reported_at": now,
                "school_code": row["school_code"], "province": row["province"],
            }
            saved.append(await _upsert_audited(
                UnfundedReason, key, values, AUDITED, viewer.username, "reason.report", "unfunded_reason", tx
            ))
    return saved


async def report_region_reason(
    viewer: Viewer, period: str, stage: Stage, reason_code: str, detail: str,
    category: Category | None, now: dt.datetime,
) -> RegionReason:
    """An authority fills its own level's reason (主管部门填报本级原因) for its own region."""
    viewer.require_role(Role.AUTHORITY_OPERATOR)
    viewer.require_stage(stage)
    parse_semester(period)
    message = await _check_reason_code(reason_code, detail)
    if message:
        raise ValidationFailed(message)
    key = {"period": period, "stage": stage.value, "region_code": viewer.scope_code,
           "category": category.number if category else "00"}
    values = {"reason_code": reason_code, "detail": detail.strip(), "reported_by": viewer.username, "reported_at": now}
    async with db.transaction() as tx:
        return await _upsert_audited(
            RegionReason, key, values, tuple(values), viewer.username, "region_reason.report", "region_reason", tx
        )


async def region_reasons(viewer: Viewer, period: str, region_code: str | None, stage: Stage | None) -> list[RegionReason]:
    region = await viewer.region(region_code)
    return await RegionReason.filter(
        period=period, region_code=region.code, stage__in=viewer.visible_stages(stage)
    ).order_by("stage", "category")
