"""The unfunded list (未资助名单) of the published run, and the legacy poverty-family history.

Both are read paths: lists are keyset-paginated on the row id and filtered by the viewer's scope.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from zizhu.domain import db
from zizhu.domain.reference.codes import Category, Source, Stage
from zizhu.domain.comparison.engine import published_run
from zizhu.domain.comparison.steps import list_rows_of
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.accounts.scopes import Viewer


@dataclass(frozen=True)
class UnfundedStudent:
    row_id: int
    id_number: str  # already masked for the viewer
    name: str
    school_code: str
    stage: Stage
    categories: list[Category]
    central: list[Category]
    self_collected: list[Category]
    reason_code: str | None
    reason_detail: str | None
    reason_inherited: bool
    reported_at: dt.datetime | None


@dataclass(frozen=True)
class LegacyReason:
    row_id: int
    id_number: str
    name: str
    school_code: str
    stage: Stage
    period: str
    reason_code: str
    detail: str
    reported_at: dt.datetime | None


async def published_run_id(period: str) -> int | None:
    """The id of the published comparison run of a period, if any."""
    run = await published_run(period)
    return run.id if run else None


def _page_params(first: int, after: int | None) -> dict:
    """Keyset paging: rows after id `after`, one more than the page (at most 500) to see if more follow."""
    return {"after": after or 0, "limit": max(1, min(first, 500)) + 1}


def _page(rows: list, limit: int) -> tuple[list, bool]:
    """Rows were fetched with LIMIT page size + 1: return the page and whether more follow."""
    return rows[: limit - 1], len(rows) >= limit


@lru_cache(maxsize=1 << 13)  # a mask has 13 bits: each is worked out once, not once per row
def _categories(mask: int) -> tuple[Category, ...]:
    return tuple(c for c in Category if mask & c.bit)


def categories_in(mask: int) -> list[Category]:
    return list(_categories(mask))


def _in_list(column: str, values: list[str], params: dict, name: str) -> str:
    keys = []
    for i, v in enumerate(values):
        params[f"{name}{i}"] = v
        keys.append(f":{name}{i}")
    return f"{column} IN ({', '.join(keys)})" if keys else "1 = 0"


async def scope_conditions(
    viewer: Viewer, alias: str, params: dict, region_code: str | None, school_code: str | None,
    stage: Stage | None, region_column: str | None = "region_code",
) -> list[str]:
    """WHERE conditions restricting rows with school_code (and region_code) to the viewer's scope."""
    where = [_in_list(f"{alias}.stage", viewer.visible_stages(stage), params, "stage")]
    if school_code or (viewer.is_school and not region_code):
        school = await viewer.school(school_code)
        params["school"] = school.code
        where.append(f"{alias}.school_code = :school")
        if region_column:  # rows carry their school's region: (run, region, school) is the index
            params["school_region"] = school.region_code
            where.append(f"{alias}.{region_column} = :school_region")
    else:
        region = await viewer.region(region_code)
        params["prefix"] = region_prefix(region.code) + "%"
        if region_column:
            where.append(f"{alias}.{region_column} LIKE :prefix")
        else:
            where.append(f"{alias}.school_code IN (SELECT code FROM school WHERE region_code LIKE :prefix)")
    return where


async def list_unfunded_students(
    viewer: Viewer, period: str, *, stage: Stage | None = None, region_code: str | None = None,
    school_code: str | None = None, category: Category | None = None, source: Source | None = None,
    reason_reported: bool | None = None, first: int = 50, after: int | None = None,
) -> tuple[list[UnfundedStudent], bool]:
    """One page of the unfunded list, and whether more rows follow."""
    run_id = await published_run_id(period)
    if run_id is None:
        # Still check the scope, so an out-of-scope request fails the same way with or without a run.
        await scope_conditions(viewer, "r", {}, region_code, school_code, stage)
        return [], False
    params: dict = {"period": period, **_page_params(first, after)}
    where = [list_rows_of("r", run_id, period), "r.id > :after"]
    where += await scope_conditions(viewer, "r", params, region_code, school_code, stage)
    if category is not None:
        params["bit"] = category.bit
        mask = {None: "(r.central_mask | r.self_mask)", Source.CENTRAL: "r.central_mask", Source.SELF: "r.self_mask"}[source]
        where.append(f"({mask} & :bit) <> 0")
    elif source is not None:
        where.append("r.central_mask <> 0" if source == Source.CENTRAL else "r.self_mask <> 0")
    if reason_reported is not None:
        where.append("u.id IS NOT NULL" if reason_reported else "u.id IS NULL")
    rows = await db.fetch(
        "SELECT r.id, r.id_number, r.name, r.school_code, r.stage, r.central_mask, r.self_mask, "
        "u.reason_code, u.detail, u.inherited, u.reported_at FROM unfunded_result r "
        "LEFT JOIN unfunded_reason u ON u.period = :period AND u.stage = r.stage AND u.id_number = r.id_number "
        f"WHERE {' AND '.join(where)} ORDER BY r.id LIMIT :limit",
        params,
    )
    page = [
        UnfundedStudent(
            row_id=r["id"], id_number=viewer.id_number_for(r["id_number"], r["school_code"]), name=r["name"],
            school_code=r["school_code"], stage=Stage(r["stage"]),
            categories=categories_in(r["central_mask"] | r["self_mask"]),
            central=categories_in(r["central_mask"]), self_collected=categories_in(r["self_mask"]),
            reason_code=r["reason_code"], reason_detail=r["detail"], reason_inherited=bool(r["inherited"]),
            reported_at=db.as_datetime(r["reported_at"]),
        )
        for r in rows
    ]
    return _page(page, params["limit"])


async def list_legacy_reasons(
    viewer: Viewer, *, period: str | None = None, stage: Stage | None = None, region_code: str | None = None,
    school_code: str | None = None, first: int = 50, after: int | None = None,
) -> tuple[list[LegacyReason], bool]:
    """脱贫家庭学生未资助情况查看: read-only history of the old module."""
    params: dict = _page_params(first, after)
    where = ["l.id > :after"]
    where += await scope_conditions(viewer, "l", params, region_code, school_code, stage, region_column=None)
    if period:
        params["period"] = period
        where.append("l.period = :period")
    rows = await db.fetch(
        "SELECT l.id, l.id_number, l.name, l.school_code, l.stage, l.period, l.reason_code, l.detail, l.reported_at "
        f"FROM legacy_poverty_reason l WHERE {' AND '.join(where)} ORDER BY l.id LIMIT :limit",
        params,
    )
    page = [
        LegacyReason(
            row_id=r["id"], id_number=viewer.id_number_for(r["id_number"], r["school_code"]), name=r["name"],
            school_code=r["school_code"], stage=Stage(r["stage"]), period=r["period"],
            reason_code=r["reason_code"], detail=r["detail"], reported_at=db.as_datetime(r["reported_at"]),
        )
        for r in rows
    ]
    return _page(page, params["limit"])
