#!/usr/bin/env bash
# Install the project with its test extras into .venv, run the static checks, then the suite:
# the database-free tests (tests/unit) once, the integration tests against PostgreSQL (a fresh
# database per run) and against the embedded SQLite default, the system tests (-m system) once,
# in the PostgreSQL pass.
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth for user postgres) and Redis on 127.0.0.1:6379.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# strict editable mode: a link tree that mypy, import-linter and editors can follow
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]" --config-settings editable_mode=strict

# The compose linter (tests/test_container.py) comes from npm; without npm that test is skipped.
DCLINT_VERSION=3.1.0
if [ ! -x .tools/node_modules/.bin/dclint ]; then
  if command -v npm >/dev/null 2>&1; then
    mkdir -p .tools
    npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error "dclint@$DCLINT_VERSION" \
      || echo "npm could not install dclint: the compose lint test will be skipped" >&2
  else
    echo "npm not found: the compose lint test (dclint) will be skipped" >&2
  fi
fi

pg=${ZIZHU_TEST_PG:-postgres://postgres@127.0.0.1:5432}
if ! .venv/bin/python - "$pg" <<'PY'
import asyncio, sys, asyncpg
async def main():
    c = await asyncpg.connect(sys.argv[1] + "/postgres", timeout=5); await c.close()
asyncio.run(main())
PY
then
  echo "PostgreSQL is not reachable at $pg (see README: Running the tests)" >&2; exit 1
fi
if ! .venv/bin/python -c "import redis,sys; redis.Redis.from_url('${ZIZHU_TEST_REDIS:-redis://127.0.0.1:6379/15}').ping()" 2>/dev/null; then
  echo "Redis is not reachable at 127.0.0.1:6379 (see README: Running the tests)" >&2; exit 1
fi

status=0
# pytest exits 5 when a selection (e.g. `-k roster`) leaves a pass nothing to run: not a failure
outcome() { local rc=$1; [ "$rc" -eq 5 ] && rc=0; [ "$rc" -eq 0 ] || status=$rc; }
pass_() { local rc=0; "$@" || rc=$?; outcome "$rc"; }
lane_rc() { cat "$logs/$1.rc" 2>/dev/null || echo 1; }
unit() { .venv/bin/python -m pytest -q tests/unit "$@"; }
postgres() { ZIZHU_TEST_DB=postgres .venv/bin/python -m pytest -q --ignore=tests/unit "$@"; }
sqlite() { ZIZHU_TEST_DB=sqlite .venv/bin/python -m pytest -q --ignore=tests/unit -m "not system" "$@"; }
UNIT="=== unit tests (tests/unit: no database, run once) ==="
PG="=== integration and system tests on PostgreSQL ==="
SQ="=== integration tests on SQLite (the system tests ran on PostgreSQL) ==="

echo "=== lint ==="
bash tests/lint.sh || status=$?
if [ -n "${ZIZHU_TEST_SERIAL:-}" ]; then  # one pass after the other, with live output
  echo "$UNIT"; pass_ unit "$@"
  echo "$PG"; pass_ postgres "$@"
  echo "$SQ"; pass_ sqlite "$@"
  exit $status
fi
# Two lanes at once (each pass is one process; the two databases share nothing): PostgreSQL, and
# the unit tests then SQLite. Each lane's output is shown when it ends.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
( rc=0; postgres "$@" >"$logs/pg" 2>&1 || rc=$?; echo $rc >"$logs/pg.rc" ) &
lane_pg=$!
( rc=0; unit "$@" >"$logs/unit" 2>&1 || rc=$?; echo $rc >"$logs/unit.rc"
  rc=0; sqlite "$@" >"$logs/sqlite" 2>&1 || rc=$?; echo $rc >"$logs/sqlite.rc" ) &
lane_sqlite=$!
wait $lane_sqlite || true
echo "$UNIT"; cat "$logs/unit"; outcome "$(lane_rc unit)"
echo "$SQ"; cat "$logs/sqlite"; outcome "$(lane_rc sqlite)"
wait $lane_pg || true
echo "$PG"; cat "$logs/pg"; outcome "$(lane_rc pg)"
exit $status
