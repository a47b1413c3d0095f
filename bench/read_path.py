"""Benchmark of the read path (读取路径) on PostgreSQL: what users do all day, at province scale.

    python bench/read_path.py [--scale 1.0] [--clients 32] [--seconds 15] [--workers 1]
                              [--pg postgres://postgres@127.0.0.1:5432]

1. Creates a throw-away database and migrates it (dropped at the end, also on failure).
2. Builds a province (bench/province.py; at --scale 1: 14 cities, 110 counties, 20,000 schools,
   ~1M enrolments, ~690k aid records, ~400k special-group records, ~16k legacy reasons) through
   the importer, runs the comparison (~92k unfunded) and the carry-over, creates a province, a
   county and a school account.
3. Times the nested rollup as ONE SQL statement (the floor, median of 5; bench/rollup_floor.py).
4. Starts `zizhu serve --no-migrate` on a loopback port (`--workers N` when the server has that
   option), signs the accounts in, and loads each request from --clients connections with npm
   autocannon (installed into bench/.tools when missing) for --seconds, or longer for a slow
   request, up to --max-seconds: 5 rounds of answers (a round ≈ clients × one answer alone):
     a `{ me { username } }` (before and after the others: the reference is their mean)
     b province unfundedStatistics with byCategory, every count
     c nested rollup province → cities (+ ownLevelStatistics) → counties, byCategory, every count
     d a county's schools (Region.schools) with their statistics
     e a county's unfunded list, first page      f a school's unfunded list, first page
     g a page past the middle of the county's list
   A request the server does not know yet prints "skipped: <reason>".
5. Times one rollup request alone (one client, sequential, median of --alone, 20, after a warm-up) against
   the floor, and checks the API's rollup answer cell by cell against the floor's.
6. The reporting season: a writer process reports reasons (each report changes a student's reason
   code) at 2 per second for four schools of the measured province, then at 10 per second for the
   schools of another, small province (广东省, built beside it); under each, the same clients load
   me, the province statistics, the rollup and the county list page (ratios to that phase's me).
   Then the cold rollup right after one write (one report, then one rollup request, median of
   --alone) against the floor.
Prints p50, p99, req/s and req/s as a ratio to `me` per request, the targets beside the ratios
(PASS/FAIL: a measurement, so the exit code does not depend on them), and writes the figures as
JSON into bench/out/. Exits 1 only when a request failed or an answer was wrong.
CI runs it tiny: `--scale 0.002 --seconds 2 --max-seconds 5 --clients 4 --alone 3`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import multiprocessing
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg
import http_load
import province as data
import rollup_floor
from comparison import settle

from zizhu.domain import (
    db,
    installation,
)
from zizhu.domain.comparison.engine import published_sources
from zizhu.domain.comparison.steps import list_rows_of

OUT = ROOT / "bench" / "out"
PERIOD = data.PERIOD
PAGE = 50

COUNTS = "members funded unfunded reasonReported reasonPending"
STATISTICS = (
    f"total {{ {COUNTS} }} byCategory {{ category all {{ {COUNTS} }} central {{ {COUNTS} }} "
    f"selfCollected {{ {COUNTS} }} }}"
)
STUDENT = "idNumber name schoolCode stage categories centralCategories selfCollectedCategories reason { code }"
LIST = f"edges {{ node {{ {STUDENT} }} }} pageInfo {{ hasNextPage endCursor }}"
QUERIES = {
    "me": "{ me { username } }",
    "statistics": f"query($period: String!) {{ unfundedStatistics(period: $period) {{ {STATISTICS} }} }}",
    "rollup": f"""query($period: String!) {{ region {{ code name unfundedStatistics(period: $period) {{ {STATISTICS} }}
        children {{ code name unfundedStatistics(period: $period) {{ {STATISTICS} }}
          ownLevelStatistics(period: $period) {{ {STATISTICS} }}
          children {{ code name unfundedStatistics(period: $period) {{ {STATISTICS} }} }} }} }} }}""",
    "schools": f"""query($period: String!, $county: String!) {{ region(code: $county) {{ schools(first: {PAGE}) {{
        edges {{ node {{ code name stages unfundedStatistics(period: $period) {{ total {{ {COUNTS} }} }} }} }}
        pageInfo {{ hasNextPage endCursor }} }} }} }}""",
    "county_list": f"""query($period: String!, $county: String!, $after: String) {{
        unfundedStudents(period: $period, regionCode: $county, first: {PAGE}, after: $after) {{ {LIST} }} }}""",
    "school_list": f"""query($period: String!) {{ unfundedStudents(period: $period, first: {PAGE}) {{ {LIST} }} }}""",
}
# (label, query, account) in the order they are loaded; "deep" is the county list after a cursor
REQUESTS = [
    ("a", "me", "me", "province"),
    ("b", "statistics", "province unfundedStatistics, byCategory", "province"),
    ("c", "rollup", "rollup province → cities (+own level) → counties", "province"),
    ("d", "schools", "county Region.schools(first: 50) with statistics", "county"),
    ("e", "county_list", "county unfundedStudents(first: 50)", "county"),
    ("f", "school_list", "school unfundedStudents(first: 50)", "school"),
    ("g", "deep", "county list, a page past the middle", "county"),
]
# request → least ratio of its req/s to me's
TARGETS = {"rollup": 0.25, "statistics": 0.5, "schools": 0.5, "county_list": 0.5, "school_list": 0.5, "deep": 0.5}
ALONE_TARGET = 1.5  # one rollup request alone ≤ 1.5 × the floor
COLD_TARGET = 1.5  # the rollup right after one write ≤ 1.5 × the floor
REPORT = "mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { idNumber } }"
SEASON_CODES = ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]  # not 99: it needs a detail
# (writers, reports per second, title, request → least ratio to the phase's me, request → most p99 ms)
SEASON = [
    (
        "measured",
        2.0,
        "writes at 2/s in the measured province",
        {"rollup": 0.25, "statistics": 0.5, "county_list": 0.5},
        {"rollup": 1000.0},
    ),
    ("small", 10.0, "writes at 10/s in another, small province", {"rollup": 0.6}, {}),
]
SEASON_REQUESTS = [
    ("a", "me", "me", "province"),
    ("b", "statistics", "province unfundedStatistics, byCategory", "province"),
    ("c", "rollup", "rollup province → cities (+own level) → counties", "province"),
    ("e", "county_list", "county unfundedStudents(first: 50)", "county"),
]
ROUNDS = 5  # a load lasts at least this many rounds of answers (up to --max-seconds)


def bounded(kind, low, high):
    def parse(text: str):
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not within [{low}, {high}]")
        return value

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=bounded(float, 0.0005, 3.0), default=1.0, help="1.0 = the full province")
    ap.add_argument("--clients", type=bounded(int, 1, 256), default=32, help="concurrent connections")
    ap.add_argument("--seconds", type=bounded(int, 1, 600), default=15, help="load per request")
    ap.add_argument("--workers", type=bounded(int, 1, 16), default=1, help="server processes, if supported")
    ap.add_argument(
        "--max-seconds",
        type=bounded(int, 1, 1800),
        default=180,
        help="longest load of a slow request (it runs for 5 rounds of answers, at least --seconds)",
    )
    ap.add_argument("--alone", type=bounded(int, 1, 100), default=20, help="sequential rollup requests timed alone")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    return ap.parse_args(argv)


# --- database phase -----------------------------------------------------------------------------
async def admin(pg: str, sql: str) -> None:
    conn = await asyncpg.connect(f"{pg}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def prepare(url: str, scale: float) -> dict:
    """Migrate, build the province, time the floor; the facts the HTTP phase needs."""
    await installation.migrate(url)
    await db.init(url)
    try:
        start = time.perf_counter()
        built = await data.build(scale)
        await settle()
        facts = {
            "build_seconds": time.perf_counter() - start,
            "rows": built.counts,
            "run": built.run,
            "inherited": built.inherited,
            "county": built.county,
            "county_schools": built.county_schools,
            "school": built.school,
            "accounts": built.accounts,
            "writers": built.writers,
        }
        (row,) = await db.fetch(
            f"SELECT COUNT(*) AS n FROM unfunded_result t WHERE {list_rows_of('t', built.run['id'], PERIOD)}"
            " AND t.region_code = :county",
            {"county": built.county},
        )
        facts["county_unfunded"] = int(row["n"])
        facts["floor"] = await time_floor(url, built.run["id"])
        return facts
    finally:
        await db.close()


async def time_floor(url: str, run_id: int) -> dict:
    """The rollup as one statement on a plain asyncpg connection (rows as records, no ORM
    conversion): one warm-up, then the median of 5."""
    sources = await published_sources(PERIOD)
    if [(s[0], s[1]) for s in sources] != [(run_id, None)]:
        return {"skipped": f"published runs {sources}: the floor reads one national run"}
    sql, values = db.bind(
        rollup_floor.rollup_sql(run_id, PERIOD), {"province": data.PROVINCE[0], "period": PERIOD}, db.conn()
    )
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(sql, *values)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            await conn.fetch(sql, *values)
            times.append(time.perf_counter() - start)
    finally:
        await conn.close()
    return {
        "ms": statistics.median(times) * 1000,
        "times_ms": [t * 1000 for t in times],
        "cells": rollup_floor.cells(rows),
    }


# --- HTTP phase ---------------------------------------------------------------------------------
def deep_cursor(client: http_load.Client, token: str, county: str, total: int) -> tuple[str | None, int]:
    """The cursor before a page past the middle of the county's list, and that page's number."""
    pages = max(1, math.ceil(total / PAGE))
    target = min(pages, pages // 2 + 1)
    after, deadline = None, time.monotonic() + 600
    for _ in range(target - 1):
        if time.monotonic() > deadline:
            raise RuntimeError("walking the county list took over 600 s")
        page = client.execute(QUERIES["county_list"], {"period": PERIOD, "county": county, "after": after}, token)[
            "unfundedStudents"
        ]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    return after, target


def run_requests(args, facts: dict, server: http_load.Server, workers_note: str) -> dict:
    client = http_load.Client(server.url)
    try:
        tokens = {role: client.login(username, data.PASSWORD) for role, username in facts["accounts"].items()}
        variables = {"period": PERIOD, "county": facts["county"]}
        after, page_no = deep_cursor(client, tokens["county"], facts["county"], facts["county_unfunded"])
        bodies = {
            name: http_load.Client.body(q, {k: v for k, v in variables.items() if f"${k}" in q})
            for name, q in QUERIES.items()
        }
        bodies["deep"] = http_load.Client.body(QUERIES["county_list"], {**variables, "after": after})
        results: dict[str, dict] = {}
        answers: dict[str, dict] = {}
        order = REQUESTS + [("a'", "me", "me (again, after the others)", "province")]
        for label, name, title, role in order:
            key = name if label != "a'" else "me_after"
            entry = {"label": label, "title": title, "account": facts["accounts"][role]}
            results[key] = entry
            answer = measure(args, client, server.url, bodies[name], tokens[role], entry)
            if answer is not None:
                answers[key] = answer
        alone = rollup_alone(client, bodies["rollup"], tokens["province"], args.alone) if "rollup" in answers else None
    finally:
        client.close()
    return {"requests": results, "answers": answers, "alone": alone, "deep_page": page_no, "workers": workers_note}


def measure(args, client: http_load.Client, url: str, body: str, token: str, entry: dict) -> dict | None:
    """Check one answer (skipped or failed when it has errors), time one more alone, then load it;
    returns the answer's data and fills `entry`."""
    try:
        answer = json.loads(client.post(body, token))
        if answer.get("errors"):
            raise http_load.GraphQLError(answer["errors"])
    except http_load.GraphQLError as e:
        entry["skipped" if e.unknown_to_server else "failed"] = f"{e.code or 'schema'}: {e}"
        print(f"  {entry['label']} {entry['title']}: {'skipped' if e.unknown_to_server else 'FAILED'}: {e}", flush=True)
        return None
    seconds = load_seconds(args, client.timed(body, token))
    r = http_load.load(url, body, token, args.clients, seconds)
    entry.update(
        {
            "p50_ms": r.p50_ms,
            "p99_ms": r.p99_ms,
            "per_second": r.per_second,
            "requests": r.requests,
            "seconds": r.seconds,
            "bad": r.bad,
        }
    )
    print(
        f"  {entry['label']} {entry['title']}: {r.requests} requests in {r.seconds:.0f} s, {r.per_second:.1f}/s, "
        f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms" + (f", {r.bad} bad answers" if r.bad else ""),
        flush=True,
    )
    return answer["data"]


