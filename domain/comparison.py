"""The special-group comparison (特殊群体学生资助比对), DESIGN.md §4.

A run (比对批次) of period P computes, with set-based SQL inside one transaction:

1. members  — special-group records of P, grouped by upper-cased ID number into one row per
   student with two category bit masks (CENTRAL, SELF);
2. matched  — members joined to their ENROLLED enrolments: one row per (student, school, stage),
   flagged funded when an APPROVED aid record of a RELIEF project of the same stage exists for
   P or P's academic year (an anti-join; funding is by person and stage, not school);
3. the unfunded list (`unfunded_result`), the statistics (`run_statistic`: one wide row per
   (school, stage) with members and funded per category column '00' = total, '01'..'13' and
   source all = once whatever the source, central, self) and the
   changes against the previously published run of (P, province) (`run_change`):
   NEWLY_UNFUNDED = unfunded now and not in the previous unfunded list; NEWLY_FUNDED = in the
   previous unfunded list and now matched and funded (a student who simply left — graduated,
   dropped from the special-group list — is neither). A first run has no baseline: no changes.
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
        for t in ("cmp_member", "cmp_matched"):
            await db.execute(f"DROP TABLE IF EXISTS temp.{t}", client=tx)


async def _analyze(tx, table: str, pg: bool) -> None:
    if pg:  # autovacuum never analyses temporary tables
        await db.execute(f"ANALYZE {table}", client=tx)


async def _finish(tx, pg: bool) -> None:
    if not pg:
        for t in ("cmp_member", "cmp_matched"):
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


# Packed counters: for each category column k (0 = any category, 1..13) one SUM adds three
# 21-bit counters at once — all at bit 0, central at bit 21, self at bit 42 — so a (school,
# stage, funded) group needs 14 sums instead of 42. A counter overflows only past 2^21-1 (2,097,151)
# special-group students in one school and stage, far beyond any school.
PACK_BITS = 21
PACK_SHIFT = {"all": 0, "central": PACK_BITS, "self": 2 * PACK_BITS}


def _packed(number: str) -> str:
    return "(" + " + ".join(f"{counted(number, s)} * {1 << shift}" for s, shift in PACK_SHIFT.items()) + ")"


def _wide_row() -> tuple[str, str, str]:
    """The wide row's columns, the packed sums p{k} per (school, stage, funded) of the matched
    rows, and the columns' values from those: members = all p, funded = the funded group's p."""
    sums = ", ".join(f"CAST(SUM({_packed(number)}) AS BIGINT) AS p{k}" for k, number in enumerate(STAT_CATEGORIES))
    columns, values = [], []
    for k, number in enumerate(STAT_CATEGORIES):
        for source in STAT_SOURCES:
            for kind, total in (("members", f"SUM(g.p{k})"), ("funded", f"SUM(g.p{k} * g.funded)")):
                columns.append(f"{kind}_{number}_{source}")
                values.append(f"(CAST({total} AS BIGINT) / {1 << PACK_SHIFT[source]}) % {1 << PACK_BITS}")
    return ", ".join(columns), sums, ", ".join(values)


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


async def _results(tx, run_id: int) -> None:
    await db.execute(
        """INSERT INTO unfunded_result
               (run_id, id_number, name, school_code, region_code, stage, province, central_mask, self_mask)
           SELECT :run, id_number, name, school_code, region_code, stage, province, cm, sm
             FROM cmp_matched WHERE funded = 0
            ORDER BY school_code, stage""",  # appends to the (run, school, stage) and region indexes
        {"run": run_id}, client=tx,
    )


async def _statistics(tx, run_id: int) -> None:
    """One grouped pass per (school, stage, funded) with packed sums, unpacked into one wide
    row per (school, stage). Grouping by funded too halves the sums computed per row."""
    columns, sums, values = _wide_row()
    await db.execute(
        f"""INSERT INTO run_statistic (run_id, school_code, region_code, stage, {columns})
            SELECT :run, g.school_code, g.region_code, g.stage, {values}
              FROM (SELECT school_code, region_code, stage, funded, {sums}
                      FROM cmp_matched GROUP BY school_code, region_code, stage, funded) g
             GROUP BY g.school_code, g.region_code, g.stage""",
        {"run": run_id}, client=tx,
    )


async def _changes(tx, run_id: int, previous_id: int | None) -> tuple[int, int]:
    if previous_id is None:
        return 0, 0
    await db.execute(
        """INSERT INTO run_change (run_id, id_number, school_code, region_code, stage, change)
           SELECT :run, m.id_number, m.school_code, m.region_code, m.stage,
                  CASE WHEN m.funded = 1 THEN 'NEWLY_FUNDED' ELSE 'NEWLY_UNFUNDED' END
             FROM cmp_matched m
             LEFT JOIN unfunded_result o ON o.run_id = :prev AND o.id_number = m.id_number
                   AND o.school_code = m.school_code AND o.stage = m.stage
            WHERE (m.funded = 1 AND o.id IS NOT NULL) OR (m.funded = 0 AND o.id IS NULL)""",
        {"run": run_id, "prev": previous_id}, client=tx,
    )
    rows = await db.fetch(
        "SELECT change, COUNT(*) AS n FROM run_change WHERE run_id = :run GROUP BY change",
        {"run": run_id}, client=tx,
    )
    by = {r["change"]: int(r["n"]) for r in rows}
    return by.get("NEWLY_UNFUNDED", 0), by.get("NEWLY_FUNDED", 0)


async def _counts(tx) -> dict[str, int]:
    (row,) = await db.fetch(
        """SELECT (SELECT COUNT(*) FROM cmp_member) AS members,
                  (SELECT COUNT(*) FROM (SELECT id_number FROM cmp_matched GROUP BY id_number) x) AS matched,
                  (SELECT COUNT(*) FROM cmp_matched WHERE funded = 1) AS funded,
                  (SELECT COUNT(*) FROM cmp_matched WHERE funded = 0) AS unfunded""",
        client=tx,
    )
    return {k: int(v or 0) for k, v in row.items()}


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


async def _discard_rows(run_id: int, client=None) -> None:
    for table in ("unfunded_result", "run_statistic", "run_change"):
        await db.execute(f"DELETE FROM {table} WHERE run_id = :run", {"run": run_id}, client=client)


async def prune_history(period: str, province: str = "", keep: int = HISTORY) -> int:
    """Delete finished, unpublished runs of (period, province) beyond the newest `keep`,
    with their rows. Returns how many runs were removed."""
    keep_ids = [
        r.id for r in await ComparisonRun.filter(period=period, province=province).order_by("-id").limit(keep)
    ]
    old = await ComparisonRun.filter(
        period=period, province=province, published=False, status__in=("SUCCEEDED", "FAILED")
    ).exclude(id__in=keep_ids or [0])
    for run in old:
        async with db.transaction() as tx:
            await _discard_rows(run.id, client=tx)
            await ComparisonRun.filter(id=run.id).using_db(tx).delete()
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
            previous = await ComparisonRun.filter(
                period=run.period, province=run.province, published=True
            ).using_db(tx).order_by("-id").first()
            await _step("members")
            await _members(tx, run, pg)
            await _step("matched")
            await _matched(tx, run, year, pg)
            await _step("results")
            await _results(tx, run.id)
            await _step("statistics")
            await _statistics(tx, run.id)
            await _step("changes")
            changes = await _changes(tx, run.id, previous.id if previous else None)
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
