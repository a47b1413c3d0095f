"""A statement timeout on the API's database connections: a locked table answers a coded error
(TIMEOUT) instead of holding the request for ever. A real `zizhu serve` against the test database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import asyncpg
import httpx
import pytest

from tests.support.world import PASSWORD

STATS = '{ unfundedStatistics(period: "2023-2024-1") { total { members } } }'
LOGIN = f'mutation {{ login(username: "county_op", password: "{PASSWORD}") {{ token }} }}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _serving(http: httpx.AsyncClient, proc: subprocess.Popen) -> None:
    for _ in range(600):
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "server exited"
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not start")


@pytest.mark.postgres_only
async def test_a_locked_table_answers_timeout_instead_of_hanging(world, database_url):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "ZIZHU_STATEMENT_TIMEOUT_S": "0.5"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zizhu.api.cli", "serve", "--no-migrate", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    locker = await asyncpg.connect(database_url.split("?")[0])
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            await _serving(http, proc)
            token = (await http.post("/graphql", json={"query": LOGIN})).json()["data"]["login"]["token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert "errors" not in (await http.post("/graphql", json={"query": STATS}, headers=headers)).json()
            async with locker.transaction():
                await locker.execute("LOCK TABLE region IN ACCESS EXCLUSIVE MODE")
                # another document: the same one would be answered from the response cache
                body = (
                    await http.post(
                        "/graphql", json={"query": "query Locked " + STATS.removeprefix("query")}, headers=headers
                    )
                ).json()
            assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"
            assert "超时" in body["errors"][0]["message"]
            # the lock is gone: the same request works again
            assert "errors" not in (await http.post("/graphql", json={"query": STATS}, headers=headers)).json()
    finally:
        await locker.close()
        proc.terminate()
        proc.wait(timeout=30)
