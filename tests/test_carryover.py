"""History carry-over (历史原因继承): 2023 autumn legacy reasons become inherited reasons, once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

from tests.support.world import student_id
from zizhu.domain.models import AuditEntry, LegacyPovertyReason, UnfundedReason
from zizhu.domain.reasons.carryover import carry_over_legacy_reasons
from zizhu.domain.settings import SHANGHAI

ROOT = Path(__file__).resolve().parents[1]
P = "2023-2024-1"
KG, PRIMARY, OTHER_PRIMARY = "1143000001", "2143000002", "2143000008"
T1 = dt.datetime(2023, 12, 1, 10, 0, tzinfo=SHANGHAI)
T2 = dt.datetime(2023, 12, 20, 9, 30, tzinfo=SHANGHAI)
NOW = dt.datetime(2024, 3, 5, 2, 0, tzinfo=SHANGHAI)


async def legacy(serial: int, stage: str, school: str, code: str, period: str = P, at=T1, detail: str = ""):
    return await LegacyPovertyReason.create(
        id_number=student_id(serial),
        name=f"学生{serial}",
        school_code=school,
        province="43",
        stage=stage,
        period=period,
        reason_code=code,
        detail=detail,
        reported_at=at,
    )


async def reasons() -> dict[tuple[str, str, str], UnfundedReason]:
    return {(r.period, r.stage, r.id_number): r for r in await UnfundedReason.all()}


async def test_legacy_reasons_become_inherited_reasons_once(world):
    await legacy(1, "PRESCHOOL", KG, "01", detail="")
    await legacy(2, "COMPULSORY", PRIMARY, "99", detail="家长外出务工", at=None)
    # Same student at two schools in one stage: the later report wins.
    await legacy(3, "COMPULSORY", PRIMARY, "04", at=T1)
    await legacy(3, "COMPULSORY", OTHER_PRIMARY, "08", at=T2)
    # Same student, another stage: a separate reason.
    await legacy(3, "GENERAL_HIGH", "3443000004", "05")
    # Other periods are history only.
    await legacy(4, "COMPULSORY", PRIMARY, "02", period="2022-2023-2")
    await legacy(5, "COMPULSORY", PRIMARY, "03", period="2023-2024-2")
    # A reason already reported in the new module is never overwritten.
    await legacy(6, "COMPULSORY", PRIMARY, "01")
    await UnfundedReason.create(
        period=P,
        stage="COMPULSORY",
        id_number=student_id(6),
        school_code=PRIMARY,
        province="43",
        reason_code="10",
        detail="",
        reported_by="school_op",
        reported_at=T2,
    )

    assert await carry_over_legacy_reasons(actor="admin", now=NOW) == 4

    got = await reasons()
    assert set(got) == {
        (P, "PRESCHOOL", student_id(1)),
        (P, "COMPULSORY", student_id(2)),
        (P, "COMPULSORY", student_id(3)),
        (P, "GENERAL_HIGH", student_id(3)),
        (P, "COMPULSORY", student_id(6)),
    }
    r1 = got[(P, "PRESCHOOL", student_id(1))]
    assert (r1.reason_code, r1.inherited, r1.reported_by, r1.school_code, r1.province) == (
        "01",
        True,
        "carry-over",
        KG,
        "43",
    )
    assert r1.reported_at == T1
    r2 = got[(P, "COMPULSORY", student_id(2))]
    assert (r2.reason_code, r2.detail, r2.reported_at) == ("99", "家长外出务工", NOW)
    r3 = got[(P, "COMPULSORY", student_id(3))]
    assert (r3.reason_code, r3.school_code, r3.reported_at) == ("08", OTHER_PRIMARY, T2)
    assert got[(P, "GENERAL_HIGH", student_id(3))].reason_code == "05"
    kept = got[(P, "COMPULSORY", student_id(6))]
    assert (kept.reason_code, kept.inherited, kept.reported_by) == ("10", False, "school_op")

    # Twice = once.
    assert await carry_over_legacy_reasons(actor="admin", now=NOW) == 0
    assert await UnfundedReason.all().count() == 5

    entries = await AuditEntry.filter(action="CARRY_OVER").order_by("id")
    assert [(e.actor, e.entity_key, e.after["inserted"]) for e in entries] == [("admin", P, 4), ("admin", P, 0)]


async def test_same_time_at_two_schools_picks_one_deterministically(world):
    await legacy(7, "COMPULSORY", PRIMARY, "04", at=None)
    await legacy(7, "COMPULSORY", OTHER_PRIMARY, "06", at=None)
    assert await carry_over_legacy_reasons(actor="cli", now=NOW) == 1
    (only,) = await UnfundedReason.all()
    # Equal (missing) times: the row inserted last (highest id) wins.
    assert (only.school_code, only.reason_code) == (OTHER_PRIMARY, "06")


async def test_nothing_to_carry(world):
    await legacy(8, "COMPULSORY", PRIMARY, "01", period="2023-2024-2")
    assert await carry_over_legacy_reasons(actor="cli") == 0
    assert await UnfundedReason.all().count() == 0


async def test_cli_carry_over(world, database_url):
    await legacy(9, "COMPULSORY", PRIMARY, "03")
    env = {**os.environ, "DATABASE_URL": database_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zizhu.api.cli",
        "carry-over",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "已继承 1 条" in out.decode()
    (reason,) = await UnfundedReason.all()
    assert (reason.id_number, reason.reason_code, reason.inherited) == (student_id(9), "03", True)
    assert (await AuditEntry.get(action="CARRY_OVER")).actor == "cli"
