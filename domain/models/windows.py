"""Time windows (填报时间范围) for preschool roster entry and review."""

from tortoise import fields
from tortoise.models import Model


class TimeWindow(Model):
    """[start, end) for (period, project, action), province '' is the national window."""

    id = fields.IntField(primary_key=True)
    period = fields.CharField(max_length=11)
    project_code = fields.CharField(max_length=40)
    action = fields.CharField(max_length=16)  # ENTRY / SCHOOL_REVIEW / AUTHORITY_REVIEW
    province = fields.CharField(max_length=2, default="", db_default="")
    start = fields.DatetimeField()
    end = fields.DatetimeField()
    updated_by = fields.CharField(max_length=64, default="")

    class Meta:
        table = "time_window"
        unique_together = (("period", "project_code", "action", "province"),)
