"""`zizhu serve --workers N` runs several server processes on one port, each answering, as one
service: one development signing key for all of them, and /metrics summed over all of them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.world import PASSWORD
from zizhu.domain import settings

# system: a real `zizhu serve` with two worker processes
pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent
ME_COUNTER = re.compile(r'^zizhu_graphql_requests_total\{operation="me",outcome="ok"\} (\S+)$', re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve(database_url: str, extra_env: dict[str, str], workers: int = 2):
    """A running `zizhu serve --workers N`; yields (base URL, a list that gets the output at the end)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("ZIZHU_SECRET_KEY", settings.DEV_KEY_ENV)}
    env.update({"DATABASE_URL": database_url, "ZIZHU_ENV": "development", **extra_env})
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
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield base, output
    finally:
        server.terminate()
        output.append(server.communicate(timeout=30)[0])


def test_serve_with_two_workers_answers_from_two_processes(database_url):
    with _serve(database_url, {"ZIZHU_SECRET_KEY": "k" * 40}) as (base, output):
        answer = httpx.post(f"{base}/graphql", json={"query": "{ codeLists { stages { code } } }"}, timeout=10)
        assert answer.json()["data"]["codeLists"]["stages"][0]["code"] == "PRESCHOOL"
    children = [line for line in output[0].splitlines() if "Terminated child process" in line]
    assert len(children) == 2, output[0]


def _me_counter(base: str, client: httpx.Client, token: str) -> float:
    """The `me` request counter, scraped as an administrator (/metrics needs authorisation)."""
    found = ME_COUNTER.search(client.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}).text)
    return float(found.group(1)) if found else 0.0


def _stale_samples(folder: Path) -> None:
    """Samples a previous `serve` left in the metrics folder: 1,000 `me` requests."""
    code = (
        "from prometheus_client import Counter; "
        "Counter('zizhu_graphql_requests', '', ['operation', 'outcome']).labels('me', 'ok').inc(1000)"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert list(folder.glob("*.db"))


def test_two_workers_without_a_key_share_tokens_and_sum_their_metrics(database_url, world, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    _stale_samples(folder)
    with _serve(database_url, {"PROMETHEUS_MULTIPROC_DIR": str(folder)}) as (base, output):
        # new connections each time, so both processes take requests
        sign_in = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
        answer = httpx.post(
            f"{base}/graphql", json={"query": sign_in, "variables": {"u": "admin", "p": PASSWORD}}, timeout=30
        )
        token = answer.json()["data"]["login"]["token"]
        names = []
        for _ in range(100):
            r = httpx.post(
                f"{base}/graphql",
                json={"query": "{ me { username } }"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            names.append(((r.json().get("data") or {}).get("me") or {}).get("username"))
        assert names == ["admin"] * 100

        scrapes = []
        for _ in range(10):
            with httpx.Client(timeout=30) as client:  # a fresh connection: any of the processes answers
                scrapes.append(_me_counter(base, client, token))
                client.post(
                    f"{base}/graphql",
                    json={"query": "{ me { username } }"},
                    headers={"Authorization": f"Bearer {token}"},
                )
    assert scrapes[0] == 100, (scrapes, output)  # both processes' requests, none of the stale folder's
    assert scrapes == sorted(scrapes) and scrapes[-1] == 109, scrapes


def test_production_still_refuses_to_serve_without_a_key(database_url):
    env = {k: v for k, v in os.environ.items() if k not in ("ZIZHU_SECRET_KEY", settings.DEV_KEY_ENV)}
    env.update({"DATABASE_URL": database_url, "ZIZHU_ENV": "production", settings.DEV_KEY_ENV: "d" * 40})
    result = subprocess.run(
        [sys.executable, "-m", "zizhu.api.cli", "serve", "--no-migrate", "--port", str(_free_port()), "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "ZIZHU_SECRET_KEY" in result.stderr, result.stderr
