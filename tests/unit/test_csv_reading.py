"""Property-based tests (hypothesis) of the CSV reader: rows do not depend on where reading blocks
end, and a byte that is not UTF-8 is reported at its own row.

`ZIZHU_HYPOTHESIS_EXAMPLES` sets the examples (default 40); they are derandomised so CI is
stable, unless `ZIZHU_HYPOTHESIS_EXPLORE=1` asks for new ones.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zizhu.domain.imports import ImportRejected

EXAMPLES = int(os.environ.get("ZIZHU_HYPOTHESIS_EXAMPLES", "40"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("ZIZHU_HYPOTHESIS_EXPLORE"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
plain_cell = st.text(st.sampled_from("甲乙丙 ab1,\"'\t"), max_size=6)
any_cell = st.text(st.sampled_from("甲乙丙 ab1,\"'\t\r\n"), max_size=6)


@pytest.fixture
def monkeypatch_block(monkeypatch):
    """Set the CSV reading block size (bytes)."""
    return lambda size: monkeypatch.setattr("zizhu.domain.imports.reader._BLOCK_BYTES", size)


@PROPERTY
@given(
    table=st.lists(st.lists(any_cell, min_size=3, max_size=3), min_size=1, max_size=12),
    end=st.sampled_from(["\n", "\r\n", "\r"]),
    block=st.integers(1, 40),
    bom=st.booleans(),
)
def test_csv_rows_do_not_depend_on_where_reading_blocks_end(table, end, block, bom, monkeypatch_block):
    """Blocks cut anywhere (even between CR and LF) give the rows a whole-text CSV parse gives."""
    import csv
    import io

    from zizhu.domain.imports.reader import read_rows

    text = "".join(",".join('"' + c.replace('"', '""') + '"' for c in row) + end for row in [["a", "b", "c"], *table])
    expected = [
        (n, dict(zip("abc", (c.strip() for c in rec))))
        for n, rec in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
        if n > 1 and any(c.strip() for c in rec)
    ]
    monkeypatch_block(block)
    content = ("\ufeff" if bom else "").encode() + text.encode()
    assert list(read_rows(content, ("a", "b", "c"), "t.csv")) == expected


@PROPERTY
@given(
    table=st.lists(st.lists(plain_cell, min_size=3, max_size=3), min_size=1, max_size=12),
    end=st.sampled_from(["\n", "\r\n", "\r"]),
    block=st.integers(1, 40),
    data=st.data(),
)
def test_a_byte_that_is_not_utf8_is_reported_at_its_own_row(table, end, block, data, monkeypatch_block):
    from zizhu.domain.imports.reader import read_rows

    rows = [["a", "b", "c"]] + [[c or "x" for c in row] for row in table]  # no blank rows
    bad = data.draw(st.integers(2, len(rows)), label="bad row")
    lines = [",".join('"' + c.replace('"', '""') + '"' for c in row).encode() for row in rows]
    lines[bad - 1] += b"\xff"
    monkeypatch_block(block)
    with pytest.raises(ImportRejected) as rejected:
        list(read_rows(end.encode().join(lines) + end.encode(), ("a", "b", "c"), "t.csv"))
    assert [(e.row, e.column) for e in rejected.value.errors] == [(bad, "")]
