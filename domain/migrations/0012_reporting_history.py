from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# The runs that succeeded before this migration were published: remember them, with the totals
# of their statistics rows, so their trend points survive their pruning.
BACKFILL = [
    "INSERT INTO run_history (run_id, period, scope, computed_at)"
    " SELECT id, period, province, COALESCE(finished_at, queued_at) FROM comparison_run WHERE status = 'SUCCEEDED'",
    "INSERT INTO run_trend (run_id, school_code, region_code, stage, members, funded)"
    " SELECT run_id, school_code, region_code, stage, members_00_all, funded_00_all FROM run_statistic"
    " WHERE run_id IN (SELECT run_id FROM run_history)",
]


class Migration(migrations.Migration):
    dependencies = [('models', '0010_hardening_accounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NightlyTick',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('day', fields.DateField(unique=True)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('carried_over', fields.IntField(null=True)),
                ('carry_over_error', fields.TextField(null=True, unique=False)),
                ('run_ids', fields.CharField(default='', db_default='', max_length=400)),
            ],
            options={
                'table': 'nightly_tick',
                'app': 'models',
                'pk_attr': 'id',
                'table_description': "One 02:00 tick (每日比对): the history carry-over's outcome and the runs it enqueued.",
            },
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RunHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run_id', fields.BigIntField(unique=True)),
                ('period', fields.CharField(max_length=11)),
                ('scope', fields.CharField(default='', db_default='', max_length=2)),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                'table': 'run_history',
                'app': 'models',
                'indexes': [Index(fields=['period', 'scope'])],
                'pk_attr': 'id',
                'table_description': 'A published run remembered for trends (历次比对): kept when the run itself is pruned.',
            },
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RunTrend',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run_id', fields.BigIntField()),
                ('school_code', fields.CharField(max_length=10)),
                ('region_code', fields.CharField(max_length=6)),
                ('stage', fields.CharField(max_length=20)),
                ('members', fields.IntField(default=0, db_default=0)),
                ('funded', fields.IntField(default=0, db_default=0)),
            ],
            options={
                'table': 'run_trend',
                'app': 'models',
                'indexes': [Index(fields=['run_id', 'region_code'])],
                'pk_attr': 'id',
                'table_description': 'The totals of a published run for one (school, stage): members and funded, any category',
            },
            bases=['Model'],
        ),
        ops.RunSQL(BACKFILL, reverse_sql=[]),  # the tables go with the models
    ]
