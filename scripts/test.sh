#!/usr/bin/env bash
# The whole test suite: lint, types, unit, integration (real server, both drivers), browser,
# and the migration from Chainlit's PostgreSQL layer (Debian's postgresql, installed here when
# missing). Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --with-browser
bash bench/setup_postgres.sh install

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
