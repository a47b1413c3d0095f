"""The unfunded list (未资助名单) of the published run, and the legacy poverty-family history.

Both are read paths: lists are keyset-paginated on the row id and filtered by the viewer's scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.engine import published_run
from zizhu.domain.comparison.modules import module_for
from zizhu.domain.comparison.steps import list_rows_of
from zizhu.domain.errors import ValidationFailed
from zizhu.domain.paging import page_size
from zizhu.domain.reference.codes import Category, Source, Stage
from zizhu.domain.reference.identity import normalise_id_number, region_prefix, validate_id_number

MAX_SEARCH = 50
CARRY_OVER_REPORTER = "历史原因继承"  # shown as the reporter of an inherited reason


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
    reason_version: int = 0  # 0 = no reason yet
    period: str = ""
    project: str = ""  # '' the stage-wide list, else the project module the row belongs to
    school_name: str = ""
    grade: str = ""
    class_name: str = ""
    unfunded_since: dt.datetime | None = None  # when the run that began the current spell finished
    reported_by: str | None = None  # the reporter's display name
    full_id_number: str = ""  # never shown: the key of the student's aid records


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
    project_code: str = ""  # 资助项目 of the history row, '' when the file gave none


async def published_run_id(period: str) -> int | None:
    """The id of the published comparison run of a period, if any."""
    run = await published_run(period)
    return run.id if run else None


def keyset_params(first: int, after: int | None) -> dict:
    """Keyset paging: rows after id `after`, one more than the page (1..500) to see if more follow."""
    return {"after": after or 0, "limit": page_size(first) + 1}


def keyset_page(rows: list, limit: int) -> tuple[list, bool]:
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
    viewer: Viewer,
    alias: str,
    params: dict,
    region_code: str | None,
    school_code: str | None,
    stage: Stage | None,
    region_column: str | None = "region_code",
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


# The list row with what a school acts on, each a key lookup per row of the page (no N+1): the
# school's name, the enrolment's grade and class, the finish of the run that began the spell,
# the reason and its reporter's display name.
_STUDENT_SELECT = (
    "SELECT r.id, r.period, r.project, r.id_number, r.name, r.school_code, r.region_code, r.stage, r.central_mask,"
    " r.self_mask, sc.name AS school_name, e.grade, e.class_name, h.computed_at AS since_at,"
    " u.reason_code, u.detail, u.inherited, u.reported_at, u.version, u.reported_by,"
    " ac.display_name AS reporter_name FROM unfunded_result r "
    "LEFT JOIN school sc ON sc.code = r.school_code "
    "LEFT JOIN enrolment e ON e.id_number = r.id_number AND e.school_code = r.school_code AND e.stage = r.stage "
    "LEFT JOIN run_history h ON h.run_id = r.since_run "
    "LEFT JOIN unfunded_reason u ON u.period = :period AND u.stage = r.stage AND u.id_number = r.id_number "
    "LEFT JOIN account ac ON ac.username = u.reported_by "
)
# the rows of the list that the run made newly unfunded (新增未资助)
NEWLY_UNFUNDED_IN_RUN = (
    "EXISTS (SELECT 1 FROM run_change c WHERE c.run_id = :run AND c.change = 'NEWLY_UNFUNDED'"
    " AND c.id_number = r.id_number AND c.school_code = r.school_code AND c.stage = r.stage)"
)


def _reporter(r: dict) -> str | None:
    if not r["reason_code"]:
        return None
    if r["inherited"]:
        return CARRY_OVER_REPORTER
    return r["reporter_name"] or r["reported_by"]


def _student(viewer: Viewer, r: dict) -> UnfundedStudent:
    return UnfundedStudent(
        row_id=r["id"],
        id_number=viewer.id_number_for(r["id_number"], r["school_code"]),
        name=r["name"],
        school_code=r["school_code"],
        stage=Stage(r["stage"]),
        categories=categories_in(r["central_mask"] | r["self_mask"]),
        central=categories_in(r["central_mask"]),
        self_collected=categories_in(r["self_mask"]),
        reason_code=r["reason_code"],
        reason_detail=r["detail"],
        reason_inherited=bool(r["inherited"]),
        reported_at=db.as_datetime(r["reported_at"]),
        reason_version=r["version"] or 0,
        period=r["period"],
        project=r["project"] or "",
        school_name=r["school_name"] or "",
        grade=r["grade"] or "",
        class_name=r["class_name"] or "",
        unfunded_since=db.as_datetime(r["since_at"]),
        reported_by=_reporter(r),
        full_id_number=r["id_number"],
    )


@dataclass(frozen=True)
class ListFilters:
    """The filters of the unfunded list (未资助名单筛选), as its query takes them: the page, its count
    and its export read the same rows. `newly_unfunded`: only the students the published run added
    (新增未资助); `search`: an exact ID number or a name prefix; `project`: that project's module
    (项目模块) instead of the stage-wide list."""

    stage: Stage | None = None
    region_code: str | None = None
    school_code: str | None = None
    category: Category | None = None
    source: Source | None = None
    reason_reported: bool | None = None
    newly_unfunded: bool = False
    search: str | None = None
    project: str | None = None


async def _unfunded_query(viewer: Viewer, period: str, params: dict, f: ListFilters) -> list[str] | None:
    """The WHERE conditions of the published list for these filters (None: no published run; the
    scope is checked all the same, so an out-of-scope request fails the same way either way)."""
    module = await module_for(viewer, f.project, f.stage)
    stage = Stage(module.stages[0]) if f.project is not None else f.stage
    found = search_condition(f.search, "r", params)
    run_id = await published_run_id(period)
    if run_id is None:
        await scope_conditions(viewer, "r", {}, f.region_code, f.school_code, stage)
        return None
    params.update({"period": period, "run": run_id})
    where = [list_rows_of("r", run_id, period, project=module.project)]
    where += await scope_conditions(viewer, "r", params, f.region_code, f.school_code, stage)
    if found:
        where.append(found)
    if f.category is not None:
        params["bit"] = f.category.bit
        mask = {None: "(r.central_mask | r.self_mask)", Source.CENTRAL: "r.central_mask", Source.SELF: "r.self_mask"}[
            f.source
        ]
        where.append(f"({mask} & :bit) <> 0")
    elif f.source is not None:
        where.append("r.central_mask <> 0" if f.source == Source.CENTRAL else "r.self_mask <> 0")
    if f.reason_reported is not None:
        where.append("u.id IS NOT NULL" if f.reason_reported else "u.id IS NULL")
    if f.newly_unfunded:
        where.append(NEWLY_UNFUNDED_IN_RUN)
    return where


def search_condition(search: str | None, alias: str, params: dict) -> str | None:
    """找学生: an exact ID number (15 to 18 digits, X last, validated), else a name prefix of at
    least one character (LIKE with its wildcards escaped). At most 50 characters."""
    if search is None:
        return None
    text = search.strip()
    if not text:
        raise ValidationFailed("查找内容不能为空：请输入身份证件号或姓名的开头", argument="search")
    if len(text) > MAX_SEARCH:
        raise ValidationFailed(f"查找内容过长（最多{MAX_SEARCH}个字）", argument="search")
    compact = normalise_id_number(text)
    if len(compact) >= 15 and compact[:-1].isdigit() and (compact[-1].isdigit() or compact[-1] == "X"):
        params["search_id"] = validate_id_number(compact)
        return f"{alias}.id_number = :search_id"
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params["search_name"] = escaped + "%"
    return f"{alias}.name LIKE :search_name ESCAPE '\\'"


async def list_unfunded_students(
    viewer: Viewer, period: str, filters: ListFilters = ListFilters(), *, first: int = 50, after: int | None = None
) -> tuple[list[UnfundedStudent], bool]:
    """One page of the unfunded list, and whether more rows follow."""
    params: dict = keyset_params(first, after)
    where = await _unfunded_query(viewer, period, params, filters)
    if where is None:
        return [], False
    where.append("r.id > :after")
    rows = await db.fetch(f"{_STUDENT_SELECT} WHERE {' AND '.join(where)} ORDER BY r.id LIMIT :limit", params)
    return keyset_page([_student(viewer, r) for r in rows], params["limit"])


async def count_unfunded_students(viewer: Viewer, period: str, filters: ListFilters = ListFilters()) -> int:
    """How many rows `list_unfunded_students` pages through for these filters (one COUNT)."""
    params: dict = {}
    where = await _unfunded_query(viewer, period, params, filters)
    if where is None:
        return 0
    join = (
        "LEFT JOIN unfunded_reason u ON u.period = :period AND u.stage = r.stage AND u.id_number = r.id_number "
        if filters.reason_reported is not None
        else ""
    )
    rows = await db.fetch(f"SELECT COUNT(*) AS n FROM unfunded_result r {join}WHERE {' AND '.join(where)}", params)
    return int(rows[0]["n"])


async def students_by_ids(viewer: Viewer, row_ids: list[int]) -> dict[int, UnfundedStudent]:
    """The rows asked for that are on a published list and within the viewer's scope (others are
    simply missing from the answer)."""
    found: dict[int, UnfundedStudent] = {}
    if not row_ids:
        return found
    params = {f"id{i}": int(v) for i, v in enumerate(row_ids)}
    ids = f"r.id IN ({', '.join(':' + k for k in params)})"
    rows = await db.fetch(f"SELECT DISTINCT r.period FROM unfunded_result r WHERE {ids}", params)
    for period in sorted(r["period"] for r in rows):
        run_id = await published_run_id(period)
        if run_id is None:
            continue
        for r in await db.fetch(
            f"{_STUDENT_SELECT} WHERE {list_rows_of('r', run_id, period, project=None)} AND {ids}",
            {**params, "period": period},
        ):
            if viewer.allows_stage(r["stage"]) and viewer.covers_school_row(r["school_code"], r["region_code"]):
                found[r["id"]] = _student(viewer, r)
    return found


async def students_of_reasons(viewer: Viewer, reasons: list) -> list[UnfundedStudent]:
    """The viewer's school's published list rows of reported reasons (period, stage, ID number), in order."""
    found: dict[tuple[str, str, str], UnfundedStudent] = {}
    for period in sorted({r.period for r in reasons}):
        run_id = await published_run_id(period)
        if run_id is None:
            continue
        params: dict = {"period": period}
        where = [list_rows_of("r", run_id, period, project=None)]  # a module's student too
        where += await scope_conditions(viewer, "r", params, None, None, None)
        where.append(
            _in_list("r.id_number", sorted({r.id_number for r in reasons if r.period == period}), params, "idn")
        )
        # the stage-wide row last, so it is the one kept when the student is on a module's list too
        for row in await db.fetch(f"{_STUDENT_SELECT} WHERE {' AND '.join(where)} ORDER BY r.project DESC", params):
            found[(period, row["stage"], row["id_number"])] = _student(viewer, row)
    return [found[(r.period, r.stage, r.id_number)] for r in reasons if (r.period, r.stage, r.id_number) in found]


async def list_legacy_reasons(
    viewer: Viewer,
    *,
    period: str | None = None,
    stage: Stage | None = None,
    region_code: str | None = None,
    school_code: str | None = None,
    project: str | None = None,
    first: int = 50,
    after: int | None = None,
) -> tuple[list[LegacyReason], bool]:
    """脱贫家庭学生未资助情况查看: read-only history of the old module; `project` keeps the rows
    filed under that 资助项目 ('' the rows whose file named none)."""
    params: dict = keyset_params(first, after)
    where = ["l.id > :after"]
    where += await scope_conditions(viewer, "l", params, region_code, school_code, stage, region_column=None)
    if period:
        params["period"] = period
        where.append("l.period = :period")
    if project is not None:
        if len(project) > 40:
            raise ValidationFailed("资助项目代码过长", argument="project")
        params["project"] = project.strip()
        where.append("l.project_code = :project")
    rows = await db.fetch(f"{_LEGACY_SELECT} WHERE {' AND '.join(where)} ORDER BY l.id LIMIT :limit", params)
    return keyset_page([_legacy(viewer, r) for r in rows], params["limit"])


async def count_legacy_reasons(
    viewer: Viewer,
    *,
    period: str | None = None,
    stage: Stage | None = None,
    region_code: str | None = None,
    school_code: str | None = None,
) -> int:
    """How many rows `list_legacy_reasons` pages through for these filters."""
    params: dict = {}
    where = await scope_conditions(viewer, "l", params, region_code, school_code, stage, region_column=None)
    if period:
        params["period"] = period
        where.append("l.period = :period")
    rows = await db.fetch(f"SELECT COUNT(*) AS n FROM legacy_poverty_reason l WHERE {' AND '.join(where)}", params)
    return int(rows[0]["n"])


_LEGACY_SELECT = (
    "SELECT l.id, l.id_number, l.name, l.school_code, l.stage, l.period, l.reason_code, l.detail,"
    " l.reported_at, l.project_code FROM legacy_poverty_reason l"
)


def _legacy(viewer: Viewer, r: dict) -> LegacyReason:
    return LegacyReason(
        project_code=r["project_code"],
        row_id=r["id"],
        id_number=viewer.id_number_for(r["id_number"], r["school_code"]),
        name=r["name"],
        school_code=r["school_code"],
        stage=Stage(r["stage"]),
        period=r["period"],
        reason_code=r["reason_code"],
        detail=r["detail"],
        reported_at=db.as_datetime(r["reported_at"]),
    )


async def legacy_by_ids(viewer: Viewer, row_ids: list[int]) -> dict[int, LegacyReason]:
    """The history rows asked for that are within the viewer's scope (others are missing)."""
    if not row_ids:
        return {}
    params = {f"id{i}": int(v) for i, v in enumerate(row_ids)}
    rows = await db.fetch(
        f"SELECT x.*, s.region_code FROM ({_LEGACY_SELECT} WHERE l.id IN ({', '.join(':' + k for k in params)})) x"
        " JOIN school s ON s.code = x.school_code",
        params,
    )
    return {
        r["id"]: _legacy(viewer, r)
        for r in rows
        if viewer.allows_stage(r["stage"]) and viewer.covers_school_row(r["school_code"], r["region_code"])
    }
