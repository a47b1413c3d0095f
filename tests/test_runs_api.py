"""recomputeUnfunded / comparisonRun / comparisonRuns over GraphQL, with the real Redis."""

from __future__ import annotations

import asyncio

import pytest
from strawberry.relay import GlobalID

from tests.support.tiny_comparison import tiny_data_set
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.comparison import queue
from zizhu.domain.models import AuditEntry, ComparisonRun

P = "2023-2024-1"


def gid(run_id: int) -> str:
    """The global ID of a run (the API's `id`)."""
    return str(GlobalID("ComparisonRun", str(run_id)))


def local(global_id: str) -> int:
    return int(GlobalID.from_id(global_id).node_id)


RECOMPUTE = """mutation($p: String!) { recomputeUnfunded(period: $p) {
    id period trigger requestedBy status published attempts error } }"""
RUN = """query($id: ID!) { comparisonRun(id: $id) {
    id period status published members matched unmatched funded unfunded newlyUnfunded newlyFunded
    queuedAt startedAt finishedAt requestedBy error } }"""
RUNS = """query($p: String!, $first: Int, $after: String) { comparisonRuns(period: $p, first: $first, after: $after) {
    edges { cursor node { id trigger status requestedBy } } pageInfo { hasNextPage endCursor } } }"""


async def test_admin_recompute_queues_a_run_and_a_job(gql, world, pool, arq_queue):
    token = await gql.login("admin")
    run = (await gql.data(RECOMPUTE, {"p": P}, token=token))["recomputeUnfunded"]
    assert {k: run[k] for k in ("period", "trigger", "requestedBy", "status", "published", "attempts", "error")} == {
        "period": P,
        "trigger": "MANUAL",
        "requestedBy": "admin",
        "status": "QUEUED",
        "published": False,
        "attempts": 0,
        "error": None,
    }

    (job,) = await pool.queued_jobs(queue_name=arq_queue)
    assert (job.function, job.args) == ("compare_period", (local(run["id"]),))
    stored = await ComparisonRun.get(id=local(run["id"]))
    assert stored.job_id == job.job_id and job.job_id.startswith(f"{arq_queue}:manual:{P}:")
    audit = await AuditEntry.get(action="RECOMPUTE_REQUESTED")
    assert (audit.actor, audit.entity_key, audit.after["period"]) == ("admin", str(local(run["id"])), P)

    # A second request is a second run (a manual recomputation is never deduplicated).
    await gql.data(RECOMPUTE, {"p": P}, token=token)
    assert len(await pool.queued_jobs(queue_name=arq_queue)) == 2


async def test_only_admins_and_authorities_recompute(gql, world, pool, arq_queue):
    for user in ("school_op", "school_rev", "kg_op"):
        token = await gql.login(user)
        assert await gql.error_code(RECOMPUTE, {"p": P}, token=token) == "FORBIDDEN", user
    county = await gql.login("county_op")
    assert await gql.error_code(RECOMPUTE, {"p": P}) == "UNAUTHENTICATED"
    admin = await gql.login("admin")
    assert await gql.error_code(RECOMPUTE, {"p": "2023-2025-1"}, token=admin) == "VALIDATION"
    assert await gql.error_code(RECOMPUTE, {"p": "2023-2025-1"}, token=county) == "VALIDATION"
    assert await ComparisonRun.all().count() == 0
    assert await pool.queued_jobs(queue_name=arq_queue) == []


async def test_an_authority_recomputes_its_own_province_one_waiting_at_a_time(gql, world, pool, arq_queue):
    first = (await gql.data(RECOMPUTE, {"p": P}, token=await gql.login("county_op")))["recomputeUnfunded"]
    again = (await gql.data(RECOMPUTE, {"p": P}, token=await gql.login("province_op")))["recomputeUnfunded"]
    assert again["id"] == first["id"] and first["status"] == "QUEUED"
    run = await ComparisonRun.get(id=local(first["id"]))
    assert (run.province, run.trigger, run.requested_by) == ("43", "MANUAL", "county_op")
    (job,) = await pool.queued_jobs(queue_name=arq_queue)
    assert job.args == (run.id,)
    guangdong = (await gql.data(RECOMPUTE, {"p": P}, token=await gql.login("gd_op")))["recomputeUnfunded"]
    assert (await ComparisonRun.get(id=local(guangdong["id"]))).province == "44"
    await comparison.execute_run(run.id)  # once it ran, the next request queues a new run
    later = (await gql.data(RECOMPUTE, {"p": P}, token=await gql.login("city_op")))["recomputeUnfunded"]
    assert later["id"] != first["id"]
    assert await ComparisonRun.filter(province="43").count() == 2


