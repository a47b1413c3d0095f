"""What a run changed and how the unfunded counts moved across runs, over GraphQL.

Hand-made runs of 2023-2024-1. Run 1: a, b, c at 2143000002 (county 430102; c funded), d at
2143000008 (county 430202). Then a is funded, c loses its aid, e joins 2143000002 and f joins
2143000008. Run 2: newly unfunded c, e (2143000002) and f (2143000008); newly funded a.
"""

from __future__ import annotations

from strawberry.relay import GlobalID

from tests.support.world import student_id
from tests.test_comparison import aid, compare, enrol, member
from zizhu.domain.models import AidRecord, ComparisonRun, RunStatistic, UnfundedResult

P = "2023-2024-1"
PRIMARY, OTHER = "2143000002", "2143000008"
A, B, C, D, E, F = (student_id(n) for n in range(1, 7))

CHANGES = """query($id: ID!, $kind: ChangeKind, $first: Int, $after: String) { comparisonRun(id: $id) {
  changes(kind: $kind, first: $first, after: $after) {
    totalCount edges { cursor node { id kind idNumber name schoolCode stage categories } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"""
NEW_PENDING = """{ unfundedStudents(period: "2023-2024-1", newlyUnfunded: true, reasonStatus: PENDING) {
  edges { node { idNumber } } } }"""
REPORT = """mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { id idNumber reason { code } } }"""
TREND = """query($c: String, $s: Stage) { region(code: $c) {
  unfundedTrend(period: "2023-2024-1", stage: $s) { runId members funded unfunded } } }"""


async def two_runs() -> tuple[ComparisonRun, ComparisonRun]:
    for n, school in ((A, PRIMARY), (B, PRIMARY), (C, PRIMARY), (D, OTHER)):
        await member(n)
        await enrol(n, school)
    await aid(C)
    first = await compare()
    await aid(A)
    await AidRecord.filter(id_number=C).update(status="RETURNED")
    for n, school in ((E, PRIMARY), (F, OTHER)):
        await member(n)
        await enrol(n, school)
    return first, await compare()


def gid(run: ComparisonRun) -> str:
    return str(GlobalID("ComparisonRun", str(run.id)))


async def _changes(gql, token, run, kind=None, **paging) -> dict:
    return (await gql.data(CHANGES, {"id": gid(run), "kind": kind, **paging}, token=token))["comparisonRun"]["changes"]


def _ids(connection) -> list[str]:
    return [e["node"]["idNumber"] for e in connection["edges"]]


async def test_a_school_sees_its_own_changes_in_full(gql, world):
    _, second = await two_runs()
    school = await gql.token_for("school_op")
    new = await _changes(gql, school, second, "NEWLY_UNFUNDED")
    assert sorted(_ids(new)) == [C, E] and new["totalCount"] == 2
    for edge in new["edges"]:
        node = edge["node"]
        assert (node["kind"], node["name"], node["schoolCode"], node["stage"], node["categories"]) == (
            "NEWLY_UNFUNDED",
            "学生",
            PRIMARY,
            "COMPULSORY",
            ["POVERTY_ALLEVIATED"],
        )
    funded = await _changes(gql, school, second, "NEWLY_FUNDED")
    assert _ids(funded) == [A] and funded["edges"][0]["node"]["categories"] == ["POVERTY_ALLEVIATED"]
    both = (await _changes(gql, school, second))["edges"]  # no kind: both kinds
    assert sorted((e["node"]["kind"], e["node"]["idNumber"]) for e in both) == [
        ("NEWLY_FUNDED", A),
        ("NEWLY_UNFUNDED", C),
        ("NEWLY_UNFUNDED", E),
    ]
    other = await gql.token_for("other_school_op")
    assert _ids(await _changes(gql, other, second, "NEWLY_UNFUNDED")) == [F]
    assert _ids(await _changes(gql, other, second, "NEWLY_FUNDED")) == []


async def test_authorities_see_their_subtree_masked(gql, world):
    _, second = await two_runs()
    county = await gql.token_for("county_op")
    assert sorted(_ids(await _changes(gql, county, second, "NEWLY_UNFUNDED"))) == [
        C[:6] + "********" + C[-4:],
        E[:6] + "********" + E[-4:],
    ]
    province = await gql.token_for("province_op")
    new = await _changes(gql, province, second, "NEWLY_UNFUNDED")
    assert new["totalCount"] == 3 and sorted(e["node"]["schoolCode"] for e in new["edges"]) == [PRIMARY, PRIMARY, OTHER]
    gd = await gql.token_for("gd_op")
    assert (await _changes(gql, gd, second))["totalCount"] == 0


