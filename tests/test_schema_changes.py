"""The breaking-change check: schema.graphql against the last release's SDL, and CHANGELOG.md."""

from __future__ import annotations

from pathlib import Path

from zizhu.api.cli.commands import main
from zizhu.api.cli.schema_changes import breaking_changes, latest_release, unreleased_section

ROOT = Path(__file__).resolve().parents[1]

OLD = '''
type Query {
  periods: [String!]!
  run(id: ID!, full: Boolean): Int
}
enum Code { A B }
directive @window on FIELD_DEFINITION
type Extra { x: Int }
'''


def changelog(unreleased: str, older: str = "") -> str:
    return f"# Changelog\n\n## [Unreleased]\n\n{unreleased}\n\n## [0.1.0]\n\n{older}\n"


def test_the_committed_schema_breaks_nothing_unrecorded(capsys):
    code = main(
        [
            "schema-changes",
            "--schema",
            str(ROOT / "schema.graphql"),
            "--against",
            str(latest_release(ROOT / "docs/schema")),
            "--changelog",
            str(ROOT / "CHANGELOG.md"),
        ]
    )
    assert code == 0, capsys.readouterr().out


def test_each_kind_of_break_is_named_by_its_coordinate():
    new = '''
type Query {
  run(id: ID!): String
  count: Int
}
enum Code { A }
'''
    found = {b.coordinate for b in breaking_changes(OLD, new, "")}
    assert found == {"Query.periods", "Query.run", "Code.B", "@window", "Extra"}


def test_a_break_passes_only_when_the_unreleased_section_names_it():
    new = OLD.replace("  periods: [String!]!\n", "")
    (unrecorded,) = breaking_changes(OLD, new, changelog("- nothing to see"))
    assert (unrecorded.coordinate, unrecorded.recorded) == ("Query.periods", False)
    (recorded,) = breaking_changes(OLD, new, changelog("### Removed\n- `Query.periods` (use `Query.run`)"))
    assert recorded.recorded
    # named only under an older release, or as part of a longer name: not recorded
    assert not breaking_changes(OLD, new, changelog("", "- `Query.periods` added"))[0].recorded
    assert not breaking_changes(OLD, new, changelog("- `Query.periodsByYear` added"))[0].recorded


def test_safe_changes_are_no_breaks():
    new = OLD.replace("enum Code { A B }", "enum Code { A B C }").replace("type Extra {", "type Extra {\n  y: String")
    assert breaking_changes(OLD, new, "") == []


def test_the_command_fails_on_an_unrecorded_break(tmp_path, capsys):
    (tmp_path / "old.graphql").write_text(OLD, encoding="utf-8")
    (tmp_path / "new.graphql").write_text(OLD.replace("enum Code { A B }", "enum Code { A }"), encoding="utf-8")
    (tmp_path / "CHANGELOG.md").write_text(changelog("- nothing"), encoding="utf-8")
    args = ["schema-changes", "--schema", str(tmp_path / "new.graphql"), "--against", str(tmp_path / "old.graphql")]
    assert main([*args, "--changelog", str(tmp_path / "CHANGELOG.md")]) == 1
    assert "未记录的不兼容变更 Code.B" in capsys.readouterr().out
    (tmp_path / "CHANGELOG.md").write_text(changelog("### Removed\n- `Code.B`"), encoding="utf-8")
    assert main([*args, "--changelog", str(tmp_path / "CHANGELOG.md")]) == 0


def test_the_latest_release_is_chosen_by_version(tmp_path):
    for version in ("0.9.0", "0.10.0", "0.2.1"):
        (tmp_path / f"release-{version}.graphql").write_text(OLD, encoding="utf-8")
    (tmp_path / "notes.graphql").write_text(OLD, encoding="utf-8")
    assert latest_release(tmp_path) == tmp_path / "release-0.10.0.graphql"
    assert latest_release(tmp_path / "missing") is None


def test_the_unreleased_section_ends_at_the_next_release():
    text = changelog("- new `Query.x`", "- old `Query.y`")
    assert "Query.x" in unreleased_section(text)
    assert "Query.y" not in unreleased_section(text)
    assert unreleased_section("# Changelog\n\n## [0.1.0]\n- `Query.x`\n") == ""
