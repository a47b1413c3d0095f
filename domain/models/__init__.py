"""Tortoise models of zizhu. One module per concept; all are registered as app models."""
from domain.models.accounts import Account, AuditEntry
from domain.models.catalogue import AidProject, CategoryCode, Period, ReasonCode, StageCode
from domain.models.comparison import ComparisonRun, RunChange, RunStatistic, UnfundedResult
from domain.models.geography import Region, School
from domain.models.reasons import LegacyPovertyReason, RegionReason, UnfundedReason
from domain.models.students import AidRecord, Enrolment, SpecialGroupRecord
from domain.models.windows import TimeWindow

__all__ = [
    "Account", "AuditEntry", "AidProject", "CategoryCode", "Period", "ReasonCode", "StageCode",
    "ComparisonRun", "RunChange", "RunStatistic", "UnfundedResult", "Region", "School",
    "LegacyPovertyReason", "RegionReason", "UnfundedReason", "AidRecord", "Enrolment",
    "SpecialGroupRecord", "TimeWindow",
]
