"""Benchmark: sign-in cost and what sign-ins do to everybody else, against a real `zizhu serve`.

    python bench/login_load.py [--clients 16] [--logins 8] [--seconds 10]

Starts `zizhu serve` on a throw-away SQLite database with one account, then prints
1. the median time of a sign-in with a wrong password and with an unknown username (and their
   ratio: near 1 means the timing does not tell which usernames exist), and
2. the p50/p99 latency of `{ me { username } }` from `--clients` clients, alone and while
   `--logins` loops sign in with the right password (argon2 each time), and the p99 ratio.
Everything runs on loopback; the figures are ratios within one run, as the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PASSWORD = "Bench-password-1"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
ME = "{ me { username } }"


def _zizhu(*args: str, env: dict, wait: bool = True):
    cmd = [sys.executable, "-m", "zizhu.api.cli", *args]
    if wait:
        return subprocess.run(cmd, env=env, check=True, capture_output=True)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _login_ms(http: httpx.AsyncClient, username: str, password: str) -> float:
    start = time.perf_counter()
    await http.post("/graphql", json={"query": LOGIN, "variables": {"u": username, "p": password}})
    return (time.perf_counter() - start) * 1000


async def _me_latencies(http: httpx.AsyncClient, token: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def client() -> None:
        while time.perf_counter() < end:
            start = time.perf_counter()
            await http.post("/graphql", json={"query": ME}, headers=headers)
            latencies.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def _login_loops(http: httpx.AsyncClient, n: int, stop: asyncio.Event) -> None:
    async def loop() -> None:
        while not stop.is_set():
            await _login_ms(http, "admin", PASSWORD)

    await asyncio.gather(*(loop() for _ in range(n)))


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def measure(port: int, args) -> None:
    limits = httpx.Limits(max_connections=args.clients + args.logins + 4)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as http:
        for _ in range(300):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        wrong = [await _login_ms(http, "admin", f"wrong-{i}") for i in range(4)]  # under the throttle's limit
        unknown = [await _login_ms(http, f"nobody-{i}", "wrong") for i in range(4)]
        print(
            f"sign-in, wrong password: median {statistics.median(wrong):.1f} ms; unknown username: "
            f"median {statistics.median(unknown):.1f} ms; ratio unknown/wrong "
            f"{statistics.median(unknown) / statistics.median(wrong):.2f}"
        )
        body = (await http.post("/graphql", json={"query": LOGIN, "variables": {"u": "admin", "p": PASSWORD}})).json()
        token = body["data"]["login"]["token"]
        alone = await _me_latencies(http, token, args.clients, args.seconds)
        stop = asyncio.Event()
        loops = asyncio.create_task(_login_loops(http, args.logins, stop))
        loaded = await _me_latencies(http, token, args.clients, args.seconds)
        stop.set()
        await loops
        print(
            f"me, {args.clients} clients alone: p50 {_p(alone, 50):.1f} ms p99 {_p(alone, 99):.1f} ms "
            f"({len(alone)} requests)"
        )
        print(
            f"me, with {args.logins} sign-in loops: p50 {_p(loaded, 50):.1f} ms p99 {_p(loaded, 99):.1f} ms "
            f"({len(loaded)} requests); p99 ratio loaded/alone {_p(loaded, 99) / _p(alone, 99):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--logins", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zizhu-bench-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite://{Path(tmp) / 'bench.sqlite3'}?busy_timeout=5000",
            "ZIZHU_ENV": "development",
            "ZIZHU_PASSWORD": PASSWORD,
        }
        env.pop("ZIZHU_SECRET_KEY", None)
        env["ZIZHU_SECRET_KEY"] = os.urandom(32).hex()
        _zizhu("migrate", env=env)
        _zizhu("user", "add", "admin", "--role", "ADMIN", "--scope", "000000", env=env)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = _zizhu("serve", "--no-migrate", "--port", str(port), env=env, wait=False)
        try:
            asyncio.run(measure(port, args))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
