"""The wheel stands on its own: built from the repository's files, installed in a fresh virtual
environment outside the tree, it migrates, loads the demo and serves the API with its offline
GraphiQL. Building it writes nothing into the working tree."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

# system: builds the wheel, installs it in a new virtualenv and serves from it
pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT_S = 900


def _tree_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", "Accept": "text/html"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment with only the wheel installed (its dependencies are borrowed from the
    test environment's site-packages by path, without the editable install's hook)."""
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the repository's files")
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    before = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    for name in _tree_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        timeout=STEP_TIMEOUT_S,
        capture_output=True,
    )
    after = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert after == before, "building the wheel changed the working tree"

    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=STEP_TIMEOUT_S)
    (wheel,) = (work / "dist").glob("zizhu-*.whl")
    target = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, str(wheel)],
        check=True,
        timeout=STEP_TIMEOUT_S,
        capture_output=True,
    )
    (Path(target) / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # The console script, as an installer would write it.
    script = venv / "bin" / "zizhu"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom zizhu.api.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    return venv


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZIZHU_", "DATABASE_URL", "PYTHON"))}
    return {**env, "DATABASE_URL": f"sqlite://{tmp / 'zizhu.sqlite3'}", "ZIZHU_SECRET_KEY": "w" * 40}


def test_installed_wheel_migrates_loads_the_demo_and_serves(installed, tmp_path):
    env = _env(tmp_path)
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import zizhu.api; print(zizhu.api.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed) in where and str(ROOT) not in where

    zizhu = str(installed / "bin" / "zizhu")
    for args in (["migrate"], ["demo"]):
        result = subprocess.run(
            [zizhu, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S
        )
        assert result.returncode == 0, result.stderr
    port = _free_port()
    server = subprocess.Popen(
        [zizhu, "serve", "--no-migrate", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        status, page = _get(base + "/graphql")
        assert status == 200 and "/static/graphiql/graphiql.min.js" in page
        assert _get(base + "/static/graphiql/graphiql.min.js")[0] == 200
        query = {"query": 'mutation { login(username: "admin", password: "Zizhu-demo-2024") { role } }'}
        _, body = _get(base + "/graphql", json.dumps(query).encode())
        assert json.loads(body)["data"]["login"]["role"] == "ADMIN"
    finally:
        server.terminate()
        server.wait(timeout=30)
