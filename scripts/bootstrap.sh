#!/usr/bin/env bash
# Makes a fresh checkout runnable: a virtualenv with the package and the extras asked for,
# and Debian's chromium for the browser test. Safe to run again; it only adds what is missing.
#   bash scripts/bootstrap.sh                  everything to develop and test (the default)
#   bash scripts/bootstrap.sh --example        only what the example app needs
#   bash scripts/bootstrap.sh --with-browser   the default, plus chromium
set -euo pipefail
cd "$(dirname "$0")/.."

DEVELOP_EXTRAS="embedded,test,bench,migrate"
EXAMPLE_EXTRAS="embedded"
extras="$DEVELOP_EXTRAS"
with_browser=""
for argument in "$@"; do
    case "$argument" in
        --example) extras="$EXAMPLE_EXTRAS" ;;
        --with-browser) with_browser=1 ;;
        *) echo "bootstrap.sh: unknown option $argument" >&2; exit 2 ;;
    esac
done

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi

# One stamp per set of extras: a venv made for the example still gets the test extras the
# first time the tests run. The develop set includes the example's, so it stamps both.
stamp_of() { echo ".venv/.mongo-layer-installed-${1//,/-}"; }
stamp="$(stamp_of "$extras")"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    touch "$stamp"
    if [ "$extras" = "$DEVELOP_EXTRAS" ]; then
        touch "$(stamp_of "$EXAMPLE_EXTRAS")"
    fi
fi

if [ -n "$with_browser" ] && [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
