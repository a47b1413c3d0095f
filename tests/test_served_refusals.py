"""Refusals as a served process does them: a body refused by its declared length is not read (the
connection closes with the answer), and uploads are parsed in parser processes under
`serve --workers N`, their errors naming row and column; the parser processes end with the server."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.roster import open_windows
from tests.support.spreadsheets import forge, sheet_xml
from tests.test_serve_throttle import serving
from zizhu.api.web.body_limits import MAX_JSON_BYTES
from zizhu.domain.roster.importer import HEADERS

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def two_workers(database_url):
    with serving(database_url, workers=2) as base:
        yield base


def test_a_body_refused_by_its_length_closes_the_connection(two_workers):
    """10 MB declared, 64 KB sent: the answer comes at once and the server closes the connection
    instead of reading on (a kept-alive connection would wait for the remaining bytes)."""
    address = urlsplit(two_workers)
    declared = 10_000_000
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {declared}\r\n\r\n".encode()
            + b'{"query": "'
            + b" " * 65_536
        )
        answer = b""
        while chunk := conn.recv(65_536):  # ends only when the server closes the connection
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"connection: close" in head.lower()
    assert json.loads(body)["errors"][0]["extensions"]["max"] == MAX_JSON_BYTES


ROWS = [(1, list(HEADERS)), (2, ["430102201501010012", "童一", "-5"]), (3, ["123", "童二", "500"])]
IMPORT = {
    "query": 'mutation($f: Upload!) { importPreschoolRoster(period: "2023-2024-1", file: $f) { __typename '
    "... on RosterImportRejected { errors { row column message } } } }",
    "variables": {"f": None},
}


def upload(base: str, token: str) -> dict:
    """The roster import of a file with two bad rows, on a connection of its own."""
    answer = httpx.post(
        f"{base}/graphql",
        data={"operations": json.dumps(IMPORT), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("r.xlsx", forge(sheet_xml(ROWS)), "application/octet-stream")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    return answer["data"]["importPreschoolRoster"]


async def test_uploads_are_parsed_under_several_server_processes(two_workers, world, gql):
    await open_windows("ENTRY")
    token = await gql.token_for("kg_op")
    for _ in range(3):  # connections of their own: the kernel spreads them over both processes
        result = upload(two_workers, token)
        assert result["__typename"] == "RosterImportRejected", result
        assert [(e["row"], e["column"]) for e in result["errors"]] == [(2, "金额"), (3, "身份证件号")]


def parser_processes() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"multiprocessing.spawn" in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


async def test_parser_processes_end_with_the_server(database_url, world, gql):
    await open_windows("ENTRY")
    token = await gql.token_for("kg_op")
    before = parser_processes()
    with serving(database_url, workers=1) as base:
        assert upload(base, token)["__typename"] == "RosterImportRejected"
        started = parser_processes() - before
        assert started
    deadline = time.monotonic() + 10
    while parser_processes() & started and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not parser_processes() & started
