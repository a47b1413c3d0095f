"""Funding periods: the admin sets dates or forces a period active; the nightly job follows."""

from __future__ import annotations

import datetime as dt

from zizhu.domain.comparison.schedule import active_periods
from zizhu.domain.models import AuditEntry, Period
from zizhu.domain.settings import SHANGHAI

SET = """mutation($c: String!, $s: Date, $e: Date, $f: Boolean) {
  setPeriod(code: $c, startDate: $s, endDate: $e, forceActive: $f) { code label startDate endDate forceActive isActive } }"""


async def test_admin_forces_an_old_period_active(gql, world, clock):
    clock.value = dt.datetime(2024, 10, 8, 12, 0, tzinfo=SHANGHAI)
    admin = await gql.token_for("admin")
    data = (await gql.data(SET, {"c": "2023-2024-1", "f": True}, token=admin))["setPeriod"]
    assert data == {
        "code": "2023-2024-1",
        "label": "2023-2024学年秋季学期",
        "startDate": "2023-09-01",
        "endDate": "2024-02-29",
        "forceActive": True,
        "isActive": True,
    }
    assert await active_periods(dt.date(2024, 10, 8)) == ["2023-2024-1", "2024-2025-1"]
    audit = await AuditEntry.get(entity="period", entity_key="2023-2024-1")
    assert audit.before["force_active"] is False and audit.after["force_active"] is True
    await gql.data(SET, {"c": "2023-2024-1", "f": False}, token=admin)
    assert await active_periods(dt.date(2024, 10, 8)) == ["2024-2025-1"]


async def test_dates_and_validation(gql, world, clock):
    clock.value = dt.datetime(2024, 3, 5, 9, 0, tzinfo=SHANGHAI)
    admin = await gql.token_for("admin")
    data = (await gql.data(SET, {"c": "2023-2024-2", "s": "2024-03-10", "e": "2024-07-15"}, token=admin))["setPeriod"]
    assert (data["startDate"], data["endDate"], data["isActive"]) == ("2024-03-10", "2024-07-15", False)
    assert (
        await gql.error_code(SET, {"c": "2023-2024-2", "s": "2024-08-01", "e": "2024-07-01"}, token=admin)
        == "VALIDATION"
    )
    assert await gql.error_code(SET, {"c": "2023-2025-1"}, token=admin) == "VALIDATION"
    assert (await Period.get(code="2023-2024-2")).start_date == dt.date(2024, 3, 10)
    listed = await gql.data("{ periods { code isActive } }", token=await gql.token_for("county_op"))
    assert {"code": "2023-2024-2", "isActive": False} in listed["periods"]
