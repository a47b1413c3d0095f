"""The command line explains itself: help and --version, and every mistake ends as one Chinese
line with the fix (exit 2), without a traceback and without hanging."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# system: every test starts the `zizhu` command in a subprocess (run once, in the PostgreSQL pass)
pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 600  # generous: a loaded CI machine; the commands themselves never wait long


def zizhu(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ZIZHU_", "DATABASE_URL"))}
    base["ZIZHU_SECRET_KEY"] = "k" * 40
    return subprocess.run(
        [sys.executable, "-m", "zizhu.api.cli", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd or ROOT,
        timeout=TIMEOUT_S,
    )


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_help_works_in_production_without_settings():
    result = zizhu("--help", env={"ZIZHU_ENV": "production", "ZIZHU_SECRET_KEY": ""})
    assert result.returncode == 0 and "serve" in result.stdout and "import" in result.stdout


def test_version():
    from importlib import metadata

    result = zizhu("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"zizhu {metadata.version('zizhu')}"


def test_subcommand_help_shows_choices_and_defaults():
    out = zizhu("import", "--help").stdout
    assert "special-groups" in out and "默认：200" in out and "--encoding" in out
    assert "身份证件号" in out  # the headers of each kind
    out = zizhu("serve", "--help").stdout
    assert "默认：127.0.0.1" in out and "默认：8000" in out
    out = zizhu("user", "add", "--help").stdout
    assert "AUTHORITY_OPERATOR" in out and "PRESCHOOL" in out


@pytest.mark.parametrize(
    "env, fragments",
    [
        ({"ZIZHU_TOKEN_HOURS": "abc"}, ("ZIZHU_TOKEN_HOURS", "1 到 720")),
        ({"DATABASE_URL": "mysql://u:pw@h/db"}, ("DATABASE_URL", "mysql", "postgres://")),
        ({"ZIZHU_SECRET_KEY": "short"}, ("ZIZHU_SECRET_KEY", "32")),
        ({"ZIZHU_ENV": "production", "ZIZHU_SECRET_KEY": ""}, ("ZIZHU_SECRET_KEY",)),
        ({"ZIZHU_ENV": "prod"}, ("ZIZHU_ENV", "production")),
    ],
)
def test_bad_settings_are_one_line(env, fragments):
    line = one_line_error(zizhu("migrate", env=env), *fragments)
    assert "pw" not in line


def test_unreachable_and_missing_postgres(tmp_path):
    base = os.environ.get("ZIZHU_TEST_PG", "postgres://postgres@127.0.0.1:5432")
    one_line_error(zizhu("migrate", env={"DATABASE_URL": base + "/zizhu_no_such_database"}), "不存在", "createdb")
    one_line_error(
        zizhu("migrate", env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"}), "无法连接", "127.0.0.1:1"
    )


@pytest.mark.parametrize("command", ["migrate", "demo"])
def test_unopenable_sqlite_path_fails_at_once(tmp_path, command):
    missing = tmp_path / "no" / "such" / "dir" / "z.sqlite3"
    one_line_error(zizhu(command, env={"DATABASE_URL": f"sqlite://{missing}"}), "目录", "不存在")
    one_line_error(zizhu(command, env={"DATABASE_URL": f"sqlite://{tmp_path}"}), "是一个目录")


def test_import_of_a_missing_file_or_a_directory(tmp_path):
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'z.sqlite3'}"}
    one_line_error(zizhu("import", "students", str(tmp_path / "nope.csv"), env=env), "不存在")
    one_line_error(zizhu("import", "students", str(tmp_path), env=env), "是一个目录")


def test_compare_of_an_unknown_period_fails(tmp_path):
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'z.sqlite3'}"}
    assert zizhu("migrate", env=env).returncode == 0
    one_line_error(zizhu("compare", "--period", "2031-2032-1", env=env), "2031-2032-1", "没有任何数据")


def test_progress_into_a_file_is_plain_lines(tmp_path):
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'z.sqlite3'}"}
    regions = tmp_path / "regions.csv"
    regions.write_text("行政区划代码,名称,上级代码\n430000,湖南省,000000\n430100,长沙市,430000\n", encoding="utf-8")
    assert zizhu("migrate", env=env).returncode == 0
    result = zizhu("import", "regions", str(regions), env=env)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("导入行政区划")]
    assert progress and all(" / " in line for line in progress), result.stderr


def test_worker_without_redis_is_one_line(tmp_path):
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'z.sqlite3'}", "REDIS_URL": "redis://127.0.0.1:1/0"}
    one_line_error(zizhu("worker", env=env), "Redis", "REDIS_URL")


def test_debug_shows_the_traceback(tmp_path):
    result = zizhu("--debug", "import", "students", str(tmp_path / "nope.csv"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_worker_check_with_redis_down_says_redis_is_unreachable():
    line = one_line_error(zizhu("worker", "--check", env={"REDIS_URL": "redis://127.0.0.1:1/0"}), "Redis", "REDIS_URL")
    assert "排队" not in line  # not "the comparison could not be queued"


def test_serve_on_a_busy_port_is_one_line(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = zizhu(
            "serve", "--no-migrate", "--port", str(port), env={"DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}"}
        )
    one_line_error(result, str(port), "已被占用", "--port")
    assert result.stdout == ""
