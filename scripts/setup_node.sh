#!/usr/bin/env bash
# setup_node.sh: node + DuckDB's node package (@duckdb/node-api), the independent Parquet oracle
# used by tests/parquet_duckdb_smoke.sh and bench/parquet_write_duckdb.mjs. Idempotent and silent
# when everything is present: Debian's nodejs/npm only if node is missing, the npm package into
# build/node only if it is not there yet.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup_node: installing nodejs npm (Debian)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

if [ ! -f "$repo/build/node/node_modules/@duckdb/node-api/package.json" ]; then
  echo "setup_node: installing @duckdb/node-api into build/node"
  mkdir -p "$repo/build/node"
  npm install --no-audit --no-fund --loglevel=error --prefix "$repo/build/node" @duckdb/node-api >/dev/null
fi
