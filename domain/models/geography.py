"""Regions (行政区划) and schools (学校)."""

from tortoise import fields
from tortoise.models import Model


class Region(Model):
    """行政区划: 6-digit GB/T 2260 code, 000000 is the nation."""

    code = fields.CharField(max_length=6, primary_key=True)
    name = fields.CharField(max_length=100)
    parent_code = fields.CharField(max_length=6, null=True, db_index=True)
    level = fields.CharField(max_length=10)  # NATION / PROVINCE / CITY / COUNTY

    class Meta:
        table = "region"


class School(Model):
    """学校: 10-digit 学校标识码, administered by the authority of region_code."""

    code = fields.CharField(max_length=10, primary_key=True)
    name = fields.CharField(max_length=200)
    region_code = fields.CharField(max_length=6, db_index=True)
    province = fields.CharField(max_length=2, db_index=True)

    class Meta:
        table = "school"
