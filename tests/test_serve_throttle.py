"""The sign-in throttle as deployed: several server processes share one count through Redis, and
X-Forwarded-For is believed only from ZIZHU_TRUSTED_PROXIES."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.world import PASSWORD
from zizhu.domain.accounts import throttle

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(database_url: str, workers: int, **env: str):
    port = _free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, **env}
    environment.pop("FORWARDED_ALLOW_IPS", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zizhu.api.cli",
            "serve",
            "--no-migrate",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def login(base: str, username: str, password: str, forwarded_for: str | None = None) -> dict:
    """One sign-in on a connection of its own (so that the kernel spreads them over the processes)."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.post(
        f"{base}/graphql",
        json={"query": LOGIN, "variables": {"u": username, "p": password}},
        headers=headers,
        timeout=30,
    ).json()


def reason(answer: dict) -> str | None:
    errors = answer.get("errors") or []
    return errors[0]["extensions"].get("reason") if errors else None


@pytest.fixture(scope="module")
def two_workers(database_url):
    assert os.environ.get("ZIZHU_SECRET_KEY")  # both processes sign with the same key
    with serving(database_url, workers=2) as base:
        yield base


async def test_bad_passwords_spread_over_two_processes_count_as_one(two_workers, world):
    for _ in range(throttle.PAIR_FREE):
        assert reason(login(two_workers, "county_op", "wrong-password")) is None  # refused, not yet throttled
    # Each process kept its own count before: with five failures split between two processes, the
    # right password went through on the process that had seen fewer.
    answers = [login(two_workers, "county_op", PASSWORD) for _ in range(10)]
    assert [reason(a) for a in answers] == ["THROTTLED"] * 10, answers
    assert "token" in login(two_workers, "city_op", PASSWORD)["data"]["login"]


async def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored(two_workers, world):
    # a rotating X-Forwarded-For and a fresh username each time: still one client, the TCP peer
    for i in range(throttle.CLIENT_FREE):
        login(two_workers, f"nobody-{i}", "wrong-password", forwarded_for=f"203.0.113.{i}")
    assert reason(login(two_workers, "admin", PASSWORD, forwarded_for="198.51.100.1")) == "THROTTLED"


async def test_a_trusted_proxy_passes_the_callers_address(database_url, world):
    with serving(database_url, workers=1, ZIZHU_TRUSTED_PROXIES="127.0.0.1") as base:
        for _ in range(throttle.PAIR_FREE):
            login(base, "admin", "wrong-password", forwarded_for="203.0.113.9")
        assert reason(login(base, "admin", PASSWORD, forwarded_for="203.0.113.9")) == "THROTTLED"
        # the same account from another caller behind the proxy: not locked out
        assert "token" in login(base, "admin", PASSWORD, forwarded_for="198.51.100.7")["data"]["login"]
