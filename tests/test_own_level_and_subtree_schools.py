"""本级未资助原因 beside the own-level figures, and the subtree school table of the statistics export."""

from __future__ import annotations

from tests.support.exports import download, link, workbook
from tests.test_comparison import P, compare, enrol, member
from tests.test_export_statistics import EXPORT, flat
from tests.test_statistics_api import build_data, reason, sid
from zizhu.domain.exports.statistics_table import OWN_REASONS_HEADER

REPORT = "mutation($i: RegionReasonInput!) { reportRegionReason(input: $i) { reasonCode } }"
COUNTS = "members funded unfunded reasonReported reasonPending"
OWN = """query($r: String, $s: Stage) { region(code: $r) {
  ownLevelStatistics(period: "2023-2024-1", stage: $s) { total { unfunded }
    reasons { stage category reasonCode detail reportedBy } }
  children { code ownLevelStatistics(period: "2023-2024-1") { reasons { reasonCode } } } } }"""
SCHOOL = f"""query($c: String!) {{ school(code: $c) {{ unfundedStatistics(period: "2023-2024-1") {{
  total {{ {COUNTS} }} totalCentral {{ {COUNTS} }} totalSelfCollected {{ {COUNTS} }}
  byCategory {{ all {{ {COUNTS} }} central {{ {COUNTS} }} selfCollected {{ {COUNTS} }} }} byReason {{ code count }} }} }} }}"""


async def report_own_reasons(gql, token: str) -> None:
    for i in (
        {"period": P, "stage": "COMPULSORY", "reasonCode": "03", "category": "SUBSISTENCE_ALLOWANCE"},
        {"period": P, "stage": "VOCATIONAL", "reasonCode": "99", "detail": "名额已满"},
    ):
        await gql.data(REPORT, {"i": i}, token=token)


async def test_own_level_reasons_sit_beside_the_own_level_figures(gql, world):
    await build_data()
    await compare()
    token = await gql.login("province_op")
    await report_own_reasons(gql, token)
    region = (await gql.data(OWN, {}, token=token))["region"]
    reasons = region["ownLevelStatistics"]["reasons"]
    assert [(r["stage"], r["category"], r["reasonCode"], r["detail"]) for r in reasons] == [
        ("COMPULSORY", "SUBSISTENCE_ALLOWANCE", "03", ""),
        ("VOCATIONAL", None, "99", "名额已满"),
    ]
    assert {r["reportedBy"] for r in reasons} == {"province_op"}
    assert all(c["ownLevelStatistics"]["reasons"] == [] for c in region["children"])  # the cities' own
    narrowed = (await gql.data(OWN, {"s": "VOCATIONAL"}, token=token))["region"]["ownLevelStatistics"]
    assert [r["reasonCode"] for r in narrowed["reasons"]] == ["99"]
    preschool_only = await gql.login("province_preschool_op")  # sees no stage it was not given
    assert (await gql.data(OWN, {}, token=preschool_only))["region"]["ownLevelStatistics"]["reasons"] == []

    ws = workbook(await download(gql, (await link(gql, token, EXPORT, {"p": P}))["url"]))["统计表"]
    last = ws.max_column
    assert ws.cell(row=2, column=last).value == OWN_REASONS_HEADER
    cells = {r[1]: r[last - 1] for r in ws.iter_rows(min_row=5, values_only=True)}
    assert cells["本级"] == "义务教育·低保学生：03 已毕业/已离校；中等职业教育：99 其他（须填写说明）（名额已满）"
    assert cells["长沙市"] is None and cells["合计"] is None


async def test_the_subtree_school_table_ranks_every_school_by_pending_reasons(gql, world):
    await build_data()
    await reason(sid(1), "2143000002")  # 芙蓉区实验小学: s1 reported, s2 funded → 0 pending
    await member(sid(9), "05", "SELF")
    await enrol(sid(9), "2143000008")  # 荷塘区小学: s6 and s9 pending → 2
    await compare()
    token = await gql.login("province_op")
    exported = await link(gql, token, EXPORT, {"p": P, "rows": "SUBTREE_SCHOOLS"})
    ws = workbook(await download(gql, exported["url"])).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["学校标识码", "学校名称", "所属县（区）", "所属市"]
    assert header[4] == "特殊群体学生合计·合计·特殊群体学生数" and len(header) == 4 + 14 * 15 + 11
    assert header[4 + 14 * 15] == "未资助原因分布·01 学生本人（监护人）自愿放弃/未申请"  # one column per reason code
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("2143000008", "荷塘区", "株洲市"),  # 2 pending
        ("1143000001", "芙蓉区", "长沙市"),  # 1 pending each, by code
        ("2143000003", "天心区", "长沙市"),
        ("3443000004", None, "长沙市"),  # a city's own school
        ("2143000002", "芙蓉区", "长沙市"),  # 0 pending, by code
        ("3643000005", None, None),  # the province's own schools
        ("4143000006", None, None),
    ]
    pending = [r[4 + 4] for r in rows]  # 合计·合计·未填报原因
    assert pending == sorted(pending, reverse=True) and pending[0] == 2
    for r in rows:
        expected = await gql.data(SCHOOL, {"c": r[0]}, token=token)
        assert r[4:] == flat(expected["school"]["unfundedStatistics"]), r[0]
    county = await gql.login("county_op")
    ws = workbook(await download(gql, (await link(gql, county, EXPORT, {"p": P, "rows": "SUBTREE_SCHOOLS"}))["url"]))
    assert [r[0] for r in ws.worksheets[0].iter_rows(min_row=2, values_only=True)] == ["1143000001", "2143000002"]
    assert await gql.error_code(EXPORT, {"p": P, "rows": "SUBTREE_SCHOOLS", "r": "440000"}, token=county) == "NOT_FOUND"
