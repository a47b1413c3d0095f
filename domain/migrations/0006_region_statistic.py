from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# Region statistics (subtree and own level per region, written by every run from now on) and the
# data version counter of the read caches. The runs kept from before get their region rows here.
#
# The INSERT is frozen here as the comparison wrote it when this migration was written (it no
# longer imports the comparison's code: a later change there must not change this migration).
# Per (run, school's province, region, stage): the sums over run_statistic of the region's
# subtree and of each ancestor's (kind 'S'), and of the region's own level (kind 'O').

_COLUMNS = [
    f"{kind}_{category:02d}_{source}"
    for kind in ("members", "funded")
    for category in range(14)  # '00' = any category, then the 13 categories
    for source in ("all", "central", "self")
]
_LEVELS = (  # (the region a school's region code counts in, the condition), then the own level
    ("'000000'", "1 = 1", "S"),
    ("substr(t.region_code, 1, 2) || '0000'", "t.region_code <> '000000'", "S"),
    ("substr(t.region_code, 1, 4) || '00'", "substr(t.region_code, 3, 2) <> '00'", "S"),
    ("t.region_code", "substr(t.region_code, 5, 2) <> '00'", "S"),
    ("t.region_code", "1 = 1", "O"),
)
_SUMS = ", ".join(f"SUM(t.{c})" for c in _COLUMNS)
REGION_STATISTICS_SQL = (
    f"INSERT INTO region_statistic (run_id, province, region_code, kind, stage, {', '.join(_COLUMNS)}) "
    + " UNION ALL ".join(
        f"SELECT t.run_id, substr(t.school_code, 3, 2), {region}, '{kind}',"
        f" t.stage, {_SUMS} FROM run_statistic t WHERE (1 = 1) AND {condition} GROUP BY 1, 2, 3, 4, 5"
        for region, condition, kind in _LEVELS
    )
)


async def forward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(REGION_STATISTICS_SQL)


async def backward(apps, schema_editor) -> None:
    pass  # the table is dropped with the model


