"""Production mode: GraphiQL and introspection off unless switched on, security headers, a key of
at least 32 bytes, tokens that carry an expiry, and the GraphiQL page served without a CDN."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import jwt
import pytest

from zizhu.domain import settings

PROD_KEY = "0f6e2c9b8a4d17e35c2b9f8061a7d4e3b5c90f1e2d3a4b5c"  # a production key must not look weak
INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("ZIZHU_ENV", "production")
    monkeypatch.setenv("ZIZHU_SECRET_KEY", PROD_KEY)


async def _client(orm, clock):
    from zizhu.api.app import create_app

    app = create_app(clock=clock, manage_orm=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_production_turns_graphiql_and_introspection_off(orm, clock, production):
    async with await _client(orm, clock) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert "GraphiQL" not in page.text
        body = (await http.post("/graphql", json={"query": INTROSPECTION})).json()
    assert body.get("errors") and "introspection" in body["errors"][0]["message"].lower()


async def test_production_switches_turn_them_back_on(orm, clock, production, monkeypatch):
    monkeypatch.setenv("ZIZHU_GRAPHIQL", "true")
    monkeypatch.setenv("ZIZHU_INTROSPECTION", "true")
    async with await _client(orm, clock) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        body = (await http.post("/graphql", json={"query": INTROSPECTION})).json()
    assert page.status_code == 200 and "GraphiQL" in page.text
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_development_keeps_introspection(gql):
    body = await gql.post(INTROSPECTION)
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_api_answers_carry_security_headers(gql):
    r = await gql.http.post("/graphql", json={"query": "{ codeLists { stages { code } } }"})
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


async def test_graphiql_page_and_assets_are_served_offline(gql):
    page = await gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "GraphiQL" in page.text
    # No tag of the page loads anything from another host.
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(ref.startswith("/static/graphiql/") for ref in refs), refs
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    for ref in refs:
        asset = await gql.http.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 100, ref
        assert asset.headers.get("cache-control") != "no-store"


async def test_token_without_expiry_is_refused(gql, world):
    now = dt.datetime.now(dt.UTC)
    key = settings.load().signing_key
    forever = jwt.encode({"sub": "admin", "ver": 0, "iat": now}, key, algorithm="HS256")
    good = jwt.encode(
        {"sub": "admin", "ver": 0, "iat": now, "exp": now + dt.timedelta(hours=1)}, key, algorithm="HS256"
    )
    assert (await gql.data("{ me { username } }", token=good))["me"]["username"] == "admin"
    assert await gql.error_code("{ me { username } }", token=forever) == "UNAUTHENTICATED"
