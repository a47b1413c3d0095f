# Tasks of a developer's day. `make dev` once, then `make lint test`.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: dev test lint format schema migration bench serve

dev:  ## the development install (strict editable: mypy, import-linter and editors follow it) and the git hooks
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test]" --config-settings editable_mode=strict
	$(VENV)/bin/pre-commit install

test:  ## lint, the unit tests once, the integration tests on PostgreSQL and SQLite (the README's test command)
	bash tests/run.sh

lint:  ## ruff, ruff format --check, import-linter, mypy, schema sync
	bash tests/lint.sh

format:  ## format and fix what ruff can
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema:  ## export schema.graphql from the code
	$(VENV)/bin/zizhu export-schema > schema.graphql

migration:  ## a new migration from the models' changes: make migration NAME=short_name
	$(VENV)/bin/tortoise makemigrations --name $(NAME)

bench:  ## every benchmark at toy size (as CI runs them); at scale see README "Benchmarks"
	$(PY) bench/import_special_groups.py --rows 2000
	$(PY) bench/comparison.py --members 2000 --scales 1000,2000
	$(PY) bench/read_path.py --scale 0.002 --seconds 2 --max-seconds 5 --clients 4 --alone 3
	$(PY) bench/attack_load.py --clients 4 --seconds 2
	$(PY) bench/export_unfunded_list.py --rows 2000

serve:  ## the API on SQLite with demo data
	$(VENV)/bin/zizhu demo && $(VENV)/bin/zizhu serve
