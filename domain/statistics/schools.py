"""School drill-down (学校下钻): the schools of a region in the viewer's scope, and their stages."""

from __future__ import annotations

from collections import defaultdict

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.models import School
from zizhu.domain.reference.codes import Stage
from zizhu.domain.reference.identity import region_prefix


async def _conditions(viewer: Viewer, region_code: str, stage: Stage | None, params: dict) -> list[str]:
    region = await viewer.region(region_code)  # NotFound outside the viewer's scope
    prefix = region_prefix(region.code)
    where = []
    if prefix:
        params.update(lo=prefix, hi=prefix[:-1] + chr(ord(prefix[-1]) + 1))
        where.append("s.region_code >= :lo AND s.region_code < :hi")
    if stage is not None or viewer.stages:
        stages = ", ".join(repr(Stage(s).value) for s in viewer.visible_stages(stage))
        where.append(f"EXISTS (SELECT 1 FROM enrolment e WHERE e.school_code = s.code AND e.stage IN ({stages}))")
    return where


async def schools_of_region(
    viewer: Viewer, region_code: str, stage: Stage | None, first: int, after: str | None
) -> tuple[list[School], bool]:
    """One page of the schools under `region_code` (its whole subtree), ordered by school code,
    and whether more follow. With a stage, or for an account limited to some stages, only schools
    with enrolments in those stages are listed."""
    params: dict = {"after": after or "", "limit": first + 1}
    where = ["s.code > :after", *await _conditions(viewer, region_code, stage, params)]
    rows = await db.fetch(
        f"SELECT s.code, s.name, s.region_code, s.province FROM school s WHERE {' AND '.join(where)}"
        " ORDER BY s.code LIMIT :limit",
        params,
    )
    schools = [School(**r) for r in rows]
    return schools[:first], len(schools) > first


async def count_schools_of_region(viewer: Viewer, region_code: str, stage: Stage | None) -> int:
    """How many schools `schools_of_region` pages through (an index range count)."""
    params: dict = {}
    where = await _conditions(viewer, region_code, stage, params) or ["1 = 1"]
    rows = await db.fetch(f"SELECT COUNT(*) AS n FROM school s WHERE {' AND '.join(where)}", params)
    return int(rows[0]["n"])


async def stages_of(codes: list[str]) -> dict[str, list[Stage]]:
    """The stages each school serves (has enrolments in), in code-list order."""
    if not codes:
        return {}
    names = {f"s{i}": c for i, c in enumerate(codes)}
    rows = await db.fetch(
        f"SELECT DISTINCT school_code, stage FROM enrolment WHERE school_code IN ({', '.join(':' + n for n in names)})",
        names,
    )
    served: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        served[r["school_code"]].add(r["stage"])
    return {c: [s for s in Stage if s.value in served[c]] for c in codes}
