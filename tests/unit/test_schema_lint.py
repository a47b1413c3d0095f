"""Schema lint: every type, field, argument, input field and enum value of the exported schema has a
description (enum values: their Chinese label), and `codeLists` lists every enum with its labels."""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
)

from zizhu.api.schema import schema

# Deliberate exceptions, each with its reason. Keep this list short.
EXCLUDED = {
    # GraphQL's own scalars are described by the specification, not by this schema
    "String",
    "Int",
    "Float",
    "Boolean",
    "ID",
}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def undescribed() -> list[str]:
    findings = []
    for name, t in schema._schema.type_map.items():
        if name.startswith("__") or name in EXCLUDED:
            continue
        if not t.description:
            findings.append(f"type {name}")
        fields = t.fields if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)) else {}
        for field_name, field in fields.items():
            where = f"{name}.{field_name}"
            if where in EXCLUDED:
                continue
            if not field.description:
                findings.append(f"field {where}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description and f"{where}({arg_name})" not in EXCLUDED:
                    findings.append(f"argument {where}({arg_name})")
        if isinstance(t, GraphQLEnumType):
            for value_name, value in t.values.items():
                if not CHINESE.search(value.description or ""):
                    findings.append(f"enum value {name}.{value_name} (no Chinese label)")
    return findings


def test_everything_in_the_schema_is_described():
    assert undescribed() == []


def test_the_lint_finds_what_is_missing():
    field = schema._schema.query_type.fields["periods"]
    saved, field.description = field.description, None
    try:
        assert undescribed() == ["field Query.periods"]
    finally:
        field.description = saved


def test_the_exported_sdl_carries_the_descriptions():
    sdl = schema.as_str()
    assert '"""学前教育"""\n  PRESCHOOL' in sdl
    assert "每页条数，1 到 500" in sdl


def test_code_lists_cover_every_enum_with_its_labels():
    enums = {
        name: t
        for name, t in schema._schema.type_map.items()
        if isinstance(t, GraphQLEnumType) and not name.startswith("__")
    }
    item_fields = [f for f in schema._schema.type_map["CodeLists"].fields]
    selection = " ".join(f"{f} {{ code label }}" for f in item_fields if f not in ("reasons", "projects"))
    result = schema.execute_sync(f"{{ codeLists {{ {selection} }} }}")
    assert result.errors is None
    lists = {tuple((i["code"], i["label"]) for i in items) for items in result.data["codeLists"].values()}
    for name, enum in enums.items():
        expected = tuple((value_name, value.description) for value_name, value in enum.values.items())
        assert expected in lists, f"codeLists has no list for enum {name}"
    assert not isinstance(schema._schema.type_map["Region"].fields["level"].type.of_type, GraphQLScalarType)
