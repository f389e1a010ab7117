#!/usr/bin/env bash
# The whole test suite, from a fresh machine: makes .venv, installs dupfix-policy with its test
# extra, starts the servers the integration tests need (none yet), lints, runs pytest.
# The README's test command and CI's .ci/run both run exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${DUPFIX_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"

echo "== ruff"
"$VENV/bin/ruff" check dupfix_policy tests benchmarks examples
echo "== pytest"
exec "$VENV/bin/python" -m pytest "$@"
