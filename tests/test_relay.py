"""Relay and cache conventions: global IDs on every cacheable type, node(id)/nodes(ids) within
scope, complete PageInfo, bounded `first`, mutations returning the objects a cache updates."""

from __future__ import annotations

import datetime as dt

import pytest
from strawberry.relay import GlobalID

from tests.support import roster as roster_support
from tests.support.tiny_comparison import PERIOD, SCHOOL, tiny_data_set
from tests.support.world import student_id
from zizhu.domain.comparison import engine as comparison
from zizhu.domain.models import LegacyPovertyReason, RegionReason
from zizhu.domain.reference.codes import Category, Source
from zizhu.domain.settings import SHANGHAI

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
LIST = """query($first: Int!) { unfundedStudents(period: "2023-2024-1", first: $first) {
  edges { cursor node { id idNumber reason { code } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


@pytest.fixture
async def scene(world):
    """One object of every cacheable type, within 芙蓉区 (430102) of 湖南; {type: (global id, viewer)}."""
    await tiny_data_set()
    run = await comparison.run_comparison_now(PERIOD)
    await LegacyPovertyReason.create(
        id_number=student_id(1),
        name="甲",
        school_code=SCHOOL,
        province="43",
        stage="COMPULSORY",
        period=PERIOD,
        reason_code="03",
    )
    await RegionReason.create(
        period=PERIOD,
        stage="COMPULSORY",
        region_code="430102",
        category="00",
        reason_code="10",
        detail="",
        reported_by="county_op",
        reported_at=dt.datetime(2024, 1, 3, tzinfo=SHANGHAI),
    )
    await roster_support.open_windows()
    return run


async def _ids(gql) -> dict[str, tuple[str, str]]:
    """Each type's global ID as its list shows it, with an account that sees it."""
    school, county, kg = (
        await gql.token_for("school_op"),
        await gql.token_for("county_op"),
        await gql.token_for("kg_op"),
    )
    entry = await roster_support.add(gql, kg, await roster_support.enrol(1, "小明"))
    q = await gql.data(
        """{
      unfundedStudents(period: "2023-2024-1") { edges { node { id } } }
      legacyPovertyReasons { edges { node { id } } }
      comparisonRuns(period: "2023-2024-1") { edges { node { id } } }
      region { id }
      regionReasons(period: "2023-2024-1") { id }
      timeWindows(period: "2023-2024-1") { id } }""",
        token=county,
    )
    return {
        "UnfundedStudent": (q["unfundedStudents"]["edges"][0]["node"]["id"], school),
        "LegacyPovertyReason": (q["legacyPovertyReasons"]["edges"][0]["node"]["id"], school),
        "ComparisonRun": (q["comparisonRuns"]["edges"][0]["node"]["id"], county),
        "Region": (q["region"]["id"], county),
        "RegionReason": (q["regionReasons"][0]["id"], county),
        "TimeWindow": (q["timeWindows"][0]["id"], county),
        "PreschoolRosterEntry": (entry["id"], kg),
    }


async def test_every_cacheable_type_resolves_by_its_global_id(gql, scene):
    ids = await _ids(gql)
    for type_name, (gid, token) in ids.items():
        assert (await gql.data(NODE, {"id": gid}, token=token))["node"] == {"__typename": type_name, "id": gid}
    ordered = [ids["Region"][0], ids["UnfundedStudent"][0], ids["ComparisonRun"][0]]
    nodes = (await gql.data(NODES, {"ids": ordered}, token=await gql.token_for("county_op")))["nodes"]
    assert [n["id"] for n in nodes] == ordered


async def test_out_of_scope_objects_do_not_exist(gql, scene):
    ids = await _ids(gql)
    gd, other = await gql.token_for("gd_op"), await gql.token_for("other_school_op")
    visible_to_all = {"ComparisonRun", "TimeWindow"}  # the national run and the national window
    for type_name, (gid, _) in ids.items():
        for token in (gd, other):
            body = await gql.post(NODE, {"id": gid}, token=token)
            assert not body.get("errors"), body
            found = body["data"]["node"] is not None
            assert found == (type_name in visible_to_all), (type_name, body)  # absent: null, as if it did not exist
    county = await gql.token_for("county_op")
    for bad in ("abc", ids["Region"][0][:-2]):  # not an id, broken: refused naming the argument
        assert await gql.error_code(NODE, {"id": bad}, token=county) == "VALIDATION"
    assert await gql.data(NODE, {"id": "VW5rbm93bjox"}, token=county) == {"node": None}  # an unknown type
    assert await gql.error_code(NODES, {"ids": [ids["Region"][0]] * 101}, token=county) == "VALIDATION"
    assert await gql.error_code(NODE, {"id": ids["Region"][0]}) == "UNAUTHENTICATED"


