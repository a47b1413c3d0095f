"""Reason counters: byReason and reasonReported equal a recount from scratch through every write
path; the counters stay equal to a recount under random reports, changes, runs and carry-overs
(hypothesis); `zizhu verify-counts` finds a difference; a write moves only its province's cached
answers; identical concurrent requests share one computation."""

from __future__ import annotations

import asyncio
import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.statements import statements
from tests.test_comparison import P, aid, compare, enrol, member, sid
from tests.test_statistics_api import COUNTS, build_data, triple
from zizhu.api.gql.response_cache import ResponseCache
from zizhu.domain import db
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.comparison import engine, reason_counts
from zizhu.domain.errors import NotFound
from zizhu.domain.models import AidRecord, Enrolment, LegacyPovertyReason
from zizhu.domain.reasons.carryover import carry_over_legacy_reasons
from zizhu.domain.reasons.reports import ReasonReport, report_reasons
from zizhu.domain.reference.codes import UNFUNDED_REASONS, Role, Stage
from zizhu.domain.settings import SHANGHAI
from zizhu.domain.statistics import counter_sums
from zizhu.domain.statistics.figures import Figures, subtree

NOW = dt.datetime(2024, 1, 10, 10, tzinfo=SHANGHAI)
CODES = sorted(UNFUNDED_REASONS)
STATISTICS = f"total {{ {COUNTS} }} byReason {{ code label count }} byCategory {{ category all {{ {COUNTS} }} byReason {{ code count }} }}"
# Three levels per query: the nation's four (nation → provinces → cities → counties) with every
# cell would pass the document cost bound, so `rollup` asks the nation, then each province.
ROLLUP = f"""query($p: String!, $s: Stage, $r: String) {{ region(code: $r) {{ code
  unfundedStatistics(period: $p, stage: $s) {{ {STATISTICS} }}
  children {{ code unfundedStatistics(period: $p, stage: $s) {{ {STATISTICS} }}
    ownLevelStatistics(period: $p, stage: $s) {{ {STATISTICS} }}
    children {{ code unfundedStatistics(period: $p, stage: $s) {{ {STATISTICS} }} }} }} }} }}"""


async def rollup(gql, variables: dict, token: str) -> dict:
    """The nation's whole tree (nation → provinces → cities → counties), one query per province."""
    nation = (await gql.data(ROLLUP, {**variables, "r": None}, token=token))["region"]
    for province in nation["children"]:
        below = (await gql.data(ROLLUP, {**variables, "r": province["code"]}, token=token))["region"]
        assert below["unfundedStatistics"] == province["unfundedStatistics"]
        for city, full in zip(province["children"], below["children"], strict=True):
            city["ownLevelStatistics"], city["children"] = full["ownLevelStatistics"], full["children"]
    return nation


SCHOOL = (
    f"""query($p: String!, $c: String) {{ school(code: $c) {{ unfundedStatistics(period: $p) {{ {STATISTICS} }} }} }}"""
)
PROVINCE = f"""query($p: String!) {{ region {{ code unfundedStatistics(period: $p) {{ {STATISTICS} }} }} }}"""
REPORT = "mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { idNumber reason { code } } }"


def school_viewer(school: str) -> Viewer:
    return Viewer(username=f"op{school}", role=Role.SCHOOL_OPERATOR, scope_code=school)


async def report(school: str, id_number: str, code: str, stage: Stage = Stage.COMPULSORY) -> None:
    detail = "说明" if code == "99" else ""
    await report_reasons(school_viewer(school), [ReasonReport(P, stage, id_number, code, detail)], NOW)


async def report_where_listed(id_number: str, code: str, schools: tuple[str, ...]) -> str:
    """Report at whichever of the schools lists the student; returns that school."""
    for school in schools:
        try:
            await report(school, id_number, code)
            return school
        except NotFound:
            continue
    raise AssertionError(f"{id_number} is on none of {schools}")


async def legacy(id_number: str, school: str, code: str, stage: str = "COMPULSORY") -> None:
    await LegacyPovertyReason.create(
        id_number=id_number,
        name="学生",
        school_code=school,
        province=school[2:4],
        stage=stage,
        period=P,
        reason_code=code,
        reported_at=dt.datetime(2023, 12, 1, tzinfo=SHANGHAI),
    )


def by_reason(stats: dict) -> dict[str, int]:
    return {r["code"]: r["count"] for r in stats["byReason"]}


