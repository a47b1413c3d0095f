from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

# A workable unfunded list (class, the spell's first run, the reporter's name), project modules
# (per-project list rows and statistics, the project of a legacy reason) and a catalogue an admin
# can maintain (retired projects and reason codes). Rows listed before this migration start their
# spell at the version they belong to.
BACKFILL = ["UPDATE unfunded_result SET since_run = valid_from_run"]


class _RemoveTableUnique(ops.RemoveConstraint):
    """On SQLite a unique_together is a table constraint (an automatic index no DROP INDEX can
    reach): the table is rebuilt without it, and its other indexes are made again."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is None or state_editor.DIALECT != "sqlite":
            return await super().database_forward(app_label, old_state, new_state, state_editor)
        model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
        table = model._meta.db_table
        _, rows = await state_editor.client.execute_query(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", [table]
        )
        await state_editor._remake_table(model)
        for row in rows:
            await state_editor.client.execute_script(row["sql"])


class Migration(migrations.Migration):
    dependencies = [('models', '0040_unmatched_and_local_lists')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='display_name',
            field=fields.CharField(default='', db_default='', max_length=50),
        ),
        ops.AddField(
            model_name='AidProject',
            name='retired',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Enrolment',
            name='class_name',
            field=fields.CharField(default='', db_default='', max_length=50),
        ),
        _RemoveTableUnique(
            model_name='LegacyPovertyReason',
            name=None,
            fields=['period', 'stage', 'id_number', 'school_code'],
        ),
        ops.AddField(
            model_name='LegacyPovertyReason',
            name='project_code',
            field=fields.CharField(default='', db_default='', max_length=40),
        ),
        ops.AddConstraint(
            model_name='LegacyPovertyReason',
            constraint=UniqueConstraint(
                fields=('period', 'stage', 'id_number', 'school_code', 'project_code'), name=None
            ),
        ),
        ops.AddField(
            model_name='ReasonCode',
            name='retired',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='RegionStatistic',
            name='project',
            field=fields.CharField(default='', db_default='', max_length=40),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='project',
            field=fields.CharField(default='', db_default='', max_length=40),
        ),
        ops.AddField(
            model_name='UnfundedResult',
            name='project',
            field=fields.CharField(default='', db_default='', max_length=40),
        ),
        ops.AddField(
            model_name='UnfundedResult',
            name='since_run',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddIndex(
            model_name='UnfundedResult',
            index=Index(fields=['id_number', 'period']),
        ),
        ops.RunSQL(BACKFILL, reverse_sql=[]),
    ]
