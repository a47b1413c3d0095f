"""Shared set-up for the preschool roster tests: windows, enrolled children, GraphQL snippets."""

from __future__ import annotations

import datetime as dt

from tests.support.world import _password_hash, student_id
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.models import Account, Enrolment
from zizhu.domain.reference.codes import Role
from zizhu.domain.reference.identity import province_of_school
from zizhu.domain.roster import windows
from zizhu.domain.settings import SHANGHAI

PERIOD = "2023-2024-1"
KG = "1143000001"  # 芙蓉区第一幼儿园 (湖南 43, county 430102): kg_op, kg_rev
GD = "2144000009"  # 荔湾区小学 (广东 44), given a preschool class and the account gd_kg_op here
ADMIN = Viewer("admin", Role.ADMIN, "000000")
HOUR = dt.timedelta(hours=1)


def now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


async def set_window(
    action: str, start: dt.datetime, end: dt.datetime, province: str | None = None, period: str = PERIOD
) -> None:
    await windows.set_window(ADMIN, period, "PRE_GOV", action, start, end, province)


async def open_windows(*actions: str, province: str | None = None) -> None:
    """Windows open around the real clock (an hour either side)."""
    instant = now()
    for action in actions or ("ENTRY", "SCHOOL_REVIEW", "AUTHORITY_REVIEW"):
        await set_window(action, instant - HOUR, instant + HOUR, province)


async def close_window(action: str, *, future: bool = False, province: str | None = None) -> None:
    """A window that ended an hour ago (or opens in an hour)."""
    start = now() + HOUR if future else now() - 2 * HOUR
    await set_window(action, start, start + HOUR, province)


async def enrol(serial: int, name: str, school: str = KG, stage: str = "PRESCHOOL", status: str = "ENROLLED") -> str:
    id_number = student_id(serial, birth="20200101")
    await Enrolment.create(
        id_number=id_number,
        name=name,
        school_code=school,
        stage=stage,
        status=status,
        province=province_of_school(school),
    )
    return id_number


async def add_gd_operator() -> None:
    await Account.create(
        username="gd_kg_op", password_hash=_password_hash(), role="SCHOOL_OPERATOR", scope_code=GD, stages=""
    )


ENTRY_FIELDS = "id idNumber name amount status returnComment schoolCode"
ADD = f"""mutation($p: String!, $i: String!, $a: Decimal!, $s: String) {{
  addPreschoolRosterEntry(period: $p, idNumber: $i, amount: $a, schoolCode: $s) {{ {ENTRY_FIELDS} }} }}"""
UPDATE = f"mutation($id: ID!, $a: Decimal!) {{ updatePreschoolRosterEntry(id: $id, amount: $a) {{ {ENTRY_FIELDS} }} }}"
DELETE = "mutation($id: ID!) { deletePreschoolRosterEntry(id: $id) }"
SUBMIT = f"mutation($ids: [ID!]!) {{ submitPreschoolRosterEntries(ids: $ids) {{ {ENTRY_FIELDS} }} }}"
WITHDRAW = f"mutation($ids: [ID!]!) {{ withdrawPreschoolRosterEntries(ids: $ids) {{ {ENTRY_FIELDS} }} }}"
SCHOOL_REVIEW = f"""mutation($ids: [ID!]!, $d: ReviewDecision!, $c: String) {{
  schoolReviewPreschoolRosterEntries(ids: $ids, decision: $d, comment: $c) {{ {ENTRY_FIELDS} }} }}"""
AUTHORITY_REVIEW = f"""mutation($ids: [ID!]!, $d: ReviewDecision!, $c: String) {{
  authorityReviewPreschoolRosterEntries(ids: $ids, decision: $d, comment: $c) {{ {ENTRY_FIELDS} }} }}"""


async def add(gql, token: str, id_number: str, amount: str = "1000.00", school: str | None = None) -> dict:
    data = await gql.data(ADD, {"p": PERIOD, "i": id_number, "a": amount, "s": school}, token=token)
    return data["addPreschoolRosterEntry"]
