from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Token invalidation on password change or disable, optimistic versions of reported reasons,
# and the lease a worker holds on a running comparison run.


class Migration(migrations.Migration):
    dependencies = [('models', '0006_region_statistic')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='token_version',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='UnfundedReason',
            name='version',
            field=fields.IntField(default=1, db_default=1),
        ),
        ops.AddField(
            model_name='RegionReason',
            name='version',
            field=fields.IntField(default=1, db_default=1),
        ),
        ops.AddField(
            model_name='ComparisonRun',
            name='lease_until',
            field=fields.DatetimeField(null=True),
        ),
    ]
