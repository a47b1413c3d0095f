"""Unfunded reasons (未资助原因): schools report one per unfunded student, authorities their own level's.

Design notes: docs/design/domain-reasons.md."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from zizhu.domain import db, versions
from zizhu.domain.accounts import audit
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison import reason_counts
from zizhu.domain.comparison.published_list import published_run_id
from zizhu.domain.comparison.steps import list_rows_of
from zizhu.domain.errors import Conflict, NotFound, ValidationFailed
from zizhu.domain.models import ReasonCode, RegionReason, UnfundedReason
from zizhu.domain.reference.codes import REASON_NEEDS_DETAIL, Category, Role, Stage
from zizhu.domain.reference.identity import normalise_id_number, validate_id_number
from zizhu.domain.reference.inputs import reject_duplicates
from zizhu.domain.reference.periods import parse_semester

REPORTERS = (Role.SCHOOL_OPERATOR,)  # a school reports its unfunded students' reasons
REGION_REPORTERS = (Role.AUTHORITY_OPERATOR,)  # an authority reports its own level's reason
AUDITED = ("reason_code", "detail", "inherited", "reported_by", "reported_at")


@dataclass(frozen=True)
class ReasonReport:
    """One reason to report (填报未资助原因)."""

    period: str
    stage: Stage
    id_number: str
    reason_code: str
    detail: str = ""
    expected_version: int | None = None  # the version the client saw (0 = none); None = do not check


async def _check_reason_code(code: str, detail: str) -> str | None:
    row = await ReasonCode.get_or_none(code=code) if len(code or "") == 2 else None
    if row is None:
        return f"未资助原因代码 {code} 不存在"
    if row.retired:
        return f"未资助原因代码 {code}（{row.label}）已停用，请选择其他原因"
    if (row.needs_detail or code == REASON_NEEDS_DETAIL) and not detail.strip():
        return f"选择“{row.label}”时须填写说明"
    return None


async def _unfunded_row(period: str, stage: Stage, id_number: str, school_code: str) -> dict | None:
    run_id = await published_run_id(period)
    if run_id is None:
        return None
    rows = await db.fetch(
        # on the stage-wide list or on one of its project modules: a reason belongs to (period, stage, ID)
        "SELECT school_code, region_code, province FROM unfunded_result r"
        f" WHERE {list_rows_of('r', run_id, period, project=None)} AND stage = :stage "
        "AND id_number = :id AND school_code = :school "
        "AND region_code = (SELECT region_code FROM school WHERE code = :school)",  # the index leads with (period, scope, region, school)
        {"stage": stage.value, "id": id_number, "school": school_code},
    )
    return rows[0] if rows else None


def _check_version(expected: int | None, current: int, entity_key: str) -> None:
    if expected is not None and expected != current:
        raise Conflict(
            f"{entity_key} 的原因已被他人修改（当前版本 {current}，您看到的是版本 {expected}），请刷新后重试",
            currentVersion=current,
        )


async def _upsert_audited(
    model,
    key: dict,
    values: dict,
    audited: tuple[str, ...],
    actor: str,
    action: str,
    entity: str,
    tx,
    expected_version: int | None = None,
):
    """Insert or update the row of `key` with `values` and audit before/after, inside `tx`;
    returns the row and its audited values before (None when it was inserted).

    Never fails on a race: the insert skips a row another transaction has just written, and the
    update then works on that row locked (PostgreSQL `FOR UPDATE`; on SQLite the insert attempt
    has already taken the database's write lock), so concurrent reports apply one after the
    other and each audit entry's `before` is the value it really replaced."""
    table = model._meta.db_table
    entity_key = "/".join(str(v) for v in key.values())
    columns = [*key, *values]
    inserted = await db.fetch(
        f"INSERT INTO {table} ({', '.join(columns)}, version) VALUES ({', '.join(':' + c for c in columns)}, 1) "
        f"ON CONFLICT ({', '.join(key)}) DO NOTHING RETURNING id",
        {**key, **values},
        client=tx,
    )
    if inserted:
        _check_version(expected_version, 0, entity_key)
        before = None
    else:
        lock = " FOR UPDATE" if db.is_postgres(tx) else ""
        where = " AND ".join(f"{k} = :{k}" for k in key)
        (current,) = await db.fetch(f"SELECT id, version FROM {table} WHERE {where}{lock}", key, client=tx)
        _check_version(expected_version, current["version"], entity_key)
        existing = await model.get(id=current["id"], using_db=tx)
        before = audit.snapshot(existing, audited)
        await model.filter(id=existing.id).using_db(tx).update(**values, version=current["version"] + 1)
    row = await model.get(**key, using_db=tx)
    await audit.record(
        actor, action, entity, entity_key, before=before, after=audit.snapshot(row, audited), using_db=tx
    )
    return row, before


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
    viewer.require_role(*REPORTERS)
    if not reports:
        raise ValidationFailed("没有要填报的原因")
    reject_duplicates([(r.period.strip(), r.stage, normalise_id_number(r.id_number)) for r in reports], "inputs")
    problems: list[tuple[int, ValidationFailed | NotFound]] = []
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

    saved: dict[int, UnfundedReason] = {}
    provinces: set[str] = set()
    regions: set[str] = set()
    # in key order, so two batches touching the same students lock them in the same order
    order = sorted(range(len(checked)), key=lambda i: (checked[i][0].period, checked[i][0].stage.value, checked[i][1]))
    async with db.transaction() as tx:
        for index in order:
            r, id_number, row = checked[index]
            key = {"period": r.period, "stage": r.stage.value, "id_number": id_number}
            values = {
                "reason_code": r.reason_code,
                "detail": r.detail.strip(),
                "inherited": False,
                "reported_by": viewer.username,
                "reported_at": now,
                "school_code": row["school_code"],
                "province": row["province"],
            }
            saved[index], before = await _upsert_audited(
                UnfundedReason,
                key,
                values,
                AUDITED,
                viewer.username,
                "reason.report",
                "unfunded_reason",
                tx,
                expected_version=r.expected_version,
            )
            old_code = before["reason_code"] if before else None
            regions |= await reason_counts.reason_moved(tx, r.period, r.stage.value, id_number, old_code, r.reason_code)
            provinces.update({row["school_code"][2:4], row["region_code"][:2]})
        # the counters of these regions, and the cached answers of these provinces (and the
        # nation's), are stale from this commit on
        await versions.bump_counters(tx, regions)
        await versions.bump_provinces(tx, provinces)
    return [saved[i] for i in range(len(checked))]


async def report_region_reason(
    viewer: Viewer,
    period: str,
    stage: Stage,
    reason_code: str,
    detail: str,
    category: Category | None,
    now: dt.datetime,
    expected_version: int | None = None,
) -> RegionReason:
    """An authority fills its own level's reason (主管部门填报本级原因) for its own region."""
    viewer.require_role(*REGION_REPORTERS)
    viewer.require_stage(stage)
    parse_semester(period)
    message = await _check_reason_code(reason_code, detail)
    if message:
        raise ValidationFailed(message)
    key = {
        "period": period,
        "stage": stage.value,
        "region_code": viewer.scope_code,
        "category": category.number if category else "00",
    }
    values = {"reason_code": reason_code, "detail": detail.strip(), "reported_by": viewer.username, "reported_at": now}
    async with db.transaction() as tx:
        row, _ = await _upsert_audited(
            RegionReason,
            key,
            values,
            tuple(values),
            viewer.username,
            "region_reason.report",
            "region_reason",
            tx,
            expected_version=expected_version,
        )
        # answers that show own-level reasons are stale from this commit on (the nation's: every area)
        province = viewer.scope_code[:2]
        await versions.bump(tx, province=None if province == "00" else province)
    return row


async def region_reasons(
    viewer: Viewer, period: str, region_code: str | None, stage: Stage | None
) -> list[RegionReason]:
    region = await viewer.region(region_code)
    return await RegionReason.filter(
        period=period, region_code=region.code, stage__in=viewer.visible_stages(stage)
    ).order_by("stage", "category")


async def own_level_reasons(period: str, region_codes: list[str], stages: list[str]) -> dict[str, list[RegionReason]]:
    """The own-level reasons (本级未资助原因) of several regions at once, for regions the caller has
    already checked against the viewer's scope: {region code: reasons by stage and category}."""
    found: dict[str, list[RegionReason]] = {code: [] for code in region_codes}
    rows = await RegionReason.filter(
        period=parse_semester(period).code, region_code__in=region_codes or [""], stage__in=stages or [""]
    ).order_by("region_code", "stage", "category")
    for r in rows:
        found[r.region_code].append(r)
    return found


async def region_reasons_by_ids(viewer: Viewer, ids: list[int]) -> dict[int, RegionReason]:
    """The own-level reasons asked for that the viewer may see (others are missing)."""
    if viewer.is_school:
        return {}
    return {
        r.id: r
        for r in await RegionReason.filter(id__in=ids or [0])
        if viewer.allows_stage(r.stage) and viewer.covers_region_code(r.region_code)
    }
