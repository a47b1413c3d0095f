"""Observability: readiness (database, Redis; the worker check apart), the queueHealth query for
admins, Prometheus /metrics, and worker heartbeats written and removed by the worker itself."""

from __future__ import annotations

import datetime as dt
import math
import re

from strawberry.relay import GlobalID

from zizhu.domain.comparison import engine
from zizhu.domain.operations import heartbeat
from zizhu.workers import main as worker_main
from zizhu.workers.jobs import nightly_compare

TICK = dt.datetime(2024, 1, 9, 18, 0, tzinfo=dt.UTC)  # 02:00 on 2024-01-10 in Shanghai
QUEUE_HEALTH = """{ queueHealth { queue redisReachable aliveWorkers queuedJobs runningJobs
  workers { workerId alive lastHeartbeat } lastNightlyTick { day error runs { id status } }
  stalledRuns { id period status } } }"""


async def _readyz(gql, worker: bool = False) -> tuple[int, dict]:
    r = await gql.http.get("/readyz?worker=1" if worker else "/readyz")
    return r.status_code, r.json()


async def test_readyz_without_redis(gql, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    status, body = await _readyz(gql)
    assert status == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False and "worker" not in body["checks"]
    status, body = await _readyz(gql, worker=True)
    assert status == 503 and body["checks"]["worker"]["ok"] is False
    assert (await gql.http.get("/healthz")).status_code == 200  # liveness does not depend on Redis


async def test_an_instance_stays_ready_without_a_worker_but_the_worker_check_fails(gql, pool, monkeypatch):
    status, body = await _readyz(gql)
    assert status == 200 and body["checks"] == {"database": {"ok": True}, "redis": {"ok": True}}
    status, body = await _readyz(gql, worker=True)
    assert status == 503 and body["checks"]["redis"]["ok"] and not body["checks"]["worker"]["ok"]

    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with monkeypatch.context() as patched:
        patched.setattr(heartbeat, "utcnow", lambda: long_ago)
        await heartbeat.beat(pool, "old-host:1", long_ago)
    status, _ = await _readyz(gql, worker=True)
    assert status == 503  # a stale heartbeat is no worker
    assert (await _readyz(gql))[0] == 200

    await heartbeat.beat(pool, "host:2", dt.datetime.now(dt.UTC))
    status, body = await _readyz(gql, worker=True)
    assert status == 200 and body["status"] == "ok" and body["checks"]["worker"]["ok"]


async def test_the_worker_beats_while_it_runs(pool, arq_queue):
    ctx = {"redis": pool}
    await worker_main.startup(ctx)
    try:
        for _ in range(50):
            if await heartbeat.live_workers():
                break
            await __import__("asyncio").sleep(0.05)
        assert [w.worker_id for w in await heartbeat.live_workers()] == [ctx["worker_id"]]
    finally:
        await worker_main.shutdown(ctx)
    assert await heartbeat.live_workers() == []


async def test_queue_health_lists_runs_no_worker_takes(gql, world, pool, arq_queue):
    admin = await gql.token_for("admin")
    queued = await engine.create_run("2023-2024-1", "MANUAL", "admin", job_id=f"{arq_queue}:manual:x")
    await pool.enqueue_job("compare_period", queued.id, _job_id=queued.job_id, _queue_name=arq_queue)
    health = (await gql.data(QUEUE_HEALTH, token=admin))["queueHealth"]
    assert health["queue"] == arq_queue and health["redisReachable"] and health["aliveWorkers"] == 0
    assert health["queuedJobs"] == 1 and health["runningJobs"] == 0
    assert [(r["id"], r["status"]) for r in health["stalledRuns"]] == [
        (str(GlobalID("ComparisonRun", str(queued.id))), "QUEUED")
    ]

    await heartbeat.beat(pool, "host:3", dt.datetime.now(dt.UTC))
    health = (await gql.data(QUEUE_HEALTH, token=admin))["queueHealth"]
    assert health["aliveWorkers"] == 1 and health["workers"][0]["workerId"] == "host:3"
    assert health["stalledRuns"] == []  # a live worker will take a run queued a moment ago

    county = await gql.token_for("county_op")
    assert await gql.error_code(QUEUE_HEALTH, token=county) == "FORBIDDEN"


async def test_queue_health_shows_the_last_nightly_tick(gql, world, pool, arq_queue):
    run_ids = await nightly_compare({"redis": pool, "clock": lambda: TICK})
    admin = await gql.token_for("admin")
    tick = (await gql.data(QUEUE_HEALTH, token=admin))["queueHealth"]["lastNightlyTick"]
    assert tick["day"] == "2024-01-10" and tick["error"] is None
    assert sorted(int(GlobalID.from_id(r["id"]).node_id) for r in tick["runs"]) == sorted(run_ids) and run_ids


def _sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics(gql, world, pool, arq_queue, tmp_path):
    from tests.support.tiny_comparison import tiny_data_set
    from zizhu.domain.imports import run_import

    scrape = {"Authorization": f"Bearer {await gql.login('admin')}"}
    before = await gql.http.get("/metrics", headers=scrape)
    ok_before = _sample(before.text, "zizhu_graphql_requests_total", operation="codeLists", outcome="ok") or 0
    rows_before = _sample(before.text, "zizhu_imported_rows_total", kind="regions") or 0
    await gql.data("{ codeLists { stages { code } } }")
    assert await gql.error_code("{ me { username } }") == "UNAUTHENTICATED"
    await gql.post("{ anyNameAClientLikes }")  # invalid documents share one label
    regions = tmp_path / "regions.csv"
    regions.write_text("行政区划代码,名称,上级代码\n430300,湘潭市,430000\n", encoding="utf-8")
    await run_import("regions", regions, actor="t")
    await tiny_data_set()
    run = await engine.run_comparison_now("2023-2024-1", trigger="CLI", requested_by="t")
    await engine.create_run("2023-2024-2", "MANUAL", "admin", job_id=f"{arq_queue}:manual:y")

    r = await gql.http.get("/metrics", headers=scrape)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert _sample(text, "zizhu_graphql_requests_total", operation="codeLists", outcome="ok") == ok_before + 1
    assert _sample(text, "zizhu_graphql_requests_total", operation="me", outcome="UNAUTHENTICATED") >= 1
    assert _sample(text, "zizhu_graphql_request_duration_seconds_count", operation="codeLists") >= 1
    assert _sample(text, "zizhu_graphql_requests_total", operation="invalid", outcome="GRAPHQL_VALIDATION") >= 1
    assert "anyNameAClientLikes" not in text
    assert _sample(text, "zizhu_imported_rows_total", kind="regions") == rows_before + 1
    assert _sample(text, "zizhu_comparison_last_run_rows", period="2023-2024-1", kind="unfunded") == run.unfunded
    assert _sample(text, "zizhu_comparison_last_run_duration_seconds", period="2023-2024-1") >= 0
    assert _sample(text, "zizhu_comparison_runs", status="QUEUED") == 1
    assert _sample(text, "zizhu_comparison_runs_stalled") == 1
    assert _sample(text, "zizhu_queue_jobs", state="queued") == 0
    assert _sample(text, "zizhu_workers_alive") == 0
    assert _sample(text, "zizhu_redis_up") == 1


async def test_metrics_tell_redis_down_from_an_empty_queue(gql, world, arq_queue, monkeypatch):
    scrape = {"Authorization": f"Bearer {await gql.token_for('admin')}"}
    empty = (await gql.http.get("/metrics", headers=scrape)).text
    assert _sample(empty, "zizhu_redis_up") == 1
    assert _sample(empty, "zizhu_queue_jobs", state="queued") == 0 and _sample(empty, "zizhu_workers_alive") == 0

    with monkeypatch.context() as patched:
        patched.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
        down = (await gql.http.get("/metrics", headers=scrape)).text
    assert _sample(down, "zizhu_redis_up") == 0
    for value in (_sample(down, "zizhu_queue_jobs", state="queued"), _sample(down, "zizhu_workers_alive")):
        assert value is not None and math.isnan(value)  # unknown, not an empty queue
