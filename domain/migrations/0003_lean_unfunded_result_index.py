from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0002_wide_run_statistic')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='UnfundedResult',
            name=None,
            fields=['run_id', 'region_code'],
        ),
        ops.RemoveIndex(
            model_name='UnfundedResult',
            name=None,
            fields=['run_id', 'school_code', 'stage'],
        ),
        ops.RemoveIndex(
            model_name='UnfundedResult',
            name=None,
            fields=['run_id', 'id_number'],
        ),
        ops.AddIndex(
            model_name='UnfundedResult',
            index=Index(fields=['run_id', 'region_code', 'school_code']),
        ),
    ]
