"""The members of a period kept between runs on PostgreSQL (domain/comparison_members.py): reused
while the special-group records are unchanged, rebuilt after any write to them by any writer, and
nobody — runs, writers, TRUNCATE — waits for a run because of them."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.test_comparison import P2, P, aid, enrol, member, sid, unfunded
from zizhu.domain import db
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.comparison import members as comparison_members
from zizhu.domain.comparison import steps
from zizhu.domain.models import ComparisonRun, SpecialGroupRecord

pytestmark = pytest.mark.postgres_only

INSERT = (
    "INSERT INTO special_group_record (id_number, name, category, source, period)"
    " VALUES ($1, '新', '01', 'CENTRAL', $2)"
)


async def stamp(period: str = P) -> dict | None:
    """The period's stamp if it is valid (built at the current generation)."""
    rows = await db.fetch(
        f"SELECT members, built_at FROM {comparison_members.STAMP_TABLE} WHERE period = :p"
        f" AND generation = (SELECT last_value FROM {comparison_members.GENERATION})",
        {"p": period},
    )
    return rows[0] if rows else None


async def compare(period: str = P) -> ComparisonRun:
    """A full run: only a full run reads the kept members (a run from the day's changes groups the
    changed students' records itself)."""
    run = await comparison.run_comparison_now(period, trigger="CLI", requested_by="test", full=True)
    assert run.status == "SUCCEEDED", run.error
    return run


async def kept_tables() -> set[str]:
    rows = await db.fetch("SELECT tablename FROM pg_tables WHERE tablename LIKE 'cmp\\_members%'")
    return {r["tablename"] for r in rows}


async def three_students() -> None:
    for n in (1, 2, 3):
        await member(sid(n))
        await enrol(sid(n))
    await enrol(sid(4))
    await enrol(sid(5))


async def side(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url.split("?")[0])


async def waiting_on_a_lock(pid: int) -> None:
    """Return once backend `pid` waits for a lock (a condition, not a fixed sleep)."""
    async with asyncio.timeout(30):
        while not await db.fetch(
            "SELECT 1 FROM pg_stat_activity WHERE pid = :pid AND wait_event_type = 'Lock'", {"pid": pid}
        ):
            await asyncio.sleep(0.01)


def holding(step_name: str) -> tuple[asyncio.Event, asyncio.Event]:
    """STEP_HOOK that stops the first run reaching `step_name` until released."""
    held, release = asyncio.Event(), asyncio.Event()

    async def hold(step: str) -> None:
        if step == step_name and not held.is_set():
            held.set()
            await release.wait()

    comparison.STEP_HOOK = hold
    return held, release


async def test_members_are_kept_while_the_records_do_not_change(world):
    await three_students()
    first = await compare()
    kept = await stamp()
    assert kept is not None and kept["members"] == 3
    await aid(sid(1))  # aid and enrolments change every day: they do not touch the kept members
    await enrol(sid(6))
    second = await compare()
    assert await stamp() == kept  # the same stamp: not rebuilt
    assert (first.members, first.matched, first.unfunded) == (3, 3, 3)
    assert (second.members, second.matched, second.unfunded) == (3, 3, 2)
    assert await unfunded(second) == {sid(2), sid(3)}


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO special_group_record (id_number, name, category, source, period)"
        " VALUES ('{new}', '新', '02', 'SELF', '{period}')",
        "UPDATE special_group_record SET id_number = '{new}' WHERE id_number = '{old}'",
        "DELETE FROM special_group_record WHERE id_number = '{old}'",
    ],
    ids=["insert", "update", "delete"],
)
async def test_any_write_to_the_records_rebuilds_the_members(world, write):
    await three_students()
    await enrol(sid(9))
    await compare()
    assert await stamp() is not None
    await db.execute(write.format(new=sid(9), old=sid(3), period=P))  # raw SQL: no domain code involved
    assert await stamp() is None
    run = await compare()
    expected = {sid(1), sid(2), sid(3)}
    if write.startswith("INSERT"):
        expected.add(sid(9))
    elif write.startswith("UPDATE"):
        expected = expected - {sid(3)} | {sid(9)}
    else:
        expected.discard(sid(3))
    assert await unfunded(run) == expected
    assert run.members == len(expected) and (await stamp())["members"] == len(expected)


async def test_a_changed_members_query_rebuilds_them(world):
    await three_students()
    await compare()
    before = await stamp()
    await db.execute(f"UPDATE {comparison_members.STAMP_TABLE} SET definition = 'an older query'")
    await compare()
    after = await stamp()
    assert after["members"] == 3 and after["built_at"] > before["built_at"]


async def test_truncating_the_records_invalidates_every_period(world):
    await three_students()
    await member(sid(4), period=P2)
    await compare()
    await compare(P2)
    assert await stamp(P) is not None and await stamp(P2) is not None
    await db.execute("TRUNCATE special_group_record")
    assert await stamp(P) is None and await stamp(P2) is None
    run = await compare()
    assert (run.members, run.unfunded) == (0, 0)
    assert await kept_tables() == {comparison_members.table_of(P)}  # P2's stale table was dropped


async def test_periods_keep_their_own_members(world):
    await three_students()
    await member(sid(1), category="05", period=P2)
    run, run2 = await compare(), await compare(P2)
    assert (run.members, run2.members) == (3, 1)
    assert (await stamp(P))["members"] == 3 and (await stamp(P2))["members"] == 1
    again = await compare()
    assert await unfunded(again) == {sid(1), sid(2), sid(3)}


