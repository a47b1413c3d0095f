"""Tortoise models of zizhu. One module per concept; all are registered as app models."""
from zizhu.domain.models.accounts import Account, AuditEntry
from zizhu.domain.models.catalogue import AidProject, CategoryCode, Period, ReasonCode, StageCode
from zizhu.domain.models.comparison import (
    ComparisonRun,
    DataVersion,
    RegionStatistic,
    RunChange,
    RunStatistic,
    UnfundedResult,
)
from zizhu.domain.models.geography import Region, School
from zizhu.domain.models.reasons import LegacyPovertyReason, RegionReason, UnfundedReason
from zizhu.domain.models.students import AidRecord, Enrolment, SpecialGroupRecord
from zizhu.domain.models.windows import TimeWindow

__all__ = [
    "Account", "AuditEntry", "AidProject", "CategoryCode", "Period", "ReasonCode", "StageCode",
    "ComparisonRun", "DataVersion", "RegionStatistic", "RunChange", "RunStatistic", "UnfundedResult", "Region", "School",
    "LegacyPovertyReason", "RegionReason", "UnfundedReason", "AidRecord", "Enrolment",
    "SpecialGroupRecord", "TimeWindow",
]
