"""Unmatched special-group members (未匹配学籍): who is listed, under which regions, to whom.

Members: A (ID of the listed county 芙蓉区 430102), B (ID of 430104, a county the region table
does not list, in the listed city 长沙市), C (ID of 650102, a province the table does not list),
D (ID of 荔湾区 440103, also uploaded by 芙蓉区 as self-collected), F (only a graduated
enrolment, ID of 荷塘区 430202), and E, enrolled (matched, never listed).
"""

from __future__ import annotations

import pytest

from tests.support.exports import csv_rows, download, link
from tests.support.world import student_id
from tests.test_comparison import P, compare, enrol, member
from zizhu.domain.comparison import engine
from zizhu.domain.models import SpecialGroupRecord
from zizhu.domain.reference.identity import mask_id_number

A, B, C = student_id(1, "430102"), student_id(2, "430104"), student_id(3, "650102")
D, E, F = student_id(4, "440103"), student_id(5, "430102"), student_id(6, "430202")

LIST = """query($r: String, $c: Category, $s: Source, $first: Int! = 50, $after: String) {
  unmatchedSpecialGroupMembers(period: "2023-2024-1", regionCode: $r, category: $c, source: $s,
                               first: $first, after: $after) {
    totalCount
    edges { node { idNumber name regionCode categories centralCategories selfCollectedCategories sources } }
    pageInfo { hasNextPage endCursor } } }"""
STATS = """query($r: String) { unfundedStatistics(period: "2023-2024-1", regionCode: $r) { unmatched }
  region(code: $r) { ownLevelStatistics(period: "2023-2024-1") { unmatched }
                     children { code unfundedStatistics(period: "2023-2024-1") { unmatched } } } }"""


async def build() -> None:
    await member(A, "01", "CENTRAL")
    await member(A, "05", "SELF")
    await member(B, "07", "CENTRAL")
    await member(C, "01", "CENTRAL")
    await member(D, "02", "CENTRAL")
    await SpecialGroupRecord.create(
        id_number=D, name="学生", category="08", source="SELF", period=P, collected_by="430102"
    )
    await member(E, "01", "CENTRAL")
    await enrol(E)
    await member(F, "01", "CENTRAL")
    await enrol(F, status="GRADUATED")


async def listed(gql, token: str, **variables) -> tuple[list[dict], int]:
    data = (await gql.data(LIST, variables, token=token))["unmatchedSpecialGroupMembers"]
    return [e["node"] for e in data["edges"]], data["totalCount"]


EXPECTED = {  # account → the members its own region lists
    "admin": {A, B, C, D, F},
    "province_op": {A, B, D, F},
    "city_op": {A, B, D},
    "county_op": {A, D},
    "gd_op": {D},
    "province_preschool_op": {A, B, D, F},  # no stage: an unmatched member has no enrolment
}


async def test_the_list_holds_exactly_the_unmatched_members_under_the_region_rule(gql, world):
    await build()
    run = await compare()
    assert run.unmatched == 5
    for username, expected in EXPECTED.items():
        nodes, total = await listed(gql, await gql.login(username))
        assert sorted(n["idNumber"] for n in nodes) == sorted(mask_id_number(i) for i in expected), username
        assert total == len(expected), username
    nodes, _ = await listed(gql, await gql.login("admin"))
    by_id = {n["idNumber"]: n for n in nodes}
    assert by_id[mask_id_number(A)]["regionCode"] == "430102"
    assert by_id[mask_id_number(B)]["regionCode"] == "430100"  # unlisted county → its city
    assert by_id[mask_id_number(C)]["regionCode"] == "000000"  # unknown province → the nation
    assert by_id[mask_id_number(D)]["regionCode"] == "440103"  # uploaded elsewhere, registered here
    assert by_id[mask_id_number(A)]["categories"] == ["POVERTY_ALLEVIATED", "SUBSISTENCE_ALLOWANCE"]
    assert by_id[mask_id_number(A)]["sources"] == ["CENTRAL", "SELF"]
    assert by_id[mask_id_number(D)]["selfCollectedCategories"] == ["DISABLED"]


