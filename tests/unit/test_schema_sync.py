"""schema.graphql is the SDL the code exports (regenerate it with `zizhu export-schema`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_in_sync():
    out = subprocess.run(
        [sys.executable, "-m", "zizhu.api.cli", "export-schema"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert out == committed, "schema.graphql is out of date: run `zizhu export-schema -o schema.graphql`"
