# Sourced by the quick-start scripts: finds Python 3.11+, makes .venv and installs telespine into it.
# Usage: source scripts/_venv.sh [extras]   (extras: "dev", "dev,bench", or empty)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.13 python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$cand"; break
    fi
  done
fi
if [ -z "$PY" ]; then
  echo "telespine needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PY"
  "$PY" -m venv .venv
fi
# pip's own output is long; keep it in a log and show it only when something fails.
mkdir -p .venv/log
spec="."
[ -n "${1:-}" ] && spec=".[${1}]"
stamp=".venv/log/installed-$(echo "$spec" | tr -c 'a-z0-9' '_')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing telespine $spec into .venv (first run takes a few minutes)"
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e "$spec"; } >.venv/log/pip.log 2>&1; then
    tail -n 40 .venv/log/pip.log >&2
    echo "pip install failed; full log in .venv/log/pip.log" >&2
    exit 1
  fi
  touch "$stamp"
fi
