"""recomputeUnfunded / comparisonRun / comparisonRuns over GraphQL, with the real Redis."""
from __future__ import annotations

from zizhu.domain.comparison import engine as comparison, queue
from zizhu.domain.models import AuditEntry, ComparisonRun
from tests.support.tiny_comparison import tiny_data_set

P = "2023-2024-1"
RECOMPUTE = """mutation($p: String!) { recomputeUnfunded(period: $p) {
    id period trigger requestedBy status published attempts error } }"""
RUN = """query($id: ID!) { comparisonRun(id: $id) {
    id period status published members matched unmatched funded unfunded newlyUnfunded newlyFunded
    queuedAt startedAt finishedAt } }"""
RUNS = """query($p: String!, $first: Int, $after: String) { comparisonRuns(period: $p, first: $first, after: $after) {
    edges { cursor node { id trigger status } } pageInfo { hasNextPage endCursor } } }"""


async def test_admin_recompute_queues_a_run_and_a_job(gql, world, pool, arq_queue):
    token = await gql.login("admin")
    run = (await gql.data(RECOMPUTE, {"p": P}, token=token))["recomputeUnfunded"]
    assert {k: run[k] for k in ("period", "trigger", "requestedBy", "status", "published", "attempts", "error")} == {
        "period": P, "trigger": "MANUAL", "requestedBy": "admin", "status": "QUEUED", "published": False,
        "attempts": 0, "error": None}

    (job,) = await pool.queued_jobs(queue_name=arq_queue)
    assert (job.function, job.args) == ("compare_period", (int(run["id"]),))
    stored = await ComparisonRun.get(id=int(run["id"]))
    assert stored.job_id == job.job_id and job.job_id.startswith(f"{arq_queue}:manual:{P}:")
    audit = await AuditEntry.get(action="RECOMPUTE_REQUESTED")
    assert (audit.actor, audit.entity_key, audit.after["period"]) == ("admin", run["id"], P)

    # A second request is a second run (a manual recomputation is never deduplicated).
    await gql.data(RECOMPUTE, {"p": P}, token=token)
    assert len(await pool.queued_jobs(queue_name=arq_queue)) == 2


async def test_only_admins_recompute(gql, world, pool, arq_queue):
    for user in ("school_op", "county_op", "province_op"):
        token = await gql.login(user)
        assert await gql.error_code(RECOMPUTE, {"p": P}, token=token) == "FORBIDDEN", user
    assert await gql.error_code(RECOMPUTE, {"p": P}) == "UNAUTHENTICATED"
    admin = await gql.login("admin")
    assert await gql.error_code(RECOMPUTE, {"p": "2023-2025-1"}, token=admin) == "VALIDATION"
    assert await ComparisonRun.all().count() == 0
    assert await pool.queued_jobs(queue_name=arq_queue) == []


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
    assert [(e["node"]["id"], e["node"]["status"]) for e in runs] == [(str(done.id), "SUCCEEDED")]


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
    token = await gql.login("province_op")  # authorities may watch progress
    got = (await gql.data(RUN, {"id": str(done.id)}, token=token))["comparisonRun"]
    assert {k: got[k] for k in ("status", "published", "members", "matched", "unmatched", "funded", "unfunded",
                                "newlyUnfunded", "newlyFunded")} == {
        "status": "SUCCEEDED", "published": True, "members": 3, "matched": 2, "unmatched": 1, "funded": 1,
        "unfunded": 1, "newlyUnfunded": 0, "newlyFunded": 0}
    assert got["startedAt"] and got["finishedAt"]
    waiting = (await gql.data(RUN, {"id": str(queued.id)}, token=token))["comparisonRun"]
    assert (waiting["status"], waiting["published"], waiting["startedAt"]) == ("QUEUED", False, None)

    school = await gql.login("school_op")
    assert await gql.error_code(RUN, {"id": str(done.id)}, token=school) == "FORBIDDEN"
    assert await gql.error_code(RUNS, {"p": P}, token=school) == "FORBIDDEN"
    admin = await gql.login("admin")
    assert await gql.error_code(RUN, {"id": "999999"}, token=admin) == "NOT_FOUND"
    assert await gql.error_code(RUN, {"id": "abc"}, token=admin) == "VALIDATION"  # not a row id at all


async def test_province_runs_are_visible_to_their_province_only(gql, world):
    hunan = await comparison.create_run(P, "MANUAL", "admin", province="43")
    national = await comparison.create_run(P, "MANUAL", "admin")
    gd = await gql.login("gd_op")
    assert await gql.error_code(RUN, {"id": str(hunan.id)}, token=gd) == "NOT_FOUND"
    assert (await gql.data(RUN, {"id": str(national.id)}, token=gd))["comparisonRun"]["id"] == str(national.id)
    ids = [e["node"]["id"] for e in (await gql.data(RUNS, {"p": P}, token=gd))["comparisonRuns"]["edges"]]
    assert ids == [str(national.id)]
    county = await gql.login("county_op")
    ids = [e["node"]["id"] for e in (await gql.data(RUNS, {"p": P}, token=county))["comparisonRuns"]["edges"]]
    assert ids == [str(national.id), str(hunan.id)]


async def test_comparison_runs_are_paged_newest_first(gql, world):
    made = [await comparison.create_run(P, trigger, "admin") for trigger in ("CRON", "MANUAL", "CLI")]
    await comparison.create_run("2023-2024-2", "MANUAL", "admin")  # another period: not listed
    admin = await gql.login("admin")
    page = (await gql.data(RUNS, {"p": P, "first": 2}, token=admin))["comparisonRuns"]
    assert [(e["node"]["id"], e["node"]["trigger"]) for e in page["edges"]] == [
        (str(made[2].id), "CLI"), (str(made[1].id), "MANUAL")]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await gql.data(RUNS, {"p": P, "first": 2, "after": page["pageInfo"]["endCursor"]}, token=admin))
    rest = rest["comparisonRuns"]
    assert [e["node"]["id"] for e in rest["edges"]] == [str(made[0].id)]
    assert rest["pageInfo"]["hasNextPage"] is False
    assert await gql.error_code(RUNS, {"p": P, "after": "not-a-cursor"}, token=admin) == "VALIDATION"
