"""What a run changed (比对变动名单): the students it made newly unfunded or newly funded.

Scoped like the unfunded list (`zizhu.domain.comparison.published_list.scope_conditions`): a school
sees its own students, an authority its subtree; ID numbers are masked outside the student's
school. Names and categories come from the list row the change opened (newly unfunded) or
closed (newly funded), when the history still holds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.published_list import categories_in, keyset_page, keyset_params, scope_conditions
from zizhu.domain.reference.codes import Category, ChangeKind, Stage


@dataclass(frozen=True)
class StudentChange:
    row_id: int
    run_id: int
    kind: ChangeKind
    id_number: str  # already masked for the viewer
    name: str
    school_code: str
    stage: Stage
    categories: list[Category]


# the list row a change opened (newly unfunded) or closed (newly funded), for name and categories
_SELECT = """SELECT c.id, c.run_id, c.change, c.id_number, c.school_code, c.region_code, c.stage,
                    r.name, r.central_mask, r.self_mask
               FROM run_change c
               LEFT JOIN comparison_run cr ON cr.id = c.run_id
               LEFT JOIN unfunded_result r ON r.period = cr.period AND r.scope = cr.province
                    AND r.region_code = c.region_code AND r.school_code = c.school_code
                    AND r.id_number = c.id_number AND r.stage = c.stage AND r.project = ''
                    AND ((c.change IN ('NEWLY_UNFUNDED', 'MOVED') AND r.valid_from_run = c.run_id)
                      OR (c.change = 'NEWLY_FUNDED' AND r.valid_until_run = c.run_id))"""


def _change(viewer: Viewer, r: dict) -> StudentChange:
    mask = (r["central_mask"] or 0) | (r["self_mask"] or 0)
    return StudentChange(
        row_id=r["id"],
        run_id=r["run_id"],
        kind=ChangeKind(r["change"]),
        id_number=viewer.id_number_for(r["id_number"], r["school_code"]),
        name=r["name"] or "",
        school_code=r["school_code"],
        stage=Stage(r["stage"]),
        categories=categories_in(mask),
    )


async def _where(
    viewer: Viewer,
    run_id: int,
    kind: ChangeKind | None,
    params: dict,
    region_code: str | None,
    school_code: str | None,
    stage: Stage | None,
) -> list[str]:
    params["run"] = run_id
    where = ["c.run_id = :run"]
    if kind is not None:
        params["kind"] = ChangeKind(kind).value
        where.append("c.change = :kind")
    return where + await scope_conditions(viewer, "c", params, region_code, school_code, stage)


async def list_changes(
    viewer: Viewer,
    run_id: int,
    kind: ChangeKind | None = None,
    *,
    region_code: str | None = None,
    school_code: str | None = None,
    stage: Stage | None = None,
    first: int = 50,
    after: int | None = None,
) -> tuple[list[StudentChange], bool]:
    """One page of the run's changes within the viewer's scope (keyset on the change id)."""
    params = keyset_params(first, after)
    where = await _where(viewer, run_id, kind, params, region_code, school_code, stage) + ["c.id > :after"]
    rows = await db.fetch(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY c.id LIMIT :limit", params)
    return keyset_page([_change(viewer, r) for r in rows], params["limit"])


async def count_changes(
    viewer: Viewer,
    run_id: int,
    kind: ChangeKind | None = None,
    *,
    region_code: str | None = None,
    school_code: str | None = None,
    stage: Stage | None = None,
) -> int:
    """How many changes `list_changes` would page through (a run's changes are few)."""
    params: dict = {}
    where = await _where(viewer, run_id, kind, params, region_code, school_code, stage)
    (row,) = await db.fetch(f"SELECT COUNT(*) AS n FROM run_change c WHERE {' AND '.join(where)}", params)
    return int(row["n"])


async def changes_by_ids(viewer: Viewer, row_ids: list[int]) -> dict[int, StudentChange]:
    """The changes asked for within the viewer's scope (others are missing)."""
    if not row_ids:
        return {}
    params = {f"id{i}": int(v) for i, v in enumerate(row_ids)}
    rows = await db.fetch(f"{_SELECT} WHERE c.id IN ({', '.join(':' + k for k in params)})", params)
    return {
        r["id"]: _change(viewer, r)
        for r in rows
        if viewer.allows_stage(r["stage"]) and viewer.covers_school_row(r["school_code"], r["region_code"])
    }