def assert_adds_up(stats: dict, where: str) -> None:
    """byReason lists every code in order, and sums to reasonReported (total and every category)."""
    assert [r["code"] for r in stats["byReason"]] == CODES, where
    assert sum(by_reason(stats).values()) == stats["total"]["reasonReported"], where
    for row in stats["byCategory"]:
        assert [r["code"] for r in row["byReason"]] == CODES, where
        assert sum(r["count"] for r in row["byReason"]) == row["all"]["reasonReported"], (where, row["category"])


def every_statistics(region: dict, path: str = ""):
    here = f"{path}/{region['code']}"
    yield here, region["unfundedStatistics"]
    if "ownLevelStatistics" in region:
        yield here + "(本级)", region["ownLevelStatistics"]
    for child in region.get("children") or []:
        yield from every_statistics(child, here)


async def several_codes() -> None:
    """Reasons under four codes, one of them carried over, one at another province."""
    await build_data()
    await member(sid(9), "03", "SELF")
    await enrol(sid(9), "2143000002")
    await enrol(sid(6), "2143000003")  # a second 在读 enrolment of s6 in the same stage
    await legacy(sid(4), "2143000003", "04")  # carried over
    await compare()
    assert await carry_over_legacy_reasons(actor="test") == 1
    await report("2143000002", sid(1), "01")
    await report("2143000002", sid(9), "99")
    await report_where_listed(sid(6), "03", ("2143000008", "2143000003"))  # placed at one of its two schools
    await report("2144000009", sid(8), "01")


async def test_by_reason_adds_up_to_reason_reported_everywhere(world, gql):
    await several_codes()
    admin = await gql.token_for("admin")
    for stage in (None, "COMPULSORY", "PRESCHOOL", "GENERAL_HIGH"):
        nation = await rollup(gql, {"p": P, "s": stage}, admin)
        for where, stats in every_statistics(nation):
            assert_adds_up(stats, f"{where} {stage}")
    nation = await rollup(gql, {"p": P, "s": None}, admin)
    assert by_reason(nation["unfundedStatistics"]) == {c: {"01": 2, "03": 1, "04": 1, "99": 1}.get(c, 0) for c in CODES}
    assert nation["unfundedStatistics"]["byReason"][0]["label"] == UNFUNDED_REASONS["01"]
    hunan = next(c for c in nation["children"] if c["code"] == "430000")
    assert by_reason(hunan["unfundedStatistics"])["03"] == 1  # s6 counted once, at the school it was placed
    changsha = next(c for c in hunan["children"] if c["code"] == "430100")
    tianxin = next(c for c in changsha["children"] if c["code"] == "430103")
    assert by_reason(tianxin["unfundedStatistics"])["04"] == 1  # carried over
    poverty = tianxin["unfundedStatistics"]["byCategory"][0]  # 01: s4 (carried over)
    assert {r["code"]: r["count"] for r in poverty["byReason"]}["04"] == 1
    # a school account's own statistics, from the same counters
    school = await gql.token_for("school_op")
    own = (await gql.data(SCHOOL, {"p": P, "c": None}, token=school))["school"]["unfundedStatistics"]
    assert_adds_up(own, "school")
    assert by_reason(own) == {c: {"01": 1, "99": 1}.get(c, 0) for c in CODES}
    assert await reason_counts.recount() == []


async def test_a_report_moves_one_count_at_once(world, gql):
    await build_data()
    await compare()
    token = await gql.token_for("province_op")
    school = await gql.token_for("school_op")
    before = by_reason((await gql.data(PROVINCE, {"p": P}, token=token))["region"]["unfundedStatistics"])
    assert before == dict.fromkeys(CODES, 0)
    i = {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "05"}
    await gql.data(REPORT, {"i": i}, token=school)
    after = (await gql.data(PROVINCE, {"p": P}, token=token))["region"]["unfundedStatistics"]
    assert by_reason(after) == {**before, "05": 1} and after["total"]["reasonReported"] == 1
    await gql.data(REPORT, {"i": {**i, "reasonCode": "07"}}, token=school)  # a changed code moves one count
    changed = (await gql.data(PROVINCE, {"p": P}, token=token))["region"]["unfundedStatistics"]
    assert by_reason(changed) == {**before, "07": 1} and changed["total"]["reasonReported"] == 1
    assert await reason_counts.recount() == []


