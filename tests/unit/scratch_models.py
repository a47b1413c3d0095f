"""A model with no migration, for the drift check's own test (not a test module)."""

from tortoise import fields
from tortoise.models import Model


class DriftProbe(Model):
    id = fields.IntField(primary_key=True)

    class Meta:
        table = "drift_probe"
