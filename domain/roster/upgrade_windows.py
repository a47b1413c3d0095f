"""The upgrade's own roster windows (升级通知中的填报时间): configured by `zizhu migrate`.

Design notes: docs/design/domain-roster.md."""

from __future__ import annotations

import datetime as dt
import logging

from zizhu.domain import db
from zizhu.domain.accounts import audit
from zizhu.domain.models import Period, TimeWindow
from zizhu.domain.reference.codes import PRESCHOOL_PROJECT, WindowAction
from zizhu.domain.reference.periods import parse_semester
from zizhu.domain.roster.windows import _AUDITED, NATIONAL
from zizhu.domain.settings import SHANGHAI

log = logging.getLogger(__name__)

UPGRADE_PERIOD = "2023-2024-1"
UPGRADE_WINDOW_END = dt.datetime(2024, 1, 26, tzinfo=SHANGHAI)  # 截止 2024-01-25 24:00
SEEDED_BY = "system"


async def semester_start(period: str) -> dt.datetime:
    """00:00 Asia/Shanghai of the semester's first day: the period row's, else the default date."""
    row = await Period.get_or_none(code=period)
    first_day = row.start_date if row else parse_semester(period).default_dates()[0]
    return dt.datetime.combine(first_day, dt.time(), SHANGHAI)


async def seed_upgrade_windows() -> list[TimeWindow]:
    """Create the missing national ENTRY/SCHOOL_REVIEW/AUTHORITY_REVIEW windows of the upgrade's semester. Idempotent.

    Returns the windows created now (none when they all existed). Each creation is audited.
    """
    start = await semester_start(UPGRADE_PERIOD)
    if not start < UPGRADE_WINDOW_END:
        log.warning("%s 的学期开始时间 %s 不早于截止时间，未设置默认时间窗口", UPGRADE_PERIOD, start.isoformat())
        return []
    created: list[TimeWindow] = []
    for action in WindowAction:
        key = {
            "period": UPGRADE_PERIOD,
            "project_code": PRESCHOOL_PROJECT,
            "action": action.value,
            "province": NATIONAL,
        }
        async with db.transaction() as tx:
            window, is_new = await TimeWindow.get_or_create(
                defaults={"start": start, "end": UPGRADE_WINDOW_END, "updated_by": SEEDED_BY}, using_db=tx, **key
            )
            if is_new:
                await audit.record(
                    SEEDED_BY,
                    "time_window.seed",
                    "time_window",
                    "/".join(key.values()),
                    None,
                    audit.snapshot(window, _AUDITED),
                    using_db=tx,
                )
                created.append(window)
    return created