async def test_reporting_returns_the_student_the_list_shows(gql, scene):
    school = await gql.token_for("school_op")
    (listed,) = (await gql.data(LIST, {"first": 10}, token=school))["unfundedStudents"]["edges"]
    report = """mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { id idNumber reason { code } } }"""
    i = {"period": PERIOD, "stage": "COMPULSORY", "idNumber": student_id(1), "reasonCode": "02"}
    got = (await gql.data(report, {"i": i}, token=school))["reportUnfundedReason"]
    assert got == {"id": listed["node"]["id"], "idNumber": student_id(1), "reason": {"code": "02"}}
    batch = """mutation($i: [ReasonInput!]!) { reportUnfundedReasons(inputs: $i) { id reason { code } } }"""
    got = (await gql.data(batch, {"i": [{**i, "reasonCode": "04"}]}, token=school))["reportUnfundedReasons"]
    assert got == [{"id": listed["node"]["id"], "reason": {"code": "04"}}]


async def test_page_info_is_complete(gql, scene):
    county = await gql.token_for("county_op")
    page = (await gql.data(LIST, {"first": 1}, token=county))["unfundedStudents"]
    info, (edge,) = page["pageInfo"], page["edges"]
    assert info["hasPreviousPage"] is False and info["hasNextPage"] is False
    assert info["startCursor"] == info["endCursor"] == edge["cursor"]


@pytest.mark.parametrize("first", [0, -1, 501])
async def test_first_outside_its_bound_is_refused_naming_it(gql, scene, first):
    ids = await _ids(gql)
    county, kg = await gql.token_for("county_op"), await gql.token_for("kg_op")
    queries = [
        (LIST, {}, county),
        ('query($first: Int!) { legacyPovertyReasons(first: $first) { edges { cursor } } }', {}, county),
        (
            'query($first: Int!) { comparisonRuns(period: "2023-2024-1", first: $first) { edges { cursor } } }',
            {},
            county,
        ),
        (
            'query($first: Int!, $id: ID!) { comparisonRun(id: $id) { changes(first: $first) { edges { cursor } } } }',
            {"id": ids["ComparisonRun"][0]},
            county,
        ),
        (
            'query($first: Int!) { preschoolRoster(period: "2023-2024-1") { entries(first: $first) { edges { cursor } } } }',
            {},
            kg,
        ),
    ]
    for query, variables, token in queries:
        body = await gql.post(query, {"first": first, **variables}, token=token)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "VALIDATION" and "500" in error["message"], (query, body)
        assert (error["extensions"]["min"], error["extensions"]["max"]) == (1, 500)


async def test_roster_entries_take_their_own_paging_and_status(gql, scene):
    kg = await gql.token_for("kg_op")
    first, second = [await roster_support.add(gql, kg, await roster_support.enrol(n, f"幼儿{n}")) for n in (1, 2)]
    await gql.data(roster_support.SUBMIT, {"ids": [second["id"]]}, token=kg)
    query = """query($st: AidStatus, $after: String) { preschoolRoster(period: "2023-2024-1") { totalCount
      entries(status: $st, first: 1, after: $after) { totalCount edges { cursor node { id status } }
                                                       pageInfo { hasNextPage hasPreviousPage } } } }"""
    roster = (await gql.data(query, token=kg))["preschoolRoster"]
    assert roster["totalCount"] == 2 and roster["entries"]["totalCount"] == 2
    assert [e["node"]["id"] for e in roster["entries"]["edges"]] == [first["id"]]
    after = roster["entries"]["edges"][0]["cursor"]
    rest = (await gql.data(query, {"after": after}, token=kg))["preschoolRoster"]["entries"]
    assert [e["node"]["id"] for e in rest["edges"]] == [second["id"]]
    assert (rest["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasPreviousPage"]) == (False, True)
    submitted = (await gql.data(query, {"st": "SUBMITTED"}, token=kg))["preschoolRoster"]
    assert submitted["totalCount"] == 2 and submitted["entries"]["totalCount"] == 1
    assert [e["node"]["status"] for e in submitted["entries"]["edges"]] == ["SUBMITTED"]


