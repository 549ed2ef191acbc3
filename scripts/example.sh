#!/usr/bin/env bash
# Runs the example chat app on http://127.0.0.1:8000 (demo logins in README.md).
# Uses MONGODB_URI when set, otherwise an embedded SecantusDB server under examples/.data/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --example
cd examples
exec ../.venv/bin/chainlit run app.py --host 127.0.0.1 --port "${PORT:-8000}" --headless "$@"
