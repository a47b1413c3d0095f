"""Rules visible in the schema: `@requires(role: [...])` enforced by its gate, the `ErrorCode` enum,
and API types built from domain objects by one pattern (`from_domain`)."""

from __future__ import annotations

import dataclasses

import pytest
import strawberry
from graphql import build_schema, print_ast

from zizhu.api.gql.errors import ErrorCode, error_codes
from zizhu.api.gql.from_domain import FromDomain
from zizhu.api.schema import schema
from zizhu.domain.accounts.users import issue_token
from zizhu.domain.errors import DomainError
from zizhu.domain.models import Account, AuditEntry


def _directives() -> dict[str, dict[str, str]]:
    """Root field → {directive: its arguments as printed}, read back from the exported SDL."""
    built = build_schema(schema.as_str())
    out = {}
    for root in (built.query_type, built.mutation_type):
        for name, field in root.fields.items():
            out[name] = {
                d.name.value: ", ".join(f"{a.name.value}: {print_ast(a.value)}" for a in d.arguments)
                for d in field.ast_node.directives or ()
            }
    return out


def _all_subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _all_subclasses(sub))]


def test_the_sdl_shows_who_may_call_a_field():
    assert "directive @requires(role: [Role!]!) on FIELD_DEFINITION" in schema.as_str()
    directives = _directives()
    for field in ("setTimeWindow", "setPeriod", "disableUser", "setUserPassword", "queueHealth"):
        assert directives[field] == {"requires": "role: [ADMIN]"}, field
    # an authority may recompute its own province
    assert directives["recomputeUnfunded"] == {"requires": "role: [ADMIN, AUTHORITY_OPERATOR]"}
    assert directives["schoolReviewPreschoolRosterEntries"] == {
        "requires": "role: [SCHOOL_REVIEWER]",
        "window": "action: SCHOOL_REVIEW",
    }
    assert directives["authorityReviewPreschoolRosterEntries"] == {
        "requires": "role: [AUTHORITY_OPERATOR]",
        "window": "action: AUTHORITY_REVIEW",
    }
    assert directives["withdrawPreschoolRosterEntries"] == {
        "requires": "role: [SCHOOL_OPERATOR]",
        "window": "action: ENTRY",
    }
    assert directives["reportRegionReason"] == {"requires": "role: [AUTHORITY_OPERATOR]"}
    assert directives["me"] == directives["periods"] == directives["unfundedStudents"] == {}
    for field in ("setProject", "setReasonCode"):  # the catalogue as data
        assert directives[field] == {"requires": "role: [ADMIN]"}, field


async def test_the_gate_refuses_before_the_resolver_runs(gql, world):
    """disableUser has no role check of its own below the API: the gate alone keeps others out."""
    token = issue_token(await Account.get(username="province_op"))
    query = 'mutation { disableUser(username: "school_op") { active } }'
    assert await gql.error_code(query, token=token) == "FORBIDDEN"
    assert (await Account.get(username="school_op")).active
    assert not await AuditEntry.filter(entity_key="school_op").exists()
    admin = issue_token(await Account.get(username="admin"))
    assert (await gql.data(query, token=admin))["disableUser"] == {"active": False}


async def test_the_gate_asks_for_a_sign_in_first(gql, world):
    assert await gql.error_code('mutation { setPeriod(code: "2023-2024-1", forceActive: true) { code } }') == (
        "UNAUTHENTICATED"
    )


def test_the_error_codes_are_one_list_from_the_error_classes():
    values = {v.name for v in ErrorCode}
    assert {cls.code for cls in _all_subclasses(DomainError)} | {"GRAPHQL_VALIDATION", "INTERNAL"} == values
    assert list(error_codes())[:3] == ["VALIDATION", "NOT_FOUND", "FORBIDDEN"]
    sdl = schema.as_str()
    assert '"""不在该动作的时间窗口内"""\n  WINDOW_CLOSED' in sdl


async def test_code_lists_list_the_error_codes(gql, world):
    token = issue_token(await Account.get(username="school_op"))
    items = (await gql.data("{ codeLists { errorCodes { code label } } }", token=token))["codeLists"]["errorCodes"]
    assert {i["code"]: i["label"] for i in items} == error_codes()


# --- one pattern from domain objects to API types ------------------------------------------------
@dataclasses.dataclass
class _Row:
    id: int
    name: str
    secret: str


@strawberry.type(description="示例")
class _Item(FromDomain):
    pk: strawberry.Private[int]
    name: str
    secret: strawberry.Private[str]

    @strawberry.field(description="派生")
    def shout(self) -> str:
        return self.name.upper()


def test_from_domain_copies_fields_and_private_ones_by_name():
    item = _Item.from_domain(_Row(7, "a", "s"), pk=7)
    assert (item.pk, item.name, item.secret, item.shout()) == (7, "a", "s", "A")
    assert _Item.from_domain(_Row(7, "a", "s"), pk=7, name="b").name == "b"


def test_from_domain_refuses_an_unknown_field_or_a_missing_attribute():
    with pytest.raises(TypeError, match="nickname"):
        _Item.from_domain(_Row(7, "a", "s"), pk=7, nickname="x")
    with pytest.raises(AttributeError, match="pk"):
        _Item.from_domain(_Row(7, "a", "s"))
