"""Load test on loopback: do cheap hostile requests slow everybody else down?

    python bench/attack_load.py [--clients 16] [--seconds 20]

Loads the demo data into a throw-away SQLite file, starts `zizhu serve` on a free port, signs
the normal clients in, then runs two phases of the same length: the clients alone, and the
clients while attackers send, each in its own loop,

* fragment fan-out: fragments spreading the next one twice, as many levels as the spread bound
  lets through (2^levels spreads once expanded) and one level more (refused);
* huge documents: `{ me { username } }` repeated to ~260 KB, and a 10 MB body;
* a login loop: wrong passwords for a real account.
* a spreadsheet bomb: a preschool roster upload declaring A1:XFD6000, with 6,000 row elements.
* wide selections: `query Q<random> { region { code } ×400 }`, a fresh operation name each time
  (field-overlap validation is quadratic; the name defeated the validation cache);
* metric labels: `query { ...F<random> } fragment F<random> on Query { __typename }` (every name
  used to become a /metrics label);
* costly documents, as the county account: `nodes` with 100 ids, each with its statistics and
  `schools(first: 500) { statistics }`, and 30 aliases of `unfundedStudents(first: 500)`.

Each client sends `{ me { username } }` and a statistics query in turn, one request at a time.
Each attack runs in its own process, so its own work never slows the measuring process. It
prints each phase's request count, p50 and p99, and the ratio of the p99s (the attacked p99
should stay within 2x), and how many operation labels /metrics holds afterwards. Every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zizhu.api.gql.document_limits import MAX_FRAGMENT_SPREADS

ZIZHU = str(Path(sys.executable).with_name("zizhu"))
DEMO_PASSWORD = "Zizhu-demo-2024"
CLIENT_QUERIES = [
    "{ me { username } }",
    '{ unfundedStatistics(period: "2023-2024-1") { total { members funded unfunded reasonReported } } }',
]


ATTACKS = ("fan-out", "huge-document", "login", "spreadsheet", "wide-selection", "metric-labels", "cost")
STATISTICS = (
    "unfundedStatistics(period: \"2023-2024-1\") { total { members funded } byCategory { category all { members } } }"
)
FRESH = ("wide-selection", "metric-labels", "cost")  # a new request each time
COUNTY = "430102"  # the demo county account's region
TOKENS_ENV = "ZIZHU_BENCH_TOKENS"
CONTROL = "benign"  # a loop of `{ __typename }`: what any extra busy client costs on this machine


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fan_out(levels: int) -> str:
    body = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }} {body} fragment F{levels} on Query {{ __typename }}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def login(http: httpx.AsyncClient, username: str) -> str:
    r = await http.post(
        "/graphql",
        json={
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            "variables": {"u": username, "p": DEMO_PASSWORD},
        },
    )
    return r.json()["data"]["login"]["token"]


async def client(http: httpx.AsyncClient, token: str, stop: float, latencies: list[float]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    i = 0
    while time.monotonic() < stop:
        query = CLIENT_QUERIES[i % len(CLIENT_QUERIES)]
        started = time.perf_counter()
        r = await http.post("/graphql", json={"query": query}, headers=headers)
        latencies.append(time.perf_counter() - started)
        assert r.status_code == 200 and "errors" not in r.json(), r.text[:300]
        i += 1


def attack_requests(name: str) -> list[dict]:
    """The requests of one attack, encoded once."""

    def as_json(payload: dict) -> dict:
        return {"content": json.dumps(payload).encode(), "headers": {"content-type": "application/json"}}

    levels = (MAX_FRAGMENT_SPREADS - 1) // 2  # the most levels the spread bound lets through
    return {
        "fan-out": [as_json({"query": fan_out(levels)}), as_json({"query": fan_out(levels + 1)})],
        "huge-document": [
            as_json({"query": "{ " + "me { username } " * 16_000 + "}"}),
            {"content": b'{"query": "' + b" " * 10_000_000 + b'"}', "headers": {"content-type": "application/json"}},
        ],
        CONTROL: [as_json({"query": "{ __typename }"})],
        "login": [
            as_json(
                {
                    "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                    "variables": {"u": "county_op", "p": "wrong-password"},
                }
            )
        ],
    }[name]


def fresh_request(name: str, token: str | None) -> dict:
    """One request of an attack whose every request differs (random names)."""
    tag = uuid.uuid4().hex
    if name == "wide-selection":
        payload = {"query": f"query Q{tag} {{ " + "region { code } " * 400 + "}"}
    elif name == "metric-labels":
        payload = {"query": f"query {{ ...F{tag} }} fragment F{tag} on Query {{ __typename }}"}
    else:  # cost: alternately the nodes fan-out and the aliased pages
        region = base64.b64encode(f"Region:{COUNTY}".encode()).decode()
        if int(tag[0], 16) % 2:
            ids = ", ".join(f'"{region}"' for _ in range(100))
            payload = {
                "query": f"{{ nodes(ids: [{ids}]) {{ ... on Region {{ {STATISTICS} "
                f"schools(first: 500) {{ edges {{ node {{ {STATISTICS} }} }} }} }} }} }}"
            }
        else:
            pages = " ".join(
                f'a{i}: unfundedStudents(period: "2023-2024-1", first: 500) {{ edges {{ node {{ idNumber name }} }} }}'
                for i in range(30)
            )
            payload = {"query": f"{{ {pages} }}"}
    headers = {"content-type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return {"content": json.dumps(payload).encode(), "headers": headers}


def spreadsheet_bomb() -> bytes:
    """A small .xlsx whose sheet declares A1:XFD6000 and holds 6,000 rows (the roster's headers first)."""
    from openpyxl import Workbook

    book = io.BytesIO()
    Workbook().save(book)
    cell = '<c r="{}" t="inlineStr"><is><t>{}</t></is></c>'
    header = "".join(cell.format(f"{c}1", h) for c, h in zip("ABC", ("身份证件号", "姓名", "金额")))
    rows = "".join(f'<row r="{n}">{cell.format(f"A{n}", "x")}</row>' for n in range(2, 6002))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:XFD6000"/><sheetData><row r="1">{header}</row>{rows}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = sheet.encode() if info.filename == "xl/worksheets/sheet1.xml" else src.read(info.filename)
            dst.writestr(info.filename, data)
    return out.getvalue()


def upload_request(token: str) -> dict:
    """The roster import of the bomb, as a GraphQL multipart upload by a kindergarten operator."""
    operations = {
        "query": "mutation($f: Upload!) { importPreschoolRoster(period: \"2023-2024-1\", file: $f) { __typename ... on RosterImportRejected { errors { row message } } } }",
        "variables": {"f": None},
    }
    return {
        "data": {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        "files": {
            "0": ("bomb.xlsx", spreadsheet_bomb(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        },
        "headers": {"Authorization": f"Bearer {token}"},
    }


async def attacker(base: str, name: str, seconds: float) -> int:
    """One attack in a loop, one request at a time; returns how many were sent. Accounts' tokens come
    from the measuring process (a concurrent login attack would slow this address's sign-ins)."""
    sent = 0
    tokens = json.loads(os.environ.get(TOKENS_ENV, "{}"))
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        if name == "spreadsheet":
            requests = [upload_request(tokens["kg_op"])]
        elif name in FRESH:
            requests = []
        else:
            requests = attack_requests(name)
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            try:
                if name in FRESH:
                    await http.post("/graphql", **fresh_request(name, tokens.get("county_op")))
                else:
                    await http.post("/graphql", **requests[sent % len(requests)])
            except httpx.HTTPError:
                pass  # a refused body may close the connection; the attacker just tries again
            sent += 1
    return sent


async def phase(
    base: str, tokens: list[str], seconds: float, attacks: list[str], accounts: dict[str, str] | None = None
) -> tuple[list[float], dict]:
    """The clients for `seconds`; each attack runs in its own process so it never slows the
    measuring process itself."""
    latencies: list[float] = []
    attackers = {
        name: await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--attacker",
            name,
            "--base",
            base,
            "--seconds",
            str(seconds),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, TOKENS_ENV: json.dumps(accounts or {})},
        )
        for name in attacks
    }
    limits = httpx.Limits(max_connections=len(tokens) + 8)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        stop = time.monotonic() + seconds
        await asyncio.gather(*(client(http, t, stop, latencies) for t in tokens))
    counts = {}
    for name, process in attackers.items():
        out, _ = await process.communicate()
        counts[name] = int(out or 0)
    return latencies, counts


def start_server(workdir: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite://{workdir / 'zizhu.sqlite3'}?busy_timeout=5000",
        "ZIZHU_ENV": "development",
    }
    env.pop("ZIZHU_SECRET_KEY", None)
    env["ZIZHU_QUEUE"] = f"zizhu-bench-{uuid.uuid4().hex[:12]}"  # its sign-in throttle keys in Redis expire alone
    subprocess.run([ZIZHU, "demo"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = (workdir / "serve.log").open("w")
    return subprocess.Popen([ZIZHU, "serve", "--port", str(port), "--no-migrate"], env=env, stdout=log, stderr=log)


async def wait_healthy(base: str, server: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(300):
            if server.poll() is not None:
                raise SystemExit("zizhu serve exited early")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("zizhu serve did not become healthy")


async def run(args) -> None:
    with tempfile.TemporaryDirectory(prefix="zizhu-attack-") as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(Path(tmp), port)
        try:
            await wait_healthy(base, server)
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                accounts = {name: await login(http, name) for name in ("county_op", "kg_op")}
            tokens = [accounts["county_op"]] * args.clients
            cpu0 = cpu_seconds(server.pid)
            quiet, _ = await phase(base, tokens, args.seconds, [])
            cpu1 = cpu_seconds(server.pid)
            attacked, counts = await phase(base, tokens, args.seconds, args.attacks, accounts)
            cpu2 = cpu_seconds(server.pid)
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                scrape = await http.get("/metrics", headers={"Authorization": f"Bearer {await login(http, 'admin')}"})
            labels = len(set(re.findall(r'operation="([^"]*)"', scrape.text)))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    q99, a99 = percentile(quiet, 0.99), percentile(attacked, 0.99)
    print(f"{args.clients} clients, {args.seconds:g} s per phase, attacks: {', '.join(args.attacks)}")
    print(
        f"  without attacker: {len(quiet):6d} requests  p50 {statistics.median(quiet) * 1000:7.1f} ms  p99 {q99 * 1000:7.1f} ms"
    )
    print(
        f"  with attacker:    {len(attacked):6d} requests  p50 {statistics.median(attacked) * 1000:7.1f} ms  p99 {a99 * 1000:7.1f} ms"
    )
    print(
        f"  server CPU seconds per phase: without {cpu1 - cpu0:.1f}, with {cpu2 - cpu1:.1f}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  attacker requests: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}")
    print(f"  p99 ratio (with / without): {a99 / q99:.2f}")
    print(f"  distinct operation labels in /metrics afterwards: {labels}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    p.add_argument(
        "--attacks",
        default=",".join(ATTACKS),
        help=f"comma-separated, from {','.join(ATTACKS)} (or {CONTROL}, a control loop)",
    )
    p.add_argument("--attacker", choices=(*ATTACKS, CONTROL), help=argparse.SUPPRESS)  # internal: one attacker
    p.add_argument("--base", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.attacker:
        # Attackers are other machines in reality: on a small box their own client work (10 MB
        # bodies, uploads, loops) must not take the CPU from the server and the measuring process.
        os.nice(19)
        print(asyncio.run(attacker(args.base, args.attacker, args.seconds)))
        return
    args.attacks = [a.strip() for a in args.attacks.split(",") if a.strip()]
    if not args.attacks or set(args.attacks) - {*ATTACKS, CONTROL}:
        raise SystemExit(f"--attacks: choose from {', '.join(ATTACKS)}")
    if not 1 <= args.clients <= 256 or not 0 < args.seconds <= 600:
        raise SystemExit("--clients 1..256, --seconds up to 600")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
