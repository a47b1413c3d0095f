"""Logs: every logged value is bounded and no full ID number reaches any log line."""

from __future__ import annotations

import logging

from tests.support.world import student_id


async def test_unexpected_error_log_masks_id_numbers_and_bounds_values(gql, monkeypatch, caplog):
    from zizhu.domain.models import ReasonCode

    full = student_id(7)
    huge = "u" * 2_000_000

    def unique_violation(cls):
        raise RuntimeError(f'duplicate key value violates unique constraint DETAIL: Key (id_number)=({full}) {huge}')

    monkeypatch.setattr(ReasonCode, "all", classmethod(unique_violation))
    with caplog.at_level(logging.INFO):
        body = await gql.post("{ codeLists { reasons { code } } }")
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    text = caplog.text
    assert "duplicate key" in text  # the fault is still logged, with its trace
    assert full not in text and full[:6] + "********" + full[14:] in text
    assert len(text) < 40_000


async def test_any_logger_is_redacted(gql, caplog):
    # The app installs the redaction for every logger of the process, not only its own.
    full = student_id(8)
    with caplog.at_level(logging.INFO):
        logging.getLogger("tortoise.db_client").info("INSERT ... params %s %s", [full], "p" * 100_000)
        try:
            raise ValueError(full)
        except ValueError:
            logging.getLogger("uvicorn.error").exception("failed for %s", full)
    assert full not in caplog.text
    assert all(len(r.getMessage()) < 3_000 for r in caplog.records)


async def test_oversized_username_is_refused_with_a_short_log(gql, world, caplog):
    query = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
    with caplog.at_level(logging.INFO):
        body = await gql.post(query, {"u": "x" * 200_000, "p": "whatever"})
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION", "argument": "username"}
    assert len(caplog.text) < 5_000
