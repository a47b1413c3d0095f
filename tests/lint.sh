#!/usr/bin/env bash
# The static checks every change passes (also run by tests/run.sh, `make lint` and pre-commit):
# ruff (lint and format), import-linter (the layering contracts in .importlinter), mypy, and the
# schema's sync with the code. Needs the development install (`make dev` or tests/run.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
step() { echo "--- $*"; "$@" || status=1; }
step .venv/bin/ruff check .
step .venv/bin/ruff format --check .
step .venv/bin/lint-imports --no-cache
if grep -q '^\[tool.mypy\]' pyproject.toml; then step .venv/bin/mypy; fi
echo "--- schema.graphql in sync with the code"
if ! .venv/bin/zizhu export-schema | diff -q - schema.graphql >/dev/null; then
  echo "schema.graphql is out of date: run 'make schema'" >&2; status=1
fi
exit $status
