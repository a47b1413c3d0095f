"""The floor of the nested rollup (逐级汇总): its whole answer as ONE SQL statement.

Province, each city (subtree and own level, 本级) and each county; in every (category × source)
cell: members, funded and unfunded from the published run's `run_statistic` rows summed by
region-code prefix, reasonReported from the published run's `unfunded_result` rows that have an
`unfunded_reason` on (period, stage, ID number). `cells` turns the rows into the same shape as
`api_cells` reads from the API's answer, so the two can be compared cell by cell.
"""

from __future__ import annotations

from zizhu.domain.comparison.steps import counted, list_rows_of, stat_columns
from zizhu.domain.reference.codes import Category

FIGURES = ("members", "funded", "unfunded", "reasonReported")
# one cell: (area kind, region code, category number '00' for the total, source all/central/self)
Cell = tuple[str, str, str, str]


def _cells() -> list[tuple[str, str, str]]:
    """(column suffix, category number, source) of every cell, e.g. ('05_self', '05', 'self')."""
    return [(column[len("members_") :], number, source) for column, number, source in stat_columns("members")]


def rollup_sql(run_id: int, period: str) -> str:
    """The statement (parameter :province, :period). `run_id` and `period` are inlined by
    `list_rows_of`, which validates them."""
    cells = _cells()
    sums = ", ".join(f"SUM(t.members_{c}) AS members_{c}, SUM(t.funded_{c}) AS funded_{c}" for c, _, _ in cells)
    # bigint sums (a SUM of bigint would be numeric, slower to compute and to decode)
    per_area = ", ".join(
        f"CAST(SUM(g.members_{c}) AS bigint) AS members_{c}, CAST(SUM(g.funded_{c}) AS bigint)"
        f" AS funded_{c}, CAST(SUM(g.members_{c} - g.funded_{c}) AS bigint) AS unfunded_{c}"
        for c, _, _ in cells
    )
    by_region = ", ".join(
        f"SUM({counted(number, source, 'g.cm', 'g.sm')} * g.n) AS reported_{c}" for c, number, source in cells
    )
    reported = ", ".join(f"CAST(SUM(g.reported_{c}) AS bigint) AS reported_{c}" for c, _, _ in cells)
    covers = (
        "((a.kind = 'own' AND g.region_code = a.code) OR (a.kind = 'subtree' AND g.region_code LIKE a.prefix || '%'))"
    )
    return f"""
WITH areas AS (
       SELECT code, 'subtree' AS kind, substr(code, 1, 2) AS prefix FROM region WHERE code = :province
       UNION ALL SELECT code, 'subtree', substr(code, 1, 4) FROM region WHERE parent_code = :province
       UNION ALL SELECT code, 'own', code FROM region WHERE parent_code = :province
       UNION ALL SELECT c.code, 'subtree', c.code FROM region c JOIN region p ON p.code = c.parent_code
                  WHERE p.parent_code = :province),
     figures AS MATERIALIZED (SELECT t.region_code, {sums} FROM run_statistic t
                  WHERE t.run_id = {int(run_id)} AND t.project = ''
                  GROUP BY t.region_code),
     reported AS MATERIALIZED (
       SELECT g.region_code, {by_region}
         FROM (SELECT t.region_code, t.central_mask AS cm, t.self_mask AS sm, COUNT(*) AS n
                 FROM unfunded_result t
                WHERE {list_rows_of('t', run_id, period)} AND EXISTS (
                      SELECT 1 FROM unfunded_reason r
                       WHERE r.period = :period AND r.stage = t.stage AND r.id_number = t.id_number)
                GROUP BY t.region_code, t.central_mask, t.self_mask) g
        GROUP BY g.region_code)
SELECT a.kind, a.code, f.*, r.*
  FROM areas a
  LEFT JOIN LATERAL (SELECT {per_area} FROM figures g WHERE {covers}) f ON true
  LEFT JOIN LATERAL (SELECT {reported} FROM reported g WHERE {covers}) r ON true
 ORDER BY a.code, a.kind"""


def cells(rows: list) -> dict[Cell, tuple[int, ...]]:
    """The floor's rows as {(kind, region, category number, source): (members, funded, unfunded, reasonReported)}."""
    out = {}
    for row in rows:
        for c, number, source in _cells():
            out[(row["kind"], row["code"], number, source)] = tuple(
                int(row[f"{name}_{c}"] or 0) for name in ("members", "funded", "unfunded", "reported")
            )
    return out


def _statistics_cells(kind: str, code: str, statistics: dict, out: dict[Cell, tuple[int, ...]]) -> None:
    def figures(counts: dict) -> tuple[int, ...]:
        return tuple(counts[name] for name in FIGURES)

    out[(kind, code, "00", "all")] = figures(statistics["total"])
    for entry in statistics["byCategory"]:
        number = Category[entry["category"]].number
        for source, key in (("all", "all"), ("central", "central"), ("self", "selfCollected")):
            out[(kind, code, number, source)] = figures(entry[key])


def api_cells(region: dict) -> dict[Cell, tuple[int, ...]]:
    """The cells of the API's nested rollup answer (`region { … children { … children { … } } }`)."""
    out: dict[Cell, tuple[int, ...]] = {}
    _statistics_cells("subtree", region["code"], region["unfundedStatistics"], out)
    for city in region["children"]:
        _statistics_cells("subtree", city["code"], city["unfundedStatistics"], out)
        _statistics_cells("own", city["code"], city["ownLevelStatistics"], out)
        for county in city["children"]:
            _statistics_cells("subtree", county["code"], county["unfundedStatistics"], out)
    return out


def differences(floor: dict[Cell, tuple[int, ...]], api: dict[Cell, tuple[int, ...]]) -> list[str]:
    """Cells the API answered differently from the floor (cells the API's query did not ask for are skipped)."""
    out = []
    for cell, figures in sorted(api.items()):
        expected = floor.get(cell, (0, 0, 0, 0))
        if figures != expected:
            out.append(f"{cell}: API {dict(zip(FIGURES, figures))}, SQL {dict(zip(FIGURES, expected))}")
    missing = {(kind, code) for kind, code, _, _ in floor} - {(kind, code) for kind, code, _, _ in api}
    out += [f"{area}: missing from the API's answer" for area in sorted(missing)]
    return out
