from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# The upgrade notice names three time limits (录入、学校审核、主管部门审核): every window of the one
# shared review action becomes a school-review and an authority-review window with the same
# bounds (an existing one of the new actions is kept), then the old action goes.
SPLIT_REVIEW = [
    f"INSERT INTO time_window (period, project_code, action, province, start, \"end\", updated_by)"
    f" SELECT w.period, w.project_code, '{action}', w.province, w.start, w.\"end\", w.updated_by"
    " FROM time_window w WHERE w.action = 'REVIEW' AND NOT EXISTS (SELECT 1 FROM time_window n"
    f" WHERE n.period = w.period AND n.project_code = w.project_code AND n.action = '{action}'"
    " AND n.province = w.province)"
    for action in ("SCHOOL_REVIEW", "AUTHORITY_REVIEW")
] + ["DELETE FROM time_window WHERE action = 'REVIEW'"]

# Roster entries created from imported aid records had no name (姓名): take the child's name from
# the enrolment at the entry's school, preschool first.
FILL_NAMES = [
    "UPDATE aid_record SET name = (SELECT e.name FROM enrolment e WHERE e.id_number = aid_record.id_number"
    " AND e.school_code = aid_record.school_code AND e.name <> ''"
    " ORDER BY CASE WHEN e.stage = 'PRESCHOOL' THEN 0 ELSE 1 END, e.id LIMIT 1)"
    " WHERE name = '' AND EXISTS (SELECT 1 FROM enrolment e WHERE e.id_number = aid_record.id_number"
    " AND e.school_code = aid_record.school_code AND e.name <> '')"
]


class Migration(migrations.Migration):
    dependencies = [('models', '0020_reason_count')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='TimeWindow',
            name='action',
            field=fields.CharField(max_length=16),
        ),
        ops.RunSQL(SPLIT_REVIEW, reverse_sql=[]),
        ops.RunSQL(FILL_NAMES, reverse_sql=[]),
    ]
