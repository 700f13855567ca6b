#!/usr/bin/env bash
# Quick start: set up telespine and start the web app on SQLite with demo data.
source "$(dirname "$0")/_venv.sh" ""
export TELESPINE_ENV="${TELESPINE_ENV:-development}"
exec .venv/bin/telespine serve "$@"
