#!/usr/bin/env bash
# The whole test suite, from a fresh machine: makes .venv, installs dupfix-policy with its test
# extra, starts the servers the integration tests need (two throwaway Samba AD DCs on loopback, via
# scripts/samba-ad-dc.sh: needs root to install and start them), lints, runs pytest.
# The README's test command and CI's .ci/run both run exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${DUPFIX_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[all]" --group test

# Debian's chromium renders the HTML report in tests/test_audit_html.py (headless; no browser
# download). Installed only when missing; the package lists are refreshed only if the install
# fails without them.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== chromium (HTML report tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi

echo "== ruff"
"$VENV/bin/ruff" check dupfix_policy tests benchmarks examples
echo "== import-linter (the layers in pyproject.toml)"
"$VENV/bin/lint-imports" --no-cache
echo "== mypy"
"$VENV/bin/mypy"
if [ -z "${DUPFIX_TEST_LDAP_URL:-}" ]; then
  echo "== Samba AD DCs (LDAP tests)"
  DUPFIX_SAMBA_DIR="$(mktemp -d /tmp/dupfix-samba.XXXXXX)"
  export DUPFIX_SAMBA_DIR
  trap 'bash scripts/samba-ad-dc.sh stop' EXIT
  bash scripts/samba-ad-dc.sh start
  . "$DUPFIX_SAMBA_DIR/env"
fi
echo "== pytest"
"$VENV/bin/python" -m pytest "$@"
