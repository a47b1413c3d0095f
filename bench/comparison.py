"""Benchmark of the special-group comparison on PostgreSQL.

    python bench/comparison.py --members 1000000 [--pg postgres://postgres@127.0.0.1:5432]
                               [--scales 250000,500000,1000000]

For each scale N (N special-group records, about 2.5 per student, both sources) it fills a fresh
database with set-based SQL (generate_series): 3N enrolments (most ENROLLED, some graduated or
transferred, some students in two stages, one in 200 enrolled twice in one stage) and 2N aid records (all statuses, relief and merit,
semester and year-cycle projects, the right and the wrong stage), runs ANALYZE, then times

  (a) the bare anti-join, worded as in the issue, and
  (b) the full comparison `run_comparison_now` (members, matching, unfunded list, statistics,
      changes against the previous run, publication): first on an empty chain (it writes the
      whole list), then on `--nights` nights, each after about a day's changes (aid approved
      and returned, students leaving) — the nightly case, which diffs against the night before
      and reuses the members kept since the records did not change — and finally on one more
      night on which a special-group import also added 1% new records, so the members are
      rebuilt. The bare query is timed again before each night's run.

It prints every time, and per scale the medians and their ratios. The database is dropped at
the end (`--keep` keeps it for EXPLAIN).
CI runs it tiny: `--members 2000 --scales 1000,2000`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zizhu.domain import (
    db,
    installation,
)
from zizhu.domain.comparison import engine as comparison

PERIOD, YEAR = "2023-2024-1", "2023-2024"
STAGES = ["PRESCHOOL", "COMPULSORY", "GENERAL_HIGH", "VOCATIONAL", "HIGHER", "GRADUATE"]
SCHOOL_PREFIX = ["11", "21", "34", "36", "41", "41"]  # school category digits per stage
# per stage: (relief project, its period), (second project, its period) for a student's 2nd record
PROJECTS = [
    (("PRE_GOV", PERIOD), ("PRE_GOV", "2023-2024-2")),
    (("CMP_LIVING", PERIOD), ("CMP_NUTRITION", PERIOD)),
    (("GH_GRANT", PERIOD), ("GH_FEE_WAIVER", PERIOD)),
    (("VOC_GRANT", PERIOD), ("VOC_FREE_TUITION", "2022-2023-2")),
    (("HE_GRANT", YEAR), ("HE_NATIONAL_SCHOLARSHIP", YEAR)),
    (("GR_GRANT", YEAR), ("GR_NATIONAL_SCHOLARSHIP", YEAR)),
]

BARE_ANTI_JOIN = """
SELECT count(*) FROM (
  SELECT DISTINCT e.id_number, e.stage  -- a student counts once per stage (one school, see steps.duplicates)
    FROM special_group_record s
    JOIN enrolment e ON e.id_number = s.id_number
   WHERE s.period = :period AND e.status = 'ENROLLED'
     AND NOT EXISTS (
       SELECT 1 FROM aid_record a JOIN aid_project p ON p.code = a.project_code
        WHERE a.id_number = e.id_number AND a.status = 'APPROVED' AND p.kind = 'RELIEF'
          AND p.stage = e.stage AND a.period IN (:period, :year))
) x"""


def _case(values: list[str], index: str) -> str:
    return "CASE " + index + " " + " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values)) + " END"


def _id(expr: str) -> str:
    """An 18-character ID number for student number `expr` (every 97th ends in X)."""
    return f"'43' || lpad(CAST(({expr}) AS text), 15, '0') || CASE WHEN ({expr}) % 97 = 0 THEN 'X' ELSE '1' END"


async def generate(n: int) -> dict[str, int]:
    enrolments = 3 * n
    population = enrolments * 9 // 10  # first enrolment of students 1..population, then a second stage
    aids = 2 * n
    aided = aids * 7 // 10  # students 1..aided get one aid record, the first aids-aided a second one
    schools = max(n // 100, 12)
    for t in (
        "run_change",
        "duplicate_enrolment",
        "run_statistic",
        "region_statistic",
        "run_history",
        "run_trend",
        "unfunded_result",
        "comparison_run",
        "special_group_record",
        "enrolment",
        "aid_record",
        "school",
    ):
        await db.execute(f"TRUNCATE {t} RESTART IDENTITY")
    # schools: stage = i % 6, region: 20 cities × 10 counties in one province (some at city level)
    await db.execute(
        f"""INSERT INTO school (code, name, region_code, province)
            SELECT {_case(SCHOOL_PREFIX, 'i % 6')} || '43' || lpad(CAST(i AS text), 6, '0'), '学校' || i,
                   '43' || lpad(CAST(1 + i % 20 AS text), 2, '0') || CASE WHEN i % 7 = 0 THEN '00'
                        ELSE lpad(CAST(1 + i % 10 AS text), 2, '0') END, '43'
              FROM generate_series(0, {schools - 1}) i"""
    )
    # special-group records: record r → student 1 + 2r/5, category by r, source by r
    await db.execute(
        f"""INSERT INTO special_group_record (id_number, name, category, source, period)
            SELECT {_id('1 + r * 2 / 5')}, '学生', lpad(CAST(1 + (r * 7) % 13 AS text), 2, '0'),
                   CASE WHEN r % 3 = 0 THEN 'SELF' ELSE 'CENTRAL' END, '{PERIOD}'
              FROM generate_series(0, {n - 1}) r"""
    )
    # enrolments: e < population → student e+1 at school e % schools; then second enrolments
    # of students 1.. at the school one further (another stage)
    await db.execute(
        f"""INSERT INTO enrolment (id_number, name, school_code, stage, grade, status, province)
            SELECT {_id('st')}, '学生', {_case(SCHOOL_PREFIX, 'sc % 6')} || '43' || lpad(CAST(sc AS text), 6, '0'),
                   {_case(STAGES, 'sc % 6')}, '',
                   CASE WHEN e % 10 = 0 THEN 'GRADUATED' WHEN e % 17 = 0 THEN 'TRANSFERRED' ELSE 'ENROLLED' END,
                   '43'
              FROM (SELECT e, CASE WHEN e < {population} THEN e + 1 ELSE e - {population} + 1 END AS st,
                           CASE WHEN e < {population} THEN e % {schools} ELSE (e - {population} + 1) % {schools} END
                           AS sc
                      FROM generate_series(0, {enrolments - 1}) e) g"""
    )
    # one enrolled student in 200 is also 在读 at a second school of the same stage (a transfer
    # recorded at the new school before the old one marks 转出): the run places them at one school
    await db.execute(
        """INSERT INTO enrolment (id_number, name, school_code, stage, grade, status, province, updated_at)
            SELECT id_number, name,
                   substr(school_code, 1, 4) || lpad(CAST(
                       CASE WHEN CAST(substr(school_code, 5) AS int) >= 6 THEN CAST(substr(school_code, 5) AS int) - 6
                            ELSE CAST(substr(school_code, 5) AS int) + 6 END AS text), 6, '0'),
                   stage, grade, status, province, now()
              FROM enrolment WHERE status = 'ENROLLED' AND id % 200 = 7"""
    )
    # aid records: a student's first record is usually the relief project of the stage of their
    # first enrolment, sometimes a wrong stage's project; the second a merit/other/other-period one
    first = _case([p[0][0] for p in PROJECTS], "(CASE WHEN a % 23 = 0 THEN stg + 1 ELSE stg END) % 6")
    first_period = _case([p[0][1] for p in PROJECTS], "(CASE WHEN a % 23 = 0 THEN stg + 1 ELSE stg END) % 6")
    await db.execute(
        f"""INSERT INTO aid_record (id_number, name, school_code, project_code, period, amount, status,
                                    province, updated_at)
            SELECT {_id('st')}, '学生', '2143000000',
                   CASE WHEN a < {aided} THEN {first} ELSE {_case([p[1][0] for p in PROJECTS], 'stg')} END,
                   CASE WHEN a < {aided} THEN {first_period} ELSE {_case([p[1][1] for p in PROJECTS], 'stg')} END,
                   1000, {_case(["APPROVED"] * 7 + ["DRAFT", "SUBMITTED", "SCHOOL_APPROVED", "RETURNED"], 'a % 11')},
                   '43', now()
              FROM (SELECT a, CASE WHEN a < {aided} THEN a + 1 ELSE a - {aided} + 1 END AS st,
                           ((CASE WHEN a < {aided} THEN a ELSE a - {aided} END) % {schools}) % 6 AS stg
                      FROM generate_series(0, {aids - 1}) a) g"""
    )
    await settle()
    return {"special_group_record": n, "enrolment": enrolments, "aid_record": aids, "school": schools}


async def settle() -> None:
    """VACUUM ANALYZE and a checkpoint, so that autovacuum and the checkpointer do not run during
    the timings (a production database is settled like this by autovacuum during the day)."""
    await db.execute("VACUUM ANALYZE")
    await db.execute("CHECKPOINT")


async def nightly_churn(night: int, n: int, records: bool = False) -> dict[str, int]:
    """About a day's changes before night `night`'s run: some submitted aid approved (newly
    funded), some approved aid returned (newly unfunded), some students leave school; with
    `records`, also an import of n/100 special-group records (new students and new categories)."""
    churn = (
        {}
        if not records
        else {
            "records": await db.execute(
                f"""INSERT INTO special_group_record (id_number, name, category, source, period)
                SELECT {_id('1 + r * 3')}, '学生', '13', 'SELF', '{PERIOD}'
                  FROM generate_series({n // 2}, {n // 2 + n // 100 - 1}) r
                ON CONFLICT DO NOTHING"""
            ),
        }
    )
    churn |= {
        "approved": await db.execute(
            f"UPDATE aid_record SET status = 'APPROVED' WHERE status = 'SUBMITTED' AND id % 5 = {night % 5}"
        ),
        "returned": await db.execute(
            f"UPDATE aid_record SET status = 'RETURNED' WHERE status = 'APPROVED' AND id % 199 = {night % 199}"
        ),
        "left": await db.execute(
            f"UPDATE enrolment SET status = 'GRADUATED' WHERE status = 'ENROLLED' AND id % 331 = {night % 331}"
        ),
    }
    await settle()
    return churn


async def timed(coro_factory) -> tuple[float, object]:
    start = time.perf_counter()
    result = await coro_factory()
    return time.perf_counter() - start, result


async def timed_run() -> tuple[float, object, str]:
    """One run of the engine, with the time of each step (through the engine's step seam)."""
    marks: list[tuple[str, float]] = []

    async def mark(step: str) -> None:
        marks.append((step, time.perf_counter()))

    comparison.STEP_HOOK = mark
    try:
        t, run = await timed(lambda: comparison.run_comparison_now(PERIOD, trigger="CLI"))
        t_end = time.perf_counter()
    finally:
        comparison.STEP_HOOK = None
    ends = [t for _, t in marks[1:]] + [t_end]
    return t, run, "  ".join(f"{name} {end - start:.2f}" for (name, start), end in zip(marks, ends))


async def bench_scale(n: int, nights: int) -> dict[str, float]:
    t_gen, sizes = await timed(lambda: generate(n))
    print(f"\n== {n:,} special-group records: generated {sizes} in {t_gen:.1f}s", flush=True)
    params = {"period": PERIOD, "year": YEAR}
    await db.fetch(BARE_ANTI_JOIN, params)  # warm the cache
    bare, rows = await timed(lambda: db.fetch(BARE_ANTI_JOIN, params))
    t_first, run, steps = await timed_run()
    assert run.status == "SUCCEEDED", run.error
    assert run.unfunded == rows[0]["count"], (run.unfunded, rows[0]["count"])
    print(
        f"   run {run.id}: members {run.members:,} matched {run.matched:,} unmatched {run.unmatched:,} "
        f"funded {run.funded:,} unfunded {run.unfunded:,}"
    )
    print(
        f"   bare anti-join {bare:6.2f} s; first run {t_first:6.2f} s (ratio {t_first / bare:.2f}); steps: {steps}",
        flush=True,
    )
    bares, fulls = [bare], []
    for night in range(1, nights + 2):
        records = night == nights + 1  # the last night: the special-group lists changed too
        churn = await nightly_churn(night, n, records)
        t_bare, rows = await timed(lambda: db.fetch(BARE_ANTI_JOIN, params))
        t_full, run, steps = await timed_run()
        assert run.status == "SUCCEEDED", run.error
        assert run.unfunded == rows[0]["count"], (run.unfunded, rows[0]["count"])
        if records:
            records_night = (t_bare, t_full)
        else:
            bares.append(t_bare)
            fulls.append(t_full)
        print(
            f"   night {night}{' (records changed)' if records else ''}: {churn} -> newly unfunded "
            f"{run.newly_unfunded:,}, newly funded {run.newly_funded:,}; bare {t_bare:6.2f} s, "
            f"run {t_full:6.2f} s (ratio {t_full / t_bare:.2f}); steps: {steps}",
            flush=True,
        )
    result = {
        "members": n,
        "bare": statistics.median(bares),
        "first": t_first,
        "full": statistics.median(fulls) if fulls else t_first,
        "records": records_night,
    }
    print(
        f"   median bare {result['bare']:.2f} s, first run {t_first:.2f} s, median nightly run "
        f"{result['full']:.2f} s: ratios {t_first / result['bare']:.2f} and {result['full'] / result['bare']:.2f}; "
        f"night with new records {records_night[1]:.2f} s (ratio {records_night[1] / records_night[0]:.2f})",
        flush=True,
    )
    return result


async def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=1_000_000, help="special-group records at full size")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--scales", default="", help="comma-separated smaller sizes to time too")
    ap.add_argument("--nights", type=int, default=3, help="nightly runs per scale, each after a day's changes")
    ap.add_argument("--keep", action="store_true", help="do not drop the database (for EXPLAIN)")
    args = ap.parse_args(argv)
    scales = sorted({int(s) for s in args.scales.split(",") if s.strip()} | {args.members})

    name = f"zizhu_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{args.pg}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{args.pg}/{name}"
    try:
        await installation.migrate(url)
        await db.init(url)
        results = [await bench_scale(n, args.nights) for n in scales]
        await db.close()
    finally:
        if not args.keep:
            admin = await asyncpg.connect(f"{args.pg}/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        else:
            print(f"kept database {name}")
    print("\nmedians (nightly: records unchanged; records night: against the bare query of that night):")
    print("members      bare s  first s  ratio  nightly s  ratio  records night s  ratio  nightly s per 100k")
    for r in results:
        bare_r, full_r = r["records"]
        print(
            f"{r['members']:>9,} {r['bare']:8.2f} {r['first']:8.2f} {r['first'] / r['bare']:6.2f} "
            f"{r['full']:10.2f} {r['full'] / r['bare']:6.2f} {full_r:16.2f} {full_r / bare_r:6.2f} "
            f"{r['full'] / r['members'] * 100_000:12.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
