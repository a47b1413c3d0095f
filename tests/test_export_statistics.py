"""The statistics table export: headers, every cell equal to unfundedStatistics, scope, links."""

from __future__ import annotations

import datetime as dt

from tests.support.exports import download, link, workbook
from tests.test_comparison import P, compare
from tests.test_statistics_api import build_data, reason, sid
from zizhu.domain.models import AuditEntry, Region
from zizhu.domain.reference.codes import Category
from zizhu.domain.settings import SHANGHAI

EXPORT = """mutation($p: String!, $r: String, $s: Stage, $rows: StatisticsRows! = REGIONS) {
  exportUnfundedStatistics(period: $p, regionCode: $r, stage: $s, rows: $rows) { url filename expiresAt } }"""
COUNTS = "members funded unfunded reasonReported reasonPending"
STATS = f"""query($p: String!, $r: String, $s: Stage) {{ unfundedStatistics(period: $p, regionCode: $r, stage: $s) {{
  total {{ {COUNTS} }} totalCentral {{ {COUNTS} }} totalSelfCollected {{ {COUNTS} }}
  byCategory {{ all {{ {COUNTS} }} central {{ {COUNTS} }} selfCollected {{ {COUNTS} }} }} byReason {{ code count }} }} }}"""
OWN_LEVEL = f"""query($p: String!, $r: String, $s: Stage) {{ region(code: $r) {{ ownLevelStatistics(period: $p, stage: $s) {{
  total {{ {COUNTS} }} totalCentral {{ {COUNTS} }} totalSelfCollected {{ {COUNTS} }}
  byCategory {{ all {{ {COUNTS} }} central {{ {COUNTS} }} selfCollected {{ {COUNTS} }} }} byReason {{ code count }} }} }} }}"""
SCHOOL_STATS = f"""query($p: String!, $s: Stage) {{ unfundedStatistics(period: $p, stage: $s) {{
  total {{ {COUNTS} }} totalCentral {{ {COUNTS} }} totalSelfCollected {{ {COUNTS} }}
  byCategory {{ all {{ {COUNTS} }} central {{ {COUNTS} }} selfCollected {{ {COUNTS} }} }} byReason {{ code count }} }} }}"""


def flat(stats: dict) -> list[int]:
    """The 14 × 3 × 5 cells of a statistics answer, then its byReason counts, in the table's column order."""
    triples = [(stats["total"], stats["totalCentral"], stats["totalSelfCollected"])]
    triples += [(c["all"], c["central"], c["selfCollected"]) for c in stats["byCategory"]]
    keys = COUNTS.split()
    return [counts[k] for triple in triples for counts in triple for k in keys] + [
        r["count"] for r in stats["byReason"]
    ]


def table(wb) -> dict[str, tuple[str, list[int]]]:
    """Data rows of the statistics sheet: name → (code, the 210 counts and the 11 reason counts)."""
    ws = wb["统计表"]
    return {r[1]: (r[0], list(r[2 : 2 + 14 * 15 + 11])) for r in ws.iter_rows(min_row=5, values_only=True)}


async def test_region_table_headers_and_every_cell_equal_the_query(world, gql):
    await build_data()
    await compare()
    await reason(sid(1), "2143000002")  # a live reason is already counted in the table
    token = await gql.login("province_op")
    exported = await link(gql, token, EXPORT, {"p": P})
    assert exported["filename"] == "unfunded-statistics.xlsx"
    wb = workbook(await download(gql, exported["url"]))  # no Authorization header: the link is enough
    ws = wb["统计表"]
    title = ws["A1"].value
    assert "湖南省" in title and "2023-2024学年秋季学期" in title and "全部学段" in title
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A2:A4", "B2:B4", "C2:Q2", "C3:G3", "H3:L3", "M3:Q3", "R2:AF2"} <= merged
    assert [ws.cell(row=2, column=c).value for c in (1, 2, 3, 18)] == [
        "区划代码",
        "名称",
        "特殊群体学生合计",
        "脱贫家庭学生",
    ]
    assert [ws.cell(row=3, column=c).value for c in (3, 8, 13)] == ["合计", "中央下发", "自采集"]
    assert [ws.cell(row=4, column=c).value for c in range(3, 8)] == [
        "特殊群体学生数",
        "已资助",
        "未资助",
        "已填报原因",
        "未填报原因",
    ]
    assert ws.cell(row=2, column=3 + 15 * 13).value == Category.OTHER_LOW_INCOME.label
    reasons = 2 + 14 * 15 + 1  # the 未资助原因分布 group: one column per reason code
    assert ws.cell(row=2, column=reasons).value == "未资助原因分布"
    assert ws.cell(row=3, column=reasons).value == "01 学生本人（监护人）自愿放弃/未申请"
    assert ws.cell(row=3, column=reasons + 10).value.startswith("99 ")
    assert ws.max_column == 2 + 14 * 15 + 11 + 1  # then 本级未资助原因
    assert ws.freeze_panes == "C5"

    rows = table(wb)
    assert list(rows) == ["长沙市", "株洲市", "本级", "合计"]
    assert rows["长沙市"][0] == "430100" and ws["A5"].data_type == "s" and ws["A5"].number_format == "@"
    for name, code in (("长沙市", "430100"), ("株洲市", "430200"), ("合计", "430000")):
        expected = await gql.data(STATS, {"p": P, "r": code}, token=token)
        assert rows[name][1] == flat(expected["unfundedStatistics"]), name
    own = await gql.data(OWN_LEVEL, {"p": P, "r": "430000"}, token=token)
    assert rows["本级"][1] == flat(own["region"]["ownLevelStatistics"])
    assert rows["合计"][1][:5] == [7, 2, 5, 1, 4]  # hand-computed: s1 … s7, s1 has a reason
    assert await AuditEntry.filter(actor="province_op", action="export.unfunded-statistics").count() == 1


