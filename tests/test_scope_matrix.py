"""Scope matrix: every GraphQL operation × every role, with the outcome each must get.

Outcomes: "ok" (data returned), "ABSENT" (null: `node`/`nodes` for an object the viewer cannot
see), or the extensions.code of the refusal. Out-of-scope objects are NOT_FOUND or null (as if they
did not exist); a role that may never do the thing is FORBIDDEN. The last
test fails when an operation exists in the schema without a row here.
"""

from __future__ import annotations

import pytest
from strawberry.relay import GlobalID

from tests.support.world import ACCOUNTS
from zizhu.api.schema import schema
from zizhu.domain.accounts.users import issue_token
from zizhu.domain.models import Account

ROLES = [a[0] for a in ACCOUNTS]
P = "2023-2024-1"
HUNAN_SCHOOL, OTHER_SCHOOL, GD_SCHOOL, KG = "2143000002", "2143000008", "2144000009", "1143000001"

# operation name → list of (query, variables, {username: expected}); usernames missing → default.
MATRIX: dict[str, list[tuple[str, dict, dict[str, str], str]]] = {}


def case(op: str, query: str, variables: dict | None = None, default: str = "ok", **expected: str) -> None:
    MATRIX.setdefault(op, []).append((query, variables or {}, expected, default))


SCHOOLS = dict(kg_op="ok", kg_rev="ok", school_op="ok", school_rev="ok", other_school_op="ok")
NOT_SCHOOLS = {u: "FORBIDDEN" for u in SCHOOLS}

case("me", "{ me { username } }")
case("codeLists", "{ codeLists { stages { code } } }")
case("login", 'mutation { login(username: "admin", password: "wrong-password") { token } }', default="UNAUTHENTICATED")

