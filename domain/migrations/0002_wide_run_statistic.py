from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# Existing long rows (one per school, stage, category, source) become one wide row per
# (run, school, stage): the new rows are marked with category '' until the long ones are gone.
_CELLS = [(f"{k:02d}", source) for k in range(14) for source in ("ALL", "CENTRAL", "SELF")]
_WIDE = [f"{kind}_{c}_{s.lower()}" for c, s in _CELLS for kind in ("members", "funded")]
_PICK = [
    f"SUM(CASE WHEN category = '{c}' AND source = '{s}' THEN {kind} ELSE 0 END)"
    for c, s in _CELLS
    for kind in ("members", "funded")
]
TO_WIDE = [
    "INSERT INTO run_statistic (run_id, school_code, region_code, stage, category, source, members, funded, "
    f"unfunded, {', '.join(_WIDE)}) SELECT run_id, school_code, region_code, stage, '', '', 0, 0, 0, "
    f"{', '.join(_PICK)} FROM run_statistic WHERE category <> '' GROUP BY run_id, school_code, region_code, stage",
    "DELETE FROM run_statistic WHERE category <> ''",
]


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='RunStatistic',
            options={
                'table': 'run_statistic',
                'app': 'models',
                'indexes': [Index(fields=['run_id', 'region_code'])],
                'pk_attr': 'id',
                'table_description': 'Precomputed counts of a run for one (school, stage), one row per pair.',
            },
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_00_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_00_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_00_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_01_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_01_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_01_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_02_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_02_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_02_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_03_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_03_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_03_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_04_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_04_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_04_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_05_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_05_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_05_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_06_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_06_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_06_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_07_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_07_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_07_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_08_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_08_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_08_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_09_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_09_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_09_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_10_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_10_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_10_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_11_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_11_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_11_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_12_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_12_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_12_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_13_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_13_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='funded_13_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_00_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_00_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_00_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_01_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_01_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_01_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_02_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_02_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_02_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_03_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_03_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_03_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_04_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_04_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_04_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_05_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_05_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_05_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_06_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_06_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_06_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_07_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_07_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_07_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_08_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_08_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_08_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_09_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_09_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_09_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_10_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_10_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_10_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_11_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_11_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_11_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_12_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_12_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_12_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_13_all',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_13_central',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='RunStatistic',
            name='members_13_self',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunSQL(TO_WIDE),
        ops.RemoveField(model_name='RunStatistic', name='category'),
        ops.RemoveField(model_name='RunStatistic', name='funded'),
        ops.RemoveField(model_name='RunStatistic', name='members'),
        ops.RemoveField(model_name='RunStatistic', name='source'),
        ops.RemoveField(model_name='RunStatistic', name='unfunded'),
    ]
