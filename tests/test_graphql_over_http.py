"""GraphQL over HTTP: graphql-response+json with 4xx for request errors, request body limits
before the body is read, and CORS for the configured origins only."""

from __future__ import annotations

import httpx
import pytest

from zizhu.api.web.body_limits import MAX_JSON_BYTES, MAX_MULTIPART_BYTES

GRAPHQL_RESPONSE = "application/graphql-response+json"
ACCEPT = {"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}


@pytest.fixture
async def http(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_graphql_response_media_type_and_status(http):
    ok = await http.post("/graphql", json={"query": "{ codeLists { stages { code } } }"}, headers=ACCEPT)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert len(ok.json()["data"]["codeLists"]["stages"]) == 6

    for body in (
        {"query": "{ nope }"},
        {"query": "{"},
        {"query": "query($p: Boolean!) { __typename @include(if: $p) }", "variables": {"p": "yes"}},
    ):
        r = await http.post("/graphql", json=body, headers=ACCEPT)
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in r.json() and r.json()["errors"][0]["extensions"]["code"]

    # Execution started (a field failed): 200 with data, as the specification says.
    r = await http.post("/graphql", json={"query": "{ me { username } }"}, headers=ACCEPT)
    assert r.status_code == 200 and r.json()["data"] is None
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_application_json_answers_stay_as_they_are(http):
    for accept in (None, "application/json", "*/*", f"application/json, {GRAPHQL_RESPONSE};q=0.5"):
        headers = {"Accept": accept} if accept else {}
        r = await http.post("/graphql", json={"query": "{ nope }"}, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert r.json()["data"] is None and r.json()["errors"]


async def test_json_body_over_the_limit_is_refused_before_parsing(http):
    padding = "x" * MAX_JSON_BYTES
    r = await http.post("/graphql", json={"query": "{ __typename }", "variables": {"pad": padding}})
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"] == {"code": "VALIDATION", "limit": "requestBytes", "max": MAX_JSON_BYTES}

    # A chunked body (no Content-Length) is counted as it arrives.
    async def chunks():
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(MAX_JSON_BYTES // 4096 + 2):
            yield b"x" * 4096
        yield b'"}}'

    r = await http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_anonymous_upload_is_refused_before_its_body_is_read(app):
    read = {"bytes": 0}

    async def app_counting_reads(scope, receive, send):
        async def counting():
            message = await receive()
            read["bytes"] += len(message.get("body", b""))
            return message

        await app(scope, counting, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_counting_reads), base_url="http://t") as http:
        r = await http.post("/graphql", data={"operations": "{}", "map": "{}"}, files={"0": ("a.xlsx", b"x" * 100_000)})
        assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert read["bytes"] == 0
        r = await http.post("/graphql", files={"0": ("a.xlsx", b"x")}, headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401


async def test_signed_in_upload_over_the_limit_is_refused(http, gql, world):
    token = await gql.token_for("kg_op")
    r = await http.post(
        "/graphql",
        files={"0": ("a.xlsx", b"x")},
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Length": str(MAX_MULTIPART_BYTES + 1),
            "Content-Type": "multipart/form-data; boundary=b",
        },
    )
    assert r.status_code == 413


async def test_cors_only_for_configured_origins(orm, clock, monkeypatch):
    from zizhu.api.app import create_app

    preflight = {
        "Origin": "https://portal.example.cn",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    monkeypatch.delenv("ZIZHU_CORS_ORIGINS", raising=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(clock=clock, manage_orm=False)), base_url="http://t"
    ) as http:
        r = await http.options("/graphql", headers=preflight)
        assert "access-control-allow-origin" not in r.headers

    monkeypatch.setenv("ZIZHU_CORS_ORIGINS", "https://portal.example.cn, https://other.example.cn")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(clock=clock, manage_orm=False)), base_url="http://t"
    ) as http:
        r = await http.options("/graphql", headers=preflight)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://portal.example.cn"
        r = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://portal.example.cn"}
        )
        assert r.headers["access-control-allow-origin"] == "https://portal.example.cn"
        r = await http.options("/graphql", headers={**preflight, "Origin": "https://evil.example.com"})
        assert r.headers.get("access-control-allow-origin") != "https://evil.example.com"
