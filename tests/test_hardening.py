"""Hostile requests that used to cost seconds, grow memory or end in INTERNAL: each is bounded
before the work it protects, and answered with a coded error."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
import uuid

import httpx
import pytest

from tests.support.world import PASSWORD
from zizhu.api.gql import document_limits
from zizhu.api.gql.response_cache import ResponseCache
from zizhu.domain import settings
from zizhu.domain.accounts.scopes import Viewer
from zizhu.domain.reference.codes import Role

COUNTY_REGION = base64.b64encode(b"Region:430102").decode()
STATS = (
    "unfundedStatistics(period: \"2023-2024-1\") { total { members funded } byCategory { category all { members } } }"
)


def limit_of(body: dict) -> str | None:
    assert body.get("errors"), body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION", error
    return error["extensions"].get("limit")


def codes(body: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


# --- 1: many same-named fields, a fresh operation name each time ---------------------------------
async def test_a_wide_selection_set_is_refused_before_validation(gql, monkeypatch):
    def must_not(step):
        def refuse(*args, **kwargs):
            raise AssertionError(f"{step} ran")

        return refuse

    monkeypatch.setattr(document_limits, "validate_document", must_not("validation"))
    with monkeypatch.context() as parsing:  # the fields written in one selection set are counted by the lexer
        parsing.setattr(document_limits, "parse", must_not("parsing"))
        wide = f"query Q{uuid.uuid4().hex} {{ " + " region { code }" * 400 + " }"
        body = await gql.post(wide)
        assert limit_of(body) == "selections"
        assert body["errors"][0]["extensions"]["max"] == document_limits.MAX_SELECTIONS
        aliased = "{ " + " ".join(f"a{i}: region @skip(if: false) {{ code }}" for i in range(101)) + " }"
        assert limit_of(await gql.post(aliased)) == "selections"
    # the same fields split over fragments are merged by validation: counted together
    fragments = " ".join(f"fragment F{i} on Query {{ {' region { code }' * 100} }}" for i in range(4))
    assert limit_of(await gql.post("query { ...F0 ...F1 ...F2 ...F3 } " + fragments)) == "selections"


async def test_validation_is_reused_whatever_the_operation_name(gql, monkeypatch):
    calls = []
    real = document_limits.validate_document
    monkeypatch.setattr(document_limits, "validate_document", lambda *a: calls.append(1) or real(*a))
    fields = " ".join(f"a{i}: __typename" for i in range(20))
    for _ in range(5):
        body = await gql.post(f"query Q{uuid.uuid4().hex} {{ {fields} }}")
        assert body["data"]["a0"] == "Query"
    assert len(calls) == 1
    for _ in range(5):  # nor whatever its fragments' names
        f, g = (f"F{uuid.uuid4().hex}" for _ in range(2))
        body = await gql.post(f"{{ ...{f} }} fragment {f} on Query {{ ...{g} }} fragment {g} on Query {{ __typename }}")
        assert body["data"] == {"__typename": "Query"}
    assert len(calls) == 2
    body = await gql.post(f"{{ ...{f} }} fragment {f} on Query {{ ...{f} }} fragment {g} on Query {{ __typename }}")
    assert set(codes(body)) == {"GRAPHQL_VALIDATION"} and len(calls) == 3  # another shape: a cycle, an unused one


async def test_a_document_is_parsed_once_per_request(gql, world, monkeypatch):
    """The response cache's look at a request and its execution share one parse."""
    token = await gql.login("county_op")
    parsed = []
    real = document_limits.parse
    monkeypatch.setattr(document_limits, "parse", lambda *a, **k: parsed.append(1) or real(*a, **k))
    body = await gql.post(f"query Q{uuid.uuid4().hex} {{ {STATS} }}", token=token)
    assert "errors" not in body and len(parsed) == 1


# --- 2: metric labels ------------------------------------------------------------------------------
async def test_metric_labels_come_only_from_schema_fields(gql, world):
    names = [f"F{uuid.uuid4().hex}" for _ in range(30)]
    for name in names:
        body = await gql.post(f"query {{ ...{name} }} fragment {name} on Query {{ __typename }}")
        assert body["data"] == {"__typename": "Query"}
    await gql.post(f"query {{ {names[0]}: codeLists {{ stages {{ code }} }} }}")
    admin = await gql.login("admin")
    text = (await gql.http.get("/metrics", headers={"Authorization": f"Bearer {admin}"})).text
    assert not any(name in text for name in names)
    assert 'operation="other"' in text and 'operation="codeLists"' in text


