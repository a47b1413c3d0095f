from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# Each existing run kept a full copy of its list (no way back: the copies are not rebuilt): its rows become versions valid for that run
# only, except the rows of each chain's newest succeeded run, which stay current.
TO_VERSIONS = [
    # run_id was never a foreign key: rows whose run is gone belong to no list
    "DELETE FROM unfunded_result WHERE run_id NOT IN (SELECT id FROM comparison_run)",
    "UPDATE unfunded_result SET"
    " period = (SELECT r.period FROM comparison_run r WHERE r.id = unfunded_result.run_id),"
    " scope = (SELECT r.province FROM comparison_run r WHERE r.id = unfunded_result.run_id),"
    " valid_from_run = run_id, valid_until_run = run_id + 1",
    "UPDATE unfunded_result SET valid_until_run = NULL WHERE valid_from_run = ("
    "SELECT MAX(r.id) FROM comparison_run r WHERE r.period = unfunded_result.period"
    " AND r.province = unfunded_result.scope AND r.status = 'SUCCEEDED')",
]


class Migration(migrations.Migration):
    dependencies = [('models', '0003_lean_unfunded_result_index')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='UnfundedResult',
            name=None,
            fields=['run_id', 'region_code', 'school_code'],
        ),
        ops.AlterModelOptions(
            name='UnfundedResult',
            options={
                'table': 'unfunded_result',
                'app': 'models',
                'indexes': [Index(fields=['period', 'scope', 'region_code', 'school_code'])],
                'pk_attr': 'id',
                'table_description': '未资助名单 row: one (student, school, stage) with category bit masks per source.',
            },
        ),
        ops.AddField(
            model_name='UnfundedResult',
            name='period',
            field=fields.CharField(default='', db_default='', max_length=11),
        ),
        ops.AddField(
            model_name='UnfundedResult',
            name='scope',
            field=fields.CharField(default='', db_default='', max_length=2),
        ),
        ops.AddField(
            model_name='UnfundedResult',
            name='valid_from_run',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='UnfundedResult',
            name='valid_until_run',
            field=fields.BigIntField(null=True),
        ),
        ops.RunSQL(TO_VERSIONS),
        ops.RemoveField(model_name='UnfundedResult', name='run_id'),
        ops.AddIndex(
            model_name='UnfundedResult',
            index=Index(fields=['period', 'scope', 'region_code', 'school_code']),
        ),
    ]