async def test_changes_are_paged(gql, world):
    _, second = await two_runs()
    province = await gql.token_for("province_op")
    page = await _changes(gql, province, second, "NEWLY_UNFUNDED", first=2)
    info = page["pageInfo"]
    assert (len(page["edges"]), info["hasNextPage"], info["hasPreviousPage"]) == (2, True, False)
    assert (info["startCursor"], info["endCursor"]) == (page["edges"][0]["cursor"], page["edges"][1]["cursor"])
    rest = await _changes(gql, province, second, "NEWLY_UNFUNDED", first=2, after=info["endCursor"])
    assert len(rest["edges"]) == 1
    assert sorted(e["node"]["schoolCode"] for e in page["edges"] + rest["edges"]) == [PRIMARY, PRIMARY, OTHER]
    assert (rest["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasPreviousPage"]) == (False, True)


async def test_a_school_lists_todays_newly_unfunded_without_a_reason(gql, world):
    _, _second = await two_runs()
    school = await gql.token_for("school_op")
    assert sorted(_ids((await gql.data(NEW_PENDING, token=school))["unfundedStudents"])) == [C, E]
    reported = (
        await gql.data(
            REPORT, {"i": {"period": P, "stage": "COMPULSORY", "idNumber": C, "reasonCode": "01"}}, token=school
        )
    )["reportUnfundedReason"]
    assert (reported["idNumber"], reported["reason"]) == (C, {"code": "01"})
    assert _ids((await gql.data(NEW_PENDING, token=school))["unfundedStudents"]) == [E]
    # B was unfunded in both runs: on the list, never newly
    listed = await gql.data('{ unfundedStudents(period: "2023-2024-1") { edges { node { idNumber } } } }', token=school)
    assert sorted(_ids(listed["unfundedStudents"])) == sorted([B, C, E])


def _points(data) -> list[tuple[int, int, int]]:
    return [(p["members"], p["funded"], p["unfunded"]) for p in data["region"]["unfundedTrend"]]


async def test_region_trend_per_published_run_oldest_first(gql, world):
    first, second = await two_runs()
    province = await gql.token_for("province_op")
    county = await gql.token_for("county_op")
    assert _points(await gql.data(TREND, {"c": "430102"}, token=county)) == [(3, 1, 2), (4, 1, 3)]
    trend = (await gql.data(TREND, {"c": "430000"}, token=province))["region"]["unfundedTrend"]
    assert [p["runId"] for p in trend] == [str(first.id), str(second.id)]
    assert [(p["members"], p["funded"], p["unfunded"]) for p in trend] == [(4, 1, 3), (6, 1, 5)]
    assert _points(await gql.data(TREND, {"c": "430202"}, token=province)) == [(1, 0, 1), (2, 0, 2)]
    assert _points(await gql.data(TREND, {"c": "430000", "s": "PRESCHOOL"}, token=province)) == [(0, 0, 0)] * 2
    preschool_only = await gql.token_for("province_preschool_op")
    assert _points(await gql.data(TREND, {"c": "430000"}, token=preschool_only)) == [(0, 0, 0)] * 2
    gd = await gql.token_for("gd_op")
    assert _points(await gql.data(TREND, {"c": "440000"}, token=gd)) == [(0, 0, 0)] * 2


async def test_trend_outlives_pruned_run_history(gql, world):
    first, second = await two_runs()
    later = [await compare() for _ in range(10)]  # unchanged nights: 12 runs, 10 kept
    assert await ComparisonRun.filter(id=first.id).exists() is False
    assert await RunStatistic.filter(run_id=first.id).exists() is False
    assert await UnfundedResult.filter(valid_until_run=second.id).exists() is False  # a's closed row is gone
    county = await gql.token_for("county_op")
    trend = (await gql.data(TREND, {"c": "430102"}, token=county))["region"]["unfundedTrend"]
    assert [p["runId"] for p in trend] == [str(r.id) for r in [first, second, *later]]
    assert _points({"region": {"unfundedTrend": trend}}) == [(3, 1, 2)] + [(4, 1, 3)] * 11