async def test_filters_and_keyset_pages(gql, world):
    await build()
    await compare()
    token = await gql.login("admin")
    nodes, total = await listed(gql, token, s="SELF")
    assert {n["idNumber"] for n in nodes} == {mask_id_number(A), mask_id_number(D)} and total == 2
    nodes, total = await listed(gql, token, c="POVERTY_ALLEVIATED", s="CENTRAL")
    assert {n["idNumber"] for n in nodes} == {mask_id_number(i) for i in (A, C, F)} and total == 3
    seen, after = [], None
    while True:
        data = (await gql.data(LIST, {"first": 2, "after": after}, token=token))["unmatchedSpecialGroupMembers"]
        seen += [e["node"]["idNumber"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(mask_id_number(i) for i in EXPECTED["admin"])  # each once


@pytest.mark.parametrize(
    "username, region, code",
    [
        ("school_op", None, "FORBIDDEN"),
        ("county_op", "430100", "NOT_FOUND"),
        ("gd_op", "430102", "NOT_FOUND"),
        ("city_op", "430200", "NOT_FOUND"),
    ],
)
async def test_nobody_outside_the_scope_sees_them(gql, world, username, region, code):
    await build()
    await compare()
    assert await gql.error_code(LIST, {"r": region}, token=await gql.login(username)) == code


async def test_statistics_count_them_for_each_region(gql, world):
    await build()
    await compare()
    data = await gql.data(STATS, {"r": "430100"}, token=await gql.login("province_op"))
    assert data["unfundedStatistics"]["unmatched"] == 3
    assert data["region"]["ownLevelStatistics"]["unmatched"] == 1  # B, registered in the city itself
    assert {c["code"]: c["unfundedStatistics"]["unmatched"] for c in data["region"]["children"]} == {
        "430102": 2,
        "430103": 0,
    }
    data = await gql.data(STATS, {"r": "000000"}, token=await gql.login("admin"))
    assert data["unfundedStatistics"]["unmatched"] == 5
    assert data["region"]["ownLevelStatistics"]["unmatched"] == 1  # C
    assert {c["code"]: c["unfundedStatistics"]["unmatched"] for c in data["region"]["children"]} == {
        "430000": 4,
        "440000": 1,
    }
    school = await gql.data(
        'query { unfundedStatistics(period: "2023-2024-1") { unmatched } }', token=await gql.login("school_op")
    )
    assert school["unfundedStatistics"]["unmatched"] is None


async def test_a_province_run_replaces_its_province_and_keeps_the_rest(gql, world):
    await build()
    await compare()
    await enrol(A)  # A is now enrolled; only a run of Hunan sees it
    run = await engine.create_run(P, "MANUAL", "province_op", province="43")
    run = await engine.execute_run(run.id)
    assert run.status == "SUCCEEDED" and run.province == "43"
    expected = EXPECTED["admin"] - {A}
    nodes, total = await listed(gql, await gql.login("admin"))
    assert sorted(n["idNumber"] for n in nodes) == sorted(mask_id_number(i) for i in expected)
    assert total == len(expected)
    nodes, total = await listed(gql, await gql.login("gd_op"))
    assert [n["idNumber"] for n in nodes] == [mask_id_number(D)] and total == 1


async def test_the_export_lists_what_the_query_lists(gql, world):
    await build()
    await compare()
    token = await gql.login("city_op")
    mutation = 'mutation { exportUnmatchedSpecialGroupMembers(period: "2023-2024-1", format: CSV) { url } }'
    rows = csv_rows(await download(gql, (await link(gql, token, mutation, {}))["url"]))
    assert rows[0][:3] == ["身份证件号", "姓名", "户籍地区划代码"]
    assert sorted(r[0] for r in rows[1:]) == sorted(mask_id_number(i) for i in EXPECTED["city_op"])
    school = await gql.login("school_op")
    assert await gql.error_code(mutation, token=school) == "FORBIDDEN"


async def test_nested_unmatched_counts_cost_two_statements_whatever_the_regions(gql, world):
    from tests.support.statements import statements

    await build()
    await compare()
    token = await gql.login("admin")
    level = 'unfundedStatistics(period: "2023-2024-1") { total { members } %s }'
    nested = "{ region { %s children { %s children { %s children { %s } } } } }"
    without = nested % ((level % "",) * 4)
    with_unmatched = nested % ((level % "unmatched",) * 4)
    with statements() as plain:
        await gql.data(without, token=token)
    with statements() as counted:
        data = await gql.data(with_unmatched, token=token)
    assert data["region"]["unfundedStatistics"]["unmatched"] == 5
    hunan = next(c for c in data["region"]["children"] if c["unfundedStatistics"]["unmatched"] == 4)
    assert sorted(c["unfundedStatistics"]["unmatched"] for c in hunan["children"]) == [1, 3]  # 株洲 F; 长沙 A, B, D
    assert len(counted) - len(plain) <= 2, counted  # the published runs, one grouped count