async def test_runs_pruned_and_republished_keep_the_counters_exact(world, gql):
    await several_codes()
    for n in range(3):  # runs carry the counters forward; s1 leaves the list, s10 joins it
        if n == 1:
            await aid(sid(1))
            await member(sid(10), "08", "CENTRAL")
            await enrol(sid(10), "2143000002")
            await legacy(sid(10), "2143000002", "06")
        await compare()
        assert await reason_counts.recount() == []
    province_run = await engine.create_run(P, "CLI", "test", province="43")  # a province run beside the national one
    await engine.execute_run(province_run.id)
    assert await reason_counts.recount() == []
    await report("2143000002", sid(10), "02")
    assert await reason_counts.recount() == []
    admin = await gql.token_for("admin")
    nation = await rollup(gql, {"p": P, "s": None}, admin)
    for where, stats in every_statistics(nation):
        assert_adds_up(stats, where)
    assert by_reason(nation["unfundedStatistics"])["01"] == 1  # s1 funded now: only s8 in 广东
    pruned = await engine.prune_history(P, keep=1)
    assert pruned >= 1 and await reason_counts.recount() == []


async def test_verify_counts_finds_a_difference(world):
    await several_codes()
    assert await reason_counts.recount() == []
    await db.execute("UPDATE reason_count SET n = n + 1 WHERE reason_code = '03'")
    differences = await reason_counts.recount()
    assert differences and all(d["reason_code"] == "03" and d["stored"] == d["counted"] + 1 for d in differences)


def test_the_verify_counts_command_prints_differences_and_exits_1(tmp_path):
    import sqlite3

    from tests.test_cli import zizhu

    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'zizhu.sqlite3'}"}
    assert zizhu("migrate", env=env).returncode == 0
    exact = zizhu("verify-counts", env=env)
    assert exact.returncode == 0 and "一致" in exact.stdout
    with sqlite3.connect(tmp_path / "zizhu.sqlite3") as connection:  # a counter of no published run
        connection.execute(
            "INSERT INTO reason_count (run_id, province, region_code, school_code, stage, central_mask, self_mask,"
            " reason_code, n) VALUES (7, '43', '430102', '2143000002', 'COMPULSORY', 1, 0, '01', 2)"
        )
    wrong = zizhu("verify-counts", env=env)
    assert wrong.returncode == 1
    assert "run_id=7" in wrong.stdout and "计数器=2" in wrong.stdout and "重新统计=0" in wrong.stdout