async def test_county_school_table_and_stage_in_title(world, gql):
    await build_data()
    await compare()
    token = await gql.login("county_op")
    exported = await link(gql, token, EXPORT, {"p": P, "s": "COMPULSORY", "rows": "SCHOOLS"})
    ws = workbook(await download(gql, exported["url"]))["统计表"]
    assert "芙蓉区学校" in ws["A1"].value and "义务教育" in ws["A1"].value
    assert ws.cell(row=2, column=1).value == "学校标识码"
    rows = table(ws.parent)
    assert [code for code, _ in rows.values()] == ["1143000001", "2143000002", "430102"]
    assert list(rows)[-1] == "合计"
    expected = await gql.data(STATS, {"p": P, "r": "430102", "s": "COMPULSORY"}, token=token)
    assert rows["合计"][1] == flat(expected["unfundedStatistics"])
    school_token = await gql.login("school_op")
    school = await gql.data(SCHOOL_STATS, {"p": P, "s": "COMPULSORY"}, token=school_token)
    assert rows["芙蓉区实验小学"][1] == flat(school["unfundedStatistics"])
    assert rows["芙蓉区实验小学"][1][:3] == [2, 1, 1]  # s1 unfunded, s2 funded


async def test_names_that_would_start_a_formula_are_neutralised(world, gql):
    await Region.create(code="430300", name="=HYPERLINK(\"http://x\",\"点击\")", parent_code="430000", level="CITY")
    token = await gql.login("province_op")
    exported = await link(gql, token, EXPORT, {"p": P})
    ws = workbook(await download(gql, exported["url"]))["统计表"]
    names = [r[1] for r in ws.iter_rows(min_row=5, values_only=True)]
    assert "'=HYPERLINK(\"http://x\",\"点击\")" in names
    assert all(not str(n).startswith("=") for n in names)
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)


async def test_scope_of_the_statistics_export(world, gql):
    county = await gql.login("county_op")
    assert await gql.error_code(EXPORT, {"p": P, "r": "430000"}, token=county) == "NOT_FOUND"
    assert await gql.error_code(EXPORT, {"p": P, "r": "440000"}, token=await gql.login("province_op")) == "NOT_FOUND"
    assert await gql.error_code(EXPORT, {"p": P}, token=await gql.login("school_op")) == "FORBIDDEN"
    preschool_only = await gql.login("province_preschool_op")
    assert await gql.error_code(EXPORT, {"p": P, "s": "COMPULSORY"}, token=preschool_only) == "NOT_FOUND"
    assert await gql.error_code(EXPORT, {"p": "2023-2024-3"}, token=county) == "VALIDATION"
    assert await gql.error_code(EXPORT, {"p": P}) == "UNAUTHENTICATED"


async def test_links_expire_are_bound_to_their_export_and_are_not_sign_in_tokens(world, gql, clock):
    token = await gql.login("county_op")
    good = await link(gql, token, EXPORT, {"p": P})
    assert (await download(gql, good["url"])).status_code == 200
    path, _, query = good["url"].partition("?")
    link_token = query.removeprefix("link=")
    # a link is not a sign-in token, and a sign-in token is not a link
    assert await gql.error_code("{ me { username } }", token=link_token) == "UNAUTHENTICATED"
    r = await download(gql, f"{path}?link={token}")
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # bound to its kind and format
    r = await download(gql, f"http://test/exports/unfunded-students.xlsx?{query}")
    assert r.status_code == 401
    # short-lived: a link issued an hour ago has expired
    clock.value = dt.datetime.now(SHANGHAI) - dt.timedelta(hours=1)
    old = await link(gql, token, EXPORT, {"p": P})
    r = await download(gql, old["url"])
    assert r.status_code == 401 and "过期" in r.json()["errors"][0]["message"]
    # the route also takes a Bearer token with the filters as query parameters
    r = await download(
        gql, f"http://test/exports/unfunded-statistics.xlsx?period={P}", {"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200
    r = await download(
        gql,
        f"http://test/exports/unfunded-statistics.xlsx?period={P}&regionCode=430000",
        {"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 404 and r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await download(gql, f"http://test/exports/unfunded-statistics.xlsx?period={P}")).status_code == 401
    assert (await download(gql, "http://test/exports/unfunded-statistics.csv")).status_code == 404


async def test_a_deactivated_account_loses_its_links(world, gql):
    from zizhu.domain.models import Account

    token = await gql.login("county_op")
    exported = await link(gql, token, EXPORT, {"p": P})
    await Account.filter(username="county_op").update(active=False)
    assert (await download(gql, exported["url"])).status_code == 401
