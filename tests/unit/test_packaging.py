"""The distribution installs under the one import name `zizhu`, and lists every package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_installed_under_zizhu():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = config["package-dir"]
    assert set(mapped) == {"zizhu.api", "zizhu.domain", "zizhu.workers"}
    found = {
        "zizhu." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in mapped.values()
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert set(config["packages"]) == found
    assert all(name.startswith("zizhu.") for name in config["packages"])


def test_console_script_points_into_the_namespace():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"zizhu": "zizhu.api.cli:main"}