# --- 3: a static cost per document; duplicate ids -------------------------------------------------
async def test_list_sizes_times_selections_are_bounded(gql, world):
    county = await gql.login("county_op")
    ids = ", ".join(f'"{base64.b64encode(f"Region:43010{i % 10}".encode()).decode()}"' for i in range(100))
    fan = f"{{ nodes(ids: [{ids}]) {{ ... on Region {{ {STATS} schools(first: 500) {{ edges {{ node {{ {STATS} }} }} }} }} }} }}"
    body = await gql.post(fan, token=county)
    assert limit_of(body) == "cost" and "50000" in body["errors"][0]["message"]
    aliases = " ".join(
        f'a{i}: unfundedStudents(period: "2023-2024-1", first: 500) {{ edges {{ node {{ idNumber name schoolCode }} }} }}'
        for i in range(30)
    )
    assert limit_of(await gql.post(f"{{ {aliases} }}", token=county)) == "cost"
    # the same through a variable: the value sent is the list's size
    one = "query($n: Int!) { a: unfundedStudents(period: \"2023-2024-1\", first: $n) { edges { node { idNumber } } } }"
    assert "errors" not in await gql.post(one, {"n": 500}, token=county)

    # a variable's default counts like a value sent
    def paged(default: int) -> str:
        pages = " ".join(
            f'a{i}: unfundedStudents(period: "2023-2024-1", first: $n) {{ edges {{ node {{ idNumber name }} }} }}'
            for i in range(30)
        )
        return f"query($n: Int = {default}) {{ {pages} }}"

    assert limit_of(await gql.post(paged(500), token=county)) == "cost"
    assert "errors" not in await gql.post(paged(5), token=county)
    # a page of the list and a province rollup stay well within the bound
    rollup = f"{{ region {{ {STATS} children {{ {STATS} children {{ {STATS} }} }} }} }}"
    assert "errors" not in await gql.post(rollup, token=await gql.login("province_op"))


async def test_duplicate_ids_in_nodes_are_refused(gql, world):
    county = await gql.login("county_op")
    body = await gql.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [COUNTY_REGION] * 2}, token=county)
    assert codes(body) == ["VALIDATION"] and body["errors"][0]["extensions"]["argument"] == "ids[1]"
    ok = await gql.data("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [COUNTY_REGION]}, token=county)
    assert ok["nodes"] == [{"id": COUNTY_REGION}]


# --- 5: trusted proxies ----------------------------------------------------------------------------
def test_proxy_headers_are_believed_only_from_trusted_proxies(monkeypatch):
    from zizhu.api.cli.commands import proxy_options

    monkeypatch.delenv("ZIZHU_TRUSTED_PROXIES", raising=False)
    assert proxy_options(settings.load()) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    monkeypatch.setenv("ZIZHU_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    assert proxy_options(settings.load()) == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.0/8", "127.0.0.1"]}
    monkeypatch.setenv("ZIZHU_TRUSTED_PROXIES", "proxy.example")
    with pytest.raises(settings.SettingsInvalid, match="ZIZHU_TRUSTED_PROXIES"):
        settings.load()


def test_the_compose_file_names_its_trusted_proxies():
    import yaml

    compose = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "docker-compose.yml")))
    assert "ZIZHU_TRUSTED_PROXIES" in compose["x-app"]["environment"]