class Migration(migrations.Migration):
    dependencies = [('models', '0005_kept_members')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RegionStatistic',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run_id', fields.BigIntField()),
                ('province', fields.CharField(max_length=2)),
                ('region_code', fields.CharField(max_length=6)),
                ('kind', fields.CharField(max_length=1)),
                ('stage', fields.CharField(max_length=20)),
                ('members_00_all', fields.IntField(default=0, db_default=0)),
                ('funded_00_all', fields.IntField(default=0, db_default=0)),
                ('members_00_central', fields.IntField(default=0, db_default=0)),
                ('funded_00_central', fields.IntField(default=0, db_default=0)),
                ('members_00_self', fields.IntField(default=0, db_default=0)),
                ('funded_00_self', fields.IntField(default=0, db_default=0)),
                ('members_01_all', fields.IntField(default=0, db_default=0)),
                ('funded_01_all', fields.IntField(default=0, db_default=0)),
                ('members_01_central', fields.IntField(default=0, db_default=0)),
                ('funded_01_central', fields.IntField(default=0, db_default=0)),
                ('members_01_self', fields.IntField(default=0, db_default=0)),
                ('funded_01_self', fields.IntField(default=0, db_default=0)),
                ('members_02_all', fields.IntField(default=0, db_default=0)),
                ('funded_02_all', fields.IntField(default=0, db_default=0)),
                ('members_02_central', fields.IntField(default=0, db_default=0)),
                ('funded_02_central', fields.IntField(default=0, db_default=0)),
                ('members_02_self', fields.IntField(default=0, db_default=0)),
                ('funded_02_self', fields.IntField(default=0, db_default=0)),
                ('members_03_all', fields.IntField(default=0, db_default=0)),
                ('funded_03_all', fields.IntField(default=0, db_default=0)),
                ('members_03_central', fields.IntField(default=0, db_default=0)),
                ('funded_03_central', fields.IntField(default=0, db_default=0)),
                ('members_03_self', fields.IntField(default=0, db_default=0)),
                ('funded_03_self', fields.IntField(default=0, db_default=0)),
                ('members_04_all', fields.IntField(default=0, db_default=0)),
                ('funded_04_all', fields.IntField(default=0, db_default=0)),
                ('members_04_central', fields.IntField(default=0, db_default=0)),
                ('funded_04_central', fields.IntField(default=0, db_default=0)),
                ('members_04_self', fields.IntField(default=0, db_default=0)),
                ('funded_04_self', fields.IntField(default=0, db_default=0)),
                ('members_05_all', fields.IntField(default=0, db_default=0)),
                ('funded_05_all', fields.IntField(default=0, db_default=0)),
                ('members_05_central', fields.IntField(default=0, db_default=0)),
                ('funded_05_central', fields.IntField(default=0, db_default=0)),
                ('members_05_self', fields.IntField(default=0, db_default=0)),
                ('funded_05_self', fields.IntField(default=0, db_default=0)),
                ('members_06_all', fields.IntField(default=0, db_default=0)),
                ('funded_06_all', fields.IntField(default=0, db_default=0)),
                ('members_06_central', fields.IntField(default=0, db_default=0)),
                ('funded_06_central', fields.IntField(default=0, db_default=0)),
                ('members_06_self', fields.IntField(default=0, db_default=0)),
                ('funded_06_self', fields.IntField(default=0, db_default=0)),
                ('members_07_all', fields.IntField(default=0, db_default=0)),
                ('funded_07_all', fields.IntField(default=0, db_default=0)),
                ('members_07_central', fields.IntField(default=0, db_default=0)),
                ('funded_07_central', fields.IntField(default=0, db_default=0)),
                ('members_07_self', fields.IntField(default=0, db_default=0)),
                ('funded_07_self', fields.IntField(default=0, db_default=0)),
                ('members_08_all', fields.IntField(default=0, db_default=0)),
                ('funded_08_all', fields.IntField(default=0, db_default=0)),
                ('members_08_central', fields.IntField(default=0, db_default=0)),
                ('funded_08_central', fields.IntField(default=0, db_default=0)),
                ('members_08_self', fields.IntField(default=0, db_default=0)),
                ('funded_08_self', fields.IntField(default=0, db_default=0)),
                ('members_09_all', fields.IntField(default=0, db_default=0)),
                ('funded_09_all', fields.IntField(default=0, db_default=0)),
                ('members_09_central', fields.IntField(default=0, db_default=0)),
                ('funded_09_central', fields.IntField(default=0, db_default=0)),
                ('members_09_self', fields.IntField(default=0, db_default=0)),
                ('funded_09_self', fields.IntField(default=0, db_default=0)),
                ('members_10_all', fields.IntField(default=0, db_default=0)),
                ('funded_10_all', fields.IntField(default=0, db_default=0)),
                ('members_10_central', fields.IntField(default=0, db_default=0)),
                ('funded_10_central', fields.IntField(default=0, db_default=0)),
                ('members_10_self', fields.IntField(default=0, db_default=0)),
                ('funded_10_self', fields.IntField(default=0, db_default=0)),
                ('members_11_all', fields.IntField(default=0, db_default=0)),
                ('funded_11_all', fields.IntField(default=0, db_default=0)),
                ('members_11_central', fields.IntField(default=0, db_default=0)),
                ('funded_11_central', fields.IntField(default=0, db_default=0)),
                ('members_11_self', fields.IntField(default=0, db_default=0)),
                ('funded_11_self', fields.IntField(default=0, db_default=0)),
                ('members_12_all', fields.IntField(default=0, db_default=0)),
                ('funded_12_all', fields.IntField(default=0, db_default=0)),
                ('members_12_central', fields.IntField(default=0, db_default=0)),
                ('funded_12_central', fields.IntField(default=0, db_default=0)),
                ('members_12_self', fields.IntField(default=0, db_default=0)),
                ('funded_12_self', fields.IntField(default=0, db_default=0)),
                ('members_13_all', fields.IntField(default=0, db_default=0)),
                ('funded_13_all', fields.IntField(default=0, db_default=0)),
                ('members_13_central', fields.IntField(default=0, db_default=0)),
                ('funded_13_central', fields.IntField(default=0, db_default=0)),
                ('members_13_self', fields.IntField(default=0, db_default=0)),
                ('funded_13_self', fields.IntField(default=0, db_default=0)),
            ],
            options={
                'table': 'region_statistic',
                'app': 'models',
                'indexes': [Index(fields=['run_id', 'region_code'])],
                'pk_attr': 'id',
                'table_description': 'Precomputed counts of a run for one region (区域统计), written when the run is computed.',
            },
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DataVersion',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('value', fields.BigIntField(default=0, db_default=0)),
            ],
            options={
                'table': 'data_version',
                'app': 'models',
                'pk_attr': 'name',
                'table_description': 'A counter (数据版本) moved in the same transaction as every write that changes what the cached read path serves.',
            },
            bases=['Model'],
        ),
        ops.RunPython(forward, backward),
    ]
