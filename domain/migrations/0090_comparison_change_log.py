from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL only: the log of the students whose rows changed (comparison_change) that lets a
# national run compute from the day's changes (domain/comparison/incremental.py), the stamp of
# each period's kept state, and the triggers that fill the log. SQLite computes every run in full
# and needs none of them.
#
# A statement on enrolment, aid_record or special_group_record logs the ID numbers of the rows it
# changed (before and after), under its transaction's id; a statement of more than 100,000 rows,
# a TRUNCATE, or any change to school, aid_project or region logs NULL: "everything may have
# changed", and the next run is a full one. Also a partial index on the self-collected
# records, and room on the list's pages for in-place updates.
#
# The SQL is frozen here as it was when this migration was written: a later change must come with
# a migration of its own, never change this one.

STUDENT_TABLES = ("enrolment", "aid_record", "special_group_record")
STRUCTURE_TABLES = ("school", "aid_project", "region")

FUNCTION = """CREATE OR REPLACE FUNCTION zizhu_comparison_rows_changed() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO comparison_change (id_number) VALUES (NULL);
      ELSIF TG_ARGV[0] = 'structure' THEN
        IF TG_OP = 'DELETE' THEN
          IF EXISTS (SELECT 1 FROM old_rows) THEN INSERT INTO comparison_change (id_number) VALUES (NULL); END IF;
        ELSIF EXISTS (SELECT 1 FROM new_rows) THEN
          INSERT INTO comparison_change (id_number) VALUES (NULL);
        END IF;
      ELSIF TG_OP = 'INSERT' THEN
        IF (SELECT count(*) FROM new_rows) > 100000 THEN
          INSERT INTO comparison_change (id_number) VALUES (NULL);
        ELSE
          INSERT INTO comparison_change (id_number) SELECT DISTINCT id_number FROM new_rows;
        END IF;
      ELSIF TG_OP = 'DELETE' THEN
        IF (SELECT count(*) FROM old_rows) > 100000 THEN
          INSERT INTO comparison_change (id_number) VALUES (NULL);
        ELSE
          INSERT INTO comparison_change (id_number) SELECT DISTINCT id_number FROM old_rows;
        END IF;
      ELSIF (SELECT count(*) FROM new_rows) > 100000 THEN
        INSERT INTO comparison_change (id_number) VALUES (NULL);
      ELSE
        INSERT INTO comparison_change (id_number)
        SELECT id_number FROM new_rows UNION SELECT id_number FROM old_rows;
      END IF;
      RETURN NULL;
    END $$"""


def _triggers(table: str, kind: str) -> list[str]:
    events = {
        "insert": "AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows",
        "update": "AFTER UPDATE ON {t} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "AFTER DELETE ON {t} REFERENCING OLD TABLE AS old_rows",
        "truncate": "AFTER TRUNCATE ON {t}",
    }
    statements = []
    for event, clause in events.items():
        name = f"{table}_{event}_logged"
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} {clause.format(t=table)} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION zizhu_comparison_rows_changed('{kind}')",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}",
        ]
    return statements


FORWARD_SQL = [
    """CREATE TABLE IF NOT EXISTS comparison_change (
          txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
          id_number VARCHAR(18),
          logged_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS comparison_state_stamp (
          period VARCHAR(11) PRIMARY KEY, run_id BIGINT NOT NULL, snapshot TEXT NOT NULL,
          definition VARCHAR(40) NOT NULL, rows BIGINT NOT NULL, built_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
    FUNCTION,
    # a nightly run closes the list rows that changed (sets valid_until_run, which no index holds):
    # room on each page lets PostgreSQL update them in place, without a new entry in every index
    "ALTER TABLE unfunded_result SET (fillfactor = 90)",
    # the records an authority uploaded itself: each run reads them, they are few
    "CREATE INDEX IF NOT EXISTS special_group_record_collected ON special_group_record (period)"
    " WHERE collected_by <> ''",
    *(s for t in STUDENT_TABLES for s in _triggers(t, "rows")),
    *(s for t in STRUCTURE_TABLES for s in _triggers(t, "structure")),
]
BACKWARD_SQL = [
    *(
        f"DROP TRIGGER IF EXISTS {t}_{e}_logged ON {t}"
        for t in STUDENT_TABLES + STRUCTURE_TABLES
        for e in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION IF EXISTS zizhu_comparison_rows_changed()",
    "DROP INDEX IF EXISTS special_group_record_collected",
    "ALTER TABLE unfunded_result RESET (fillfactor)",
    "DROP TABLE IF EXISTS comparison_change",
    "DROP TABLE IF EXISTS comparison_state_stamp",
    """DO $$ DECLARE t text; BEGIN
         FOR t IN SELECT tablename FROM pg_tables WHERE tablename LIKE 'cmp\\_state\\_%' LOOP
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
    await _run(FORWARD_SQL, schema_editor)


async def backward(apps, schema_editor) -> None:
    await _run(BACKWARD_SQL, schema_editor)


class Migration(migrations.Migration):
    dependencies = [('models', '0080_duplicate_enrolments')]

    initial = False

    operations = [
        ops.RunPython(forward, backward),
    ]
