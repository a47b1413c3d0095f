from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# A student with several 在读 enrolments of one stage is placed at one school (the comparison's
# duplicate_enrolment rows); enrolments remember when they were imported or changed.


class Migration(migrations.Migration):
    dependencies = [('models', '0050_catalogue_and_workable_list')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DuplicateEnrolment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run_id', fields.BigIntField()),
                ('province', fields.CharField(max_length=2)),
                ('id_number', fields.CharField(max_length=18)),
                ('name', fields.CharField(max_length=50)),
                ('stage', fields.CharField(max_length=20)),
                ('school_code', fields.CharField(max_length=10)),
                ('region_code', fields.CharField(max_length=6)),
                ('chosen', fields.BooleanField()),
            ],
            options={
                'table': 'duplicate_enrolment',
                'app': 'models',
                'indexes': [Index(fields=['run_id', 'id_number', 'stage']), Index(fields=['run_id', 'region_code'])],
                'pk_attr': 'id',
                'table_description': '重复学籍: a matched student with several 在读 enrolments of one stage, one row per school',
            },
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ComparisonRun',
            name='duplicate_enrolments',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Enrolment',
            name='updated_at',
            field=fields.DatetimeField(null=True, auto_now=True, auto_now_add=False),
        ),
    ]
