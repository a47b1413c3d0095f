"""`zizhu demo` (演示数据): the generated files are the same on every run (no database needed)."""

from __future__ import annotations

from zizhu.domain.demo import write_demo_files

ME = "{ me { username role scopeCode stages } }"


def test_demo_files_are_deterministic(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one, two = write_demo_files(tmp_path / "one", 500), write_demo_files(tmp_path / "two", 500)
    for kind in one:
        assert one[kind].read_bytes() == two[kind].read_bytes(), kind
    assert one["students"].read_text(encoding="utf-8-sig").count("\n") == 501
