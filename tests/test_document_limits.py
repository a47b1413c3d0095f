"""Bounded validation work: document size, tokens, nesting and fragment spreads are checked before
parsing; depth and aliases are computed once per fragment; every error leaves with a code."""

from __future__ import annotations

from zizhu.api.gql import document_limits


def fan_out(levels: int) -> str:
    """Each fragment spreads the next twice: 2^levels spreads once expanded."""
    body = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }}\n{body}\nfragment F{levels} on Query {{ __typename }}"


def chain(length: int) -> str:
    body = "\n".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(length))
    return f"query {{ ...F0 }}\n{body}\nfragment F{length} on Query {{ __typename }}"


def limit_of(body: dict) -> str | None:
    assert body.get("errors"), body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION", error
    return error["extensions"].get("limit")


async def test_fragment_fan_out_costs_one_visit_per_fragment(gql, monkeypatch):
    visits = {"n": 0}
    original = document_limits._selection_cost

    def counted(*args, **kwargs):
        visits["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(document_limits, "_selection_cost", counted)
    levels = 28  # 56 spreads, under the spread bound; 2^28 once expanded
    body = await gql.post(fan_out(levels))
    assert body == {"data": {"__typename": "Query"}}
    assert visits["n"] <= levels + 2  # the operation and each fragment once


async def test_too_many_fragment_spreads_are_refused_before_validation(gql, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("validation ran")

    monkeypatch.setattr(document_limits, "_selection_cost", must_not_run)
    assert limit_of(await gql.post(chain(document_limits.MAX_FRAGMENT_SPREADS + 1))) == "fragmentSpreads"
    assert limit_of(await gql.post(fan_out(40))) == "fragmentSpreads"
    # 2,000 chained fragments used to end in an uncoded "maximum recursion depth exceeded".
    assert limit_of(await gql.post(chain(2000))) in {"fragmentSpreads", "documentChars"}


async def test_document_size_tokens_and_nesting_are_bounded(gql):
    huge = "{ " + "me { username } " * 20000 + "}"  # 320 KB: refused as a request body
    assert limit_of(await gql.post(huge)) == "requestBytes"
    long = "{ " + "me { username } " * 2500 + "}"  # 40 KB
    assert limit_of(await gql.post(long)) == "documentChars"
    many_tokens = "{ a(x: [" + "1 " * (document_limits.MAX_TOKENS + 1) + "]) }"
    assert len(many_tokens) < document_limits.MAX_DOCUMENT_CHARS
    assert limit_of(await gql.post(many_tokens)) == "tokens"
    nested = "{" * 500 + "}" * 500
    assert limit_of(await gql.post(nested)) == "nesting"


async def test_depth_counts_through_fragments(gql):
    def nested(levels: int) -> str:
        return "children { " * levels + "code" + " }" * levels

    allowed = "query { region { ...R } } fragment R on Region { " + nested(document_limits.MAX_DEPTH - 1) + " }"
    body = await gql.post(allowed)
    # within the depth bound: refused only by the cost of eleven nested lists
    assert body["errors"][0]["extensions"].get("limit") == "cost"
    too_deep = "query { region { ...R } } fragment R on Region { " + nested(document_limits.MAX_DEPTH) + " }"
    assert limit_of(await gql.post(too_deep)) == "depth"


async def test_aliases_are_counted_through_repeated_fragments(gql):
    doc = (
        "query { ...A ...A2 } fragment A on Query { "
        + " ".join(f"a{i}: __typename" for i in range(20))
        + " } fragment A2 on Query { ...A }"
    )
    assert limit_of(await gql.post(doc)) == "aliases"


async def test_uncoded_exceptions_escaping_the_operation_are_masked(gql, monkeypatch):
    def explode(self):
        raise RecursionError("maximum recursion depth exceeded while secret")
        yield

    # An exception raised by a schema extension escapes the operation's own error handling.
    monkeypatch.setattr(document_limits.DocumentBounds, "on_validate", explode)
    body = await gql.post("{ __typename }")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL"
    assert "recursion" not in error["message"] and "secret" not in error["message"]
