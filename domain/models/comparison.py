"""Comparison runs (比对批次) and what they produce. Nothing here is keyed by reasons."""

from tortoise import fields
from tortoise.models import Model

from zizhu.domain.reference.codes import Category

STAT_CATEGORIES = ("00",) + tuple(c.number for c in Category)  # '00' = any category
STAT_SOURCES = ("all", "central", "self")


def _count_fields() -> dict[str, fields.IntField]:
    """members_k_source and funded_k_source for every category column k and source."""
    return {
        f"{kind}_{category}_{source}": fields.IntField(default=0, db_default=0)
        for category in STAT_CATEGORIES
        for source in STAT_SOURCES
        for kind in ("members", "funded")
    }


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
    duplicate_enrolments = fields.IntField(default=0, db_default=0)  # students placed at one of several schools
    error = fields.TextField(null=True)
    job_id = fields.CharField(max_length=100, null=True, unique=True)
    lease_until = fields.DatetimeField(null=True)  # a RUNNING run's holder renews it; expired = holder gone

    class Meta:
        table = "comparison_run"
        indexes = (("period", "province", "published"),)


class UnfundedResult(Model):
    """未资助名单 row: one (student, school, stage) with category bit masks per source.

    Rows are kept as versions (slowly changing): a row belongs to the chain of runs of (period,
    scope), scope being the run's province or '' for national runs, and is part of every run of
    that chain from valid_from_run up to, not including, valid_until_run (NULL while current).
    A nightly run writes only what changed: rows that left the list or changed are closed, new
    ones are added, unchanged rows are shared with the previous runs.
    """

    id = fields.BigIntField(primary_key=True)
    period = fields.CharField(max_length=11, default="", db_default="")
    scope = fields.CharField(max_length=2, default="", db_default="")
    valid_from_run = fields.BigIntField(default=0, db_default=0)
    valid_until_run = fields.BigIntField(null=True)
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50, default="")
    school_code = fields.CharField(max_length=10)
    region_code = fields.CharField(max_length=6)
    stage = fields.CharField(max_length=20)
    province = fields.CharField(max_length=2)
    central_mask = fields.IntField()
    self_mask = fields.IntField()
    # '' = the stage-wide list (no 助困 project at all); a project code = that project's module
    project = fields.CharField(max_length=40, default="", db_default="")
    # the first run of the row's current unbroken spell on the list (carried across versions)
    since_run = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "unfunded_result"
        # one index for every reader: a region's subtree is a range of region_code, a school is
        # (its region_code, school_code), always within one (period, scope) chain
        indexes = (("period", "scope", "region_code", "school_code"), ("id_number", "period"))


class UnmatchedMember(Model):
    """未匹配学籍的特殊群体成员 of a run: a member with no 在读 enrolment, once per region it belongs
    to (the region of its ID number's first six digits, nearest listed ancestor, and each region
    whose authority uploaded it). Written by the run, pruned with it."""

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50, default="")
    region_code = fields.CharField(max_length=6)
    province = fields.CharField(max_length=2)  # of region_code ('00' for the nation)
    uploaded = fields.BooleanField(default=False, db_default=False)  # belongs here only as the uploader's
    central_mask = fields.IntField()
    self_mask = fields.IntField()

    class Meta:
        table = "unmatched_member"
        indexes = (("run_id", "region_code"), ("run_id", "id_number"))


class RunStatistic(Model):
    """Precomputed counts of a run for one (school, stage), one row per pair.

    For each category column k in STAT_CATEGORIES ('00' = any category, '01'..'13') and each
    source in STAT_SOURCES ('all' counts a student once whatever source named them) the row has
    members_k_source and funded_k_source. Unfunded is members minus funded.
    """

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    school_code = fields.CharField(max_length=10)
    region_code = fields.CharField(max_length=6)
    stage = fields.CharField(max_length=20)
    project = fields.CharField(max_length=40, default="", db_default="")  # '' stage-wide, else a project's module
    locals().update(_count_fields())

    class Meta:
        table = "run_statistic"
        indexes = (("run_id", "region_code"),)