async def test_queue_unavailable_leaves_no_queued_run_and_the_rest_works(gql, world, monkeypatch):
    admin = await gql.login("admin")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")  # nothing listens there
    body = await gql.post(RECOMPUTE, {"p": P}, token=admin)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUEUE_UNAVAILABLE"
    assert "任务队列" in error["message"]
    assert await ComparisonRun.filter(status="QUEUED").count() == 0
    # Everything else keeps working: other queries, and a run computed in-process.
    assert (await gql.data("{ me { username } }", token=admin))["me"]["username"] == "admin"
    done = await comparison.run_comparison_now(P, trigger="CLI", requested_by="cli")
    runs = (await gql.data(RUNS, {"p": P}, token=admin))["comparisonRuns"]["edges"]
    assert [(e["node"]["id"], e["node"]["status"]) for e in runs] == [(gid(done.id), "SUCCEEDED")]


async def _mute_redis(answer_ping: bool):
    """A server that accepts connections and answers nothing (or only PING and set-up commands)."""
    writers = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while answer_ping:
            header = await reader.readline()
            if not header:
                return
            words = []
            for _ in range(int(header[1:]) if header.startswith(b"*") else 0):
                size = int((await reader.readline())[1:])
                words.append((await reader.readexactly(size + 2))[:-2].upper())
            if words[:1] == [b"PING"]:
                writer.write(b"+PONG\r\n")
            elif words[:1] in ([b"CLIENT"], [b"SELECT"]):
                writer.write(b"+OK\r\n")
            else:
                await asyncio.Event().wait()  # never answers the job itself
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, writers


@pytest.mark.parametrize("answer_ping", [False, True], ids=["mute", "answers-only-ping"])
async def test_a_redis_that_never_answers_gives_queue_unavailable(gql, world, monkeypatch, answer_ping):
    admin = await gql.login("admin")
    server, writers = await _mute_redis(answer_ping)
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0")
    monkeypatch.setattr(queue, "REPLY_TIMEOUT_S", 0.5)
    try:
        body = await asyncio.wait_for(gql.post(RECOMPUTE, {"p": P}, token=admin), 60)  # hung before
    finally:
        for w in writers:
            w.close()
        server.close()
    assert writers, "the request never reached the server"
    assert body["errors"][0]["extensions"]["code"] == "QUEUE_UNAVAILABLE"
    assert await ComparisonRun.filter(status="QUEUED").count() == 0
    # past the connection check, the run was created and then failed by the enqueue's timeout
    assert await ComparisonRun.filter(status="FAILED").count() == (1 if answer_ping else 0)


async def test_enqueue_failure_after_the_check_marks_the_run_failed(world, pool, arq_queue, monkeypatch):
    from zizhu.domain.errors import QueueUnavailable

    async def broken(pool, run):
        raise QueueUnavailable(queue.UNAVAILABLE_MESSAGE)

    monkeypatch.setattr(queue, "enqueue_run", broken)
    try:
        await queue.request_comparison(P, requested_by="admin")
    except QueueUnavailable:
        pass
    else:
        raise AssertionError("QueueUnavailable expected")
    (run,) = await ComparisonRun.all()
    assert (run.status, run.error) == ("FAILED", queue.UNAVAILABLE_MESSAGE)
    assert await AuditEntry.filter(action="RECOMPUTE_FAILED").count() == 1