# --- 6: exports without a secret key; a bad link ---------------------------------------------------
async def test_exports_work_without_a_secret_key_and_bad_links_are_coded(gql, world, monkeypatch):
    monkeypatch.delenv("ZIZHU_SECRET_KEY")
    county = await gql.login("county_op")
    data = await gql.data(
        'mutation { exportUnfundedStudents(period: "2023-2024-1", format: CSV) { url } }', token=county
    )
    assert (await gql.http.get(data["exportUnfundedStudents"]["url"])).status_code == 200
    r = await gql.http.get("/exports/unfunded-students.csv?link=x")
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- 7: cache entries counted whole, and capped ----------------------------------------------------
def test_response_cache_counts_whole_entries_and_caps_them():
    cache = ResponseCache(max_bytes=1024 * 1024, max_entries=500)
    viewer = Viewer(username="s", role=Role.SCHOOL_OPERATOR, scope_code="2143000002", stages=())
    for i in range(2000):
        key = cache.key_for(viewer, "{ __typename }", {f"v{uuid.uuid4().hex}": i}, None)
        cache.put(key, 1, b'{"data":{"__typename":"Query"}}')
    assert len(cache.entries) == 500
    held = sum(sys.getsizeof(k) + sys.getsizeof(v[1]) + sys.getsizeof(v) for k, v in cache.entries.items())
    assert cache.size >= held  # key, body and tuple, not the body alone
    small = ResponseCache(max_bytes=50_000)
    for i in range(1000):
        small.put(f"{i:064d}", 1, b"{}")
    assert small.size <= 50_000 and len(small.entries) < 50_000 // 100


# --- 8: out-of-range inputs ------------------------------------------------------------------------
async def test_out_of_range_inputs_are_coded(gql, world):
    admin = await gql.login("admin")
    assert await gql.error_code('{ school(code: "21430000021234") { name } }', token=admin) == "VALIDATION"
    for node in (
        f"PreschoolRosterEntry:{2**63}",
        f"ComparisonRun:{2**64}",
        f"TimeWindow:{2**31}",
        "TimeWindow:99999999999",
    ):
        gid = base64.b64encode(node.encode()).decode()
        body = await gql.post("query($id: ID!) { node(id: $id) { id } }", {"id": gid}, token=admin)
        assert body == {"data": {"node": None}}, (node, body)  # nothing by that key: null, as if absent
    window = """mutation($s: DateTime!, $e: DateTime!) {
      setTimeWindow(period: "2023-2024-1", action: ENTRY, start: $s, end: $e) { action } }"""
    for start, end in (
        ("0001-01-01T00:00:00+00:00", "2024-01-26T00:00:00+08:00"),
        ("2023-09-01T00:00:00+08:00", "9999-12-31T23:59:59-14:00"),
        ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"),
    ):
        body = await gql.post(window, {"s": start, "e": end}, token=admin)
        assert codes(body) == ["VALIDATION"], body


# --- 9: the database connection lost ---------------------------------------------------------------
@pytest.mark.postgres_only
@pytest.mark.parametrize("cached", [True, False])
async def test_a_lost_database_connection_is_coded_then_recovers(orm, world, database_url, cached):
    """Backends killed under the server: every answer is data or UNAVAILABLE (never INTERNAL or a
    plain 500), and the pool is renewed at once. With the response cache on, the viewer is read
    first while choosing the cache key, where a lost connection renews the pool before execution."""
    import asyncpg

    from zizhu.api.app import create_app

    app = create_app(manage_orm=False, response_cache_bytes=1024 * 1024 if cached else 0)
    seen = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        login = await http.post(
            "/graphql",
            json={
                "query": "mutation($p: String!) { login(username: \"county_op\", password: $p) { token } }",
                "variables": {"p": PASSWORD},
            },
        )
        headers = {"Authorization": f"Bearer {login.json()['data']['login']['token']}"}
        killer = await asyncpg.connect(database_url.split("?")[0])
        try:
            for _ in range(4):
                await killer.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                for query in ("{ me { username } }", "{ codeLists { stages { code } } }", STATS.join(("{ ", " }"))):
                    r = await http.post("/graphql", json={"query": query}, headers=headers)
                    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
                    seen += codes(r.json()) or ["ok"]
        finally:
            await killer.close()
        final = await http.post("/graphql", json={"query": "{ me { username } }"}, headers=headers)
    assert set(seen) <= {"ok", "UNAVAILABLE"}, seen
    assert seen.count("ok") >= len(seen) - 4  # at most one coded failure per kill: the pool is renewed
    if not cached:
        assert "UNAVAILABLE" in seen  # the kills were felt, and answered with a code
    assert final.json()["data"]["me"]["username"] == "county_op"


