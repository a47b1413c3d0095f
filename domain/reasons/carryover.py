"""History carry-over (历史原因继承): 2023 autumn poverty-family reasons become inherited reasons.

Every legacy reason (脱贫家庭学生未资助原因) of period `2023-2024-1` becomes an `unfunded_reason`
for (that period, its stage, its ID number), marked `inherited`, unless a reason is already there
(a reason is never overwritten). One set-based INSERT … SELECT: running it twice equals once.
When the legacy table holds the same (period, stage, ID number) at two schools, the latest
`reported_at` wins (a missing time counts as oldest), then the highest row id.
"""

from __future__ import annotations

import datetime as dt

from zizhu.domain import db, versions
from zizhu.domain.accounts import audit
from zizhu.domain.comparison import reason_counts
from zizhu.domain.settings import SHANGHAI

CARRY_OVER_PERIOD = "2023-2024-1"
CARRY_OVER_ACTOR = "carry-over"

# l2 "wins over" l: later reported_at (NULL = oldest), ties broken by the higher id.
_LATER = """
    (l2.reported_at IS NOT NULL AND l.reported_at IS NULL)
    OR l2.reported_at > l.reported_at
    OR ((l2.reported_at = l.reported_at OR (l2.reported_at IS NULL AND l.reported_at IS NULL))
        AND l2.id > l.id)
"""

CARRY_OVER_SQL = f"""
INSERT INTO unfunded_reason
    (period, stage, id_number, school_code, province, reason_code, detail, inherited,
     reported_by, reported_at)
SELECT l.period, l.stage, l.id_number, l.school_code, l.province, l.reason_code, l.detail, TRUE,
       :reported_by, COALESCE(l.reported_at, :now)
FROM legacy_poverty_reason l
WHERE l.period = :period
  AND NOT EXISTS (
      SELECT 1 FROM unfunded_reason r
      WHERE r.period = l.period AND r.stage = l.stage AND r.id_number = l.id_number)
  AND NOT EXISTS (
      SELECT 1 FROM legacy_poverty_reason l2
      WHERE l2.period = l.period AND l2.stage = l.stage AND l2.id_number = l.id_number
        AND ({_LATER}))
ON CONFLICT (period, stage, id_number) DO NOTHING
"""


async def carry_over_legacy_reasons(actor: str, now: dt.datetime | None = None) -> int:
    """Carry the 2023 autumn legacy reasons over; returns the number of reasons inserted."""
    now = now or dt.datetime.now(SHANGHAI)
    async with db.transaction() as tx:
        await reason_counts.hold_for_publication(tx, CARRY_OVER_PERIOD)  # no report nor run meanwhile
        inserted = await db.execute(
            CARRY_OVER_SQL, {"period": CARRY_OVER_PERIOD, "reported_by": CARRY_OVER_ACTOR, "now": now}, tx
        )
        await audit.record(
            actor,
            "CARRY_OVER",
            "unfunded_reason",
            CARRY_OVER_PERIOD,
            after={"inserted": inserted, "source": "legacy_poverty_reason"},
            using_db=tx,
        )
        if inserted:
            await reason_counts.rebuild_period(tx, CARRY_OVER_PERIOD)
        await versions.bump(tx)
    return inserted
