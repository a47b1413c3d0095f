#!/bin/sh
# The image's entrypoint: one word per role, so compose files stay short.
#   api                the GraphQL API on 0.0.0.0:${ZIZHU_PORT:-8000} (migrations are the migrate role's job)
#   worker             the arq worker (02:00 comparison, on-demand jobs)
#   migrate            apply migrations and seed code lists, then exit
#   healthcheck-api    exit 0 when this API instance is ready (/readyz: database and Redis)
#   healthcheck-worker exit 0 when a worker in this container sent a recent heartbeat
#   check-deployment   exit 0 when the API is ready and some worker is alive (/readyz?worker=1): for alerting
#   zizhu ARGS...      any other zizhu command (user add, import, ...)
set -eu

role="${1:-api}"
[ "$#" -gt 0 ] && shift

case "$role" in
  api)
    exec zizhu serve --host 0.0.0.0 --port "${ZIZHU_PORT:-8000}" --no-migrate "$@"
    ;;
  worker)
    exec zizhu worker "$@"
    ;;
  migrate)
    exec zizhu migrate "$@"
    ;;
  healthcheck-api)
    exec python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:${ZIZHU_PORT:-8000}/readyz', timeout=3).status != 200)"
    ;;
  check-deployment)
    exec python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:${ZIZHU_PORT:-8000}/readyz?worker=1', timeout=3).status != 200)"
    ;;
  healthcheck-worker)
    exec zizhu worker --check --this-host
    ;;
  zizhu)
    exec zizhu "$@"
    ;;
  *)
    echo "zizhu-entrypoint: unknown role '$role' (api, worker, migrate, healthcheck-api, healthcheck-worker, check-deployment, zizhu ...)" >&2
    exit 64
    ;;
esac