# --- 10: export links die with the account's token version -----------------------------------------
@pytest.mark.parametrize("change", ["disable-enable", "password"])
async def test_export_links_die_with_the_token_version(gql, world, change):
    county, admin = await gql.login("county_op"), await gql.login("admin")
    url = (
        await gql.data('mutation { exportUnfundedStudents(period: "2023-2024-1", format: CSV) { url } }', token=county)
    )["exportUnfundedStudents"]["url"]
    assert (await gql.http.get(url)).status_code == 200
    if change == "password":
        await gql.data(
            'mutation { setUserPassword(username: "county_op", password: "Another-pass-1") { active } }', token=admin
        )
    else:
        await gql.data('mutation { disableUser(username: "county_op") { active } }', token=admin)
        await gql.data('mutation { enableUser(username: "county_op") { active } }', token=admin)
    r = await gql.http.get(url)
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- 11: a Redis that accepts and never answers -----------------------------------------------------
def test_worker_start_ends_clearly_on_a_mute_redis(database_url):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                accepted.append(listener.accept()[0])  # and never answer
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{listener.getsockname()[1]}/0"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "zizhu.api.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        listener.close()
        for s in accepted:
            s.close()
    assert done.returncode == 2, done.stderr
    assert "没有应答" in done.stderr and "Traceback" not in done.stderr
    assert accepted  # it did connect: the server accepted and stayed silent


# --- 12: /metrics needs authorisation; no suggestions in production ----------------------------------
async def test_metrics_need_a_token(gql, world, monkeypatch):
    assert (await gql.http.get("/metrics")).status_code == 401
    county = await gql.login("county_op")
    assert (await gql.http.get("/metrics", headers={"Authorization": f"Bearer {county}"})).status_code == 401
    scrape = "scrape-" + uuid.uuid4().hex + uuid.uuid4().hex
    monkeypatch.setenv("ZIZHU_METRICS_TOKEN", scrape)
    r = await gql.http.get("/metrics", headers={"Authorization": f"Bearer {scrape}"})
    assert r.status_code == 200 and "zizhu_graphql_requests_total" in r.text
    assert (await gql.http.get("/metrics", headers={"Authorization": "Bearer " + "x" * 64})).status_code == 401


async def test_no_field_suggestions_in_production(gql, world, monkeypatch):
    token = await gql.login("county_op")
    development = await gql.post("{ me { usernam } }", token=token)
    assert "Did you mean" in development["errors"][0]["message"]
    monkeypatch.setenv("ZIZHU_ENV", "production")
    production = await gql.post("{ me { usernam } }", token=token)
    assert codes(production) == ["GRAPHQL_VALIDATION"]
    assert (
        "Did you mean" not in production["errors"][0]["message"]
        and "username" not in production["errors"][0]["message"]
    )


# --- 13: weak keys, CORS * ---------------------------------------------------------------------------
def test_weak_keys_are_refused_in_production(monkeypatch):
    monkeypatch.setenv("ZIZHU_ENV", "production")
    for weak in ("a" * 32, "abcd" * 10, "0123456789" * 4):
        monkeypatch.setenv("ZIZHU_SECRET_KEY", weak)
        with pytest.raises(settings.SettingsInvalid, match="过于简单"):
            settings.load()
    monkeypatch.setenv("ZIZHU_SECRET_KEY", "9f2c4e7a1b8d03f6c5e9a2b7d4f1c8e3a6b9d2f5c8e1a4b7d0f3c6e9a2b5d8f1")
    assert settings.load().is_production
    monkeypatch.setenv("ZIZHU_ENV", "development")
    monkeypatch.setenv("ZIZHU_SECRET_KEY", "a" * 32)  # a development key may be anything long enough
    assert not settings.load().is_production


async def test_cors_star_needs_an_explicit_switch_and_never_allows_credentials(orm, monkeypatch):
    from zizhu.api.app import create_app

    monkeypatch.setenv("ZIZHU_CORS_ORIGINS", "https://portal.example.cn,*")
    with pytest.raises(settings.SettingsInvalid, match="ZIZHU_CORS_ALLOW_ANY"):
        settings.load()
    monkeypatch.setenv("ZIZHU_CORS_ALLOW_ANY", "true")
    app = create_app(manage_orm=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        r = await http.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert r.headers.get("access-control-allow-origin") == "*"
    assert "access-control-allow-credentials" not in r.headers
