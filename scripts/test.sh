#!/usr/bin/env bash
# The whole test suite: lint, types, the import floors (lint-imports), unit, integration (real
# server, both drivers), browser, and the migration from Chainlit's PostgreSQL layer (Debian's
# postgresql, installed here when missing). Extra arguments go to pytest, e.g.
# `bash scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --with-browser
bash bench/setup_postgres.sh install

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
# Two workers, each with its own SecantusDB (the session fixture runs per worker): a test
# mostly waits for its server, so two keep both cores busy. The browser tests share the
# example app's data folder and the migration tests one PostgreSQL, so each of those groups
# stays on one worker (tests/conftest.py). `-n 0` among the arguments runs in one process.
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