# --- unfunded list and reasons ----------------------------------------------------------
LIST = "query($r: String, $s: String) { unfundedStudents(period: \"2023-2024-1\", regionCode: $r, schoolCode: $s) { edges { cursor } } }"
case("unfundedStudents", LIST)
case(
    "unfundedStudents",
    LIST,
    {"r": "430102"},
    default="NOT_FOUND",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
case(
    "unfundedStudents",
    LIST,
    {"s": HUNAN_SCHOOL},
    default="NOT_FOUND",
    school_op="ok",
    school_rev="ok",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
)
LEGACY = "query($s: String) { legacyPovertyReasons(schoolCode: $s) { edges { cursor } } }"
case("legacyPovertyReasons", LEGACY)
case("legacyPovertyReasons", LEGACY, {"s": GD_SCHOOL}, default="NOT_FOUND", gd_op="ok", admin="ok")
REGION_REASONS = "query($r: String) { regionReasons(period: \"2023-2024-1\", regionCode: $r) { reasonCode } }"
case("regionReasons", REGION_REASONS, default="ok", **NOT_SCHOOLS)
case("regionReasons", REGION_REASONS, {"r": "440000"}, default="NOT_FOUND", gd_op="ok", admin="ok", **NOT_SCHOOLS)
REPORT = "mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { reason { code } } }"
STUDENT_INPUT = {"period": P, "stage": "COMPULSORY", "reasonCode": "01"}
case(
    "reportUnfundedReason",
    REPORT,
    {"i": {**STUDENT_INPUT, "idNumber": "@A"}},
    default="FORBIDDEN",
    kg_op="NOT_FOUND",
    school_op="ok",
    other_school_op="NOT_FOUND",
)
case(
    "reportUnfundedReasons",
    "mutation($i: [ReasonInput!]!) { reportUnfundedReasons(inputs: $i) { reason { code } } }",
    {"i": [{**STUDENT_INPUT, "idNumber": "@A"}]},
    default="FORBIDDEN",
    kg_op="NOT_FOUND",
    school_op="ok",
    other_school_op="NOT_FOUND",
)
case(
    "reportRegionReason",
    "mutation($i: RegionReasonInput!) { reportRegionReason(input: $i) { reasonCode } }",
    {"i": {"period": P, "stage": "COMPULSORY", "reasonCode": "10"}},
    default="FORBIDDEN",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    gd_op="ok",
    province_preschool_op="NOT_FOUND",
)

# --- statistics and comparison runs ---------------------------------------------------------
STATS = "query($r: String) { unfundedStatistics(period: \"2023-2024-1\", regionCode: $r) { total { members } } }"
case("unfundedStatistics", STATS)
case(
    "unfundedStatistics",
    STATS,
    {"r": "430100"},
    default="NOT_FOUND",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
SCHOOL = "query($c: String) { school(code: $c) { code stages unfundedStatistics(period: \"2023-2024-1\") { total { members } } } }"
case(
    "school",
    SCHOOL,
    default="NOT_FOUND",
    school_op="ok",
    school_rev="ok",
    other_school_op="ok",
    kg_op="ok",
    kg_rev="ok",
)
case(
    "school",
    SCHOOL,
    {"c": HUNAN_SCHOOL},
    default="NOT_FOUND",
    school_op="ok",
    school_rev="ok",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
)
SCHOOLS_OF = "query($c: String) { region(code: $c) { schools(first: 5) { edges { node { code } } } } }"
case(
    "region",
    SCHOOLS_OF,
    {"c": "430102"},
    default="NOT_FOUND",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
REGION = "query($c: String) { region(code: $c) { code children { code } } }"
case("region", REGION, default="ok", **NOT_SCHOOLS)
case(
    "region",
    REGION,
    {"c": "430000"},
    default="NOT_FOUND",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
# admin: a national run; an authority of a province: a run of its own province
case(
    "recomputeUnfunded",
    "mutation { recomputeUnfunded(period: \"2023-2024-1\") { status } }",
    default="ok",
    **{u: "FORBIDDEN" for u in SCHOOLS},
)
# unmatched members: authorities of the region and the admin; they have no stage, no school
UNMATCHED = "query($r: String) { unmatchedSpecialGroupMembers(period: \"2023-2024-1\", regionCode: $r) { totalCount } }"
case("unmatchedSpecialGroupMembers", UNMATCHED, default="ok", **NOT_SCHOOLS)
case(
    "unmatchedSpecialGroupMembers",
    UNMATCHED,
    {"r": "430102"},
    default="NOT_FOUND",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
# @RUN is national: everyone watches it (its totals only nationwide accounts); what it changed is
# scoped like the list
case(
    "comparisonRun",
    "query($id: ID!) { comparisonRun(id: $id) { status changes { edges { cursor } } } }",
    {"id": "@RUN"},
    default="ok",
)
case("comparisonRuns", "{ comparisonRuns(period: \"2023-2024-1\") { edges { node { id } } } }", default="ok")

case("nightlyTicks", "{ nightlyTicks { day } }", default="FORBIDDEN", admin="ok")
DUPLICATES = "query($r: String) { duplicateEnrolments(period: \"2023-2024-1\", regionCode: $r) { totalCount } }"
case("duplicateEnrolments", DUPLICATES, default="ok", **NOT_SCHOOLS)
case(
    "duplicateEnrolments",
    DUPLICATES,
    {"r": "430100"},
    default="NOT_FOUND",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
EXPORT_DUPLICATES = (
    "mutation($r: String) { exportDuplicateEnrolments(period: \"2023-2024-1\", regionCode: $r) { url } }"
)
case("exportDuplicateEnrolments", EXPORT_DUPLICATES, default="ok", **NOT_SCHOOLS)
case(
    "exportDuplicateEnrolments",
    EXPORT_DUPLICATES,
    {"r": "440000"},
    default="NOT_FOUND",
    gd_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)

# --- objects by global ID: out of scope is null (ABSENT), as if it did not exist ----------------------
NODE = "query($id: ID!) { node(id: $id) { id } }"
case("node", NODE, {"id": "@RUN_NODE"})
case("node", NODE, {"id": "@REGION_NODE"}, default="ABSENT", province_op="ok", province_preschool_op="ok", admin="ok")
case(
    "node",
    NODE,
    {"id": "@STUDENT_NODE"},
    default="ABSENT",
    school_op="ok",
    school_rev="ok",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    admin="ok",
)
case(
    "nodes",
    "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
    {"ids": ["@STUDENT_NODE"]},
    default="ABSENT",
    school_op="ok",
    school_rev="ok",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    admin="ok",
)

# --- account management ------------------------------------------------------------------------
for _op in ("disableUser", "enableUser"):
    case(_op, f'mutation {{ {_op}(username: "school_op") {{ active }} }}', default="FORBIDDEN", admin="ok")
case("unlockUser", 'mutation { unlockUser(username: "school_op") }', default="FORBIDDEN", admin="ok")
case(
    "setUserPassword",
    'mutation { setUserPassword(username: "school_op", password: "New-password-1") { active } }',
    default="FORBIDDEN",
    admin="ok",
)

# --- time windows and the preschool roster ----------------------------------------------------
case("timeWindows", "{ timeWindows(period: \"2023-2024-1\") { action } }")
case(
    "setTimeWindow",
    """mutation { setTimeWindow(period: "2023-2024-1", action: ENTRY,
     start: "2023-09-01T00:00:00+08:00", end: "2024-01-26T00:00:00+08:00") { action } }""",
    default="FORBIDDEN",
    admin="ok",
)
ROSTER = "query($s: String) { preschoolRoster(period: \"2023-2024-1\", schoolCode: $s) { entries(first: 5) { edges { cursor } } entryWindow { isOpen } } }"
HUNAN_PRESCHOOL_VIEWERS = dict(
    kg_op="ok", kg_rev="ok", county_op="ok", city_op="ok", province_op="ok", province_preschool_op="ok", admin="ok"
)
case("preschoolRoster", ROSTER, {"s": KG}, default="NOT_FOUND", **HUNAN_PRESCHOOL_VIEWERS)
ENTRY_ROLES = dict(kg_op="ok", school_op="NOT_FOUND", other_school_op="NOT_FOUND")
case(
    "addPreschoolRosterEntry",
    "mutation($i: String!) { addPreschoolRosterEntry(period: \"2023-2024-1\", idNumber: $i, amount: \"500.00\") { id } }",
    {"i": "@CHILD"},
    default="FORBIDDEN",
    kg_op="ok",
    school_op="VALIDATION",
    other_school_op="VALIDATION",
)
case(
    "updatePreschoolRosterEntry",
    "mutation($id: ID!) { updatePreschoolRosterEntry(id: $id, amount: \"600.00\") { id } }",
    {"id": "@DRAFT"},
    default="FORBIDDEN",
    **ENTRY_ROLES,
)
case(
    "deletePreschoolRosterEntry",
    "mutation($id: ID!) { deletePreschoolRosterEntry(id: $id) }",
    {"id": "@DRAFT"},
    default="FORBIDDEN",
    **ENTRY_ROLES,
)
case(
    "submitPreschoolRosterEntries",
    "mutation($id: ID!) { submitPreschoolRosterEntries(ids: [$id]) { id } }",
    {"id": "@DRAFT"},
    default="FORBIDDEN",
    **ENTRY_ROLES,
)
case(
    "withdrawPreschoolRosterEntries",
    "mutation($id: ID!) { withdrawPreschoolRosterEntries(ids: [$id]) { status } }",
    {"id": "@SUBMITTED"},
    default="FORBIDDEN",
    **ENTRY_ROLES,
)
case(
    "schoolReviewPreschoolRosterEntries",
    "mutation($id: ID!) { schoolReviewPreschoolRosterEntries(ids: [$id], decision: APPROVE) { status } }",
    {"id": "@SUBMITTED"},
    default="FORBIDDEN",
    kg_rev="ok",
    school_rev="NOT_FOUND",
)
# Final approval: only the kindergarten's own authority (county 430102); the levels above only watch.
case(
    "authorityReviewPreschoolRosterEntries",
    "mutation($id: ID!) { authorityReviewPreschoolRosterEntries(ids: [$id], decision: APPROVE) { status } }",
    {"id": "@SCHOOL_APPROVED"},
    default="FORBIDDEN",
    county_op="ok",
    gd_op="NOT_FOUND",
)
case(
    "authorityReviewPreschoolRosterEntries",
    "mutation($id: ID!) { authorityReviewPreschoolRosterEntries(ids: [$id], decision: APPROVE) { status } }",
    {"id": "@SUBMITTED"},
    default="FORBIDDEN",
    county_op="CONFLICT",
    gd_op="NOT_FOUND",
)
OVERVIEW = (
    "query($r: String) { region(code: $r) { preschoolRoster(period: \"2023-2024-1\") { totals { total }"
    " schools(first: 5) { edges { node { schoolCode waitingForMe } } } } } }"
)
AUTHORITIES_OVER_KG = dict(county_op="ok", city_op="ok", province_op="ok", province_preschool_op="ok", admin="ok")
case("region", OVERVIEW, {"r": "430102"}, default="NOT_FOUND", **AUTHORITIES_OVER_KG, **NOT_SCHOOLS)

# --- funding periods -------------------------------------------------------------------------
case("periods", "{ periods { code isActive } }")
case(
    "setPeriod",
    'mutation { setPeriod(code: "2023-2024-1", forceActive: true) { isActive } }',
    default="FORBIDDEN",
    admin="ok",
)

# --- the catalogue (projects, reason codes): administrators only; no change when nothing is given
case(
    "setProject",
    'mutation { setProject(input: {code: "CMP_NUTRITION"}) { code retired } }',
    default="FORBIDDEN",
    admin="ok",
)
case(
    "setReasonCode",
    'mutation { setReasonCode(input: {code: "01"}) { code retired } }',
    default="FORBIDDEN",
    admin="ok",
)
# a project module is read within the same scope as the stage-wide list
case(
    "unfundedStudents",
    'query($s: String) { unfundedStudents(period: "2023-2024-1", project: "GH_GRANT", schoolCode: $s,'
    ' search: "甲") { edges { cursor } } }',
    {"s": HUNAN_SCHOOL},
    default="NOT_FOUND",
    school_op="ok",
    school_rev="ok",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    admin="ok",
)

# --- operations --------------------------------------------------------------------------------
case("queueHealth", "{ queueHealth { queue aliveWorkers } }", default="FORBIDDEN", admin="ok")

# --- exports: a link is handed out with the scope of the matching query ------------------------
EXPORT_LIST = (
    "mutation($r: String, $s: String) { exportUnfundedStudents(period: \"2023-2024-1\", regionCode: $r, "
    "schoolCode: $s, format: CSV) { url } }"
)
case("exportUnfundedStudents", EXPORT_LIST)
case(
    "exportUnfundedStudents",
    EXPORT_LIST,
    {"r": "430102"},
    default="NOT_FOUND",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
case(
    "exportUnfundedStudents",
    EXPORT_LIST,
    {"s": HUNAN_SCHOOL},
    default="NOT_FOUND",
    school_op="ok",
    school_rev="ok",
    county_op="ok",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
)
EXPORT_LEGACY = "mutation($s: String) { exportLegacyPovertyReasons(schoolCode: $s) { url } }"
case("exportLegacyPovertyReasons", EXPORT_LEGACY)
case("exportLegacyPovertyReasons", EXPORT_LEGACY, {"s": GD_SCHOOL}, default="NOT_FOUND", gd_op="ok", admin="ok")
EXPORT_STATS = "mutation($r: String) { exportUnfundedStatistics(period: \"2023-2024-1\", regionCode: $r) { url } }"
case("exportUnfundedStatistics", EXPORT_STATS, default="ok", **NOT_SCHOOLS)
case(
    "exportUnfundedStatistics",
    EXPORT_STATS,
    {"r": "430100"},
    default="NOT_FOUND",
    city_op="ok",
    province_op="ok",
    province_preschool_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
EXPORT_UNMATCHED = (
    "mutation($r: String) { exportUnmatchedSpecialGroupMembers(period: \"2023-2024-1\", regionCode: $r) { url } }"
)
case("exportUnmatchedSpecialGroupMembers", EXPORT_UNMATCHED, default="ok", **NOT_SCHOOLS)
case(
    "exportUnmatchedSpecialGroupMembers",
    EXPORT_UNMATCHED,
    {"r": "440000"},
    default="NOT_FOUND",
    gd_op="ok",
    admin="ok",
    **NOT_SCHOOLS,
)
case(
    "exportPreschoolRoster",
    "mutation($s: String) { exportPreschoolRoster(period: \"2023-2024-1\", schoolCode: $s) { url } }",
    {"s": KG},
    default="NOT_FOUND",
    **HUNAN_PRESCHOOL_VIEWERS,
)

case(
    "exportPreschoolRosterOverview",
    "mutation($r: String) { exportPreschoolRosterOverview(period: \"2023-2024-1\", regionCode: $r) { url } }",
    {"r": "430102"},
    default="NOT_FOUND",
    **AUTHORITIES_OVER_KG,
    **NOT_SCHOOLS,
)

# Operations whose scope rules are proven in their own test module (they need a file upload).
COVERED_ELSEWHERE = {
    "importPreschoolRoster": "tests/test_roster_import.py::test_import_needs_the_entry_window_and_the_operator_role",
    "importSpecialGroups": "tests/test_self_collected_import.py::test_schools_and_the_admin_are_refused",
}


def _cases():
    for op, rows in MATRIX.items():
        for n, (query, variables, expected, default) in enumerate(rows):
            for user in ROLES:
                yield pytest.param(query, variables, user, expected.get(user, default), id=f"{op}#{n}-{user}")


@pytest.fixture
async def scene(world):
    """A published run with one unfunded student at 2143000002, so reporting can succeed."""
    import datetime as dt

    from tests.support import roster as roster_support
    from tests.support.world import student_id
    from zizhu.domain.models import AidRecord, ComparisonRun, UnfundedResult
    from zizhu.domain.settings import SHANGHAI

    run = await ComparisonRun.create(
        period=P, trigger="CLI", status="SUCCEEDED", published=True, queued_at=dt.datetime.now(SHANGHAI)
    )
    a = student_id(1)
    await UnfundedResult.create(
        period=P,
        valid_from_run=run.id,
        id_number=a,
        name="甲",
        school_code=HUNAN_SCHOOL,
        region_code="430102",
        stage="COMPULSORY",
        province="43",
        central_mask=1,
        self_mask=0,
    )
    comparison = await ComparisonRun.create(
        period=P, trigger="MANUAL", status="QUEUED", queued_at=dt.datetime.now(SHANGHAI)
    )
    await roster_support.open_windows()
    child = await roster_support.enrol(1, "小明")
    draft_child = await roster_support.enrol(2, "小红")
    submitted_child = await roster_support.enrol(3, "小刚")
    draft = await AidRecord.create(
        id_number=draft_child,
        name="小红",
        school_code=KG,
        project_code="PRE_GOV",
        period=P,
        amount="800.00",
        status="DRAFT",
        province="43",
    )
    submitted = await AidRecord.create(
        id_number=submitted_child,
        name="小刚",
        school_code=KG,
        project_code="PRE_GOV",
        period=P,
        amount="800.00",
        status="SUBMITTED",
        province="43",
    )
    approved_child = await roster_support.enrol(4, "小亮")
    school_approved = await AidRecord.create(
        id_number=approved_child,
        name="小亮",
        school_code=KG,
        project_code="PRE_GOV",
        period=P,
        amount="800.00",
        status="SCHOOL_APPROVED",
        province="43",
    )
    row = await UnfundedResult.get(id_number=a)
    return {
        "@A": a,
        "@RUN": str(comparison.id),
        "@RUN_NODE": str(GlobalID("ComparisonRun", str(run.id))),
        "@REGION_NODE": str(GlobalID("Region", "430000")),
        "@STUDENT_NODE": str(GlobalID("UnfundedStudent", str(row.id))),
        "@CHILD": child,
        "@DRAFT": str(draft.id),
        "@SUBMITTED": str(submitted.id),
        "@SCHOOL_APPROVED": str(school_approved.id),
    }


def _substitute(value, scene):
    if isinstance(value, dict):
        return {k: _substitute(v, scene) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, scene) for v in value]
    return scene.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize("query, variables, user, expected", list(_cases()))
async def test_scope(gql, scene, query, variables, user, expected):
    token = issue_token(await Account.get(username=user))  # sign-in itself is tested elsewhere; skip argon2 here
    body = await gql.post(query, _substitute(variables, scene), token=token)
    if expected in ("ok", "ABSENT"):
        assert not body.get("errors"), body["errors"]
        if expected == "ABSENT" or query.lstrip().startswith(
            ("query($id: ID!) { node(", "query($ids: [ID!]!) { nodes(")
        ):
            (value,) = body["data"].values()
            absent = value is None or (isinstance(value, list) and all(v is None for v in value))
            assert absent == (expected == "ABSENT"), f"{user} expected {expected}, got data {body.get('data')}"
    else:
        assert body.get("errors"), f"{user} expected {expected}, got data {body.get('data')}"
        assert body["errors"][0]["extensions"]["code"] == expected, body["errors"][0]


def test_every_operation_is_in_the_matrix():
    fields = [name for t in ("Query", "Mutation") for name in schema._schema.get_type(t).fields]
    missing = sorted(set(fields) - set(MATRIX) - set(COVERED_ELSEWHERE))
    assert not missing, f"operations without a scope-matrix row: {missing}"


def _required_roles() -> dict[str, set[str]]:
    """Root fields carrying `@requires(role: [...])` → the roles the directive names."""
    from zizhu.api.gql.directives import Requires

    found = {}
    for type_ in (schema.query, schema.mutation):
        for field in type_.__strawberry_definition__.fields:
            for directive in field.directives:
                if isinstance(directive, Requires):
                    found[schema.config.name_converter.get_graphql_name(field)] = {r.value for r in directive.role}
    return found


def test_the_matrix_agrees_with_the_requires_directive():
    """Every account whose role a field's @requires leaves out is FORBIDDEN in each of its rows."""
    roles = {a[0]: a[1] for a in ACCOUNTS}
    required = _required_roles()
    assert {
        "setTimeWindow",
        "disableUser",
        "recomputeUnfunded",
        "schoolReviewPreschoolRosterEntries",
        "authorityReviewPreschoolRosterEntries",
        "withdrawPreschoolRosterEntries",
    } <= set(required)
    for op, allowed in required.items():
        for _query, _variables, expected, default in MATRIX.get(op, []):
            for user in ROLES:
                if roles[user] not in allowed:
                    assert expected.get(user, default) == "FORBIDDEN", f"{op}: {user} ({roles[user]})"