async def test_one_unknown_id_in_nodes_is_a_null_entry_beside_the_other_data(gql, scene):
    """What a Relay or Apollo client expects: `nodes: [Node]!`, a null where an id names nothing,
    every other object and every other root field still there."""
    ids = await _ids(gql)
    county = await gql.token_for("county_op")
    region, run = ids["Region"][0], ids["ComparisonRun"][0]
    gone = str(GlobalID("ComparisonRun", "999999"))
    hidden = str(GlobalID("Region", "440000"))  # 广东: another province, outside the county's scope
    body = await gql.post(
        "query($ids: [ID!]!) { me { username } nodes(ids: $ids) { __typename id } }",
        {"ids": [region, gone, run, hidden]},
        token=county,
    )
    assert "errors" not in body, body
    assert body["data"]["me"] == {"username": "county_op"}
    assert body["data"]["nodes"] == [
        {"__typename": "Region", "id": region},
        None,
        {"__typename": "ComparisonRun", "id": run},
        None,
    ]
    one = await gql.post("query($id: ID!) { me { username } node(id: $id) { id } }", {"id": gone}, token=county)
    assert one == {"data": {"me": {"username": "county_op"}, "node": None}}


PAGED = """query($first: Int!, $after: String, $region: String, $school: String, $category: Category, $source: Source,
              $status: ReasonStatus) {
  unfundedStudents(period: "2023-2024-1", regionCode: $region, schoolCode: $school, category: $category, source: $source,
                   reasonStatus: $status, first: $first, after: $after) {
    totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }"""


async def _paged(gql, token: str, query: str, path: tuple[str, ...], **variables) -> tuple[set[int], list[str]]:
    """(the totalCount of every page, every row id paged through, following the cursor)."""
    counts, ids, after = set(), [], None
    while True:
        page = await gql.data(query, {"first": 2, "after": after, **variables}, token=token)
        for key in path:
            page = page[key]
        counts.add(page["totalCount"])
        ids += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return counts, ids
        after = page["pageInfo"]["endCursor"]


async def test_total_count_equals_the_rows_paged_on_every_connection(gql, world):
    from tests.test_comparison import compare
    from tests.test_export_lists import OTHER, PRIMARY, unfunded_students
    from tests.test_statistics_api import reason
    from zizhu.domain.accounts.users import viewer_from_token
    from zizhu.domain.comparison import published_list

    ids = await unfunded_students(7, PRIMARY)  # category 01 central; every 3rd also 05 self
    await unfunded_students(3, OTHER, start=100)
    await compare()
    for id_number in ids[:3]:
        await reason(id_number, PRIMARY)
    await LegacyPovertyReason.bulk_create(
        [
            LegacyPovertyReason(
                id_number=student_id(n),
                name="甲",
                school_code=PRIMARY,
                province="43",
                stage="COMPULSORY",
                period="2023-2024-1",
                reason_code="03",
            )
            for n in range(1, 6)
        ]
    )
    province, school = await gql.login("province_op"), await gql.login("school_op")
    cases = [
        (province, {}, 10),
        (province, {"region": "430100"}, 7),
        (province, {"school": PRIMARY}, 7),
        (school, {}, 7),
        (province, {"category": "SUBSISTENCE_ALLOWANCE"}, 4),
        (province, {"category": "SUBSISTENCE_ALLOWANCE", "source": "CENTRAL"}, 0),
        (province, {"source": "SELF"}, 4),
        (province, {"status": "REPORTED"}, 3),
        (school, {"status": "PENDING", "category": "POVERTY_ALLEVIATED"}, 4),
    ]
    for token, variables, expected in cases:
        counts, paged = await _paged(gql, token, PAGED, ("unfundedStudents",), **variables)
        assert counts == {len(paged)} and len(paged) == len(set(paged)) == expected, variables
        # the statistics' cell and a count of the list agree
        viewer = await viewer_from_token(token)
        counted = await published_list.count_unfunded_students(
            viewer,
            "2023-2024-1",
            published_list.ListFilters(
                region_code=variables.get("region"),
                school_code=variables.get("school"),
                category=Category(variables["category"]) if "category" in variables else None,
                source=Source(variables["source"]) if "source" in variables else None,
                reason_reported={"REPORTED": True, "PENDING": False}.get(variables.get("status")),
            ),
        )
        assert counted == expected, variables

    legacy = """query($first: Int!, $after: String) { legacyPovertyReasons(first: $first, after: $after) {
      totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
    counts, paged = await _paged(gql, province, legacy, ("legacyPovertyReasons",))
    assert counts == {len(paged)} == {5}

    schools = """query($first: Int!, $after: String) { region(code: "430000") { schools(first: $first, after: $after) {
      totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } } }"""
    counts, paged = await _paged(gql, province, schools, ("region", "schools"))
    assert counts == {len(paged)} and len(paged) > 2
