"""The members of a period kept between runs on PostgreSQL (domain/comparison_members.py): reused
while the special-group records are unchanged, rebuilt after any write to them, by any writer."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest

from domain import comparison_members, db
from domain.models import SpecialGroupRecord
from tests.test_comparison import P, P2, aid, compare, enrol, member, sid, unfunded

pytestmark = pytest.mark.postgres_only


async def stamp(period: str = P) -> dict | None:
    rows = await db.fetch(f"SELECT members, built_at FROM {comparison_members.STAMP_TABLE} WHERE period = :p",
                          {"p": period})
    return rows[0] if rows else None


async def kept_tables() -> set[str]:
    rows = await db.fetch("SELECT tablename FROM pg_tables WHERE tablename LIKE 'cmp%'")
    return {r["tablename"] for r in rows}


async def three_students() -> None:
    for n in (1, 2, 3):
        await member(sid(n)); await enrol(sid(n))


async def test_members_are_kept_while_the_records_do_not_change(world):
    await three_students()
    first = await compare()
    kept = await stamp()
    assert kept is not None and kept["members"] == 3
    await aid(sid(1))  # aid and enrolments change every day: they do not touch the kept members
    await enrol(sid(4))
    second = await compare()
    assert await stamp() == kept  # the same stamp: not rebuilt
    assert (first.members, first.matched, first.unfunded) == (3, 3, 3)
    assert (second.members, second.matched, second.unfunded) == (3, 3, 2)
    assert await unfunded(second) == {sid(2), sid(3)}


@pytest.mark.parametrize("write", [
    "INSERT INTO special_group_record (id_number, name, category, source, period)"
    " VALUES ('{new}', '新', '02', 'SELF', '{period}')",
    "UPDATE special_group_record SET id_number = '{new}' WHERE id_number = '{old}'",
    "DELETE FROM special_group_record WHERE id_number = '{old}'",
], ids=["insert", "update", "delete"])
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


async def test_truncating_the_records_drops_every_stamp(world):
    await three_students()
    await member(sid(4), period=P2)
    await compare(); await compare(P2)
    assert await stamp(P) is not None and await stamp(P2) is not None
    await db.execute("TRUNCATE special_group_record")
    assert await stamp(P) is None and await stamp(P2) is None
    run = await compare()
    assert (run.members, run.unfunded) == (0, 0)
    assert await kept_tables() == {comparison_members.table_of(P)}  # P2's table was dropped with its stamp


async def test_periods_keep_their_own_members(world):
    await three_students()
    await member(sid(1), category="05", period=P2)
    run, run2 = await compare(), await compare(P2)
    assert (run.members, run2.members) == (3, 1)
    assert (await stamp(P))["members"] == 3 and (await stamp(P2))["members"] == 1
    again = await compare()
    assert await unfunded(again) == {sid(1), sid(2), sid(3)}


async def test_a_rebuild_waits_for_an_uncommitted_write_of_records(world, database_url):
    """An import still open when the run starts: the run must not keep members without its rows
    (its stamp would survive the import's commit). The run waits, then sees the rows."""
    await three_students()
    await enrol(sid(4))
    writer = await asyncpg.connect(database_url.split("?")[0])
    try:
        transaction = writer.transaction()
        await transaction.start()
        await writer.execute("INSERT INTO special_group_record (id_number, name, category, source, period)"
                             " VALUES ($1, '新', '01', 'CENTRAL', $2)", sid(4), P)
        running = asyncio.create_task(compare())
        await asyncio.sleep(1.0)
        assert not running.done()  # waiting for the writer's commit
        await transaction.commit()
        run = await asyncio.wait_for(running, 30)
    finally:
        await writer.close()
    assert await unfunded(run) == {sid(1), sid(2), sid(3), sid(4)}
    assert (await stamp())["members"] == 4


async def test_a_write_waits_for_a_rebuild_and_then_drops_its_stamp(world, database_url):
    """A run that is building the members: a write of records that comes in meanwhile waits for
    the run's commit, then deletes its stamp, so the next run sees the new record."""
    await three_students()
    await enrol(sid(4))
    building = asyncio.Event()
    release = asyncio.Event()

    async def hold(step: str) -> None:
        if step == "matched":  # the members table is built and stamped, not yet committed
            building.set()
            await release.wait()

    from domain import comparison
    comparison.STEP_HOOK = hold
    writer = await asyncpg.connect(database_url.split("?")[0])
    try:
        running = asyncio.create_task(compare())
        await asyncio.wait_for(building.wait(), 30)
        insert = asyncio.create_task(writer.execute(
            "INSERT INTO special_group_record (id_number, name, category, source, period)"
            " VALUES ($1, '新', '01', 'CENTRAL', $2)", sid(4), P))
        await asyncio.sleep(1.0)
        assert not insert.done()  # blocked by the run's lock
        release.set()
        first = await asyncio.wait_for(running, 30)
        await asyncio.wait_for(insert, 30)
    finally:
        comparison.STEP_HOOK = None
        await writer.close()
    assert await unfunded(first) == {sid(1), sid(2), sid(3)}
    assert await stamp() is None
    second = await compare()
    assert await unfunded(second) == {sid(1), sid(2), sid(3), sid(4)}
    assert await SpecialGroupRecord.filter(period=P).count() == 4
