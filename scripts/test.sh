#!/usr/bin/env bash
# Quick start: set up everything the tests need (packages, Chromium) and run the whole suite,
# on SQLite and on PostgreSQL (127.0.0.1:5432, or TELESPINE_TEST_PG_URL), in parallel workers.
#   TELESPINE_CHROMIUM=/path/to/chromium   use that browser instead of Debian's /usr/bin/chromium
#   TELESPINE_TEST_WORKERS=1               one process (default: one worker per CPU core)
source "$(dirname "$0")/_venv.sh" "dev"
CHROMIUM="${TELESPINE_CHROMIUM:-/usr/bin/chromium}"
need_apt=()
[ -x "$CHROMIUM" ] || need_apt+=(chromium fonts-dejavu-core)
command -v turnserver >/dev/null 2>&1 || need_apt+=(coturn)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need_apt+=(nginx-light)  # the tested reverse-proxy config
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ -n "${TELESPINE_CHROMIUM:-}" ] && [ ! -x "$CHROMIUM" ]; then
    echo "TELESPINE_CHROMIUM=$CHROMIUM is not an executable browser." >&2
    exit 1
  fi
  echo "==> installing Debian packages for the browser and video tests: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"; } \
      >.venv/log/apt.log 2>&1 || { tail -n 20 .venv/log/apt.log >&2; echo "could not install ${need_apt[*]}" >&2; exit 1; }
  else
    echo "No apt-get here: install Chromium at /usr/bin/chromium (or set TELESPINE_CHROMIUM), coturn and nginx." >&2
    exit 1
  fi
fi
"$(dirname "$0")/fhir_peers.sh"  # the FHIR R4 JSON schema, FHIR.js and LHC-Forms from npm, for tests/fhir
export TELESPINE_CHROMIUM="$CHROMIUM" TELESPINE_REQUIRE_BROWSER="${TELESPINE_REQUIRE_BROWSER:-1}"
# Parallel workers unless the caller chose (-n, -p no:xdist) or asked for one process.
workers=(-n "${TELESPINE_TEST_WORKERS:-auto}")
for arg in "$@"; do
  case "$arg" in -n|-n*|--numprocesses*|no:xdist) workers=() ;; esac
done
[ "${TELESPINE_TEST_WORKERS:-}" = "1" ] && workers=()
exec .venv/bin/python -m pytest "${workers[@]}" "$@"
