from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# The counters of the runs published before this migration: every list row of each published run
# that has a reason, grouped by (school, stage, masks, reason code).
BACKFILL = [
    "INSERT INTO reason_count (run_id, province, region_code, school_code, stage, central_mask, self_mask,"
    " reason_code, n)"
    " SELECT c.id, substr(t.school_code, 3, 2), t.region_code, t.school_code, t.stage, t.central_mask,"
    " t.self_mask, u.reason_code, COUNT(*)"
    " FROM comparison_run c"
    " JOIN unfunded_result t ON t.period = c.period AND t.scope = c.province AND t.valid_from_run <= c.id"
    " AND (t.valid_until_run IS NULL OR t.valid_until_run > c.id)"
    " JOIN unfunded_reason u ON u.period = t.period AND u.stage = t.stage AND u.id_number = t.id_number"
    " WHERE c.published = TRUE"
    " GROUP BY c.id, t.region_code, t.school_code, t.stage, t.central_mask, t.self_mask, u.reason_code",
]


class Migration(migrations.Migration):
    dependencies = [('models', '0012_reporting_history')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReasonCount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run_id', fields.BigIntField()),
                ('province', fields.CharField(max_length=2)),
                ('region_code', fields.CharField(max_length=6)),
                ('school_code', fields.CharField(max_length=10)),
                ('stage', fields.CharField(max_length=20)),
                ('central_mask', fields.IntField()),
                ('self_mask', fields.IntField()),
                ('reason_code', fields.CharField(max_length=2)),
                ('n', fields.IntField(default=0, db_default=0)),
            ],
            options={
                'table': 'reason_count',
                'app': 'models',
                'unique_together': (
                    ('run_id', 'region_code', 'school_code', 'stage', 'central_mask', 'self_mask', 'reason_code'),
                ),
                'pk_attr': 'id',
                'table_description': "原因计数: how many rows of a published run's unfunded list have a reason",
            },
            bases=['Model'],
        ),
        ops.RunSQL(BACKFILL, reverse_sql=[]),
    ]
