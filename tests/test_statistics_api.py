"""unfundedStatistics and region rollups: prefix sums, own level, stage filter, scope, live reasons."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.statements import statements
from tests.test_comparison import P, aid, compare, enrol, member, sid
from zizhu.domain import db
from zizhu.domain.comparison import reason_counts
from zizhu.domain.models import UnfundedReason
from zizhu.domain.settings import SHANGHAI

CACHE_CHECKS = 1  # statements the response cache adds to a cacheable query (its version check)

COUNTS = "members funded unfunded reasonReported reasonPending"
STATS = f"""query($period: String!, $region: String, $stage: Stage) {{
  unfundedStatistics(period: $period, regionCode: $region, stage: $stage) {{
    runId total {{ {COUNTS} }} totalCentral {{ {COUNTS} }} totalSelfCollected {{ {COUNTS} }}
    byCategory {{ category all {{ {COUNTS} }} central {{ {COUNTS} }} selfCollected {{ {COUNTS} }} }}
  }} }}"""


async def build_data() -> None:
    """8 special-group students across the two provinces (see each line)."""
    await member(sid(1), "01", "CENTRAL")
    await member(sid(1), "05", "SELF")
    await enrol(sid(1), "2143000002")  # 芙蓉区
    await member(sid(2), "01", "CENTRAL")
    await enrol(sid(2), "2143000002")
    await aid(sid(2))  # 芙蓉区, funded
    await member(sid(3), "07", "SELF")
    await enrol(sid(3), "1143000001", "PRESCHOOL")  # 芙蓉区 kindergarten
    await member(sid(4), "01", "SELF")
    await enrol(sid(4), "2143000003")  # 天心区
    await member(sid(5), "02", "CENTRAL")
    await enrol(sid(5), "3443000004", "GENERAL_HIGH")  # 长沙市本级
    await member(sid(6), "01", "CENTRAL")
    await enrol(sid(6), "2143000008")  # 株洲市荷塘区
    await member(sid(7), "01", "CENTRAL")
    await enrol(sid(7), "3643000005", "VOCATIONAL")  # 湖南省本级, funded
    await aid(sid(7), "VOC_GRANT", school="3643000005")
    await member(sid(8), "01", "CENTRAL")
    await enrol(sid(8), "2144000009")  # 广东 荔湾区


def triple(counts: dict) -> tuple[int, int, int, int, int]:
    return (counts["members"], counts["funded"], counts["unfunded"], counts["reasonReported"], counts["reasonPending"])


async def stats_as(gql, username: str, region: str | None = None, stage: str | None = None) -> dict:
    token = await gql.token_for(username)
    return (await gql.data(STATS, {"period": P, "region": region, "stage": stage}, token=token))["unfundedStatistics"]


async def reason(id_number: str, school: str, stage: str = "COMPULSORY") -> None:
    """A reason written straight into the table, then the period's counters counted again (the
    path of a set-based change); the report paths keep them with deltas (tests/test_reason_counts.py)."""
    await UnfundedReason.create(
        period=P,
        stage=stage,
        id_number=id_number,
        school_code=school,
        province=school[2:4],
        reason_code="01",
        reported_by="test",
        reported_at=dt.datetime(2024, 1, 5, tzinfo=SHANGHAI),
    )
    async with db.transaction() as tx:
        await reason_counts.rebuild_period(tx, P)


async def test_region_rollups_county_city_province_nation(world, gql):
    await build_data()
    run = await compare()
    county = await stats_as(gql, "county_op")
    assert county["runId"] == str(run.id)
    assert triple(county["total"]) == (3, 1, 2, 0, 2)
    assert triple((await stats_as(gql, "city_op"))["total"]) == (5, 1, 4, 0, 4)
    hunan = await stats_as(gql, "province_op")
    assert triple(hunan["total"]) == (7, 2, 5, 0, 5)
    assert triple(hunan["totalCentral"]) == (5, 2, 3, 0, 3)  # s1 s2 s5 s6 s7
    assert triple(hunan["totalSelfCollected"]) == (3, 0, 3, 0, 3)  # s1 s3 s4
    assert [c["category"] for c in hunan["byCategory"]][:3] == ["POVERTY_ALLEVIATED", "UNSTABLE_ALLEVIATED", "AT_RISK"]
    assert len(hunan["byCategory"]) == 13
    cat01 = hunan["byCategory"][0]
    assert triple(cat01["all"]) == (5, 2, 3, 0, 3)
    assert triple(cat01["central"]) == (4, 2, 2, 0, 2)
    assert triple(cat01["selfCollected"]) == (1, 0, 1, 0, 1)
    assert triple(hunan["byCategory"][4]["selfCollected"]) == (1, 0, 1, 0, 1)  # 05 低保: s1
    assert triple(hunan["byCategory"][12]["all"]) == (0, 0, 0, 0, 0)
    assert triple((await stats_as(gql, "admin"))["total"]) == (8, 2, 6, 0, 6)
    assert triple((await stats_as(gql, "admin", "440000"))["total"]) == (1, 0, 1, 0, 1)


async def test_stage_filter_and_stage_limited_account(world, gql):
    await build_data()
    await compare()
    assert triple((await stats_as(gql, "province_op", stage="COMPULSORY"))["total"]) == (4, 1, 3, 0, 3)
    assert triple((await stats_as(gql, "province_op", stage="VOCATIONAL"))["total"]) == (1, 1, 0, 0, 0)
    assert triple((await stats_as(gql, "province_preschool_op"))["total"]) == (1, 0, 1, 0, 1)
    token = await gql.token_for("province_preschool_op")
    assert await gql.error_code(STATS, {"period": P, "stage": "COMPULSORY"}, token=token) == "NOT_FOUND"


async def test_scope_out_of_region_is_not_found(world, gql):
    await build_data()
    await compare()
    county = await gql.token_for("county_op")
    for region in ("430103", "430100", "430000", "440000"):
        assert await gql.error_code(STATS, {"period": P, "region": region}, token=county) == "NOT_FOUND", region
    gd = await gql.token_for("gd_op")
    assert await gql.error_code(STATS, {"period": P, "region": "430000"}, token=gd) == "NOT_FOUND"
    assert triple((await stats_as(gql, "gd_op"))["total"]) == (1, 0, 1, 0, 1)
    assert triple((await stats_as(gql, "city_op", "430103"))["total"]) == (1, 0, 1, 0, 1)
    school = await gql.token_for("school_op")
    assert await gql.error_code(STATS, {"period": P, "region": "430102"}, token=school) == "FORBIDDEN"
    assert triple((await stats_as(gql, "school_op"))["total"]) == (2, 1, 1, 0, 1)
    assert await gql.error_code(STATS, {"period": "2023-1"}, token=school) == "VALIDATION"
    assert await gql.error_code(STATS, {"period": P}) == "UNAUTHENTICATED"


async def test_reason_counts_are_live(world, gql):
    await build_data()
    await compare()
    await reason(sid(1), "2143000002")
    await reason(sid(2), "2143000002")  # funded: a reason in history does not count
    county = await stats_as(gql, "county_op")
    assert triple(county["total"]) == (3, 1, 2, 1, 1)
    assert triple(county["byCategory"][4]["selfCollected"]) == (1, 0, 1, 1, 0)
    assert triple(county["byCategory"][6]["all"]) == (1, 0, 1, 0, 1)  # 07: s3 still pending
    await reason(sid(6), "2143000008")
    hunan = await stats_as(gql, "province_op")
    assert triple(hunan["total"]) == (7, 2, 5, 2, 3)
    assert triple(hunan["byCategory"][0]["central"]) == (4, 2, 2, 2, 0)
    await compare()  # a rerun keeps the reasons
    assert triple((await stats_as(gql, "province_op"))["total"]) == (7, 2, 5, 2, 3)


async def test_no_published_run_gives_zeros(world, gql):
    await build_data()
    result = await stats_as(gql, "province_op")
    assert result["runId"] is None
    assert triple(result["total"]) == (0, 0, 0, 0, 0)


REGION = f"""query($code: String, $period: String!) {{ region(code: $code) {{
  code name level
  unfundedStatistics(period: $period) {{ total {{ {COUNTS} }} }}
  ownLevelStatistics(period: $period) {{ total {{ {COUNTS} }} }}
  children {{ code name level unfundedStatistics(period: $period) {{ total {{ {COUNTS} }} }}
              ownLevelStatistics(period: $period) {{ total {{ {COUNTS} }} }}
              children {{ code unfundedStatistics(period: $period) {{ total {{ {COUNTS} }} }} }} }}
}} }}"""


async def test_nested_region_rollups_in_a_fixed_number_of_statements(world, gql):
    await build_data()
    await compare()
    await reason(sid(4), "2143000003")
    token = await gql.token_for("province_op")
    with statements() as sign_in:
        await gql.data("{ me { username } }", token=token)
    with statements() as sent:
        region = (await gql.data(REGION, {"period": P}, token=token))["region"]
    assert (region["code"], region["name"], region["level"]) == ("430000", "湖南省", "PROVINCE")
    assert triple(region["unfundedStatistics"]["total"]) == (7, 2, 5, 1, 4)
    assert triple(region["ownLevelStatistics"]["total"]) == (1, 1, 0, 0, 0)
    children = {c["code"]: c for c in region["children"]}
    assert list(children) == ["430100", "430200"]
    changsha = children["430100"]
    assert triple(changsha["unfundedStatistics"]["total"]) == (5, 1, 4, 1, 3)
    assert triple(changsha["ownLevelStatistics"]["total"]) == (1, 0, 1, 0, 1)
    assert {c["code"]: triple(c["unfundedStatistics"]["total"]) for c in changsha["children"]} == {
        "430102": (3, 1, 2, 0, 2),
        "430103": (1, 0, 1, 1, 0),
    }
    assert triple(children["430200"]["unfundedStatistics"]["total"]) == (1, 0, 1, 0, 1)
    # province → cities (+ own level) → counties: the region, its subtree of regions, the published
    # runs, the region rows, the reason counters' versions and the reason counts — beyond what
    # signing in costs (and the read cache's version check), whatever the number of regions
    assert len(sent) - len(sign_in) - CACHE_CHECKS <= 6, sent

    county = await gql.token_for("county_op")
    assert await gql.error_code(REGION, {"code": "430100", "period": P}, token=county) == "NOT_FOUND"


@pytest.mark.parametrize("username", ["county_op", "admin"])
async def test_region_defaults_to_own_scope(world, gql, username):
    token = await gql.token_for(username)
    region = (await gql.data("query { region { code level } }", token=token))["region"]
    assert (
        region
        == {"430102": {"code": "430102", "level": "COUNTY"}, "admin": {"code": "000000", "level": "NATION"}}[
            "430102" if username == "county_op" else "admin"
        ]
    )