async def test_comparison_run_shows_progress_and_results(gql, world):
    await tiny_data_set()
    done = await comparison.run_comparison_now(P, trigger="CLI", requested_by="cli")
    queued = await comparison.create_run(P, "MANUAL", "admin")
    token = await gql.login("admin")
    got = (await gql.data(RUN, {"id": str(done.id)}, token=token))["comparisonRun"]
    assert {
        k: got[k]
        for k in (
            "status",
            "published",
            "members",
            "matched",
            "unmatched",
            "funded",
            "unfunded",
            "newlyUnfunded",
            "newlyFunded",
        )
    } == {
        "status": "SUCCEEDED",
        "published": True,
        "members": 3,
        "matched": 2,
        "unmatched": 1,
        "funded": 1,
        "unfunded": 1,
        "newlyUnfunded": 0,
        "newlyFunded": 0,
    }
    assert got["startedAt"] and got["finishedAt"]
    waiting = (await gql.data(RUN, {"id": str(queued.id)}, token=token))["comparisonRun"]
    assert (waiting["status"], waiting["published"], waiting["startedAt"]) == ("QUEUED", False, None)

    school = await gql.login("school_op")
    # a school watches the national runs (what a run changed is scoped to the school), not their totals
    watched = (await gql.data(RUN, {"id": gid(done.id)}, token=school))["comparisonRun"]
    assert (watched["status"], watched["members"], watched["requestedBy"]) == ("SUCCEEDED", None, None)
    assert await gql.error_code(RUN, {"id": str(GlobalID("Region", str(done.id)))}, token=school) == "NOT_FOUND"
    admin = await gql.login("admin")
    assert await gql.error_code(RUN, {"id": "999999"}, token=admin) == "NOT_FOUND"
    assert await gql.error_code(RUN, {"id": "abc"}, token=admin) == "VALIDATION"  # not a row id at all


async def test_run_totals_only_for_accounts_whose_scope_covers_the_run(gql, world):
    """A run's figures are totals of its whole scope: a county account must not read national (or
    provincial) totals, nor who requested the run; it still sees the runs that cover it."""
    await tiny_data_set()
    national = await comparison.run_comparison_now(P, trigger="CLI", requested_by="admin")
    hunan = await comparison.create_run(P, "MANUAL", "admin", province="43")

    async def seen(user: str) -> dict[str, dict]:
        token = await gql.login(user)
        listed = [e["node"]["id"] for e in (await gql.data(RUNS, {"p": P}, token=token))["comparisonRuns"]["edges"]]
        runs = {i: (await gql.data(RUN, {"id": i}, token=token))["comparisonRun"] for i in listed}
        assert all(r["requestedBy"] is None for r in runs.values()) or user == "admin"
        return runs

    gd = await seen("gd_op")
    assert list(gd) == [gid(national.id)] and gd[gid(national.id)]["members"] is None
    assert await gql.error_code(RUN, {"id": str(hunan.id)}, token=await gql.login("gd_op")) == "NOT_FOUND"
    for user in ("county_op", "city_op", "school_op"):
        runs = await seen(user)
        assert list(runs) == [gid(hunan.id), gid(national.id)]
        assert all(r["members"] is None and r["unfunded"] is None for r in runs.values()), user
    province = await seen("province_op")
    assert province[gid(national.id)]["members"] is None
    assert province[gid(hunan.id)]["members"] == 0  # its own province's run: totals shown
    admin = await seen("admin")
    assert admin[gid(national.id)]["members"] == 3 and admin[gid(national.id)]["requestedBy"] == "admin"


async def test_a_failed_runs_technical_error_is_for_administrators_only(gql, world):
    run = await comparison.create_run(P, "MANUAL", "admin", province="43")
    await comparison.mark_failed(run.id, "IntegrityError: duplicate key (id_number)=(430102201501010011)")
    province = await gql.login("province_op")
    seen = (await gql.data(RUN, {"id": str(run.id)}, token=province))["comparisonRun"]
    assert seen["status"] == "FAILED" and "430102" not in seen["error"]
    admin = await gql.login("admin")
    assert "IntegrityError" in (await gql.data(RUN, {"id": str(run.id)}, token=admin))["comparisonRun"]["error"]


async def test_comparison_runs_are_paged_newest_first(gql, world):
    made = [await comparison.create_run(P, trigger, "admin") for trigger in ("CRON", "MANUAL", "CLI")]
    await comparison.create_run("2023-2024-2", "MANUAL", "admin")  # another period: not listed
    admin = await gql.login("admin")
    page = (await gql.data(RUNS, {"p": P, "first": 2}, token=admin))["comparisonRuns"]
    assert [(e["node"]["id"], e["node"]["trigger"]) for e in page["edges"]] == [
        (gid(made[2].id), "CLI"),
        (gid(made[1].id), "MANUAL"),
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql.data(RUNS, {"p": P, "first": 2, "after": page["pageInfo"]["endCursor"]}, token=admin)
    rest = rest["comparisonRuns"]
    assert [e["node"]["id"] for e in rest["edges"]] == [gid(made[0].id)]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert await gql.error_code(RUNS, {"p": P, "after": "not-a-cursor"}, token=admin) == "VALIDATION"
