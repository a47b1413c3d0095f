"""Imports (数据导入): an unknown kind is refused before any file is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from zizhu.domain.errors import ValidationFailed
from zizhu.domain.imports import run_import

ROOT = Path(__file__).resolve().parents[2]

# Valid ID numbers (GB 11643 check digit computed by hand-checked make_id_number, written out here).
A = "430102201501010012"
B = "430102201501010020"
C = "430102201501010039"
X8 = "43010220150101008X"
BAD_CHECK = "430102201501010013"


async def test_unknown_kind_is_a_validation_error(tmp_path):
    with pytest.raises(ValidationFailed):
        await run_import("teachers", tmp_path / "x.csv", actor="tester")
