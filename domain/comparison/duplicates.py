"""Students with several 在读 enrolments of one stage (重复学籍), as the published run placed them.

The run counts such a student once, at one school (`steps.duplicates`), and records every school;
this module lists them for the authorities whose scope holds any of those schools. Keyset paged
on the row id of the chosen school's row.
"""

from __future__ import annotations

from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison.engine import published_run
from zizhu.domain.comparison.published_list import keyset_page, keyset_params
from zizhu.domain.reference.codes import Stage
from zizhu.domain.reference.identity import region_prefix
from zizhu.domain.reference.periods import parse_semester


@dataclass(frozen=True)
class DuplicateSchool:
    school_code: str
    school_name: str
    region_code: str
    region_name: str
    chosen: bool


@dataclass(frozen=True)
class DuplicateEnrolment:
    row_id: int  # the chosen school's row
    id_number: str  # masked for the viewer
    name: str
    stage: Stage
    schools: list[DuplicateSchool]

    @property
    def chosen_school(self) -> DuplicateSchool:
        return next(s for s in self.schools if s.chosen)


async def _conditions(viewer: Viewer, period: str, region_code: str | None) -> tuple[list[str], dict] | None:
    """WHERE conditions on the chosen rows (alias c) of the published run whose student has a row
    in the viewer's scope, or None when the period has no published run. Schools are refused
    (FORBIDDEN): the list is the authorities' follow-up."""
    region = await viewer.region(region_code)
    run = await published_run(parse_semester(period).code)
    if run is None:
        return None
    params: dict = {"run": run.id, "prefix": region_prefix(region.code) + "%"}
    stages = viewer.visible_stages(None)
    params.update({f"stage{i}": s for i, s in enumerate(stages)})
    where = [
        "c.run_id = :run",
        "c.chosen",
        f"c.stage IN ({', '.join(f':stage{i}' for i in range(len(stages)))})",
        """EXISTS (SELECT 1 FROM duplicate_enrolment x WHERE x.run_id = c.run_id AND x.id_number = c.id_number
                     AND x.stage = c.stage AND x.region_code LIKE :prefix)""",
    ]
    return where, params


async def list_duplicate_enrolments(
    viewer: Viewer, period: str, *, region_code: str | None = None, first: int = 50, after: int | None = None
) -> tuple[list[DuplicateEnrolment], bool]:
    """One page of the students placed at one of several schools, and whether more follow."""
    found = await _conditions(viewer, period, region_code)
    if found is None:
        return [], False
    where, params = found
    params.update(keyset_params(first, after))
    chosen = await db.fetch(
        f"""SELECT c.id, c.run_id, c.id_number, c.name, c.stage FROM duplicate_enrolment c
             WHERE {" AND ".join(where)} AND c.id > :after ORDER BY c.id LIMIT :limit""",
        params,
    )
    page, more = keyset_page(chosen, params["limit"])
    if not page:
        return [], more
    keys = {f"k{i}": r["id_number"] for i, r in enumerate(page)}
    rows = await db.fetch(
        f"""SELECT d.id_number, d.stage, d.school_code, d.region_code, d.chosen, s.name AS school_name,
                   COALESCE(g.name, '') AS region_name
              FROM duplicate_enrolment d
              JOIN school s ON s.code = d.school_code
              LEFT JOIN region g ON g.code = d.region_code
             WHERE d.run_id = :run AND d.id_number IN ({", ".join(":" + k for k in keys)})
             ORDER BY d.chosen DESC, d.school_code""",
        {"run": page[0]["run_id"], **keys},
    )
    schools: dict[tuple[str, str], list[DuplicateSchool]] = {}
    for r in rows:
        schools.setdefault((r["id_number"], r["stage"]), []).append(
            DuplicateSchool(r["school_code"], r["school_name"], r["region_code"], r["region_name"], bool(r["chosen"]))
        )
    items = []
    for c in page:
        at = schools[(c["id_number"], c["stage"])]
        items.append(
            DuplicateEnrolment(
                row_id=c["id"],
                id_number=viewer.id_number_for(c["id_number"], ""),
                name=c["name"],
                stage=Stage(c["stage"]),
                schools=at,
            )
        )
    return items, more


async def count_duplicate_enrolments(viewer: Viewer, period: str, *, region_code: str | None = None) -> int:
    """How many students of the viewer's area the published run placed at one of several schools."""
    found = await _conditions(viewer, period, region_code)
    if found is None:
        return 0
    where, params = found
    (row,) = await db.fetch(f"SELECT COUNT(*) AS n FROM duplicate_enrolment c WHERE {' AND '.join(where)}", params)
    return int(row["n"])
