"""Tortoise models of zizhu. One module per concept; all are registered as app models."""

from zizhu.domain.models.accounts import Account, AuditEntry
from zizhu.domain.models.catalogue import AidProject, CategoryCode, Period, ReasonCode, StageCode
from zizhu.domain.models.comparison import (
    ComparisonRun,
    DataVersion,
    DuplicateEnrolment,
    NightlyTick,
    RegionStatistic,
    RunChange,
    RunHistory,
    RunStatistic,
    RunTrend,
    UnfundedResult,
)
from zizhu.domain.models.geography import Region, School
from zizhu.domain.models.reasons import LegacyPovertyReason, RegionReason, UnfundedReason
from zizhu.domain.models.students import AidRecord, Enrolment, SpecialGroupRecord
from zizhu.domain.models.windows import TimeWindow

__all__ = [
    "Account",
    "AidProject",
    "AidRecord",
    "AuditEntry",
    "CategoryCode",
    "ComparisonRun",
    "DataVersion",
    "DuplicateEnrolment",
    "Enrolment",
    "LegacyPovertyReason",
    "NightlyTick",
    "Period",
    "ReasonCode",
    "Region",
    "RegionReason",
    "RegionStatistic",
    "RunChange",
    "RunHistory",
    "RunStatistic",
    "RunTrend",
    "School",
    "SpecialGroupRecord",
    "StageCode",
    "TimeWindow",
    "UnfundedReason",
    "UnfundedResult",
]
