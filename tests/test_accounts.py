"""Accounts (账号): throttled sign-in, hashing off the event loop, token revocation, account
management from the command line and by administrators, and a demo that never touches accounts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import httpx
import pytest

from tests.support.world import PASSWORD
from zizhu.domain.accounts import passwords, throttle
from zizhu.domain.demo import DEMO_PASSWORD, load_demo
from zizhu.domain.errors import Conflict
from zizhu.domain.models import Account, AuditEntry

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
ME = "{ me { username } }"


async def _login_error(gql, username: str, password: str) -> dict:
    body = await gql.post(LOGIN, {"u": username, "p": password})
    assert body.get("errors"), body
    return body["errors"][0]


class _ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_wrong_passwords_slow_the_pair_down_then_the_wait_passes(gql, world, monkeypatch):
    clock = _ManualClock()
    monkeypatch.setattr(throttle, "clock", clock)
    for _ in range(throttle.PAIR_FREE):
        assert (await _login_error(gql, "county_op", "wrong-password"))["extensions"]["code"] == "UNAUTHENTICATED"
    refused = await _login_error(gql, "county_op", PASSWORD)  # the right password, but too soon
    assert refused["extensions"]["code"] == "UNAUTHENTICATED"
    assert refused["extensions"]["reason"] == "THROTTLED"
    assert refused["extensions"]["retryAfterSeconds"] == throttle.BASE_DELAY_S
    assert await gql.login("city_op")  # another username is not affected
    clock.now += throttle.BASE_DELAY_S  # a wait, not a lock-out
    await _login_error(gql, "county_op", "wrong-password")
    again = await _login_error(gql, "county_op", PASSWORD)
    assert again["extensions"]["retryAfterSeconds"] == 2 * throttle.BASE_DELAY_S  # doubling
    clock.now += 2 * throttle.BASE_DELAY_S
    assert await gql.login("county_op")


async def test_unknown_usernames_are_throttled_and_checked_like_real_ones(gql, world, monkeypatch):
    checked: list[str] = []
    real_check = passwords._check
    monkeypatch.setattr(passwords, "_check", lambda h, p: checked.append(p) or real_check(h, p))
    body = await _login_error(gql, "nobody-here", "some-password")
    assert body["extensions"]["code"] == "UNAUTHENTICATED" and body["message"] == "用户名或密码错误"
    assert checked == ["some-password"]  # a dummy hash was checked, as for a wrong password
    for _ in range(throttle.PAIR_FREE - 1):
        await _login_error(gql, "nobody-here", "some-password")
    assert (await _login_error(gql, "nobody-here", "x" * 10))["extensions"]["reason"] == "THROTTLED"
    assert len(checked) == throttle.PAIR_FREE  # refused attempts check nothing


async def test_one_client_guessing_many_usernames_is_slowed_down(gql, world, monkeypatch):
    monkeypatch.setattr(throttle, "CLIENT_FREE", 3)
    for username in ("county_op", "city_op", "province_op"):
        await _login_error(gql, username, "wrong-password")
    assert (await _login_error(gql, "admin", PASSWORD))["extensions"]["reason"] == "THROTTLED"


async def test_failures_from_one_client_never_lock_the_account_for_another(app, world):
    """Five wrong passwords for admin from one address: the real admin elsewhere signs in."""

    async def attempt(client: str, password: str) -> dict:
        transport = httpx.ASGITransport(app=app, client=(client, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            r = await http.post("/graphql", json={"query": LOGIN, "variables": {"u": "admin", "p": password}})
            return r.json()

    for _ in range(throttle.PAIR_FREE + 3):
        await attempt("203.0.113.9", "wrong-password")
    assert (await attempt("203.0.113.9", PASSWORD))["errors"][0]["extensions"]["reason"] == "THROTTLED"
    assert (await attempt("198.51.100.7", PASSWORD))["data"]["login"]["token"]


async def test_unlock_command_forgets_a_usernames_failures(gql, world, database_url):
    for _ in range(throttle.PAIR_FREE):
        await _login_error(gql, "county_op", "wrong-password")
    assert (await _login_error(gql, "county_op", PASSWORD))["extensions"]["reason"] == "THROTTLED"
    env = {**os.environ, "DATABASE_URL": database_url}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "zizhu.api.cli", "user", "unlock", "county_op"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert await gql.login("county_op")  # the state is in Redis: the command reached it
    assert await AuditEntry.filter(action="account.unlock", entity_key="county_op").exists()


async def test_admin_unlock_mutation(gql, world):
    for _ in range(throttle.PAIR_FREE):
        await _login_error(gql, "county_op", "wrong-password")
    admin = await gql.login("admin")
    assert await gql.data('mutation { unlockUser(username: "county_op") }', token=admin) == {"unlockUser": True}
    assert await gql.login("county_op")


async def test_throttle_falls_back_to_the_process_without_redis(gql, world, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    for _ in range(throttle.PAIR_FREE):
        await _login_error(gql, "county_op", "wrong-password")
    assert (await _login_error(gql, "county_op", PASSWORD))["extensions"]["reason"] == "THROTTLED"
    assert throttle.memory.keys  # kept in this process


async def test_over_long_credentials_are_refused_before_hashing(gql, world, monkeypatch):
    monkeypatch.setattr(passwords, "_check", lambda h, p: pytest.fail("hashed an over-long input"))
    assert (await _login_error(gql, "u" * 10_000, "x"))["extensions"]["code"] == "VALIDATION"
    assert (await _login_error(gql, "admin", "x" * 100_000))["extensions"]["code"] == "VALIDATION"


async def test_hashing_runs_off_the_event_loop_at_most_n_at_once(gql, world, monkeypatch):
    loop_thread = threading.get_ident()
    threads: set[int] = set()
    running, peak = [0], [0]
    lock = threading.Lock()
    real_check = passwords._check

    def spy(password_hash: str, password: str) -> bool:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            threads.add(threading.get_ident())
        try:
            return real_check(password_hash, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(passwords, "_check", spy)
    users = ["county_op", "city_op", "province_op", "admin", "school_op", "kg_op", "gd_op", "school_rev"]
    tokens = await asyncio.gather(*(gql.login(u) for u in users))
    assert len(set(tokens)) == len(users)
    assert loop_thread not in threads
    assert 1 <= peak[0] <= passwords.MAX_CONCURRENT


async def test_admin_password_reset_ends_old_tokens(gql, world):
    old = await gql.login("school_op")
    admin = await gql.login("admin")
    data = await gql.data(
        'mutation { setUserPassword(username: "school_op", password: "Brand-new-pass-1") { username active } }',
        token=admin,
    )
    assert data["setUserPassword"] == {"username": "school_op", "active": True}
    body = await gql.post(ME, token=old)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await _login_error(gql, "school_op", PASSWORD))["extensions"]["code"] == "UNAUTHENTICATED"
    new = await gql.login("school_op", "Brand-new-pass-1")
    assert (await gql.data(ME, token=new))["me"]["username"] == "school_op"
    entry = await AuditEntry.filter(action="account.password").get()
    assert (entry.actor, entry.entity_key) == ("admin", "school_op") and "password_hash" not in entry.after
    short = 'mutation { setUserPassword(username: "school_op", password: "short") { active } }'
    assert await gql.error_code(short, token=admin) == "VALIDATION"
    missing = 'mutation { setUserPassword(username: "nobody", password: "Brand-new-pass-2") { active } }'
    assert await gql.error_code(missing, token=admin) == "NOT_FOUND"


async def test_disable_ends_tokens_and_enable_does_not_revive_them(gql, world):
    old = await gql.login("county_op")
    admin = await gql.login("admin")
    assert (await gql.data('mutation { disableUser(username: "county_op") { active } }', token=admin)) == {
        "disableUser": {"active": False}
    }
    assert (await gql.post(ME, token=old))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await _login_error(gql, "county_op", PASSWORD))["message"] == "用户名或密码错误"
    await gql.data('mutation { enableUser(username: "county_op") { active } }', token=admin)
    assert (await gql.post(ME, token=old))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await gql.login("county_op")
    assert await AuditEntry.filter(action__in=("account.disable", "account.enable"), actor="admin").count() == 2
    own = 'mutation { disableUser(username: "admin") { active } }'
    assert await gql.error_code(own, token=admin) == "VALIDATION"


def _cli(database_url: str, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("ZIZHU_PASSWORD", None)
    if password is not None:
        env["ZIZHU_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "zizhu.api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


async def test_cli_user_passwd_disable_enable(gql, world, database_url):
    old = await gql.login("kg_op")
    done = await asyncio.to_thread(_cli, database_url, "user", "passwd", "kg_op", password="Cli-changed-1")
    assert done.returncode == 0, done.stderr
    assert (await gql.post(ME, token=old))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    token = await gql.login("kg_op", "Cli-changed-1")
    done = await asyncio.to_thread(_cli, database_url, "user", "disable", "kg_op")
    assert done.returncode == 0, done.stderr
    assert not (await Account.get(username="kg_op")).active
    assert (await gql.post(ME, token=token))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    done = await asyncio.to_thread(_cli, database_url, "user", "enable", "kg_op")
    assert done.returncode == 0, done.stderr
    assert await gql.login("kg_op", "Cli-changed-1")
    missing = await asyncio.to_thread(_cli, database_url, "user", "disable", "nobody")
    assert missing.returncode == 2 and "nobody" in missing.stderr
    no_password = await asyncio.to_thread(_cli, database_url, "user", "passwd", "kg_op")
    assert no_password.returncode == 2 and "ZIZHU_PASSWORD" in no_password.stderr


async def test_demo_refuses_a_database_with_data(world):
    with pytest.raises(Conflict, match="--force"):
        await load_demo()


async def test_demo_refuses_a_non_development_environment(orm, monkeypatch):
    monkeypatch.setenv("ZIZHU_ENV", "production")
    with pytest.raises(Conflict, match="production"):
        await load_demo()
    assert not await Account.exists()


async def test_forced_demo_never_touches_existing_accounts(gql, world):
    admin = await gql.login("admin")
    await gql.data('mutation { disableUser(username: "county_op") { active } }', token=admin)
    before = {a.username: (a.password_hash, a.active, a.token_version, a.scope_code) for a in await Account.all()}
    await load_demo(force=True)
    after = {a.username: (a.password_hash, a.active, a.token_version, a.scope_code) for a in await Account.all()}
    assert {u: after[u] for u in before} == before  # the disabled demo name stays disabled, passwords kept
    assert (await _login_error(gql, "admin", DEMO_PASSWORD))["extensions"]["code"] == "UNAUTHENTICATED"
    assert await gql.login("city_op")  # world password still valid
    assert await gql.login("univ_op", DEMO_PASSWORD)  # a demo account that did not exist was created
