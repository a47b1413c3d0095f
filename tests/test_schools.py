"""School drill-down: `school(code)` and `Region.schools` with each school's figures and stages."""

from __future__ import annotations

from tests.support.statements import statements
from tests.test_comparison import P, compare, enrol, member, sid
from tests.test_statistics_api import COUNTS, build_data, reason, triple

SCHOOLS = f"""query($code: String, $first: Int!, $after: String, $stage: Stage) {{ region(code: $code) {{
  schools(first: $first, after: $after, stage: $stage) {{
    edges {{ cursor node {{ code name regionCode stages region {{ name }}
                           unfundedStatistics(period: "{P}") {{ total {{ {COUNTS} }} }} }} }}
    pageInfo {{ hasNextPage endCursor }} }} }} }}"""
SCHOOL = f"""query($code: String) {{ school(code: $code) {{ code name stages
  unfundedStatistics(period: "{P}") {{ total {{ {COUNTS} }} byCategory {{ category all {{ {COUNTS} }} }} }} }} }}"""


async def schools_page(gql, token, **variables) -> dict:
    variables = {"code": None, "first": 50, "after": None, "stage": None, **variables}
    return (await gql.data(SCHOOLS, variables, token=token))["region"]["schools"]


async def test_a_county_sees_every_school_with_its_figures(world, gql):
    await build_data()
    await compare()
    await reason(sid(1), "2143000002")
    token = await gql.token_for("county_op")
    page = await schools_page(gql, token)
    nodes = {e["node"]["code"]: e["node"] for e in page["edges"]}
    assert list(nodes) == ["1143000001", "2143000002"] and page["pageInfo"]["hasNextPage"] is False
    primary, kindergarten = nodes["2143000002"], nodes["1143000001"]
    assert (primary["name"], primary["regionCode"], primary["region"]["name"]) == ("芙蓉区实验小学", "430102", "芙蓉区")
    assert primary["stages"] == ["COMPULSORY"] and kindergarten["stages"] == ["PRESCHOOL"]
    assert triple(primary["unfundedStatistics"]["total"]) == (2, 1, 1, 1, 0)  # s1 unfunded with a reason, s2 funded
    assert triple(kindergarten["unfundedStatistics"]["total"]) == (1, 0, 1, 0, 1)  # s3
    # the schools' figures add up to the county's
    county = await gql.data(f'{{ unfundedStatistics(period: "{P}") {{ total {{ {COUNTS} }} }} }}', token=token)
    assert [sum(x) for x in zip(*(triple(n["unfundedStatistics"]["total"]) for n in nodes.values()))] == list(
        triple(county["unfundedStatistics"]["total"])
    )


async def test_schools_are_paged_by_code_and_filtered_by_stage(world, gql):
    token = await gql.token_for("city_op")
    first = await schools_page(gql, token, first=2)
    assert [e["node"]["code"] for e in first["edges"]] == ["1143000001", "2143000002"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await schools_page(gql, token, first=2, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["code"] for e in rest["edges"]] == ["2143000003", "3443000004"]
    assert rest["pageInfo"]["hasNextPage"] is False
    await enrol(sid(30), "1143000001", "PRESCHOOL")
    preschool = await schools_page(gql, token, stage="PRESCHOOL")
    assert [e["node"]["code"] for e in preschool["edges"]] == ["1143000001"]
    assert (
        await gql.error_code(SCHOOLS, {"code": None, "first": 0, "after": None, "stage": None}, token=token)
        == "VALIDATION"
    )
    assert (
        await gql.error_code(SCHOOLS, {"code": None, "first": 501, "after": None, "stage": None}, token=token)
        == "VALIDATION"
    )
    assert (
        await gql.error_code(SCHOOLS, {"code": None, "first": 5, "after": "bm9wZQ==", "stage": None}, token=token)
        == "VALIDATION"
    )


async def test_a_page_of_schools_costs_the_same_statements_whatever_its_length(world, gql):
    await build_data()
    await compare()
    token = await gql.token_for("province_op")
    counts = []
    for first in (1, 6):
        with statements() as sent:
            page = await schools_page(gql, token, code="430000", first=first)
        assert len(page["edges"]) == first
        counts.append(len(sent))
    assert counts[0] == counts[1], counts


async def test_school_by_code_within_scope_only(world, gql):
    await member(sid(40), "07", "SELF")
    await enrol(sid(40), "2143000002")
    await compare()
    own = (await gql.data(SCHOOL, token=await gql.token_for("school_op")))["school"]
    assert own["code"] == "2143000002" and own["stages"] == ["COMPULSORY"]
    assert triple(own["unfundedStatistics"]["total"]) == (1, 0, 1, 0, 1)
    orphans = next(c for c in own["unfundedStatistics"]["byCategory"] if c["category"] == "ORPHAN")
    assert triple(orphans["all"]) == (1, 0, 1, 0, 1)
    county = await gql.token_for("county_op")
    assert (await gql.data(SCHOOL, {"code": "2143000002"}, token=county))["school"]["name"] == "芙蓉区实验小学"
    assert await gql.error_code(SCHOOL, {"code": "2143000003"}, token=county) == "NOT_FOUND"  # 天心区
    other = await gql.token_for("other_school_op")
    assert await gql.error_code(SCHOOL, {"code": "2143000002"}, token=other) == "NOT_FOUND"
