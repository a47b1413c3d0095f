from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL only: the stamp table of the kept members tables and the trigger on
# special_group_record that invalidates them (domain/comparison/members.py). SQLite builds the
# members of every run afresh and needs neither.
#
# The SQL is frozen here as it was when this migration was written: a later change to the
# comparison's code must come with a migration of its own, never change this one. The number in
# the trigger is the advisory-lock key of the special-group writers (members.WRITERS_KEY).

TRIGGER_SQL = [
    """CREATE UNLOGGED TABLE IF NOT EXISTS comparison_member_stamp (
          period VARCHAR(11) PRIMARY KEY, generation BIGINT NOT NULL, definition VARCHAR(40) NOT NULL,
          members BIGINT NOT NULL, built_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    "CREATE SEQUENCE IF NOT EXISTS special_group_generation",
    "SELECT setval('special_group_generation', GREATEST((SELECT last_value FROM special_group_generation), 1), true)",
    """CREATE OR REPLACE FUNCTION zizhu_special_groups_changed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
        BEGIN
          PERFORM pg_advisory_xact_lock_shared(4282125784039638937);
          PERFORM nextval('special_group_generation');
          RETURN NULL;
        END $$""",
    "DROP TRIGGER IF EXISTS special_group_record_changed ON special_group_record",
    """CREATE TRIGGER special_group_record_changed
         AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON special_group_record
         FOR EACH STATEMENT EXECUTE FUNCTION zizhu_special_groups_changed()""",
    "ALTER TABLE special_group_record ENABLE ALWAYS TRIGGER special_group_record_changed",
]
DROP_SQL = [
    "DROP TRIGGER IF EXISTS special_group_record_changed ON special_group_record",
    "DROP FUNCTION IF EXISTS zizhu_special_groups_changed()",
    "DROP TABLE IF EXISTS comparison_member_stamp",
    "DROP SEQUENCE IF EXISTS special_group_generation",
    """DO $$ DECLARE t text; BEGIN
         FOR t IN SELECT tablename FROM pg_tables WHERE tablename LIKE 'cmp\\_members\\_%' LOOP
           EXECUTE format('DROP TABLE %I', t);
         END LOOP;
       END $$""",
]


async def _run(statements, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for sql in statements:
            await client.execute_script(sql)


async def forward(apps, schema_editor) -> None:
    await _run(TRIGGER_SQL, schema_editor)


async def backward(apps, schema_editor) -> None:
    await _run(DROP_SQL, schema_editor)


class Migration(migrations.Migration):
    dependencies = [('models', '0004_scd2_unfunded_list')]

    initial = False

    operations = [
        ops.RunPython(forward, backward),
    ]
