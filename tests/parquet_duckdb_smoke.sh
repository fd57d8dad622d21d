#!/usr/bin/env bash
# parquet_duckdb_smoke.sh BUILD_DIR: files written by our Parquet writer (every type, nulls, edge
# values, 0 rows, many row groups and pages, every codec, page v2, dictionary fallback; produced
# by `tp_tests parquet_write` with TP_PQ_OUT) are read by DuckDB through node and compared value
# for value with what the C test says it wrote; then DuckDB's view of the metadata (logical
# types, statistics, encodings, key/value metadata) is checked against hand-derived values.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
repo=$(pwd)

scripts/setup_node.sh
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP parquet_duckdb_smoke: node is not installed and scripts/setup_node.sh could not install it"
  exit 0
fi
oracle="node $repo/tests/duckdb_oracle.mjs"

dir=$(mktemp -d /tmp/tp_pq_smoke.XXXXXX)
trap 'rm -rf "$dir"' EXIT

TP_PQ_OUT="$dir" "$build/tp_tests" parquet_write >"$dir/tests.log" 2>&1 || {
  cat "$dir/tests.log"; echo "tp_tests parquet_write failed"; exit 1; }
n=$(ls "$dir"/*.expected.jsonl | wc -l)
[ "$n" -ge 18 ] || { echo "expected at least 18 cases, got $n"; exit 1; }

$oracle compare-dir "$dir" | tail -n 1

# ---- metadata as DuckDB sees it ----
meta=$($oracle meta "$dir/types_kv.parquet")
want=(
  # chunk, row group, rows, column, physical type, min, max, null count, codec, encodings, values, dict page
  '["chunk","0","200","b","BOOLEAN","false","true","29","SNAPPY","PLAIN, RLE","200",false]'
  '["chunk","0","200","i32","INT32","-2147483648","2147483647","29","SNAPPY","PLAIN, RLE","200",false]'
  '["chunk","0","200","i64","INT64","-9223372036854775808","9223372036854775807","29","SNAPPY","PLAIN, RLE","200",false]'
  '["chunk","0","200","s","BYTE_ARRAY","","🎉 emoji","29","SNAPPY","PLAIN, RLE, RLE_DICTIONARY","200",true]'
  '["chunk","0","200","ts_ms","INT64","1969-12-31 23:59:59.999+00","9999-12-31 23:59:59.999+00","29","SNAPPY","PLAIN, RLE","200",false]'
  '["chunk","0","200","ts_s","INT64","1969-12-31 00:00:00+00","2100-01-01 00:00:00+00","29","SNAPPY","PLAIN, RLE","200",false]'
  '["chunk","0","200","d","INT32","0001-01-01","9999-12-31","29","SNAPPY","PLAIN, RLE","200",false]'
  '["schema","s","BYTE_ARRAY","OPTIONAL","UTF8","StringType()"]'
  '["schema","by","BYTE_ARRAY","OPTIONAL",null,null]'
  '["schema","ts_us","INT64","OPTIONAL","TIMESTAMP_MICROS","TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))"]'
  '["schema","ts_ns","INT64","OPTIONAL",null,"TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=<null>, NANOS=NanoSeconds()))"]'
  '["schema","d","INT32","OPTIONAL","DATE","DateType()"]'
  '["kv","origin","touchpoint test"]'
  '["kv","note","ünïcode"]'
)
for line in "${want[@]}"; do
  grep -qxF -- "$line" <<<"$meta" || { echo "types_kv.parquet metadata lacks: $line"; echo "$meta"; exit 1; }
done
grep -q '^\["file","touchpoint [0-9.]*","200","1"\]$' <<<"$meta" || { echo "bad created_by/rows: $meta"; exit 1; }

# streaming: 9007 rows in row groups of 1000; the first holds ids -1000000 .. 6911081, v's min is -0.0
meta=$($oracle meta "$dir/stream.parquet")
grep -qxF '["file","touchpoint '"$(cat VERSION)"'","9007","10"]' <<<"$meta" || { echo "stream: bad file metadata"; echo "$meta" | grep file; exit 1; }
grep -qxF '["chunk","0","1000","id","INT64","-1000000","6911081","0","ZSTD","PLAIN, RLE","1000",false]' <<<"$meta" \
  || { echo "stream: bad id stats"; echo "$meta" | head -3; exit 1; }
grep -qxF '["chunk","9","7","v","DOUBLE","1125.0","1125.75","0","ZSTD","PLAIN, RLE","7",false]' <<<"$meta" \
  || { echo "stream: bad last row group"; echo "$meta" | tail -4; exit 1; }
grep -q '"v","DOUBLE","-0.0","124.875"' <<<"$meta" || { echo "stream: zero min must be -0.0"; exit 1; }

# dictionary fallback: PLAIN strings, no dictionary page; under the limit: dictionary
$oracle meta "$dir/dict_fallback.parquet" | grep -q '"u","BYTE_ARRAY",.*"PLAIN, RLE","5000",false\]' \
  || { echo "dict_fallback: expected PLAIN without dictionary"; exit 1; }
$oracle meta "$dir/dict_used.parquet" | grep -q '"u","BYTE_ARRAY",.*"UNCOMPRESSED","PLAIN, RLE, RLE_DICTIONARY","5000",true\]' \
  || { echo "dict_used: expected a dictionary"; exit 1; }
for c in none:UNCOMPRESSED snappy:SNAPPY gzip:GZIP zstd:ZSTD brotli:BROTLI lz4raw:LZ4_RAW; do
  $oracle meta "$dir/codec_${c%%:*}.parquet" | grep -q "\"${c##*:}\"" || { echo "codec_${c%%:*}: codec is not ${c##*:}"; exit 1; }
done
echo "parquet_duckdb_smoke: $n files read back identically by DuckDB; metadata checks passed"
