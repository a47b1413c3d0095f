"""Benchmark of the streamed unfunded-list export on PostgreSQL.

    python bench/export_unfunded_list.py --rows 1000000 [--pg postgres://postgres@127.0.0.1:5432]

Fills a fresh database with set-based SQL: `--rows` special-group students in one province (every
third in two categories and both sources), each enrolled in a compulsory-education school, none
funded, and runs the comparison, so the published unfunded list has exactly `--rows` rows. Then,
as a province account (masked ID numbers), at a tenth of the list (the county of one city) and at
the whole list it measures

  (a) paging the list through the list service alone (what the GraphQL query reads), the floor,
  (b) the CSV export and (c) the .xlsx export, each consumed chunk by chunk and thrown away:
      time to the first byte, total time, bytes, and the growth of the process's resident memory
      (sampled every 10 ms) over what it was before the export,

and prints the ratios: export time over paging time, and memory growth of the whole list over that
of a tenth (constant memory keeps it near 1). The database is dropped at the end (`--keep` keeps it).
CI runs it tiny: `--rows 2000`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zizhu.domain import (
    db,
    installation,
)
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.comparison.published_list import ListFilters, list_unfunded_students
from zizhu.domain.exports import lists, service
from zizhu.domain.reference.codes import Role

PERIOD = "2023-2024-1"
CITIES = 10  # 4301..4310, one county each: a city's county holds a tenth of the list
PROVINCE = Viewer("bench", Role.AUTHORITY_OPERATOR, "430000")


def _id(expr: str) -> str:
    """An 18-character ID number for student number `expr` (every 97th ends in X)."""
    return f"'43' || lpad(CAST(({expr}) AS text), 15, '0') || CASE WHEN ({expr}) % 97 = 0 THEN 'X' ELSE '1' END"


async def generate(rows: int) -> None:
    schools = max(rows // 1000, CITIES)
    await db.execute(
        "INSERT INTO region (code, name, parent_code, level) VALUES ('430000', '湖南省', '000000', 'PROVINCE')"
    )
    await db.execute(
        f"""INSERT INTO region (code, name, parent_code, level)
            SELECT '43' || lpad(CAST(c AS text), 2, '0') || '00', '市' || c, '430000', 'CITY'
              FROM generate_series(1, {CITIES}) c
            UNION ALL
            SELECT '43' || lpad(CAST(c AS text), 2, '0') || '01', '县' || c,
                   '43' || lpad(CAST(c AS text), 2, '0') || '00', 'COUNTY'
              FROM generate_series(1, {CITIES}) c"""
    )
    await db.execute(
        f"""INSERT INTO school (code, name, region_code, province)
            SELECT '2143' || lpad(CAST(i AS text), 6, '0'), '学校' || i,
                   '43' || lpad(CAST(1 + i % {CITIES} AS text), 2, '0') || '01', '43'
              FROM generate_series(0, {schools - 1}) i"""
    )
    await db.execute(
        f"""INSERT INTO enrolment (id_number, name, school_code, stage, grade, status, province)
            SELECT {_id('s')}, '学生' || s, '2143' || lpad(CAST(s % {schools} AS text), 6, '0'), 'COMPULSORY', '',
                   'ENROLLED', '43'
              FROM generate_series(1, {rows}) s"""
    )
    await db.execute(
        f"""INSERT INTO special_group_record (id_number, name, category, source, period)
            SELECT {_id('s')}, '', '01', 'CENTRAL', '{PERIOD}' FROM generate_series(1, {rows}) s
            UNION ALL
            SELECT {_id('s')}, '', '05', 'SELF', '{PERIOD}' FROM generate_series(1, {rows}, 3) s"""
    )
    await db.execute("ANALYZE")
    run = await comparison.run_comparison_now(PERIOD, trigger="CLI", requested_by="bench")
    assert run.status == "SUCCEEDED" and run.unfunded == rows, (run.status, run.unfunded, run.error)
    await db.execute("ANALYZE unfunded_result")  # as autovacuum soon does after a first run


class PeakRss:
    """The process's resident memory sampled every 10 ms in a thread: growth over the start."""

    def __init__(self) -> None:
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


async def page_through(filters: dict) -> dict:
    """(a): read every page of the list through the list service, as the query would."""
    started = time.perf_counter()
    rows, after, first = 0, None, None
    with PeakRss() as rss:
        while True:
            page, more = await list_unfunded_students(
                PROVINCE, PERIOD, ListFilters(region_code=filters.get("regionCode")), first=lists.PAGE_ROWS, after=after
            )
            first = first or time.perf_counter() - started
            rows += len(page)
            if not more:
                break
            after = page[-1].row_id
    return {"rows": rows, "first": first, "total": time.perf_counter() - started, "bytes": 0, "mb": rss.growth_mb}


async def export(fmt: str, filters: dict) -> dict:
    """(b), (c): the export as the download route streams it, chunks thrown away."""
    started = time.perf_counter()
    size, first = 0, None
    with PeakRss() as rss:
        download = await service.open_export(lists.UNFUNDED, fmt, PROVINCE, {"period": PERIOD, **filters})
        async for chunk in download.body:
            first = first or time.perf_counter() - started
            size += len(chunk)
    return {"rows": None, "first": first, "total": time.perf_counter() - started, "bytes": size, "mb": rss.growth_mb}


async def bench(rows: int) -> None:
    await generate(rows)
    print(f"unfunded list: {rows:,} rows; a tenth: county 430101")
    print(
        f"{'rows':>10} {'what':<8} {'first byte s':>12} {'total s':>9} {'MB out':>8} {'RSS growth MB':>14} {'× paging':>9}"
    )
    growth = {}
    for label, filters in (("tenth", {"regionCode": "430101"}), ("all", {})):
        base = await page_through(filters)
        count = base["rows"]
        for what, result in (
            ("paging", base),
            ("csv", await export("csv", filters)),
            ("xlsx", await export("xlsx", filters)),
        ):
            growth[(label, what)] = result["mb"]
            print(
                f"{count:>10,} {what:<8} {result['first']:12.3f} {result['total']:9.2f} {result['bytes'] / 1e6:8.1f}"
                f" {result['mb']:14.1f} {result['total'] / base['total']:9.2f}"
            )
    for what in ("csv", "xlsx"):
        tenth, whole = max(growth[("tenth", what)], 1.0), growth[("all", what)]
        print(f"{what}: RSS growth of the whole list / a tenth = {whole:.1f} MB / {tenth:.1f} MB = {whole / tenth:.2f}")


async def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    args = ap.parse_args(argv)
    name = f"zizhu_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{args.pg}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{args.pg}/{name}"
    try:
        await installation.migrate(url)
        await db.init(url)
        await bench(args.rows)
        await db.close()
    finally:
        if not args.keep:
            admin = await asyncpg.connect(f"{args.pg}/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        else:
            print(f"kept database {name}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
