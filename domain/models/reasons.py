"""Unfunded reasons (未资助原因): the new module's, authorities' own-level ones, and legacy history."""

from tortoise import fields
from tortoise.models import Model


class UnfundedReason(Model):
    """特殊群体学生未资助原因, keyed by (period, stage, ID number) — never by a comparison run."""

    id = fields.BigIntField(primary_key=True)
    period = fields.CharField(max_length=11)
    stage = fields.CharField(max_length=20)
    id_number = fields.CharField(max_length=18)
    school_code = fields.CharField(max_length=10)
    province = fields.CharField(max_length=2)
    reason_code = fields.CharField(max_length=2)
    detail = fields.TextField(default="")
    inherited = fields.BooleanField(default=False, db_default=False)
    reported_by = fields.CharField(max_length=64)
    reported_at = fields.DatetimeField()
    version = fields.IntField(default=1, db_default=1)  # moved by every change (optimistic concurrency)

    class Meta:
        table = "unfunded_reason"
        unique_together = (("period", "stage", "id_number"),)


class RegionReason(Model):
    """主管部门本级未资助原因: an authority's own-level explanation for a period and stage."""

    id = fields.BigIntField(primary_key=True)
    period = fields.CharField(max_length=11)
    stage = fields.CharField(max_length=20)
    region_code = fields.CharField(max_length=6)
    category = fields.CharField(max_length=2, default="00", db_default="00")
    reason_code = fields.CharField(max_length=2)
    detail = fields.TextField(default="")
    reported_by = fields.CharField(max_length=64)
    reported_at = fields.DatetimeField()
    version = fields.IntField(default=1, db_default=1)  # moved by every change (optimistic concurrency)

    class Meta:
        table = "region_reason"
        unique_together = (("period", "stage", "region_code", "category"),)


class LegacyPovertyReason(Model):
    """脱贫家庭学生（原建档立卡）历史未资助原因 — read-only history, imported once."""

    id = fields.BigIntField(primary_key=True)
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50, default="")
    school_code = fields.CharField(max_length=10)
    province = fields.CharField(max_length=2)
    stage = fields.CharField(max_length=20)
    period = fields.CharField(max_length=11)
    reason_code = fields.CharField(max_length=2)
    detail = fields.TextField(default="")
    reported_at = fields.DatetimeField(null=True)
    project_code = fields.CharField(max_length=40, default="", db_default="")  # 资助项目, '' when the file gave none

    class Meta:
        table = "legacy_poverty_reason"
        unique_together = (("period", "stage", "id_number", "school_code", "project_code"),)
        indexes = (("school_code", "period"),)


class ReasonCount(Model):
    """原因计数: how many rows of a published run's unfunded list have a reason of `reason_code`,
    per (school, stage, category masks). Kept exact inside every transaction that writes reasons
    or publishes runs (`zizhu.domain.comparison.reason_counts`), so statistics never scan the list."""

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    province = fields.CharField(max_length=2)  # of the school, like region_statistic.province
    region_code = fields.CharField(max_length=6)
    school_code = fields.CharField(max_length=10)
    stage = fields.CharField(max_length=20)
    central_mask = fields.IntField()
    self_mask = fields.IntField()
    reason_code = fields.CharField(max_length=2)
    n = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "reason_count"
        # as migrated (0020): the docstring's first line has changed since
        table_description = "原因计数: how many rows of a published run's unfunded list have a reason"
        unique_together = (
            ("run_id", "region_code", "school_code", "stage", "central_mask", "self_mask", "reason_code"),
        )