# --- the property: counters equal a recount under any sequence of writes -----------------------
SCHOOLS = ("2143000002", "2143000003", "2143000008", "2144000009")
STUDENTS = 6
EXAMPLES = int(os.environ.get("ZIZHU_HYPOTHESIS_EXAMPLES", "15"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("ZIZHU_HYPOTHESIS_EXPLORE"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
student = st.integers(1, STUDENTS)
operation = st.one_of(
    st.tuples(st.just("report"), student, st.sampled_from(CODES)),
    st.tuples(st.just("fund"), student),
    st.tuples(st.just("unfund"), student),
    st.tuples(st.just("move"), student, st.sampled_from(SCHOOLS)),
    st.tuples(st.just("enrol twice"), student, st.sampled_from(SCHOOLS)),
    st.tuples(st.just("run"), st.sampled_from(["", "43", "44"])),
    st.tuples(st.just("carry over"), student, st.sampled_from(CODES)),
)


async def apply(op: tuple) -> None:
    kind, *args = op
    if kind == "report":
        n, code = args
        for school in SCHOOLS:
            try:
                await report(school, sid(100 + n), code)
                return
            except NotFound:  # not on that school's published list
                continue
    elif kind == "fund":
        await AidRecord.filter(id_number=sid(100 + args[0])).delete()
        await aid(sid(100 + args[0]))
    elif kind == "unfund":
        await AidRecord.filter(id_number=sid(100 + args[0])).delete()
    elif kind == "move":
        # transferred out of every school to this one (enrolments are never deleted)
        await Enrolment.filter(id_number=sid(100 + args[0])).update(status="TRANSFERRED")
        if await Enrolment.exists(id_number=sid(100 + args[0]), school_code=args[1]):
            await Enrolment.filter(id_number=sid(100 + args[0]), school_code=args[1]).update(status="ENROLLED")
        else:
            await enrol(sid(100 + args[0]), args[1])
    elif kind == "enrol twice":
        if not await Enrolment.exists(id_number=sid(100 + args[0]), school_code=args[1]):
            await enrol(sid(100 + args[0]), args[1])
    elif kind == "run":
        run = await engine.create_run(P, "CLI", "test", province=args[0])
        await engine.execute_run(run.id)
    elif kind == "carry over":
        n, code = args
        enrolment = await Enrolment.filter(id_number=sid(100 + n)).first()
        if enrolment is not None:
            await LegacyPovertyReason.filter(id_number=sid(100 + n)).delete()
            await legacy(sid(100 + n), enrolment.school_code, code)
            await carry_over_legacy_reasons(actor="test")


@pytest.fixture
async def students(world):
    for n in range(1, STUDENTS + 1):
        await member(sid(100 + n), f"{n:02d}", "CENTRAL" if n % 2 else "SELF")
        if n % 3 == 0:
            await member(sid(100 + n), "05", "SELF")
        await enrol(sid(100 + n), SCHOOLS[n % len(SCHOOLS)])
    await compare()


async def kept_and_fresh_sums() -> tuple[dict, dict]:
    """The nation's region figures as read through the process's kept counter sums (brought up to
    date region by region), and as read from scratch."""
    stages = [s.value for s in Stage]
    kept = (await Figures.load(P, stages, [subtree("000000")], whole_subtree=True)).regions
    saved = dict(counter_sums._STATES)
    counter_sums._STATES.clear()
    try:
        fresh = (await Figures.load(P, stages, [subtree("000000")], whole_subtree=True)).regions
    finally:
        counter_sums._STATES.clear()
        counter_sums._STATES.update(saved)
    return kept, fresh


@PROPERTY
@given(ops=st.lists(operation, min_size=1, max_size=8))
async def test_counters_equal_a_recount_after_any_writes(students, ops):
    await kept_and_fresh_sums()  # the process keeps sums from here on
    for op in ops:
        await apply(op)
        assert await reason_counts.recount() == [], op
        kept, fresh = await kept_and_fresh_sums()
        assert kept == fresh, op


# --- scoped invalidation and one computation per answer --------------------------------------------
async def test_a_write_drops_only_its_provinces_answers(world, gql):
    await build_data()
    await compare()
    hunan, guangdong = await gql.token_for("province_op"), await gql.token_for("gd_op")
    school = await gql.token_for("school_op")
    gd_before = await gql.data(PROVINCE, {"p": P}, token=guangdong)
    await gql.data(PROVINCE, {"p": P}, token=hunan)
    i = {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "01"}
    await gql.data(REPORT, {"i": i}, token=school)
    with statements() as sign_in:
        await gql.data("{ me { username } }", token=guangdong)
    with statements() as served:
        gd_after = await gql.data(PROVINCE, {"p": P}, token=guangdong)
    assert gd_after == gd_before
    assert len(served) == len(sign_in) + 1  # the versions' check only: still served from memory
    hunan_after = (await gql.data(PROVINCE, {"p": P}, token=hunan))["region"]["unfundedStatistics"]
    assert triple(hunan_after["total"])[3] == 1 and by_reason(hunan_after)["01"] == 1


async def test_concurrent_identical_requests_run_one_computation(world, gql):
    await build_data()
    await compare()
    token = await gql.token_for("province_op")
    await gql.data("{ me { username } }", token=token)
    with statements() as sent:
        answers = await asyncio.gather(
            *(gql.data(ROLLUP, {"p": P, "s": None, "r": None}, token=token) for _ in range(8))
        )
    assert all(a == answers[0] for a in answers)
    # the counters are read once (the log cuts long statements: their beginning is enough)
    counter_reads = [s for s in sent if s.startswith("SELECT t.region_code, t.reason_code,")]
    assert len(counter_reads) == 1, len(counter_reads)
    assert sum(s.startswith("SELECT code, label FROM reason_code") for s in sent) <= 1


async def test_a_read_begun_before_a_write_is_not_kept_for_the_new_versions(world, gql, monkeypatch):
    from zizhu.domain.statistics import figures

    await build_data()
    await compare()
    token, school = await gql.token_for("province_op"), await gql.token_for("school_op")
    entered, release = asyncio.Event(), asyncio.Event()
    fill = figures.Figures.fill

    async def held(self):
        entered.set()
        await release.wait()
        return await fill(self)

    monkeypatch.setattr(figures.Figures, "fill", held)
    early = asyncio.ensure_future(gql.data(PROVINCE, {"p": P}, token=token))
    await entered.wait()
    i = {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "01"}
    await gql.data(REPORT, {"i": i}, token=school)
    release.set()
    await early  # computed for the versions it read before the write
    monkeypatch.setattr(figures.Figures, "fill", fill)
    later = (await gql.data(PROVINCE, {"p": P}, token=token))["region"]["unfundedStatistics"]
    assert triple(later["total"])[3] == 1


async def test_single_flight_shares_results_and_failures_and_survives_a_cancelled_first_caller():
    cache = ResponseCache()
    gate = asyncio.Event()
    calls = 0

    async def compute():
        nonlocal calls
        calls += 1
        await gate.wait()
        return "answer"

    first = asyncio.ensure_future(cache.single_flight("k", 1, compute))
    others = [asyncio.ensure_future(cache.single_flight("k", 1, compute)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert await asyncio.gather(*others) == ["answer"] * 3
    assert calls == 1 and first.cancelled()

    async def fail():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    failing = [asyncio.ensure_future(cache.single_flight("k", 2, fail)) for _ in range(3)]
    results = await asyncio.gather(*failing, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results) and calls == 2
    assert cache.in_flight == {}  # a failure is not kept: the next caller computes again
    gate.set()
    assert await cache.single_flight("k", 2, compute) == "answer" and calls == 3


async def test_after_one_schools_write_only_its_chain_is_completed_again(world, gql):
    from zizhu.api.gql.completion_memo import MEMO

    await build_data()
    await compare()
    token, school = await gql.token_for("province_op"), await gql.token_for("school_op")
    rollup = f"""query($p: String!) {{ region {{ code unfundedStatistics(period: $p) {{ {STATISTICS} }}
      children {{ code unfundedStatistics(period: $p) {{ {STATISTICS} }} ownLevelStatistics(period: $p) {{ {STATISTICS} }}
        children {{ code unfundedStatistics(period: $p) {{ {STATISTICS} }} }} }} }} }}"""
    before = (await gql.data(rollup, {"p": P}, token=token))["region"]
    i = {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "01"}  # at 芙蓉区 (430102)
    await gql.data(REPORT, {"i": i}, token=school)
    hits, misses = MEMO.hits, MEMO.misses
    after = (await gql.data(rollup, {"p": P}, token=token))["region"]
    # 湖南省, 长沙市 and 芙蓉区 changed; 长沙市本级, 天心区, 株洲市, 株洲市本级 and 荷塘区 are reused
    assert (MEMO.misses - misses, MEMO.hits - hits) == (3, 5)
    changed = {where for (where, old), (_, new) in zip(every_statistics(before), every_statistics(after)) if old != new}
    assert changed == {"/430000", "/430000/430100", "/430000/430100/430102"}
    assert by_reason(after["unfundedStatistics"])["01"] == 1


@pytest.mark.system  # a real `zizhu serve --workers 2` (run once, in the PostgreSQL pass)
async def test_every_server_process_serves_the_new_figures_after_a_write(world, database_url):
    """`serve --workers 2`: both processes cached the old answer; after a report every answer,
    whichever process gives it, counts it (the versions live in the database)."""
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    from tests.support.world import PASSWORD
    from tests.test_serve_workers import _free_port

    await build_data()
    await compare()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    server = subprocess.Popen(
        [sys.executable, "-m", "zizhu.api.cli", "serve", "--no-migrate", "--port", str(port), "--workers", "2"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def post(query: str, variables: dict, token: str | None = None) -> dict:
        async with httpx.AsyncClient(timeout=30) as http:  # a new connection: either process may answer
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = (await http.post(url, json={"query": query, "variables": variables}, headers=headers)).json()
        assert not answer.get("errors"), answer
        return answer["data"]

    try:
        for _ in range(200):
            try:
                async with httpx.AsyncClient(timeout=2) as http:
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
            except httpx.HTTPError:
                await asyncio.sleep(0.3)
        login = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
        token = (await post(login, {"u": "province_op", "p": PASSWORD}))["login"]["token"]
        school = (await post(login, {"u": "school_op", "p": PASSWORD}))["login"]["token"]
        for _ in range(12):  # warms both processes' caches
            stats = (await post(PROVINCE, {"p": P}, token))["region"]["unfundedStatistics"]
            assert stats["total"]["reasonReported"] == 0
        i = {"period": P, "stage": "COMPULSORY", "idNumber": sid(1), "reasonCode": "06"}
        await post(REPORT, {"i": i}, school)
        for _ in range(12):
            stats = (await post(PROVINCE, {"p": P}, token))["region"]["unfundedStatistics"]
            assert stats["total"]["reasonReported"] == 1 and by_reason(stats)["06"] == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
