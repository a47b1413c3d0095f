"""What a proxy, a browser and a log collector see: answers over 1 kB gzipped (JSON, CSV, the
GraphiQL assets; not workbooks, which are zip files), versioned assets cached for a year, a
GraphiQL page that keeps no token, and logs as JSON lines with ISO 8601 times, a request id on
every record and one access record per request."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re

import pytest

from tests.support.exports import link
from zizhu.domain import settings
from zizhu.domain.operations import logs

ME = "query Mine { me { username } }"
LEGACY = """mutation($f: ExportFormat!) { exportLegacyPovertyReasons(format: $f) { url } }"""
CODE_LISTS = "{ codeLists { stages { code label } categories { code label } reasons { code label } } }"


@pytest.fixture
def json_log(monkeypatch):
    """Every zizhu/uvicorn record of the test as parsed JSON lines (a function returning them)."""
    monkeypatch.setenv("ZIZHU_LOG_FORMAT", "json")
    stream = io.StringIO()
    handler = logs.configure(settings.load(), stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for name in (logs.ROOT_LOGGER, *logs.ALSO):
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


async def test_json_logs_have_iso_times_request_ids_and_one_access_record_per_request(gql, world, json_log):
    token = await gql.login("school_op")
    given = await gql.http.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-42.a"}
    )
    assert given.headers["x-request-id"] == "req-42.a"
    made = await gql.http.post(
        "/graphql",
        json={"query": "{ comparisonRun(id: 987654) { status } }"},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "<script>" + "x" * 300},  # not taken
    )
    assert made.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    made_id = made.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_id)
    logging.getLogger("uvicorn.error").info("Started", extra={"color_message": "\x1b[32mStarted\x1b[0m"})

    records = json_log()
    assert records
    for record in records:
        stamp = dt.datetime.fromisoformat(record["time"])
        assert stamp.tzinfo is not None and "T" in record["time"], record  # ISO 8601 with its zone
        assert "color_message" not in record and "\x1b" not in json.dumps(record, ensure_ascii=False)
    access = [r for r in records if r["logger"] == "zizhu.access"]
    assert len(access) == 3  # sign-in, me, the failing query: one each
    login, me, failed = access
    assert (login["path"], login["status"], login["operation"], login["account"]) == ("/graphql", 200, "login", None)
    assert me["request_id"] == "req-42.a" and me["operation"] == "Mine" and me["account"] == "school_op"
    assert me["method"] == "POST" and me["duration_ms"] >= 0
    assert failed["request_id"] == made_id and failed["operation"] == "comparisonRun"
    # the error record carries the same fields as its request's access record
    (error,) = [r for r in records if r["logger"] == "zizhu.api" and "NOT_FOUND" in r["message"]]
    assert (error["request_id"], error["operation"], error["account"]) == (made_id, "comparisonRun", "school_op")
    started = [r for r in records if r["logger"] == "uvicorn.error"]
    assert started[0]["message"] == "Started" and started[0]["request_id"] is None


async def test_text_logs_have_iso_times_and_the_request_fields(gql, monkeypatch):
    monkeypatch.setenv("ZIZHU_LOG_FORMAT", "text")
    stream = io.StringIO()
    handler = logs.configure(settings.load(), stream=stream)
    try:
        await gql.http.post(
            "/graphql", json={"query": "{ codeLists { stages { code } } }"}, headers={"X-Request-ID": "t1"}
        )
    finally:
        for name in (logs.ROOT_LOGGER, *logs.ALSO):
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).propagate = True
            logging.getLogger(name).setLevel(logging.NOTSET)
    (line,) = [line for line in stream.getvalue().splitlines() if "zizhu.access" in line]
    stamp = line.split(" ", 1)[0]
    assert dt.datetime.fromisoformat(stamp).tzinfo is not None
    assert "POST /graphql 200" in line and "request_id=t1" in line and "operation=codeLists" in line


async def test_answers_over_the_threshold_are_gzipped_small_ones_and_workbooks_not(gql, world):
    big = await gql.http.post("/graphql", json={"query": CODE_LISTS})
    assert len(big.content) > 1_000 and big.headers["content-encoding"] == "gzip"
    assert big.json()["data"]["codeLists"]["stages"][0]["code"] == "PRESCHOOL"
    assert "accept-encoding" in big.headers["vary"].lower()
    small = await gql.http.post("/graphql", json={"query": "{ codeLists { stages { code } } }"})
    assert len(small.content) < 1_000 and "content-encoding" not in small.headers
    plain = await gql.http.post("/graphql", json={"query": CODE_LISTS}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == big.json()

    token = await gql.login("province_op")
    csv_file = await gql.http.get((await link(gql, token, LEGACY, {"f": "CSV"}))["url"])
    assert csv_file.status_code == 200 and csv_file.headers["content-encoding"] == "gzip"
    assert "content-length" not in csv_file.headers  # still streamed
    assert csv_file.content.decode("utf-8-sig").startswith("身份证件号")
    workbook = await gql.http.get((await link(gql, token, LEGACY, {"f": "XLSX"}))["url"])
    assert workbook.status_code == 200 and "content-encoding" not in workbook.headers


async def test_graphiql_assets_are_versioned_cached_and_gzipped_and_the_page_keeps_no_token(gql):
    page = (await gql.http.get("/graphql", headers={"Accept": "text/html"})).text
    assert "shouldPersistHeaders: false" in page and "storage: window.sessionStorage" in page
    assert 'localStorage.removeItem(key)' in page  # what an older page kept is removed
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    versions = {ref.partition("?v=")[2] for ref in refs}
    assert len(versions) == 1 and re.fullmatch(r"[0-9a-f]{12}", versions.pop())
    script = await gql.http.get(next(ref for ref in refs if ref.endswith((".js",)) or "graphiql.min.js" in ref))
    assert script.status_code == 200 and script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script.headers["content-encoding"] == "gzip"
    unversioned = await gql.http.get(refs[0].partition("?")[0])
    assert unversioned.status_code == 200 and unversioned.headers["cache-control"] == "no-cache"
    stale = await gql.http.get(refs[0].partition("?")[0] + "?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"


async def test_an_answer_served_from_memory_is_compressed_once(app, gql, world):
    """A cached dashboard answer goes out as the cache's gzip of it, made once for all its readers;
    a client that does not accept gzip gets it as it is."""
    token = await gql.token_for("province_op")
    auth = {"Authorization": f"Bearer {token}"}
    cells = "total { members funded unfunded } byCategory { category all { members funded unfunded } }"
    query = {"query": f'{{ region {{ children {{ code unfundedStatistics(period: "2023-2024-1") {{ {cells} }} }} }} }}'}
    plain = await gql.http.post("/graphql", json=query, headers={**auth, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and "errors" not in plain.json()
    assert len(plain.content) >= 1_000  # over the gzip threshold
    cache = app.state.response_cache
    for _ in range(3):  # served from memory each time
        packed = await gql.http.post("/graphql", json=query, headers={**auth, "Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip" and "accept-encoding" in packed.headers["vary"].lower()
        assert packed.json() == plain.json()
    assert cache.compressions == 1
