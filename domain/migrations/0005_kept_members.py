from tortoise import migrations
from tortoise.migrations import operations as ops

from zizhu.domain import db
from zizhu.domain.comparison.members import DROP_SQL, TRIGGER_SQL

# PostgreSQL only: the stamp table of the kept members tables and the trigger on
# special_group_record that invalidates them (domain/comparison_members.py). SQLite builds the
# members of every run afresh and needs neither.


async def _run(statements, schema_editor) -> None:
    client = schema_editor.client
    if db.is_postgres(client):
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
