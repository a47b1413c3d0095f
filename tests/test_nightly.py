"""The 02:00 tick: the history carry-over first, then the comparisons; its outcome is recorded
and admins see it with the runs' status. A legacy reason imported late is carried the next night."""

from __future__ import annotations

import datetime as dt

from tests.support.tiny_comparison import PERIOD, SCHOOL, tiny_data_set
from tests.support.world import student_id
from zizhu.domain import nightly
from zizhu.domain.models import AuditEntry, LegacyPovertyReason, NightlyTick, UnfundedReason
from zizhu.domain.settings import SHANGHAI
from zizhu.workers.jobs import nightly_compare

UTC = dt.UTC
NIGHT_1 = dt.datetime(2024, 1, 9, 18, 0, tzinfo=UTC)  # 02:00 on 2024-01-10 in Shanghai
NIGHT_2 = NIGHT_1 + dt.timedelta(days=1)
TICKS = "{ nightlyTicks { day carriedOver carryOverError finishedAt runs { period status trigger } } }"


async def legacy(n: int, reason: str) -> None:
    await LegacyPovertyReason.create(
        id_number=student_id(n),
        name="学生",
        school_code=SCHOOL,
        province="43",
        stage="COMPULSORY",
        period=PERIOD,
        reason_code=reason,
    )


async def test_a_late_legacy_import_is_carried_the_next_night(gql, world, pool, arq_queue):
    await tiny_data_set()
    await legacy(1, "03")
    first = await nightly_compare({"redis": pool, "clock": lambda: NIGHT_1})
    (carried,) = await UnfundedReason.all()
    assert (carried.id_number, carried.reason_code, carried.inherited) == (student_id(1), "03", True)

    # imported after the first night: student 2 has its school's own reason, student 9 none yet
    await UnfundedReason.create(
        period=PERIOD,
        stage="COMPULSORY",
        id_number=student_id(2),
        school_code=SCHOOL,
        province="43",
        reason_code="01",
        reported_by="school_op",
        reported_at=dt.datetime(2024, 1, 10, 9, tzinfo=SHANGHAI),
    )
    await legacy(2, "05")
    await legacy(9, "04")
    second = await nightly_compare({"redis": pool, "clock": lambda: NIGHT_2})
    reasons = {r.id_number: (r.reason_code, r.inherited) for r in await UnfundedReason.all()}
    assert reasons == {student_id(1): ("03", True), student_id(2): ("01", False), student_id(9): ("04", True)}
    assert len(first) == len(second) == 1 and first != second

    # the carry-over ran before the comparison was enqueued, each night
    actions = [
        a.action for a in await AuditEntry.filter(action__in=("CARRY_OVER", "COMPARISON_SCHEDULED")).order_by("id")
    ]
    assert actions == ["CARRY_OVER", "COMPARISON_SCHEDULED"] * 2

    admin = await gql.token_for("admin")
    ticks = (await gql.data(TICKS, token=admin))["nightlyTicks"]
    assert [(t["day"], t["carriedOver"], t["carryOverError"]) for t in ticks] == [
        ("2024-01-11", 1, None),
        ("2024-01-10", 1, None),
    ]
    assert all(t["finishedAt"] for t in ticks)
    assert [t["runs"] for t in ticks] == [[{"period": PERIOD, "status": "QUEUED", "trigger": "CRON"}]] * 2
    assert await gql.error_code(TICKS, token=await gql.token_for("province_op")) == "FORBIDDEN"


async def test_a_failing_carry_over_is_recorded_and_the_comparisons_still_run(gql, world, pool, arq_queue, monkeypatch):
    await tiny_data_set()

    async def broken(actor, now=None):
        raise RuntimeError("历史表不可读")

    working = nightly.carry_over_legacy_reasons
    monkeypatch.setattr(nightly, "carry_over_legacy_reasons", broken)
    runs = await nightly_compare({"redis": pool, "clock": lambda: NIGHT_1})
    assert len(runs) == 1 and len(await pool.queued_jobs(queue_name=arq_queue)) == 1
    tick = await NightlyTick.get(day=dt.date(2024, 1, 10))
    assert tick.carried_over is None and "历史表不可读" in tick.carry_over_error
    admin = await gql.token_for("admin")
    (shown,) = (await gql.data(TICKS, token=admin))["nightlyTicks"]
    assert shown["carriedOver"] is None and "历史表不可读" in shown["carryOverError"]
    # the same day again, once the history reads: the day's tick is updated, no second run
    monkeypatch.setattr(nightly, "carry_over_legacy_reasons", working)
    await legacy(1, "03")
    assert await nightly_compare({"redis": pool, "clock": lambda: NIGHT_1}) == runs
    tick = await NightlyTick.get(day=dt.date(2024, 1, 10))
    assert (tick.carried_over, tick.carry_over_error) == (1, None)
    assert await NightlyTick.all().count() == 1
