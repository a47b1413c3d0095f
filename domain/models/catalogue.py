"""Seeded code lists (stages, categories, reasons), the aid project catalogue and periods."""

from tortoise import fields
from tortoise.models import Model


class StageCode(Model):
    """学段代码表"""

    code = fields.CharField(max_length=20, primary_key=True)
    label = fields.CharField(max_length=50)
    sort = fields.IntField(default=0)

    class Meta:
        table = "stage_code"


class CategoryCode(Model):
    """特殊群体类型代码表"""

    code = fields.CharField(max_length=30, primary_key=True)
    number = fields.CharField(max_length=2, unique=True)
    label = fields.CharField(max_length=50)

    class Meta:
        table = "category_code"


class ReasonCode(Model):
    """未资助原因代码表"""

    code = fields.CharField(max_length=2, primary_key=True)
    label = fields.CharField(max_length=100)
    needs_detail = fields.BooleanField(default=False)
    # a retired code can no longer be chosen; reasons that carry it keep its label (codes are never reused)
    retired = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "reason_code"


class AidProject(Model):
    """资助项目: only RELIEF (助困) projects of a student's stage decide "funded"."""

    code = fields.CharField(max_length=40, primary_key=True)
    name = fields.CharField(max_length=100)
    stage = fields.CharField(max_length=20)
    kind = fields.CharField(max_length=10)  # RELIEF / MERIT / OTHER
    cycle = fields.CharField(max_length=10)  # SEMESTER / YEAR
    # a retired project takes no new aid records and has no module of its own; its approved records still count
    retired = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "aid_project"


class Period(Model):
    """资助周期 (a semester): active while today is inside [start_date, end_date] or when forced."""

    code = fields.CharField(max_length=11, primary_key=True)
    academic_year = fields.CharField(max_length=9)
    term = fields.SmallIntField()
    start_date = fields.DateField()
    end_date = fields.DateField()
    force_active = fields.BooleanField(default=False)

    class Meta:
        table = "period"
