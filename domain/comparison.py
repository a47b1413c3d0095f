"""The special-group comparison (特殊群体学生资助比对), DESIGN.md §4.

A run (比对批次) of period P computes, with set-based SQL inside one transaction:

1. members  — special-group records of P, grouped by upper-cased ID number into one row per
   student with two category bit masks (CENTRAL, SELF);
2. matched  — members joined to their ENROLLED enrolments: one row per (student, school, stage),
   flagged funded when an APPROVED aid record of a RELIEF project of the same stage exists for
   P or P's academic year (an anti-join; funding is by person and stage, not school);
3. the unfunded list (`unfunded_result`), kept as row versions per chain of runs of (P,
   province): one FULL JOIN of the chain's current rows with this run's unfunded rows finds what
   changed; rows that left the list or changed are closed, new ones added, so a nightly run
   writes in proportion to the changes and every run's list stays readable (`list_rows_of`);
   the statistics (`run_statistic`: one wide row per (school, stage) with members and funded
   per category column '00' = total, '01'..'13' and source all = once whatever the source,
   central, self); and the changes against the chain's previous run (`run_change`), from the
   same join: NEWLY_UNFUNDED = unfunded now and not in the previous unfunded list; NEWLY_FUNDED =
   in the previous unfunded list and now matched and funded (a student who simply left —
   graduated, dropped from the special-group list — is neither). A chain's first run has no
   baseline: no changes.
4. publication — in the same transaction: the previous published run is unpublished and this
   one published. Readers see either run, never a mixture; a failure rolls everything back.

Runs with `province == ''` cover all provinces; a province run reads only that province's
enrolments (its members are then the special-group students matched in that province, so its
unmatched count is 0). Publishing a national run unpublishes the province runs of the period.

`STEP_HOOK` is the failure-injection seam for tests: when set, it is awaited with the name of
each step ("members", "matched", "results", "statistics", "changes", "publish") inside the
transaction; raising from it simulates a run killed at that point.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Awaitable, Callable

from domain import db
from domain.errors import NotFound
from domain.models import ComparisonRun
from domain.models.comparison import STAT_CATEGORIES, STAT_SOURCES
from domain.periods import parse_semester
from domain.settings import SHANGHAI

log = logging.getLogger("zizhu.comparison")

HISTORY = 10  # runs kept per (period, province)
TEMP_TABLES = ("cmp_member", "cmp_matched", "cmp_diff")
STEP_HOOK: Callable[[str], Awaitable[None]] | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


async def _step(name: str) -> None:
    if STEP_HOOK is not None:
        await STEP_HOOK(name)


# --- the only dialect differences --------------------------------------------------------
def _bit_or(expr: str, pg: bool) -> str:
    """OR of category bits. SQLite has no bit_or: a SUM of the DISTINCT powers of two is the same."""
    return f"bit_or({expr})" if pg else f"SUM(DISTINCT {expr})"


def _temp(name: str, pg: bool) -> str:
    return f"CREATE TEMP TABLE {name} ON COMMIT DROP AS " if pg else f"CREATE TEMP TABLE {name} AS "


async def _prepare(tx, pg: bool) -> None:
    if pg:
        await db.execute("SET LOCAL work_mem = '256MB'", client=tx)
        await db.execute("SET LOCAL jit = off", client=tx)  # compiling costs more than it saves here
    else:
        for t in TEMP_TABLES:
            await db.execute(f"DROP TABLE IF EXISTS temp.{t}", client=tx)


async def _analyze(tx, table: str, pg: bool) -> None:
    if pg:  # autovacuum never analyses temporary tables
        await db.execute(f"ANALYZE {table}", client=tx)


async def _finish(tx, pg: bool) -> None:
    if not pg:
        for t in TEMP_TABLES:
            await db.execute(f"DROP TABLE IF EXISTS temp.{t}", client=tx)


# --- (category, source) cells shared with the statistics reader --------------------------
def counted(number: str, source: str, cm: str = "cm", sm: str = "sm") -> str:
    """SQL 0/1: does a row with masks (cm, sm) count in column (number, source)? Category '00'
    is any category, source 'all' either source naming the category, 'central'/'self' that one."""
    mask = {"all": f"({cm} | {sm})", "central": cm, "self": sm}[source]
    if number == "00":
        return f"(CASE WHEN {mask} <> 0 THEN 1 ELSE 0 END)"
    return f"(({mask} >> {int(number) - 1}) & 1)"


def stat_columns(kind: str) -> list[tuple[str, str, str]]:
    """(column, category number, source) of the wide statistics row, e.g. members_05_self."""
    return [(f"{kind}_{c}_{s}", c, s) for c in STAT_CATEGORIES for s in STAT_SOURCES]


def _wide_row() -> tuple[str, str, str]:
    """The wide row's columns, the sums c{i} per (school, stage, funded) of the matched rows (one
    per (category, source) cell), and the columns' values from those: members = the sums of all
    groups, funded = the funded group's. Plain integer sums of one bit each are the cheapest
    aggregate on both databases (packing several counters into one BIGINT sum was slower)."""
    cells = [(number, source) for number in STAT_CATEGORIES for source in STAT_SOURCES]
    sums = ", ".join(f"SUM({counted(number, source)}) AS c{i}" for i, (number, source) in enumerate(cells))
    columns, values = [], []
    for i, (number, source) in enumerate(cells):
        columns += [f"members_{number}_{source}", f"funded_{number}_{source}"]
        values += [f"SUM(g.c{i})", f"SUM(g.c{i} * g.funded)"]
    return ", ".join(columns), sums, ", ".join(values)


# --- the unfunded list's rows of a run ------------------------------------------------------
def list_rows_of(alias: str, run_id: int, period: str, scope: str = "") -> str:
    """SQL condition: the rows of `alias` (unfunded_result) that make up run `run_id`'s list.
    Values are inlined after validation (an int, a period code, '' or a 2-digit province)."""
    code = parse_semester(period).code
    if scope and not (len(scope) == 2 and scope.isdigit()):
        raise ValueError(f"not a province code: {scope!r}")
    run = int(run_id)
    return (f"({alias}.period = '{code}' AND {alias}.scope = '{scope}' AND {alias}.valid_from_run <= {run}"
            f" AND ({alias}.valid_until_run IS NULL OR {alias}.valid_until_run > {run}))")


# --- the engine steps --------------------------------------------------------------------
async def _members(tx, run: ComparisonRun, pg: bool) -> None:
    bit = "(1 << (CAST(s.category AS INTEGER) - 1))"
    await db.execute(
        _temp("cmp_member", pg)
        + f"""SELECT UPPER(s.id_number) AS id_number,
                 {_bit_or(f"CASE WHEN s.source = 'CENTRAL' THEN {bit} ELSE 0 END", pg)} AS cm,
                 {_bit_or(f"CASE WHEN s.source = 'SELF' THEN {bit} ELSE 0 END", pg)} AS sm
            FROM special_group_record s WHERE s.period = :period
            GROUP BY UPPER(s.id_number)""",
        {"period": run.period}, client=tx,
    )
    await _analyze(tx, "cmp_member", pg)


async def _matched(tx, run: ComparisonRun, year: str, pg: bool) -> None:
    province = "AND e.province = :province" if run.province else ""
    await db.execute(
        _temp("cmp_matched", pg)
        + f"""SELECT e.id_number, e.name, e.school_code, e.stage, e.province, sc.region_code,
                 m.cm, m.sm,
                 CASE WHEN EXISTS (
                     SELECT 1 FROM aid_record a JOIN aid_project p ON p.code = a.project_code
                      WHERE a.id_number = e.id_number AND a.status = 'APPROVED'
                        AND a.period IN (:period, :year) AND p.kind = 'RELIEF' AND p.stage = e.stage
                 ) THEN 1 ELSE 0 END AS funded
            FROM cmp_member m
            JOIN enrolment e ON e.id_number = m.id_number AND e.status = 'ENROLLED' {province}
            JOIN school sc ON sc.code = e.school_code""",
        {"period": run.period, "year": year, "province": run.province}, client=tx,
    )
    await _analyze(tx, "cmp_matched", pg)


_LIST_KEY = ("id_number", "school_code", "stage")
_LIST_VALUES = (("name", "name"), ("region_code", "region_code"), ("province", "province"),
                ("central_mask", "cm"), ("self_mask", "sm"))  # (unfunded_result column, cmp_matched column)


async def _list_diff(tx, run: ComparisonRun, pg: bool) -> None:
    """cmp_diff: what differs between the chain's current list and this run's unfunded rows, one
    FULL JOIN by (ID, school, stage): old_id set = a current row to close, id_number set = a row
    to add (both when a row's name, region or masks changed)."""
    on = " AND ".join(f"m.{k} = o.{k}" for k in _LIST_KEY)
    differs = " OR ".join(f"m.{new} <> o.{old}" for old, new in _LIST_VALUES)
    new_cols = ", ".join(f"m.{c}" for c in _LIST_KEY + tuple(new for _, new in _LIST_VALUES))
    await db.execute(
        _temp("cmp_diff", pg)
        + f"""SELECT o.id AS old_id, o.id_number AS old_id_number, o.school_code AS old_school_code,
                     o.stage AS old_stage, o.region_code AS old_region_code, {new_cols}
                FROM (SELECT * FROM unfunded_result
                       WHERE period = :period AND scope = :scope AND valid_until_run IS NULL) o
                FULL JOIN (SELECT * FROM cmp_matched WHERE funded = 0) m ON {on}
               WHERE o.id IS NULL OR m.id_number IS NULL OR {differs}""",
        {"period": run.period, "scope": run.province}, client=tx,
    )


async def _results(tx, run: ComparisonRun) -> None:
    """Close the rows that left or changed, add the new ones: writes are proportional to the
    changes since the chain's previous run (a chain's first run writes its whole list)."""
    await db.execute(
        "UPDATE unfunded_result SET valid_until_run = :run"
        " WHERE id IN (SELECT old_id FROM cmp_diff WHERE old_id IS NOT NULL)",
        {"run": run.id}, client=tx,
    )
    columns = ", ".join(_LIST_KEY + tuple(old for old, _ in _LIST_VALUES))
    values = ", ".join(_LIST_KEY + tuple(new for _, new in _LIST_VALUES))
    await db.execute(
        f"""INSERT INTO unfunded_result (period, scope, valid_from_run, {columns})
            SELECT :period, :scope, :run, {values} FROM cmp_diff WHERE id_number IS NOT NULL
             ORDER BY region_code, school_code""",  # appends in index order
        {"period": run.period, "scope": run.province, "run": run.id}, client=tx,
    )


async def _statistics(tx, run_id: int) -> None:
    """One grouped pass per (school, stage, funded), folded into one wide row per (school, stage)."""
    columns, sums, values = _wide_row()
    await db.execute(
        f"""INSERT INTO run_statistic (run_id, school_code, region_code, stage, {columns})
            SELECT :run, g.school_code, g.region_code, g.stage, {values}
              FROM (SELECT school_code, region_code, stage, funded, {sums}
                      FROM cmp_matched GROUP BY school_code, region_code, stage, funded) g
             GROUP BY g.school_code, g.region_code, g.stage""",
        {"run": run_id}, client=tx,
    )


async def _changes(tx, run_id: int, baseline: bool) -> tuple[int, int]:
    """Newly unfunded: a key of the list that the chain's current list did not have. Newly
    funded: a key that left the list while the student is still matched there, now funded."""
    if not baseline:
        return 0, 0
    newly_unfunded = await db.execute(
        """INSERT INTO run_change (run_id, id_number, school_code, region_code, stage, change)
           SELECT :run, id_number, school_code, region_code, stage, 'NEWLY_UNFUNDED'
             FROM cmp_diff WHERE old_id IS NULL""",
        {"run": run_id}, client=tx,
    )
    newly_funded = await db.execute(
        """INSERT INTO run_change (run_id, id_number, school_code, region_code, stage, change)
           SELECT :run, d.old_id_number, d.old_school_code, d.old_region_code, d.old_stage, 'NEWLY_FUNDED'
             FROM cmp_diff d JOIN cmp_matched m ON m.id_number = d.old_id_number
                  AND m.school_code = d.old_school_code AND m.stage = d.old_stage AND m.funded = 1
            WHERE d.id_number IS NULL""",
        {"run": run_id}, client=tx,
    )
    return newly_unfunded, newly_funded


async def _counts(tx) -> dict[str, int]:
    (row,) = await db.fetch(
        """SELECT (SELECT COUNT(*) FROM cmp_member) AS members,
                  (SELECT COUNT(*) FROM (SELECT id_number FROM cmp_matched GROUP BY id_number) x) AS matched,
                  (SELECT SUM(funded) FROM cmp_matched) AS funded,
                  (SELECT COUNT(*) FROM cmp_matched) AS rows""",
        client=tx,
    )
    counts = {k: int(v or 0) for k, v in row.items()}
    counts["unfunded"] = counts.pop("rows") - counts["funded"]
    return counts


async def _publish(tx, run: ComparisonRun, counts: dict[str, int], changes: tuple[int, int]) -> None:
    if run.province:
        await db.execute(
            "UPDATE comparison_run SET published = :f WHERE period = :period AND province = :province"
            " AND published = :t AND id <> :run",
            {"f": False, "t": True, "period": run.period, "province": run.province, "run": run.id}, client=tx,
        )
    else:  # a national run supersedes every run of the period
        await db.execute(
            "UPDATE comparison_run SET published = :f WHERE period = :period AND published = :t AND id <> :run",
            {"f": False, "t": True, "period": run.period, "run": run.id}, client=tx,
        )
    members = counts["members"] if not run.province else counts["matched"]
    await ComparisonRun.filter(id=run.id).using_db(tx).update(
        status="SUCCEEDED", published=True, finished_at=_now(), error=None,
        members=members, matched=counts["matched"], unmatched=members - counts["matched"],
        funded=counts["funded"], unfunded=counts["unfunded"],
        newly_unfunded=changes[0], newly_funded=changes[1],
    )


async def prune_history(period: str, province: str = "", keep: int = HISTORY) -> int:
    """Delete finished, unpublished runs of (period, province) beyond the newest `keep`, with
    their statistics and changes, and the list versions no remaining run can see any more (closed
    at or before the oldest remaining run). Returns how many runs were removed."""
    keep_ids = [
        r.id for r in await ComparisonRun.filter(period=period, province=province).order_by("-id").limit(keep)
    ]
    old = await ComparisonRun.filter(
        period=period, province=province, published=False, status__in=("SUCCEEDED", "FAILED")
    ).exclude(id__in=keep_ids or [0])
    for run in old:
        async with db.transaction() as tx:
            for table in ("run_statistic", "run_change"):
                await db.execute(f"DELETE FROM {table} WHERE run_id = :run", {"run": run.id}, client=tx)
            await ComparisonRun.filter(id=run.id).using_db(tx).delete()
    oldest = await ComparisonRun.filter(period=period, province=province).order_by("id").first()
    if oldest is not None:
        await db.execute(
            "DELETE FROM unfunded_result WHERE period = :period AND scope = :scope"
            " AND valid_until_run IS NOT NULL AND valid_until_run <= :oldest",
            {"period": period, "scope": province, "oldest": oldest.id},
        )
    return len(old)


# --- public interface ----------------------------------------------------------------------
async def create_run(
    period: str, trigger: str, requested_by: str | None, province: str = "", job_id: str | None = None
) -> ComparisonRun:
    """Insert a QUEUED run (or return the existing run of `job_id`)."""
    semester = parse_semester(period)
    if job_id:
        existing = await ComparisonRun.get_or_none(job_id=job_id)
        if existing is not None:
            return existing
    return await ComparisonRun.create(
        period=semester.code, province=province, trigger=trigger, requested_by=requested_by,
        status="QUEUED", queued_at=_now(), job_id=job_id,
    )


async def get_run(run_id: int) -> ComparisonRun:
    run = await ComparisonRun.get_or_none(id=run_id)
    if run is None:
        raise NotFound(f"未找到比对批次 {run_id}")
    return run


async def execute_run(run_id: int) -> ComparisonRun:
    """Compute and publish the run. On failure: rolled back, error recorded, status left RUNNING,
    exception re-raised (the caller retries or calls `mark_failed`)."""
    run = await get_run(run_id)
    if run.status == "SUCCEEDED":
        return run
    year = parse_semester(run.period).academic_year
    await ComparisonRun.filter(id=run.id).update(status="RUNNING", started_at=_now(), attempts=run.attempts + 1)
    try:
        async with db.transaction() as tx:
            pg = db.is_postgres(tx)
            await _prepare(tx, pg)
            baseline = await ComparisonRun.filter(
                period=run.period, province=run.province, status="SUCCEEDED"
            ).using_db(tx).exclude(id=run.id).exists()
            await _step("members")
            await _members(tx, run, pg)
            await _step("matched")
            await _matched(tx, run, year, pg)
            await _step("results")
            await _list_diff(tx, run, pg)
            await _results(tx, run)
            await _step("statistics")
            await _statistics(tx, run.id)
            await _step("changes")
            changes = await _changes(tx, run.id, baseline)
            counts = await _counts(tx)
            await _step("publish")
            await _publish(tx, run, counts, changes)
            await _finish(tx, pg)
    except BaseException as exc:
        await ComparisonRun.filter(id=run.id).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    try:
        await prune_history(run.period, run.province)
    except Exception:  # the run is published; a failed clean-up is retried after the next run
        log.exception("pruning the run history of %s failed", run.period)
    return await get_run(run.id)


async def mark_failed(run_id: int, error: str) -> ComparisonRun:
    await get_run(run_id)
    await ComparisonRun.filter(id=run_id).update(status="FAILED", finished_at=_now(), error=error[:2000])
    return await get_run(run_id)


async def run_comparison_now(period: str, trigger: str = "CLI", requested_by: str | None = None) -> ComparisonRun:
    """Create and execute a run in-process (`zizhu compare`). A failure returns the FAILED run."""
    run = await create_run(period, trigger, requested_by)
    try:
        return await execute_run(run.id)
    except Exception as exc:
        log.exception("comparison run %s failed", run.id)
        return await mark_failed(run.id, f"{type(exc).__name__}: {exc}")


async def published_run(period: str, province: str = "") -> ComparisonRun | None:
    return await ComparisonRun.filter(period=period, province=province, published=True).order_by("-id").first()


async def published_sources(period: str) -> list[tuple[int, str | None, tuple[str, ...]]]:
    """The runs whose rows are current for `period`: (run_id, province or None for national,
    provinces to exclude from a national run because a newer province run replaced them)."""
    runs = await ComparisonRun.filter(period=period, published=True).order_by("id")
    provinces = tuple(sorted({r.province for r in runs if r.province}))
    return [(r.id, r.province or None, () if r.province else provinces) for r in runs]
