"""Prometheus metrics (监控指标) of the domain read at scrape time
(queue depth, workers alive, stalled runs, each period's last run: duration and row counts)."""

from __future__ import annotations

from prometheus_client import Gauge

from zizhu.domain import db
from zizhu.domain.operations.health import queue_health

QUEUE_JOBS = Gauge("zizhu_queue_jobs", "Jobs in the arq queue, by state (queued, running)", ["state"])
WORKERS_ALIVE = Gauge("zizhu_workers_alive", "Workers whose heartbeat is recent")
RUNS_STALLED = Gauge("zizhu_comparison_runs_stalled", "QUEUED comparison runs that no worker is taking")
RUNS_BY_STATUS = Gauge("zizhu_comparison_runs", "Comparison runs kept, by status", ["status"])
LAST_RUN_SECONDS = Gauge(
    "zizhu_comparison_last_run_duration_seconds", "Duration of the last finished run of each period", ["period"]
)
LAST_RUN_ROWS = Gauge(
    "zizhu_comparison_last_run_rows", "Row counts of the last finished run of each period", ["period", "kind"]
)
RUN_ROW_KINDS = ("members", "matched", "unmatched", "funded", "unfunded")

_LAST_RUNS = """
SELECT r.period, r.started_at, r.finished_at, r.members, r.matched, r.unmatched, r.funded, r.unfunded
FROM comparison_run r
WHERE r.id IN (SELECT MAX(id) FROM comparison_run WHERE finished_at IS NOT NULL AND started_at IS NOT NULL
               GROUP BY period)
"""


async def refresh() -> None:
    """Read the scrape-time figures (call before rendering /metrics)."""
    health = await queue_health(None)
    QUEUE_JOBS.labels("queued").set(health.queued_jobs)
    QUEUE_JOBS.labels("running").set(health.running_jobs)
    WORKERS_ALIVE.set(health.alive_workers)
    RUNS_STALLED.set(len(health.stalled_runs))
    RUNS_BY_STATUS.clear()
    for row in await db.fetch("SELECT status, COUNT(*) AS n FROM comparison_run GROUP BY status"):
        RUNS_BY_STATUS.labels(row["status"]).set(row["n"])
    for row in await db.fetch(_LAST_RUNS):
        started, finished = db.as_datetime(row["started_at"]), db.as_datetime(row["finished_at"])
        LAST_RUN_SECONDS.labels(row["period"]).set((finished - started).total_seconds())
        for kind in RUN_ROW_KINDS:
            LAST_RUN_ROWS.labels(row["period"], kind).set(row[kind])
