"""Unfunded trends (未资助变化趋势): members, funded and unfunded per published run of a period.

Each published run leaves its totals per (school, stage) in `run_trend` and itself in
`run_history` (written when it publishes, `zizhu.domain.comparison.steps.history`); neither is
pruned with the run's list history, so a trend covers every run ever published. A region's trend
takes the national runs and, below the nation, its province's runs, oldest first; a run with no
student in the area is a point of zeros.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from zizhu.domain import db
from zizhu.domain.reference.identity import province_of_school
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.statistics.figures import Area


@dataclass(frozen=True)
class TrendPoint:
    run_id: int
    computed_at: dt.datetime
    members: int
    funded: int

    @property
    def unfunded(self) -> int:
        return self.members - self.funded


def _area(area: Area, params: dict) -> tuple[str, tuple[str, ...]]:
    """(SQL condition on run_trend t, run scopes whose runs cover the area)."""
    if area.kind == "school":
        params["school"] = area.value
        return "t.school_code = :school", ("", province_of_school(area.value))
    if area.kind == "exact":
        params["region"] = area.value
        return "t.region_code = :region", ("", area.value[:2]) if area.value[:2] != "00" else ("",)
    prefix = area.value
    params["prefix"] = prefix + "%"
    return "t.region_code LIKE :prefix", ("", prefix[:2]) if len(prefix) >= 2 else ("",)


async def trend_for(period: str, area: Area, stages: list[str]) -> list[TrendPoint]:
    """The area's totals at each published run of `period` (stages as the viewer may see them)."""
    params: dict = {"period": parse_semester(period).code}
    condition, scopes = _area(area, params)
    names = []
    for i, value in enumerate(list(stages) + list(scopes)):
        params[f"v{i}"] = value
        names.append(f":v{i}")
    stage_names, scope_names = names[: len(stages)], names[len(stages) :]
    stage_in = f"t.stage IN ({', '.join(stage_names)})" if stage_names else "1 = 0"
    rows = await db.fetch(
        f"""SELECT h.run_id, h.computed_at, COALESCE(SUM(t.members), 0) AS members,
                   COALESCE(SUM(t.funded), 0) AS funded
              FROM run_history h
              LEFT JOIN run_trend t ON t.run_id = h.run_id AND {condition} AND {stage_in}
             WHERE h.period = :period AND h.scope IN ({', '.join(scope_names)})
             GROUP BY h.run_id, h.computed_at ORDER BY h.run_id""",
        params,
    )
    return [
        TrendPoint(
            run_id=r["run_id"],
            computed_at=db.as_datetime(r["computed_at"]),
            members=int(r["members"]),
            funded=int(r["funded"]),
        )
        for r in rows
    ]
