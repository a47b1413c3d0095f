"""Bad input is answered VALIDATION naming the argument, never INTERNAL: lengths and formats of
codes, NUL bytes, bad cursors, huge ids, oversized and duplicated batches, non-ASCII digits."""

from __future__ import annotations

import base64

import pytest

from tests.support.world import student_id
from zizhu.domain.reference.inputs import MAX_BATCH

LONG = "1" * 5000
NUL = "2023-2024-1\x00"


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


async def validation_argument(gql, query: str, variables: dict | None = None, token: str | None = None) -> str:
    body = await gql.post(query, variables, token)
    assert body.get("errors"), body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION", error
    assert len(error["message"]) < 200, error["message"]  # never echoes a huge value
    assert "argument" in error["extensions"], error
    return error["extensions"]["argument"]


UNFUNDED = "query($p: String!, $r: String, $s: String, $a: String) { unfundedStudents(period: $p, regionCode: $r, schoolCode: $s, after: $a) { edges { cursor } } }"


@pytest.mark.parametrize(
    "variables, argument",
    [
        ({"p": "2023-2024-9"}, "period"),
        ({"p": LONG}, "period"),
        ({"p": NUL}, "period"),
        ({"p": "２０２３-２０２４-1"}, "period"),
        ({"p": "٢٠٢٣-٢٠٢٤-1"}, "period"),
        ({"p": "2023-2024-1", "r": LONG}, "regionCode"),
        ({"p": "2023-2024-1", "r": "43010x"}, "regionCode"),
        ({"p": "2023-2024-1", "s": "2143000002\x00"}, "schoolCode"),
        ({"p": "2023-2024-1", "s": LONG}, "schoolCode"),
        ({"p": "2023-2024-1", "a": cursor("row:99999999999999999999")}, "after"),
        ({"p": "2023-2024-1", "a": LONG}, "after"),
    ],
)
async def test_list_query_arguments(gql, world, variables, argument):
    token = await gql.token_for("province_op")
    assert await validation_argument(gql, UNFUNDED, variables, token) == argument


async def test_other_query_arguments(gql, world):
    token = await gql.token_for("province_op")
    admin = await gql.token_for("admin")
    cases = [
        ('{ comparisonRun(id: "99999999999999999999") { id } }', "id", token),
        ('{ comparisonRun(id: "１２") { id } }', "id", token),
        (f'{{ region(code: "{LONG}") {{ code }} }}', "code", token),
        ('{ unfundedStatistics(period: "2023-2024-9") { total { members } } }', "period", token),
        ('{ region { unfundedStatistics(period: "0000-0001-1") { total { members } } } }', "period", token),
        ('{ legacyPovertyReasons(period: "2023-2024-3") { edges { cursor } } }', "period", token),
        ('{ comparisonRuns(period: "2023-2024-1", first: 100000) { edges { cursor } } }', "first", token),
        ('{ timeWindows(period: "2023-2024-1", projectCode: "%s") { start } }' % ("P" * 500), "projectCode", admin),
        ('mutation { setPeriod(code: "0000-0001-1") { code } }', "code", admin),
        ('mutation { recomputeUnfunded(period: "2023-2024-1\\u0000") { id } }', "period", admin),
    ]
    for query, argument, tok in cases:
        assert await validation_argument(gql, query, token=tok) == argument, query


async def test_login_arguments(gql, world):
    query = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
    assert await validation_argument(gql, query, {"u": "x" * 100_000, "p": "p"}) == "username"
    assert await validation_argument(gql, query, {"u": "county_op\x00", "p": "p"}) == "username"


REPORT = "mutation($inputs: [ReasonInput!]!) { reportUnfundedReasons(inputs: $inputs) { idNumber } }"


def reason(id_number: str, **overrides) -> dict:
    return {"period": "2023-2024-1", "stage": "COMPULSORY", "idNumber": id_number, "reasonCode": "01", **overrides}


async def test_batch_inputs_are_bounded_and_checked(gql, world):
    token = await gql.token_for("school_op")
    one = reason(student_id(1))
    over = [reason(student_id(i)) for i in range(MAX_BATCH + 1)]
    assert await validation_argument(gql, REPORT, {"inputs": over}, token) == "inputs"
    assert await validation_argument(gql, REPORT, {"inputs": [one, one]}, token) == "inputs[1]"
    assert (
        await validation_argument(gql, REPORT, {"inputs": [reason(student_id(1), idNumber=LONG)]}, token)
        == "inputs[0].idNumber"
    )
    assert (
        await validation_argument(gql, REPORT, {"inputs": [reason(student_id(1), reasonCode="0" * 50)]}, token)
        == "inputs[0].reasonCode"
    )
    assert (
        await validation_argument(gql, REPORT, {"inputs": [reason(student_id(1), detail="说明" * 1000)]}, token)
        == "inputs[0].detail"
    )
    assert (
        await validation_argument(gql, REPORT, {"inputs": [reason(student_id(1), period="2023-2024-1\x00")]}, token)
        == "inputs[0].period"
    )
    # A full-width ID number is not an ID number.
    fullwidth = student_id(1).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    body = await gql.post(REPORT, {"inputs": [reason(fullwidth)]}, token)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    from zizhu.domain.models import AuditEntry

    assert await AuditEntry.filter(action="reason.report").count() == 0


async def test_id_lists_are_bounded_and_unique(gql, world):
    token = await gql.login("kg_rev")
    review = "mutation($ids: [ID!]!) { schoolReviewPreschoolRosterEntries(ids: $ids, decision: APPROVE) { id } }"
    over = [str(i) for i in range(1, 2_001)]
    assert await validation_argument(gql, review, {"ids": over}, token) == "ids"
    huge = [str(i) for i in range(1, 40_001)]  # beyond the drivers' parameter limits: refused as a body
    body = await gql.post(review, {"ids": huge}, token)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert await validation_argument(gql, review, {"ids": ["99999999999999999999"]}, token) == "ids[0]"
    assert await validation_argument(gql, review, {"ids": ["7", "7"]}, token) == "ids[1]"
    submit = "mutation($ids: [ID!]!) { submitPreschoolRosterEntries(ids: $ids) { id } }"
    assert await validation_argument(gql, submit, {"ids": ["1", "2", "1"]}, await gql.token_for("kg_op")) == "ids[2]"
