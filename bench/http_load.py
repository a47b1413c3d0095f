"""HTTP side of the read-path benchmark: `zizhu serve` as a subprocess on a loopback port, a small
GraphQL client, and load runs with npm `autocannon` (installed into bench/.tools when missing).

Traffic stays on 127.0.0.1; every wait is bounded; the server's process group is always stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
TOOLS = BENCH / ".tools"
RUNNER = BENCH / "autocannon_run.js"
AUTOCANNON = "autocannon@9"
HOST = "127.0.0.1"


def zizhu_command() -> list[str]:
    script = Path(sys.executable).with_name("zizhu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "zizhu.api.cli"]


def serve_help() -> str:
    done = subprocess.run([*zizhu_command(), "serve", "--help"], capture_output=True, text=True, timeout=120)
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """`zizhu serve --no-migrate` on a free loopback port, in its own process group."""

    def __init__(self, database_url: str, log_path: Path, workers: int | None = None, start_timeout: float = 120):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        self.args = [*zizhu_command(), "serve", "--no-migrate", "--host", HOST, "--port", str(self.port)]
        if workers is not None:
            self.args += ["--workers", str(workers)]
        # one signing key for every worker process (a token signed by one must pass in another)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "ZIZHU_ENV": "development",
            "ZIZHU_SECRET_KEY": secrets.token_hex(32),
        }
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"zizhu serve exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"zizhu serve not healthy after {self.start_timeout:.0f} s; log: {self.log_path}")

    def stop(self) -> None:
        """SIGTERM to the server's process group (its workers too), SIGKILL after 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


class GraphQLError(Exception):
    def __init__(self, errors: list[dict]):
        self.errors = errors
        first = errors[0] if errors else {}
        self.code = (first.get("extensions") or {}).get("code")
        super().__init__(first.get("message", "GraphQL error"))

    @property
    def unknown_to_server(self) -> bool:
        """The document asks for a field, argument or type this server's schema does not have."""
        return self.code in (None, "GRAPHQL_VALIDATION") and any(
            m in str(self) for m in ("Cannot query field", "Unknown argument", "Unknown type")
        )


class Client:
    """A keep-alive GraphQL client for the set-up steps and the single-client timings."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=300)

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def body(query: str, variables: dict | None = None) -> str:
        return json.dumps({"query": query, "variables": variables or {}}, ensure_ascii=False)

    @staticmethod
    def headers(token: str | None) -> dict[str, str]:
        return {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}

    def post(self, body: str, token: str | None) -> bytes:
        response = self.http.post("/graphql", content=body.encode(), headers=self.headers(token))
        return response.content

    def execute(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        answer = json.loads(self.post(self.body(query, variables), token))
        if answer.get("errors"):
            raise GraphQLError(answer["errors"])
        return answer["data"]

    def login(self, username: str, password: str) -> str:
        data = self.execute(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            {"u": username, "p": password},
        )
        return data["login"]["token"]

    def timed(self, body: str, token: str | None) -> float:
        """Seconds for one request, the whole answer received."""
        start = time.perf_counter()
        self.post(body, token)
        return time.perf_counter() - start


def ensure_autocannon() -> None:
    """Install npm autocannon into bench/.tools (git-ignored) unless it is there."""
    if (TOOLS / "node_modules" / "autocannon" / "package.json").exists():
        return
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        raise RuntimeError("the load generator needs node and npm (npm autocannon)")
    TOOLS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(TOOLS),
            "--no-save",
            "--no-package-lock",
            "--no-audit",
            "--no-fund",
            "--loglevel",
            "error",
            AUTOCANNON,
        ],
        check=True,
        timeout=600,
    )


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int  # errors, timeouts, non-2xx and answers with GraphQL errors

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load(url: str, body: str, token: str | None, clients: int, seconds: int) -> LoadResult:
    """`clients` connections posting `body` for `seconds` seconds, accepting gzip as browsers do
    (an answer with errors is small, so it is never compressed and the runner still sees it)."""
    spec = {
        "url": f"{url}/graphql",
        "connections": clients,
        "duration": seconds,
        "timeout": 300,
        "headers": {**Client.headers(token), "Accept-Encoding": "gzip"},
        "body": body,
    }
    done = subprocess.run(
        ["node", str(RUNNER)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=seconds + 600,
        env={**os.environ, "NODE_PATH": str(TOOLS / "node_modules")},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"autocannon failed: {done.stderr.strip()[-2000:]}")
    r = json.loads(done.stdout)
    bad = r["errors"] + r["timeouts"] + r["non2xx"] + r["mismatches"]
    return LoadResult(
        requests=r["requests"]["total"],
        seconds=r["duration"],
        p50_ms=r["latency"]["p50"],
        p99_ms=r["latency"]["p99"],
        bad=bad,
    )
