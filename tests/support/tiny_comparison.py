"""A tiny comparison data set (built with the ORM on the `world` fixture's schools).

Period 2023-2024-1, school 2143000002, stage COMPULSORY. Student 1: unfunded (categories 01
central + 05 self); student 2: funded by an approved relief project of its stage (CMP_LIVING);
student 3: a member with no enrolment (unmatched). So: members 3, matched 2, unmatched 1,
funded 1, unfunded 1.
"""

from __future__ import annotations

from tests.support.world import student_id
from zizhu.domain.models import AidRecord, Enrolment, SpecialGroupRecord

PERIOD = "2023-2024-1"
SCHOOL = "2143000002"


async def tiny_data_set() -> None:
    s1, s2, s3 = student_id(1), student_id(2), student_id(3)
    for sid, name in ((s1, "甲"), (s2, "乙")):
        await Enrolment.create(
            id_number=sid, name=name, school_code=SCHOOL, stage="COMPULSORY", status="ENROLLED", province="43"
        )
    for sid, cat, src in ((s1, "01", "CENTRAL"), (s1, "05", "SELF"), (s2, "07", "CENTRAL"), (s3, "01", "CENTRAL")):
        await SpecialGroupRecord.create(id_number=sid, category=cat, source=src, period=PERIOD)
    await AidRecord.create(
        id_number=s2,
        school_code=SCHOOL,
        project_code="CMP_LIVING",
        period=PERIOD,
        amount="625.00",
        status="APPROVED",
        province="43",
    )
