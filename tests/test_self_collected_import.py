"""importSpecialGroups: an authority uploads its own self-collected list (自采集名单).

The upload replaces what that region uploaded before for the period, all or nothing; another
county's records, the national self-collected records and the central records stay; the next
comparison counts the new members; schools (and the admin, who uses the command line) are refused.
"""

from __future__ import annotations

import json

import httpx

from tests.support.world import student_id
from tests.test_comparison import P, compare, enrol, member
from zizhu.domain.models import AuditEntry, SpecialGroupRecord

IMPORT = """mutation($p: String!, $f: Upload!) { importSpecialGroups(period: $p, file: $f) {
  __typename
  ... on SpecialGroupsImported { count inserted updated unchanged removed }
  ... on SpecialGroupsImportRejected { message errors { row column message } } } }"""
HEADER = "身份证件号,姓名,特殊群体类型,数据来源,资助周期\n"
S1, S2, S3, S4 = (student_id(n) for n in (11, 12, 13, 14))


async def upload(http: httpx.AsyncClient, token: str, content: bytes, filename: str = "list.csv") -> dict:
    operations = json.dumps({"query": IMPORT, "variables": {"p": P, "f": None}})
    r = await http.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.f"]})},
        files={"0": (filename, content, "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def csv_bytes(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


async def records() -> set[tuple[str, str, str, str]]:
    return {
        (r.id_number, r.category, r.source, r.collected_by)
        for r in await SpecialGroupRecord.filter(period=P).order_by("id")
    }


async def others() -> None:
    """What the upload must leave alone: central, national self-collected, another county's, and
    the county's own earlier upload (S4, which the new file no longer holds)."""
    await member(S1, "01", "CENTRAL")
    await member(S1, "05", "SELF")  # loaded nationally
    await SpecialGroupRecord.create(id_number=S2, category="07", source="SELF", period=P, collected_by="430103")
    await SpecialGroupRecord.create(id_number=S4, category="05", source="SELF", period=P, collected_by="430102")


async def test_a_county_replaces_its_own_list_and_nothing_else(gql, world):
    await others()
    token = await gql.login("county_op")
    body = await upload(gql.http, token, csv_bytes(f"{S1},甲,低保学生,自采集,{P}", f"{S3},丙,07,自采集,{P}"))
    assert not body.get("errors"), body["errors"]
    result = body["data"]["importSpecialGroups"]
    assert result == {
        "__typename": "SpecialGroupsImported",
        "count": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "removed": 1,
    }
    assert await records() == {
        (S1, "01", "CENTRAL", ""),
        (S1, "05", "SELF", ""),
        (S2, "07", "SELF", "430103"),
        (S1, "05", "SELF", "430102"),
        (S3, "07", "SELF", "430102"),
    }
    audit = await AuditEntry.filter(action="import.special-groups-local").first()
    assert audit is not None and audit.actor == "county_op" and audit.after["removed"] == 1
    again = await upload(gql.http, token, csv_bytes(f"{S1},甲,低保学生,自采集,{P}", f"{S3},丙,07,自采集,{P}"))
    assert again["data"]["importSpecialGroups"]["unchanged"] == 2  # the same file changes nothing


async def test_a_bad_row_rejects_the_whole_file_with_its_row_and_column(gql, world):
    await others()
    before = await records()
    token = await gql.login("county_op")
    content = csv_bytes(
        f"{S1},甲,低保学生,自采集,{P}",
        f"{S3},丙,07,中央下发,{P}",  # row 3: a county uploads self-collected records only
        f"{S3},丙,07,自采集,2023-2024-2",  # row 4: another period
        f"{S3[:-1]}0,丁,07,自采集,{P}"
        if not S3.endswith("0")
        else f"{S3[:-1]}1,丁,07,自采集,{P}",  # row 5: check digit
    )
    body = await upload(gql.http, token, content)
    result = body["data"]["importSpecialGroups"]
    assert result["__typename"] == "SpecialGroupsImportRejected"
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(3, "数据来源"), (4, "资助周期"), (5, "身份证件号")]
    assert await records() == before


async def test_the_next_comparison_counts_the_new_members(gql, world):
    await enrol(S3)
    token = await gql.login("county_op")
    stats = 'query { unfundedStatistics(period: "2023-2024-1") { totalSelfCollected { members unfunded } } }'
    await compare()
    assert (await gql.data(stats, token=token))["unfundedStatistics"]["totalSelfCollected"]["members"] == 0
    body = await upload(gql.http, token, csv_bytes(f"{S3},丙,07,自采集,{P}"))
    assert body["data"]["importSpecialGroups"]["inserted"] == 1
    run = await compare()
    assert run.members == 1 and run.unfunded == 1
    counts = (await gql.data(stats, token=token))["unfundedStatistics"]["totalSelfCollected"]
    assert counts == {"members": 1, "unfunded": 1}


async def test_schools_and_the_admin_are_refused(gql, world):
    content = csv_bytes(f"{S3},丙,07,自采集,{P}")
    for username in ("school_op", "kg_rev", "admin"):
        body = await upload(gql.http, await gql.login(username), content)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", username
    assert await SpecialGroupRecord.all().count() == 0
