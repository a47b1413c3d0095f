"""Comparison runs (比对批次) and what they produce. Nothing here is keyed by reasons."""
from tortoise import fields
from tortoise.models import Model


class ComparisonRun(Model):
    """One comparison of period period (for one province, or all when province is '')."""

    id = fields.BigIntField(primary_key=True)
    period = fields.CharField(max_length=11)
    province = fields.CharField(max_length=2, default="", db_default="")
    trigger = fields.CharField(max_length=8)  # CRON / MANUAL / CLI
    requested_by = fields.CharField(max_length=64, null=True)
    status = fields.CharField(max_length=10)  # QUEUED / RUNNING / SUCCEEDED / FAILED
    published = fields.BooleanField(default=False, db_default=False)
    queued_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0, db_default=0)
    members = fields.IntField(default=0, db_default=0)
    matched = fields.IntField(default=0, db_default=0)
    unmatched = fields.IntField(default=0, db_default=0)
    funded = fields.IntField(default=0, db_default=0)
    unfunded = fields.IntField(default=0, db_default=0)
    newly_unfunded = fields.IntField(default=0, db_default=0)
    newly_funded = fields.IntField(default=0, db_default=0)
    error = fields.TextField(null=True)
    job_id = fields.CharField(max_length=100, null=True, unique=True)

    class Meta:
        table = "comparison_run"
        indexes = (("period", "province", "published"),)


class UnfundedResult(Model):
    """未资助名单 row of a run: one (student, school, stage), with category bit masks per source."""

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50, default="")
    school_code = fields.CharField(max_length=10)
    region_code = fields.CharField(max_length=6)
    stage = fields.CharField(max_length=20)
    province = fields.CharField(max_length=2)
    central_mask = fields.IntField()
    self_mask = fields.IntField()

    class Meta:
        table = "unfunded_result"
        indexes = (("run_id", "region_code"), ("run_id", "school_code", "stage"), ("run_id", "id_number"))


class RunStatistic(Model):
    """Precomputed counts of a run per (school, stage, category, source).

    category '00' is the category-free total, source 'ALL' counts a student once whatever
    source named them.
    """

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    school_code = fields.CharField(max_length=10)
    region_code = fields.CharField(max_length=6)
    stage = fields.CharField(max_length=20)
    category = fields.CharField(max_length=2)
    source = fields.CharField(max_length=8)
    members = fields.IntField()
    funded = fields.IntField()
    unfunded = fields.IntField()

    class Meta:
        table = "run_statistic"
        indexes = (("run_id", "region_code"),)


class RunChange(Model):
    """A student newly unfunded or newly funded compared with the previously published run."""

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    id_number = fields.CharField(max_length=18)
    school_code = fields.CharField(max_length=10)
    region_code = fields.CharField(max_length=6)
    stage = fields.CharField(max_length=20)
    change = fields.CharField(max_length=16)  # NEWLY_UNFUNDED / NEWLY_FUNDED

    class Meta:
        table = "run_change"
        indexes = (("run_id", "change"),)
