"""Benchmark: import an N-row special-group CSV (特殊群体名单) on PostgreSQL, next to `psql \\copy`.

    python bench/import_special_groups.py --rows 1000000 [--pg postgres://postgres@127.0.0.1:5432]

Generates the file into bench/out/ (valid ID numbers, 13 categories by Chinese name or code,
both sources, two semesters), creates a throw-away database, migrates it, times
`zizhu.domain.imports.run_import` (rows/s, peak RSS of the process), then times `psql \\copy` of
the same file into a bare table with the same columns, prints both and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg

from zizhu.domain import (
    db,
    installation,
)
from zizhu.domain.demo import PERIODS, chinese_name, student_id
from zizhu.domain.imports import run_import
from zizhu.domain.reference.codes import (
    Category,
    Source,
    Stage,
)

OUT = ROOT / "bench" / "out"
STAGES = list(Stage)


def write_file(path: Path, rows: int, seed: int = 7) -> None:
    """N rows: each person appears in both semesters, usually in one (category, source)."""
    rng = random.Random(seed)
    categories = list(Category)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["身份证件号", "姓名", "特殊群体类型", "数据来源", "资助周期"])
        written = person = 0
        while written < rows:
            id_number = student_id(STAGES[person % len(STAGES)], person // len(STAGES))
            if person % 9 == 0:
                id_number = id_number.lower()
            name = chinese_name(rng)
            cat = categories[rng.randrange(len(categories))]
            src = Source.CENTRAL if rng.random() < 0.6 else Source.SELF
            for period in PERIODS:
                if written < rows:
                    w.writerow([id_number, name, cat.label if written % 4 else cat.number, src.label, period])
                    written += 1
            person += 1


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def bench_import(url: str, path: Path, rows: int) -> tuple[float, object, float, float]:
    await installation.migrate(url)
    await db.init(url)
    try:
        before = rss_mib()
        start = time.perf_counter()
        result = await run_import(
            "special-groups",
            path,
            actor="bench",
            progress=lambda n, label, *_: print(f"\r  {label} {n:,}", end="", file=sys.stderr),
        )
        elapsed = time.perf_counter() - start
        print(file=sys.stderr)
        return elapsed, result, before, rss_mib()
    finally:
        await db.close()


def bench_psql(pg: str, name: str, path: Path) -> float:
    target = f"{pg}/{name}"
    subprocess.run(
        [
            "psql",
            target,
            "-q",
            "-c",
            "CREATE TABLE bare_special_group (id_number varchar(18), name varchar(50), "
            "category text, source text, period varchar(11))",
        ],
        check=True,
    )
    start = time.perf_counter()
    subprocess.run(["psql", target, "-q", "-c", f"\\copy bare_special_group FROM '{path}' CSV HEADER"], check=True)
    return time.perf_counter() - start


async def admin(pg: str, sql: str) -> None:
    conn = await asyncpg.connect(f"{pg}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg", default=os.environ.get("ZIZHU_TEST_PG", "postgres://postgres@127.0.0.1:5432"))
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"special-groups-{args.rows}.csv"
    t = time.perf_counter()
    write_file(path, args.rows)
    print(f"file: {path} ({path.stat().st_size / 2**20:.1f} MiB, written in {time.perf_counter() - t:.1f} s)")

    name = f"zizhu_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(args.pg, f'CREATE DATABASE "{name}"'))
    try:
        elapsed, result, rss_before, rss_peak = asyncio.run(bench_import(f"{args.pg}/{name}", path, args.rows))
        copy = bench_psql(args.pg, name, path)
    finally:
        asyncio.run(admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    assert result.rows == args.rows and result.inserted == args.rows, result
    print(f"rows:                 {args.rows:,}")
    print(
        f"zizhu run_import:     {elapsed:8.2f} s  {args.rows / elapsed:>10,.0f} rows/s  "
        f"(validate + COPY to staging + merge, one transaction)"
    )
    print(f"peak RSS:             {rss_peak:8.1f} MiB (before the import {rss_before:.1f} MiB)")
    print(f"psql \\copy bare table:{copy:8.2f} s  {args.rows / copy:>10,.0f} rows/s  (no validation, no index)")
    print(f"ratio run_import / \\copy: {elapsed / copy:.1f}x")
    print(f"measured {dt.datetime.now():%Y-%m-%d %H:%M}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
