"""Run leases: a run whose worker died is marked FAILED and the next run proceeds; a live run's
lease is renewed; a run that lost its lease never publishes."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.support.clock import ManualClock
from tests.support.tiny_comparison import PERIOD as P
from tests.support.tiny_comparison import tiny_data_set
from zizhu.domain import db
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.comparison import leases
from zizhu.domain.models import AuditEntry, ComparisonRun
from zizhu.domain.settings import SHANGHAI
from zizhu.workers import jobs
from zizhu.workers import main as worker_main


def _ago(seconds: float) -> dt.datetime:
    return dt.datetime.now(SHANGHAI) - dt.timedelta(seconds=seconds)


async def _killed_run(lease_until: dt.datetime | None) -> ComparisonRun:
    """A run left RUNNING by a worker killed mid-run (nothing renews its lease any more)."""
    run = await comparison.create_run(P, "CRON", "cron")
    await ComparisonRun.filter(id=run.id).update(
        status="RUNNING", started_at=_ago(3600), attempts=1, lease_until=lease_until
    )
    return run


async def test_a_run_whose_lease_expired_is_failed_and_the_next_run_proceeds(world):
    await tiny_data_set()
    dead = await _killed_run(lease_until=_ago(1))
    alive = await _killed_run(lease_until=dt.datetime.now(SHANGHAI) + dt.timedelta(hours=1))  # still held
    nxt = await comparison.run_comparison_now(P, trigger="MANUAL", requested_by="admin")
    assert (nxt.status, nxt.published) == ("SUCCEEDED", True)
    dead = await ComparisonRun.get(id=dead.id)
    assert (dead.status, dead.published, dead.error) == ("FAILED", False, leases.LAPSED_MESSAGE)
    assert dead.finished_at is not None and dead.lease_until is None
    assert (await ComparisonRun.get(id=alive.id)).status == "RUNNING"
    assert await AuditEntry.filter(action="COMPARISON_LEASE_EXPIRED", entity_key=str(dead.id)).count() == 1
    assert (await comparison.published_run(P)).id == nxt.id


async def test_a_run_from_before_leases_lapses_after_one_lease(world):
    old = await _killed_run(lease_until=None)
    assert await leases.expire_lapsed_runs() == [old.id]
    assert (await ComparisonRun.get(id=old.id)).status == "FAILED"


async def test_a_starting_worker_fails_its_dead_predecessors_runs(world):
    dead = await _killed_run(lease_until=_ago(1))
    ctx: dict = {}
    await worker_main.startup(ctx)
    await worker_main.shutdown(ctx)
    assert (await ComparisonRun.get(id=dead.id)).status == "FAILED"
    # its job, picked up again later by arq, does nothing
    assert (await jobs.compare_period({"job_try": 1}, dead.id))["status"] == "FAILED"


@pytest.mark.postgres_only  # on SQLite the renewal waits for the run's own transaction
async def test_a_live_run_keeps_renewing_its_lease(world, monkeypatch):
    await tiny_data_set()
    clock = ManualClock(dt.datetime.now(SHANGHAI))
    monkeypatch.setattr(leases, "CLOCK", clock)
    reaped: list[list[int]] = []

    async def slow(step: str) -> None:
        if step == "statistics":  # a long step: several leases long, the reaper looking meanwhile
            for _ in range(5):
                await clock.advance(leases.LEASE_S / 2)  # the renewal (every RENEW_EVERY_S) wakes and renews
                reaped.append(await leases.expire_lapsed_runs())

    monkeypatch.setattr(comparison, "STEP_HOOK", slow)
    run = await comparison.run_comparison_now(P)
    assert (run.status, run.published) == ("SUCCEEDED", True)
    assert reaped == [[]] * 5 and run.lease_until is None


async def test_without_renewal_the_manual_clock_lapses_a_lease(world, monkeypatch):
    """The clock the renewal test moves is the one leases are measured in: 2.5 leases later, a
    lease nobody renews has lapsed."""
    clock = ManualClock(dt.datetime.now(SHANGHAI))
    monkeypatch.setattr(leases, "CLOCK", clock)
    run = await _killed_run(lease_until=leases.lease_end())
    await clock.advance(leases.LEASE_S / 2)
    assert await leases.expire_lapsed_runs() == []
    await clock.advance(leases.LEASE_S * 2)
    assert await leases.expire_lapsed_runs() == [run.id]


@pytest.mark.postgres_only  # another connection writes while the run's transaction is open
async def test_a_run_that_lost_its_lease_does_not_publish(world, monkeypatch):
    await tiny_data_set()
    first = await comparison.run_comparison_now(P)
    at_publish, reaped = asyncio.Event(), asyncio.Event()

    async def reaper() -> None:  # another process, deciding the (frozen) run's worker is dead
        await at_publish.wait()
        await db.execute("UPDATE comparison_run SET lease_until = :t WHERE status = 'RUNNING'", {"t": _ago(1)})
        await leases.expire_lapsed_runs()
        reaped.set()

    async def frozen(step: str) -> None:
        if step == "publish":
            at_publish.set()
            await reaped.wait()

    monkeypatch.setattr(comparison, "STEP_HOOK", frozen)
    run = await comparison.create_run(P, "MANUAL", "admin")
    task = asyncio.create_task(reaper())  # created here: outside the run's transaction
    with pytest.raises(RuntimeError, match="lost its lease"):
        await comparison.execute_run(run.id)
    await task
    assert (await ComparisonRun.get(id=run.id)).status == "FAILED"
    assert (await comparison.published_run(P)).id == first.id
