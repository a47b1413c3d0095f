"""Prometheus metrics (监控指标) of the domain read at scrape time
(Redis up, queue depth, workers alive, stalled runs, each period's last run: duration and row counts),
and the exposition of every metric of the process — or, under `zizhu serve --workers N`, of all
its server processes.

Design notes: docs/design/domain-operations.md."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Gauge, generate_latest, multiprocess

from zizhu.domain import db
from zizhu.domain.operations.health import queue_health
from zizhu.domain.reference.codes import RunStatus

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Scrape-time gauges: in multiprocess mode the value last set by any process is the one shown.
_MODE: Final = "mostrecent"

REDIS_UP = Gauge(
    "zizhu_redis_up", "1 when Redis (the task queue) answered at the last scrape, else 0", multiprocess_mode=_MODE
)
QUEUE_JOBS = Gauge(
    "zizhu_queue_jobs",
    "Jobs in the arq queue, by state (queued, running); NaN while Redis is unreachable",
    ["state"],
    multiprocess_mode=_MODE,
)
WORKERS_ALIVE = Gauge(
    "zizhu_workers_alive", "Workers whose heartbeat is recent; NaN while Redis is unreachable", multiprocess_mode=_MODE
)
RUNS_STALLED = Gauge(
    "zizhu_comparison_runs_stalled", "QUEUED comparison runs that no worker is taking", multiprocess_mode=_MODE
)
RUNS_BY_STATUS = Gauge("zizhu_comparison_runs", "Comparison runs kept, by status", ["status"], multiprocess_mode=_MODE)
LAST_RUN_SECONDS = Gauge(
    "zizhu_comparison_last_run_duration_seconds",
    "Duration of the last finished run of each period",
    ["period"],
    multiprocess_mode=_MODE,
)
LAST_RUN_ROWS = Gauge(
    "zizhu_comparison_last_run_rows",
    "Row counts of the last finished run of each period",
    ["period", "kind"],
    multiprocess_mode=_MODE,
)
RUN_ROW_KINDS = ("members", "matched", "unmatched", "funded", "unfunded")

_LAST_RUNS = """
SELECT r.period, r.started_at, r.finished_at, r.members, r.matched, r.unmatched, r.funded, r.unfunded
FROM comparison_run r
WHERE r.id IN (SELECT MAX(id) FROM comparison_run WHERE finished_at IS NOT NULL AND started_at IS NOT NULL
               GROUP BY period)
"""


async def refresh() -> None:
    """Read the scrape-time figures (call before rendering /metrics). With Redis unreachable,
    `zizhu_redis_up` is 0 and the queue figures are NaN (unknown), never 0 (an empty queue)."""
    health = await queue_health(None)
    REDIS_UP.set(1 if health.redis_ok else 0)
    unknown = math.nan
    QUEUE_JOBS.labels("queued").set(health.queued_jobs if health.redis_ok else unknown)
    QUEUE_JOBS.labels("running").set(health.running_jobs if health.redis_ok else unknown)
    WORKERS_ALIVE.set(health.alive_workers if health.redis_ok else unknown)
    RUNS_STALLED.set(len(health.stalled_runs))
    counts = {
        row["status"]: row["n"]
        for row in await db.fetch("SELECT status, COUNT(*) AS n FROM comparison_run GROUP BY status")
    }
    for status in dict.fromkeys([*(s.value for s in RunStatus), *counts]):
        RUNS_BY_STATUS.labels(status).set(counts.get(status, 0))
    for row in await db.fetch(_LAST_RUNS):
        started, finished = db.as_datetime(row["started_at"]), db.as_datetime(row["finished_at"])
        LAST_RUN_SECONDS.labels(row["period"]).set((finished - started).total_seconds())
        for kind in RUN_ROW_KINDS:
            LAST_RUN_ROWS.labels(row["period"], kind).set(row[kind])


def multiprocess_dir() -> str | None:
    """The multiprocess collector folder of this process, if any."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: Path) -> Path:
    """Create the collector folder, or empty one left by an earlier run (its samples would be
    added to the new processes' ones), and point this process's children at it."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def exposition() -> tuple[bytes, str]:
    """Every metric in the Prometheus text format, and its content type: this process's, or, in
    multiprocess mode, all server processes' together."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
