from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

# The unmatched members of each run (未匹配学籍), and the uploading region of a special-group
# record, so an authority's self-collected list is kept apart from other regions' and replaced whole.


# SQLite keeps the old key as an inline UNIQUE of the table, which only a rebuild removes.
SQLITE_REBUILD = [
    """CREATE TABLE special_group_record__new (
         "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
         "id_number" VARCHAR(18) NOT NULL,
         "name" VARCHAR(50) NOT NULL,
         "category" VARCHAR(2) NOT NULL,
         "source" VARCHAR(8) NOT NULL,
         "period" VARCHAR(11) NOT NULL,
         "collected_by" VARCHAR(6) NOT NULL DEFAULT '')""",
    """INSERT INTO special_group_record__new (id, id_number, name, category, source, period, collected_by)
       SELECT id, id_number, name, category, source, period, collected_by FROM special_group_record""",
    "DROP TABLE special_group_record",
    "ALTER TABLE special_group_record__new RENAME TO special_group_record",
]


def _is_sqlite(schema_editor) -> bool:
    return getattr(schema_editor, "DIALECT", "") == "sqlite"


class _RemoveOldKey(ops.RemoveConstraint):
    """The old unique key: dropped by name on PostgreSQL, by the rebuild below on SQLite."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is not None and not _is_sqlite(state_editor):
            await super().database_forward(app_label, old_state, new_state, state_editor)


async def _rebuild_on_sqlite(apps, schema_editor) -> None:
    if _is_sqlite(schema_editor):
        for sql in SQLITE_REBUILD:
            await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [('models', '0030_three_roster_windows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='UnmatchedMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run_id', fields.BigIntField()),
                ('id_number', fields.CharField(max_length=18)),
                ('name', fields.CharField(default='', max_length=50)),
                ('region_code', fields.CharField(max_length=6)),
                ('province', fields.CharField(max_length=2)),
                ('uploaded', fields.BooleanField(default=False, db_default=False)),
                ('central_mask', fields.IntField()),
                ('self_mask', fields.IntField()),
            ],
            options={
                'table': 'unmatched_member',
                'app': 'models',
                'indexes': [Index(fields=['run_id', 'region_code']), Index(fields=['run_id', 'id_number'])],
                'pk_attr': 'id',
                'table_description': '未匹配学籍的特殊群体成员 of a run: a member with no 在读 enrolment, once per region it belongs',
            },
            bases=['Model'],
        ),
        ops.AddField(
            model_name='SpecialGroupRecord',
            name='collected_by',
            field=fields.CharField(default='', db_default='', max_length=6),
        ),
        _RemoveOldKey(
            model_name='SpecialGroupRecord',
            name=None,
            fields=['period', 'id_number', 'category', 'source'],
        ),
        ops.RunPython(_rebuild_on_sqlite, ops.RunPython.noop),
        ops.AddConstraint(
            model_name='SpecialGroupRecord',
            constraint=UniqueConstraint(
                fields=('period', 'id_number', 'category', 'source', 'collected_by'), name=None
            ),
        ),
    ]