class RegionStatistic(Model):
    """Precomputed counts of a run for one region (区域统计), written when the run is computed.

    kind 'S' is the region's subtree (every school whose region code lies under it), 'O' its own
    level (本级: schools whose region code is the region's). Rows are per (province of the school,
    stage) so that runs of a province can replace that province in a national run, and carry the
    same members_/funded_ columns as RunStatistic. Any region's figures are a key lookup.
    """

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    province = fields.CharField(max_length=2)
    region_code = fields.CharField(max_length=6)
    kind = fields.CharField(max_length=1)
    stage = fields.CharField(max_length=20)
    project = fields.CharField(max_length=40, default="", db_default="")  # '' stage-wide, else a project's module
    locals().update(_count_fields())

    class Meta:
        table = "region_statistic"
        indexes = (("run_id", "region_code"),)


class RunChange(Model):
    """A student newly unfunded or newly funded compared with the previously published run."""

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    id_number = fields.CharField(max_length=18)
    school_code = fields.CharField(max_length=10)
    region_code = fields.CharField(max_length=6)
    stage = fields.CharField(max_length=20)
    change = fields.CharField(max_length=16)  # NEWLY_UNFUNDED / NEWLY_FUNDED / MOVED

    class Meta:
        table = "run_change"
        indexes = (("run_id", "change"),)


class DataVersion(Model):
    """A counter (数据版本) moved in the same transaction as every write that changes what the
    cached read path serves (reasons, published runs, imports); cached answers carry the value
    they were computed at and are used only while it is unchanged."""

    name = fields.CharField(max_length=40, primary_key=True)
    value = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "data_version"
        # as migrated (0006): the docstring's first line is no longer the whole sentence
        table_description = (
            "A counter (数据版本) moved in the same transaction as every write that changes what the"
            " cached read path serves."
        )


class RunHistory(Model):
    """A published run remembered for trends (历次比对): kept when the run itself is pruned."""

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField(unique=True)
    period = fields.CharField(max_length=11)
    scope = fields.CharField(max_length=2, default="", db_default="")  # the run's province, '' national
    computed_at = fields.DatetimeField()

    class Meta:
        table = "run_history"
        indexes = (("period", "scope"),)


class RunTrend(Model):
    """The totals of a published run for one (school, stage): members and funded, any category
    and either source (unfunded = members − funded). Kept for trends when the run is pruned."""

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    school_code = fields.CharField(max_length=10)
    region_code = fields.CharField(max_length=6)
    stage = fields.CharField(max_length=20)
    members = fields.IntField(default=0, db_default=0)
    funded = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "run_trend"
        indexes = (("run_id", "region_code"),)


class NightlyTick(Model):
    """One 02:00 tick (每日比对): the history carry-over's outcome and the runs it enqueued."""

    id = fields.BigIntField(primary_key=True)
    day = fields.DateField(unique=True)  # the Shanghai date of the tick
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    carried_over = fields.IntField(null=True)  # reasons inserted by the carry-over, None when it failed
    carry_over_error = fields.TextField(null=True)
    run_ids = fields.CharField(max_length=400, default="", db_default="")  # comma-separated

    class Meta:
        table = "nightly_tick"


class DuplicateEnrolment(Model):
    """重复学籍: a matched student with several 在读 enrolments of one stage, one row per school

    The run placed the student at the `chosen` one: the most recently imported or changed
    enrolment, ties to the lowest school code."""

    id = fields.BigIntField(primary_key=True)
    run_id = fields.BigIntField()
    province = fields.CharField(max_length=2)  # the school's
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50)
    stage = fields.CharField(max_length=20)
    school_code = fields.CharField(max_length=10)
    region_code = fields.CharField(max_length=6)
    chosen = fields.BooleanField()

    class Meta:
        table = "duplicate_enrolment"
        indexes = (("run_id", "id_number", "stage"), ("run_id", "region_code"))
