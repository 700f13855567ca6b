#!/usr/bin/env bash
# Quick start: set up everything the tests need (packages, Chromium) and run the whole suite,
# on SQLite and on PostgreSQL (127.0.0.1:5432, or TELESPINE_TEST_PG_URL).
source "$(dirname "$0")/_venv.sh" "dev"
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium for the browser tests"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core; } \
      >.venv/log/apt.log 2>&1 || { tail -n 20 .venv/log/apt.log >&2; echo "could not install chromium" >&2; exit 1; }
  else
    echo "No apt-get here: install Chromium at /usr/bin/chromium (or set TELESPINE_CHROMIUM)." >&2
    exit 1
  fi
fi
"$(dirname "$0")/fhir_peers.sh"  # the FHIR R4 JSON schema from npm, for tests/fhir
exec .venv/bin/python -m pytest "$@"