def load_seconds(args, alone: float) -> int:
    """At least --seconds, and (up to --max-seconds) long enough for ROUNDS rounds of answers: with
    every connection busy, a round takes about clients × the time of one answer alone, and a load
    shorter than a few rounds would count few of the answers or none."""
    return max(args.seconds, min(args.max_seconds, math.ceil(ROUNDS * args.clients * alone)))


def rollup_alone(client: http_load.Client, body: str, token: str, runs: int) -> dict:
    client.timed(body, token)  # warm-up
    times = [client.timed(body, token) for _ in range(runs)]
    return {"ms": statistics.median(times) * 1000, "times_ms": [t * 1000 for t in times]}


# --- reporting season -------------------------------------------------------------------------------
def report_body(target: tuple[str, str, str], visit: int) -> str:
    _, stage, id_number = target
    code = SEASON_CODES[visit % len(SEASON_CODES)]
    return http_load.Client.body(
        REPORT, {"i": {"period": PERIOD, "stage": stage, "idNumber": id_number, "reasonCode": code}}
    )


def writer(url: str, targets: list, tokens: dict, rate: float, stop, done, failed) -> None:
    """Report reasons at `rate` per second until `stop` is set (its own process): student after
    student, and on each new visit of a student another code, so every report moves a count."""
    client = http_load.Client(url)
    i, due = 0, time.monotonic()
    try:
        while not stop.is_set():
            target = targets[i % len(targets)]
            answer = json.loads(client.post(report_body(target, i // len(targets) + 1), tokens[target[0]]))
            with (failed if answer.get("errors") else done).get_lock():
                (failed if answer.get("errors") else done).value += 1
            i += 1
            due += 1 / rate
            time.sleep(max(0.0, due - time.monotonic()))
    finally:
        client.close()


def season_phase(args, url: str, facts: dict, tokens: dict, bodies: dict, writers: str, rate: float) -> dict:
    targets = facts["writers"][writers]
    if not targets:
        return {"skipped": f"no unfunded students to report for in {writers}"}
    client = http_load.Client(url)
    writer_tokens = {u: client.login(u, data.PASSWORD) for u in sorted({t[0] for t in targets})}
    client.close()
    context = multiprocessing.get_context("fork")
    stop, done, failed = context.Event(), context.Value("i", 0), context.Value("i", 0)
    process = context.Process(target=writer, args=(url, targets, writer_tokens, rate, stop, done, failed), daemon=True)
    process.start()
    started = time.monotonic()
    results: dict[str, dict] = {}
    client = http_load.Client(url)
    try:
        for label, name, title, role in SEASON_REQUESTS + [("a'", "me", "me (again, after the others)", "province")]:
            entry = {"label": label, "title": title, "account": facts["accounts"][role]}
            results[name if label != "a'" else "me_after"] = entry
            measure(args, client, url, bodies[name], tokens[role], entry)
    finally:
        stop.set()
        process.join(30)
        client.close()
    seconds = time.monotonic() - started
    return {
        "requests": results,
        "reports": done.value,
        "failed_reports": failed.value,
        "report_rate": done.value / seconds,
    }


def cold_after_write(url: str, facts: dict, token: str, body: str, runs: int) -> dict:
    """One report in the measured province, then one rollup request: its time, median of `runs`."""
    target = facts["writers"]["measured"][0]
    client = http_load.Client(url)
    try:
        writer_token = client.login(target[0], data.PASSWORD)
        client.timed(body, token)
        times = []
        for visit in range(runs):
            client.post(report_body(target, 1000 + visit), writer_token)
            times.append(client.timed(body, token))
    finally:
        client.close()
    return {"ms": statistics.median(times) * 1000, "times_ms": [t * 1000 for t in times]}


def run_season(args, facts: dict, server: http_load.Server) -> dict:
    client = http_load.Client(server.url)
    try:
        tokens = {role: client.login(username, data.PASSWORD) for role, username in facts["accounts"].items()}
    finally:
        client.close()
    variables = {"period": PERIOD, "county": facts["county"]}
    bodies = {
        name: http_load.Client.body(q, {k: v for k, v in variables.items() if f"${k}" in q})
        for name, q in QUERIES.items()
    }
    phases = {}
    for writers, rate, title, _, _ in SEASON:
        print(f"  reporting season: {title}", flush=True)
        phases[writers] = season_phase(args, server.url, facts, tokens, bodies, writers, rate)
    cold = (
        cold_after_write(server.url, facts, tokens["province"], bodies["rollup"], args.alone)
        if facts["writers"]["measured"]
        else None
    )
    return {"phases": phases, "cold_after_write": cold}


def report_season(facts: dict, season: dict) -> dict:
    summary: dict = {}
    for writers, _rate, title, targets, p99_targets in SEASON:
        phase = season["phases"].get(writers, {})
        if "requests" not in phase:
            print(f"\nreporting season, {title}: skipped: {phase.get('skipped')}")
            continue
        results = phase["requests"]
        me = [results[k]["per_second"] for k in ("me", "me_after") if results.get(k, {}).get("per_second")]
        reference = statistics.mean(me) if me else None
        print(
            f"\nreporting season, {title}: {phase['reports']} reports ({phase['report_rate']:.1f}/s), "
            f"{phase['failed_reports']} refused"
        )
        print(f"{'':3}{'request':<52}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'vs me':>8}  target")
        for key, entry in results.items():
            if not entry.get("requests"):
                print(
                    f"{entry['label']:<3}{entry['title']:<52}  {entry.get('skipped') or entry.get('failed') or 'no answer'}"
                )
                continue
            ratio = entry["per_second"] / reference if reference else 0.0
            entry["ratio"] = ratio
            target = ""
            name = "me" if key == "me_after" else key
            if name in targets:
                entry["pass"] = ratio >= targets[name] and entry["p99_ms"] <= p99_targets.get(name, math.inf)
                target = f"≥ {targets[name]:.2f}" + (
                    f", p99 ≤ {p99_targets[name]:.0f} ms" if name in p99_targets else ""
                )
                target += f"  {'PASS' if entry['pass'] else 'FAIL'}"
            print(
                f"{entry['label']:<3}{entry['title']:<52}{entry['p50_ms']:9.1f}{entry['p99_ms']:9.1f}"
                f"{entry['per_second']:9.1f}{ratio:8.3f}  {target}"
            )
        summary[writers] = {k: v.get("ratio") for k, v in results.items()}
    cold, floor = season.get("cold_after_write"), facts["floor"]
    if cold and "ms" in floor:
        ratio = cold["ms"] / floor["ms"]
        summary["cold_after_write_vs_floor"] = ratio
        print(
            f"\ncold rollup right after one write (median of {len(cold['times_ms'])}): {cold['ms']:.1f} ms = "
            f"{ratio:.2f} × floor  target ≤ {COLD_TARGET}  {'PASS' if ratio <= COLD_TARGET else 'FAIL'}"
        )
    return summary


# --- report ----------------------------------------------------------------------------------------
def report(args, facts: dict, measured: dict) -> tuple[dict, bool]:
    results, ok = measured["requests"], True
    me = [results[k]["per_second"] for k in ("me", "me_after") if "per_second" in results.get(k, {})]
    reference = statistics.mean(me) if me else None
    print(
        f"\nread path, scale {args.scale}, {args.clients} clients × {args.seconds} s per request, "
        f"server: {measured['workers']}"
    )
    print(f"{'':3}{'request':<52}{'s':>5}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'vs me':>8}  target")
    for key, entry in results.items():
        name = "me" if key == "me_after" else key
        if "per_second" not in entry:
            ok = ok and "failed" not in entry
            print(
                f"{entry['label']:<3}{entry['title']:<52}  {'skipped' if 'skipped' in entry else 'FAILED'}: "
                f"{entry.get('skipped') or entry.get('failed')}"
            )
            continue
        if not entry["requests"]:
            print(
                f"{entry['label']:<3}{entry['title']:<52}  no answer completed within {entry['seconds']:.0f} s"
                + (f"  target ≥ {TARGETS[name]:.2f}  FAIL" if name in TARGETS else "")
            )
            continue
        ratio = entry["per_second"] / reference if reference else None
        entry["ratio"] = ratio
        target = ""
        if name in TARGETS and ratio is not None:
            entry["target"] = TARGETS[name]
            entry["pass"] = ratio >= TARGETS[name] and not entry["bad"]
            target = f"≥ {TARGETS[name]:.2f}  {'PASS' if entry['pass'] else 'FAIL'}"
        if entry["bad"]:
            ok = False
            target += f"  ({entry['bad']} bad answers)"
        print(
            f"{entry['label']:<3}{entry['title']:<52}{entry['seconds']:5.0f}{entry['p50_ms']:9.1f}{entry['p99_ms']:9.1f}"
            f"{entry['per_second']:9.1f}{ratio:8.3f}  {target}"
        )
    floor, alone, runs = facts["floor"], measured["alone"], args.alone
    summary = {"reference_me_per_second": reference}
    if "ms" in floor:
        print(f"\nSQL floor of the rollup (one statement, median of 5): {floor['ms']:.1f} ms")
        if alone:
            ratio = alone["ms"] / floor["ms"]
            summary.update(
                alone_ms=alone["ms"], floor_ms=floor["ms"], alone_vs_floor=ratio, alone_pass=ratio <= ALONE_TARGET
            )
            print(
                f"one rollup request alone (median of {runs}): {alone['ms']:.1f} ms = {ratio:.2f} × floor  "
                f"target ≤ {ALONE_TARGET}  {'PASS' if ratio <= ALONE_TARGET else 'FAIL'}"
            )
        if "rollup" in measured["answers"]:
            wrong = rollup_floor.differences(
                floor["cells"], rollup_floor.api_cells(measured["answers"]["rollup"]["region"])
            )
            summary["rollup_cells_differing"] = len(wrong)
            print(f"rollup answer vs the floor: {'every cell equal' if not wrong else f'{len(wrong)} cells DIFFER'}")
            for line in wrong[:10]:
                print(f"  {line}")
            ok = ok and not wrong
    else:
        print(f"\nSQL floor: skipped: {floor.get('skipped')}")
    return summary, ok


def write_json(args, facts: dict, measured: dict, summary: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"read_path-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    floor = {k: v for k, v in facts["floor"].items() if k != "cells"}
    document = {
        "args": vars(args),
        "data": {k: v for k, v in facts.items() if k != "floor"},
        "floor": floor,
        "requests": measured["requests"],
        "rollup_alone": measured["alone"],
        "season": measured["season"],
        "summary": summary,
        "deep_page": measured["deep_page"],
        "server": measured["workers"],
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and drop the database
    started = time.monotonic()
    http_load.ensure_autocannon()
    name = f"zizhu_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(args.pg, f'CREATE DATABASE "{name}"'))
    try:
        facts = asyncio.run(prepare(f"{args.pg}/{name}", args.scale))
        facts["prepare_seconds"] = time.monotonic() - started
        print(
            f"built in {facts['build_seconds']:.0f} s: {facts['rows']}; run {facts['run']}; "
            f"{facts['inherited']} reasons carried over; county {facts['county']} ({facts['county_schools']} "
            f"schools, {facts['county_unfunded']} unfunded), school {facts['school']}",
            flush=True,
        )
        supports_workers = "--workers" in http_load.serve_help()
        workers = args.workers if supports_workers else None
        note = (
            f"{args.workers} process(es)"
            if supports_workers
            else ("1 process (skipped --workers: zizhu serve has no such option yet)")
        )
        log = OUT / f"read_path-server-{name}.log"
        with http_load.Server(f"{args.pg}/{name}?maxsize=20", log, workers) as server:
            measured = run_requests(args, facts, server, note)
            measured["season"] = run_season(args, facts, server)
    finally:
        asyncio.run(admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    summary, ok = report(args, facts, measured)
    summary["season"] = report_season(facts, measured["season"])
    ok = ok and all(
        not p.get("failed_reports") and not any(e.get("failed") or e.get("bad") for e in p.get("requests", {}).values())
        for p in measured["season"]["phases"].values()
    )
    print(
        f"figures: {write_json(args, facts, measured, summary)} (whole benchmark {time.monotonic() - started:.0f} s, "
        f"of which the database and data set {facts['prepare_seconds']:.0f} s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
