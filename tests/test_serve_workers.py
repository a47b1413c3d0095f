"""`zizhu serve --workers N` runs several server processes on one port, each answering."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

# system: a real `zizhu serve` with two worker processes
pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_two_workers_answers_from_two_processes(tmp_path, database_url):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "zizhu.api.cli", "serve", "--no-migrate", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/graphql", json={"query": "{ codeLists { stages { code } } }"}, timeout=10
        )
        assert answer.json()["data"]["codeLists"]["stages"][0]["code"] == "PRESCHOOL"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    children = [line for line in output.splitlines() if "Terminated child process" in line]
    assert len(children) == 2, output
