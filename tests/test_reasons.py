"""Unfunded list, reason reporting (school and own level) and the read-only legacy history."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.support.world import student_id
from zizhu.domain.models import AuditEntry, ComparisonRun, LegacyPovertyReason, UnfundedReason, UnfundedResult
from zizhu.domain.reference.codes import Category
from zizhu.domain.settings import SHANGHAI

P = "2023-2024-1"
A, B, C = student_id(1), student_id(2), student_id(3)
D = student_id(4, region="430202")
OTHER_SCHOOL = "2143000008"

LIST = """query($first: Int, $after: String, $category: Category, $source: Source, $status: ReasonStatus,
                 $school: String, $region: String) {
  unfundedStudents(period: "2023-2024-1", first: $first, after: $after, category: $category, source: $source,
                   reasonStatus: $status, schoolCode: $school, regionCode: $region) {
    edges { cursor node { idNumber name schoolCode stage categories centralCategories selfCollectedCategories
                          reason { code detail inherited } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
REPORT = """mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { reason { code detail inherited } } }"""
BATCH = """mutation($i: [ReasonInput!]!) { reportUnfundedReasons(inputs: $i) { reason { code } } }"""


@pytest.fixture
async def published(world):
    """A published run with four unfunded students (three at 2143000002, one at 2143000008)."""
    # An older run's version, closed before the published run: it must never be listed.
    old = await ComparisonRun.create(period=P, trigger="CLI", status="SUCCEEDED", queued_at=dt.datetime.now(SHANGHAI))
    run = await ComparisonRun.create(
        period=P, trigger="CLI", status="SUCCEEDED", published=True, queued_at=dt.datetime.now(SHANGHAI)
    )
    await UnfundedResult.create(
        period=P,
        valid_from_run=old.id,
        valid_until_run=run.id,
        id_number=student_id(9),
        name="旧",
        school_code="2143000002",
        region_code="430102",
        stage="COMPULSORY",
        province="43",
        central_mask=1,
        self_mask=0,
    )
    rows = [
        (A, "甲", "2143000002", "430102", Category.ORPHAN.bit | Category.DISABLED.bit, Category.ORPHAN.bit),
        (B, "乙", "2143000002", "430102", Category.POVERTY_ALLEVIATED.bit, 0),
        (C, "丙", "2143000002", "430102", 0, Category.SUBSISTENCE_ALLOWANCE.bit),
        (D, "丁", OTHER_SCHOOL, "430202", Category.ORPHAN.bit, 0),
    ]
    for id_number, name, school, region, central, self_ in rows:
        await UnfundedResult.create(
            period=P,
            valid_from_run=run.id,
            id_number=id_number,
            name=name,
            school_code=school,
            region_code=region,
            stage="COMPULSORY",
            province="43",
            central_mask=central,
            self_mask=self_,
        )
    return run


async def test_school_sees_its_unfunded_students_with_full_ids(gql, published):
    token = await gql.token_for("school_op")
    edges = (await gql.data(LIST, token=token))["unfundedStudents"]["edges"]
    nodes = [e["node"] for e in edges]
    assert [n["idNumber"] for n in nodes] == [A, B, C]
    assert nodes[0]["categories"] == ["ORPHAN", "DISABLED"]
    assert nodes[0]["centralCategories"] == ["ORPHAN", "DISABLED"]
    assert nodes[0]["selfCollectedCategories"] == ["ORPHAN"]
    assert nodes[2]["categories"] == ["SUBSISTENCE_ALLOWANCE"] and nodes[2]["centralCategories"] == []


async def test_authorities_see_their_subtree_masked(gql, published):
    county = await gql.token_for("county_op")
    nodes = [e["node"] for e in (await gql.data(LIST, token=county))["unfundedStudents"]["edges"]]
    assert [n["name"] for n in nodes] == ["甲", "乙", "丙"]
    assert nodes[0]["idNumber"] == A[:6] + "********" + A[14:]
    province = await gql.token_for("province_op")
    names = [e["node"]["name"] for e in (await gql.data(LIST, token=province))["unfundedStudents"]["edges"]]
    assert names == ["甲", "乙", "丙", "丁"]
    assert await gql.error_code(LIST, {"region": "430202"}, token=county) == "NOT_FOUND"
    gd = await gql.token_for("gd_op")
    assert await gql.error_code(LIST, {"region": "430000"}, token=gd) == "NOT_FOUND"
    assert (await gql.data(LIST, token=gd))["unfundedStudents"]["edges"] == []


async def test_other_school_cannot_see_or_report(gql, published):
    other = await gql.token_for("other_school_op")
    names = [e["node"]["name"] for e in (await gql.data(LIST, token=other))["unfundedStudents"]["edges"]]
    assert names == ["丁"]
    assert await gql.error_code(LIST, {"school": "2143000002"}, token=other) == "NOT_FOUND"
    i = {"period": P, "stage": "COMPULSORY", "idNumber": A, "reasonCode": "01"}
    assert await gql.error_code(REPORT, {"i": i}, token=other) == "NOT_FOUND"
    assert await UnfundedReason.all().count() == 0


async def test_filters_and_pagination(gql, published):
    token = await gql.token_for("province_op")

    async def names(**v):
        return [e["node"]["name"] for e in (await gql.data(LIST, v, token=token))["unfundedStudents"]["edges"]]

    assert await names(category="ORPHAN") == ["甲", "丁"]
    assert await names(category="ORPHAN", source="SELF") == ["甲"]
    assert await names(source="SELF") == ["甲", "丙"]
    page = (await gql.data(LIST, {"first": 3}, token=token))["unfundedStudents"]
    assert len(page["edges"]) == 3 and page["pageInfo"]["hasNextPage"] is True
    rest = (await gql.data(LIST, {"first": 3, "after": page["pageInfo"]["endCursor"]}, token=token))["unfundedStudents"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["丁"] and rest["pageInfo"]["hasNextPage"] is False


async def test_report_reason_and_status_filter(gql, published):
    token = await gql.token_for("school_op")
    i = {"period": P, "stage": "COMPULSORY", "idNumber": A.lower(), "reasonCode": "01"}
    assert (await gql.data(REPORT, {"i": i}, token=token))["reportUnfundedReason"]["reason"] == {
        "code": "01",
        "detail": "",
        "inherited": False,
    }
    i2 = {**i, "reasonCode": "99", "detail": "家长外出务工，联系中"}
    await gql.data(REPORT, {"i": i2}, token=token)
    reason = await UnfundedReason.get(id_number=A)
    assert (reason.reason_code, reason.detail, reason.school_code, reason.reported_by) == (
        "99",
        "家长外出务工，联系中",
        "2143000002",
        "school_op",
    )
    audits = await AuditEntry.filter(entity="unfunded_reason").order_by("id")
    assert [a.action for a in audits] == ["reason.report", "reason.report"]
    assert audits[0].before is None and audits[1].before["reason_code"] == "01"
    reported = await gql.data(LIST, {"status": "REPORTED"}, token=token)
    assert [e["node"]["reason"]["code"] for e in reported["unfundedStudents"]["edges"]] == ["99"]
    pending = await gql.data(LIST, {"status": "PENDING"}, token=token)
    assert [e["node"]["name"] for e in pending["unfundedStudents"]["edges"]] == ["乙", "丙"]


async def test_report_validation(gql, published):
    token = await gql.token_for("school_op")
    base = {"period": P, "stage": "COMPULSORY", "idNumber": A}
    assert await gql.error_code(REPORT, {"i": {**base, "reasonCode": "99"}}, token=token) == "VALIDATION"
    assert await gql.error_code(REPORT, {"i": {**base, "reasonCode": "42"}}, token=token) == "VALIDATION"
    assert (
        await gql.error_code(REPORT, {"i": {**base, "idNumber": A[:17] + "Y", "reasonCode": "01"}}, token=token)
        == "VALIDATION"
    )
    assert (
        await gql.error_code(REPORT, {"i": {**base, "reasonCode": "01", "stage": "PRESCHOOL"}}, token=token)
        == "NOT_FOUND"
    )
    county = await gql.token_for("county_op")
    assert await gql.error_code(REPORT, {"i": {**base, "reasonCode": "01"}}, token=county) == "FORBIDDEN"
    assert await UnfundedReason.all().count() == 0


async def test_batch_is_all_or_nothing(gql, published):
    token = await gql.token_for("school_op")
    good = {"period": P, "stage": "COMPULSORY", "idNumber": A, "reasonCode": "01"}
    bad = {"period": P, "stage": "COMPULSORY", "idNumber": D, "reasonCode": "01"}  # another school's student
    body = await gql.post(BATCH, {"i": [good, bad]}, token=token)
    err = body["errors"][0]
    assert err["extensions"]["code"] == "VALIDATION"
    assert [p["index"] for p in err["extensions"]["problems"]] == [1]
    assert await UnfundedReason.all().count() == 0
    ok = await gql.data(BATCH, {"i": [good, {**good, "idNumber": B, "reasonCode": "03"}]}, token=token)
    assert [r["reason"]["code"] for r in ok["reportUnfundedReasons"]] == ["01", "03"]
    assert await UnfundedReason.all().count() == 2


async def test_region_reason_own_level(gql, published):
    q = """mutation($i: RegionReasonInput!) { reportRegionReason(input: $i) { regionCode category reasonCode detail } }"""
    county = await gql.token_for("county_op")
    saved = (
        await gql.data(
            q, {"i": {"period": P, "stage": "COMPULSORY", "reasonCode": "10", "category": "ORPHAN"}}, token=county
        )
    )["reportRegionReason"]
    assert saved == {"regionCode": "430102", "category": "ORPHAN", "reasonCode": "10", "detail": ""}
    assert (
        await gql.error_code(q, {"i": {"period": P, "stage": "COMPULSORY", "reasonCode": "99"}}, token=county)
        == "VALIDATION"
    )
    school = await gql.token_for("school_op")
    assert (
        await gql.error_code(q, {"i": {"period": P, "stage": "COMPULSORY", "reasonCode": "10"}}, token=school)
        == "FORBIDDEN"
    )
    listed = await gql.data(
        '{ regionReasons(period: "2023-2024-1", regionCode: "430102") { reasonCode } }',
        token=await gql.token_for("city_op"),
    )
    assert listed["regionReasons"] == [{"reasonCode": "10"}]


async def test_legacy_history_is_read_only_and_scoped(gql, world, app):
    await LegacyPovertyReason.create(
        id_number=A,
        name="甲",
        school_code="2143000002",
        province="43",
        stage="COMPULSORY",
        period=P,
        reason_code="01",
        detail="",
    )
    await LegacyPovertyReason.create(
        id_number=D,
        name="丁",
        school_code=OTHER_SCHOOL,
        province="43",
        stage="COMPULSORY",
        period="2022-2023-2",
        reason_code="03",
        detail="",
    )
    q = "query($p: String) { legacyPovertyReasons(period: $p) { edges { node { idNumber name period reasonCode } } } }"
    school = await gql.token_for("school_op")
    nodes = [e["node"] for e in (await gql.data(q, token=school))["legacyPovertyReasons"]["edges"]]
    assert nodes == [{"idNumber": A, "name": "甲", "period": P, "reasonCode": "01"}]
    province = await gql.token_for("province_op")
    nodes = [e["node"] for e in (await gql.data(q, token=province))["legacyPovertyReasons"]["edges"]]
    assert [n["name"] for n in nodes] == ["甲", "丁"] and nodes[1]["idNumber"] == D[:6] + "********" + D[14:]
    assert [
        e["node"]["name"] for e in (await gql.data(q, {"p": P}, token=province))["legacyPovertyReasons"]["edges"]
    ] == ["甲"]
    from zizhu.api.schema import schema

    mutations = schema.get_type_by_name("Mutation").fields
    writes = [f for f in mutations if not f.python_name.startswith("export_")]  # an export only reads
    assert not [f for f in writes if "legacy" in f.python_name.lower() or "poverty" in f.python_name.lower()]


REPORT_V = """mutation($i: ReasonInput!) { reportUnfundedReason(input: $i) { reason { code detail version } } }"""


async def test_concurrent_reports_of_one_student_all_apply_in_turn(gql, published):
    """Simultaneous reports never fail (no unique violation on the first insert) and none is lost:
    the audit trail is one chain, each entry replacing the value the previous one wrote."""
    token = await gql.token_for("school_op")
    base = {"period": P, "stage": "COMPULSORY", "idNumber": A, "reasonCode": "99"}
    bodies = await asyncio.gather(
        *(gql.post(REPORT_V, {"i": {**base, "detail": f"说明{n}"}}, token=token) for n in range(8))
    )
    assert [b.get("errors") for b in bodies] == [None] * 8
    # each answer is the student as it stands after that report (later reports may already show)
    versions = [b["data"]["reportUnfundedReason"]["reason"]["version"] for b in bodies]
    assert all(1 <= v <= 8 for v in versions) and max(versions) == 8
    reason = await UnfundedReason.get(id_number=A)
    assert reason.version == 8
    audits = await AuditEntry.filter(entity="unfunded_reason").order_by("id")
    assert len(audits) == 8 and audits[0].before is None
    for previous, entry in zip(audits, audits[1:]):
        assert entry.before == previous.after
    assert audits[-1].after["detail"] == reason.detail


async def test_a_report_on_a_version_someone_changed_is_a_conflict(gql, published):
    token = await gql.token_for("school_op")
    first = {"period": P, "stage": "COMPULSORY", "idNumber": A, "reasonCode": "01", "expectedVersion": 0}
    assert (await gql.data(REPORT_V, {"i": first}, token=token))["reportUnfundedReason"]["reason"]["version"] == 1
    stale = await gql.post(REPORT_V, {"i": {**first, "reasonCode": "03"}}, token=token)  # still thinks "none yet"
    assert stale["errors"][0]["extensions"] == {"code": "CONFLICT", "currentVersion": 1}
    assert (await UnfundedReason.get(id_number=A)).reason_code == "01"
    assert await AuditEntry.filter(entity="unfunded_reason").count() == 1
    seen = await gql.data(LIST.replace("inherited }", "inherited version }"), {"first": 1}, token=token)
    assert seen["unfundedStudents"]["edges"][0]["node"]["reason"]["version"] == 1
    fresh = {**first, "reasonCode": "03", "expectedVersion": 1}
    assert (await gql.data(REPORT_V, {"i": fresh}, token=token))["reportUnfundedReason"]["reason"]["version"] == 2
    unchecked = {k: v for k, v in first.items() if k != "expectedVersion"}
    assert (await gql.data(REPORT_V, {"i": unchecked}, token=token))["reportUnfundedReason"]["reason"]["version"] == 3
    made_up = {**first, "idNumber": B, "expectedVersion": 4}  # no reason yet: only 0 matches
    assert await gql.error_code(REPORT_V, {"i": made_up}, token=token) == "CONFLICT"
    assert not await UnfundedReason.exists(id_number=B)
    batch = "mutation($i: [ReasonInput!]!) { reportUnfundedReasons(inputs: $i) { reason { code version } } }"
    both = [{**unchecked, "idNumber": C, "reasonCode": "05"}, {**unchecked, "reasonCode": "06"}]
    assert [s["reason"] for s in (await gql.data(batch, {"i": both}, token=token))["reportUnfundedReasons"]] == [
        {"code": "05", "version": 1},
        {"code": "06", "version": 4},
    ]  # in the order asked


async def test_region_reason_versions(gql, published):
    q = "mutation($i: RegionReasonInput!) { reportRegionReason(input: $i) { reasonCode version } }"
    county = await gql.token_for("county_op")
    i = {"period": P, "stage": "COMPULSORY", "reasonCode": "10", "expectedVersion": 0}
    assert (await gql.data(q, {"i": i}, token=county))["reportRegionReason"] == {"reasonCode": "10", "version": 1}
    assert await gql.error_code(q, {"i": {**i, "reasonCode": "01"}}, token=county) == "CONFLICT"
    again = await asyncio.gather(*(gql.post(q, {"i": {**i, "expectedVersion": None}}, token=county) for _ in range(4)))
    assert sorted(b["data"]["reportRegionReason"]["version"] for b in again) == [2, 3, 4, 5]