async def test_a_repeatable_read_writer_still_invalidates(world, database_url):
    """A writer whose snapshot is older than the stamp: the generation moves all the same."""
    await three_students()
    writer = await side(database_url)
    try:
        transaction = writer.transaction(isolation="repeatable_read")
        await transaction.start()
        await writer.fetchval("SELECT count(*) FROM special_group_record")  # its snapshot is taken now
        await compare()  # builds and stamps 3 members
        await writer.execute(INSERT, sid(4), P)
        await transaction.commit()
    finally:
        await writer.close()
    assert await stamp() is None
    assert await unfunded(await compare()) == {sid(1), sid(2), sid(3), sid(4)}


async def test_a_replication_role_writer_still_invalidates(world, database_url):
    """session_replication_role = replica (logical replication apply) fires ALWAYS triggers."""
    await three_students()
    await compare()
    writer = await side(database_url)
    try:
        await writer.execute("SET session_replication_role = replica")
        await writer.execute(INSERT, sid(4), P)
    finally:
        await writer.close()
    assert await unfunded(await compare()) == {sid(1), sid(2), sid(3), sid(4)}


async def test_an_uncommitted_write_is_not_waited_for_nor_kept(world, database_url):
    """An import still open when the run starts: nothing is built (the import's rows would be
    missing from the table while its generation is counted); the run groups the committed records
    itself without waiting; after the commit the next run builds with the new rows."""
    await three_students()
    writer = await side(database_url)
    try:
        transaction = writer.transaction()
        await transaction.start()
        await writer.execute(INSERT, sid(4), P)
        run = await asyncio.wait_for(compare(), 30)
        assert await stamp() is None
        await transaction.commit()
    finally:
        await writer.close()
    assert await unfunded(run) == {sid(1), sid(2), sid(3)}
    assert await unfunded(await compare()) == {sid(1), sid(2), sid(3), sid(4)}
    assert (await stamp())["members"] == 4


async def test_writers_do_not_wait_for_runs_nor_for_each_other(world, database_url):
    await three_students()
    await compare()
    held, release = holding("statistics")  # a run reusing the kept members, in the middle
    first, second = await side(database_url), await side(database_url)
    try:
        running = asyncio.create_task(compare())
        await asyncio.wait_for(held.wait(), 30)
        transaction = first.transaction()
        await transaction.start()
        await asyncio.wait_for(first.execute(INSERT, sid(4), P), 3)  # not blocked by the run
        await asyncio.wait_for(second.execute(INSERT, sid(5), P), 3)  # nor by the other writer
        await transaction.commit()
        release.set()
        during = await asyncio.wait_for(running, 30)
    finally:
        comparison.STEP_HOOK = None
        await first.close()
        await second.close()
    assert await unfunded(during) == {sid(1), sid(2), sid(3)}  # the members as they were when it started
    assert await stamp() is None
    assert await unfunded(await compare()) == {sid(1), sid(2), sid(3), sid(4), sid(5)}


async def test_a_run_of_one_period_does_not_hold_up_another(world):
    await three_students()
    await member(sid(1), period=P2)
    await compare(P2)
    held, release = holding("statistics")
    try:
        running = asyncio.create_task(compare(P))  # builds P's members, then holds
        await asyncio.wait_for(held.wait(), 30)
        other = await asyncio.wait_for(compare(P2), 10)  # reuses P2's: not blocked
        release.set()
        await asyncio.wait_for(running, 30)
    finally:
        comparison.STEP_HOOK = None
    assert other.members == 1 and await stamp(P) is not None and await stamp(P2) is not None


async def test_truncate_during_a_build_waits_for_it_without_deadlock(world, database_url, monkeypatch, caplog):
    """The build takes the records' ACCESS SHARE lock before its advisory locks: a TRUNCATE that
    comes in meanwhile waits for the build, instead of holding the table while its trigger waits
    for the build's advisory lock (a deadlock PostgreSQL would break by failing one of them)."""
    await three_students()
    locked, release = asyncio.Event(), asyncio.Event()
    original = steps.Work.tune

    async def tune(self):  # the build holds its locks here, before it reads the records
        if self.member == "cmp_member_0" and not locked.is_set():
            locked.set()
            await release.wait()
        await original(self)

    monkeypatch.setattr(steps.Work, "tune", tune)
    writer = await side(database_url)
    try:
        running = asyncio.create_task(comparison.run_comparison_now(P, trigger="CLI", requested_by="t"))
        await asyncio.wait_for(locked.wait(), 30)
        truncate = asyncio.create_task(writer.execute("TRUNCATE special_group_record"))
        await waiting_on_a_lock(writer.get_server_pid())
        assert not truncate.done()  # waits for the build
        release.set()
        run = await asyncio.wait_for(running, 30)
        await asyncio.wait_for(truncate, 30)
    finally:
        await writer.close()
    assert run.status == "SUCCEEDED", run.error
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # the build did not fail either
    assert await stamp() is None
    assert (await compare()).members == 0
    assert await SpecialGroupRecord.filter(period=P).count() == 0


async def test_a_failing_build_only_costs_time(world, monkeypatch, caplog):
    await three_students()

    async def broken(period: str) -> bool:
        raise RuntimeError("no room for the members table")

    monkeypatch.setattr(steps, "keep_members", broken)
    run = await compare()
    assert await unfunded(run) == {sid(1), sid(2), sid(3)} and run.members == 3
    assert await stamp() is None
    assert any("keeping the members" in r.getMessage() for r in caplog.records)
