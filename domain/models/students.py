"""Enrolments (学籍), aid records (资助记录) and special-group records (特殊群体名单).

Tables that belong to a school carry the 2-digit province so they can be partitioned or
distributed by province (docs/operations.md, scaling out).
"""

from tortoise import fields
from tortoise.models import Model


class Enrolment(Model):
    """学生学籍: one student at one school in one stage."""

    id = fields.BigIntField(primary_key=True)
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50)
    school_code = fields.CharField(max_length=10)
    stage = fields.CharField(max_length=20)
    grade = fields.CharField(max_length=20, default="")
    class_name = fields.CharField(max_length=50, default="", db_default="")  # 班级, optional on import
    status = fields.CharField(max_length=12)  # EnrolmentStatus
    province = fields.CharField(max_length=2)
    # when the row was imported or last changed (NULL: before this was recorded); the comparison
    # places a student with two 在读 enrolments of one stage at the most recent one
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "enrolment"
        unique_together = (("id_number", "school_code", "stage"),)
        indexes = (("province", "status"), ("school_code", "stage"))


class AidRecord(Model):
    """资助记录 (also the preschool roster entries of project PRE_GOV)."""

    id = fields.BigIntField(primary_key=True)
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50, default="")
    school_code = fields.CharField(max_length=10)
    project_code = fields.CharField(max_length=40)
    period = fields.CharField(max_length=11)  # semester code, or academic year for YEAR cycle
    amount = fields.DecimalField(max_digits=12, decimal_places=2)
    status = fields.CharField(max_length=16)  # AidStatus
    province = fields.CharField(max_length=2)
    return_comment = fields.TextField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "aid_record"
        unique_together = (("id_number", "project_code", "period"),)
        indexes = (("school_code", "period", "project_code"), ("period", "status"))


class SpecialGroupRecord(Model):
    """特殊群体学生名单: one (student, category, source) in one period."""

    id = fields.BigIntField(primary_key=True)
    id_number = fields.CharField(max_length=18)
    name = fields.CharField(max_length=50, default="")
    category = fields.CharField(max_length=2)  # two-digit category number 01..13
    source = fields.CharField(max_length=8)  # CENTRAL / SELF
    period = fields.CharField(max_length=11)
    # the region whose authority uploaded the record (自采集 through the API); '' = loaded nationally
    collected_by = fields.CharField(max_length=6, default="", db_default="")

    class Meta:
        table = "special_group_record"
        unique_together = (("period", "id_number", "category", "source", "collected_by"),)
