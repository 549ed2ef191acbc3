#!/usr/bin/env bash
# The benchmark in one command: `bash bench/run.sh --size small`; arguments go to bench.run.
# It starts (and installs, if missing) the bench's PostgreSQL and a fresh SecantusDB itself.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    bash scripts/bootstrap.sh
fi
exec .venv/bin/python -m bench.run "$@"
