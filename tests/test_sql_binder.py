"""The raw-SQL binder: `:name` placeholders only, never a `::` cast or text inside a literal."""

from __future__ import annotations

from zizhu.domain import db


async def test_binder_leaves_casts_literals_and_comments_alone(orm):
    sql = """SELECT CAST(:a AS integer) AS a, 'x:b it''s :c' AS lit, "odd:col" AS q -- :d in a comment
             /* :e */ , CAST(:a AS integer) AS again"""
    text, values = db.bind(sql, {"a": 7})
    assert "'x:b it''s :c'" in text and '"odd:col"' in text
    assert ":d in a comment" in text and "/* :e */" in text
    if db.is_postgres():
        assert (
            text.startswith("SELECT CAST($1 AS integer)")
            and text.endswith("CAST($1 AS integer) AS again")
            and values == [7]
        )
    else:
        assert (
            text.startswith("SELECT CAST(? AS integer)")
            and text.endswith("CAST(? AS integer) AS again")
            and values == [7, 7]
        )
    assert db.placeholders(sql) == ["a", "a"]
    rows = await db.fetch(sql.replace('"odd:col" AS q', "1 AS q"), {"a": 7})
    assert rows[0]["lit"] == "x:b it's :c" and rows[0]["again"] == 7


async def test_binder_handles_postgres_casts(orm):
    sql = "SELECT :n::int + 1 AS n, CAST(:s AS text) AS s"
    assert db.placeholders(sql) == ["n", "s"]
    if db.is_postgres():
        rows = await db.fetch(sql, {"n": 41, "s": "ok"})
        assert rows == [{"n": 42, "s": "ok"}]
    else:
        text, values = db.bind(sql, {"n": "41", "s": "ok"})
        assert text == "SELECT ?::int + 1 AS n, CAST(? AS text) AS s" and values == ["41", "ok"]
