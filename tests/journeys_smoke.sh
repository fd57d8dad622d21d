#!/usr/bin/env bash
# journeys_smoke.sh BUILD_DIR: `touchpoint journeys` and `touchpoint encode` end to end on the real
# Criteo rows: outputs present, counts as computed independently (911 users, 924 journeys, 76
# conversions), exit codes 0/1/2, and no temporary files left behind.
set -eu
build=$1
tp="$build/touchpoint"
data="${TP_SHARED_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}"
criteo="$data/deepattribution/raw_impressions_criteo_head1000.parquet"
if [ ! -f "$criteo" ]; then
  criteo="$(cd "$(dirname "$0")/../../.." 2>/dev/null && pwd)/shared/data/deepattribution/raw_impressions_criteo_head1000.parquet"
fi
[ -f "$criteo" ] || { echo "shared data not found: skipping"; exit 0; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$tp" journeys --help | grep -q -- "--max-len"
set +e
"$tp" journeys "$criteo" > /dev/null 2>&1; [ $? -eq 2 ] || { echo "missing --out should exit 2"; exit 1; }
"$tp" journeys "$out/nope.parquet" --out "$out/x" 2> "$out/err"; [ $? -eq 1 ] || { echo "missing input should exit 1"; exit 1; }
set -e
grep -q "touchpoint: error:" "$out/err"

"$tp" journeys "$criteo" --out "$out/j" --memory 1M > "$out/summary"
grep -q "journeys      924, 76 converting" "$out/summary"
grep -q "911 users" "$out/summary"
for f in train.parquet val.parquet test.parquet mapper.json stats.json; do [ -s "$out/j/$f" ]; done
[ "$(ls -A "$out/j" | wc -l)" -eq 5 ] || { echo "unexpected files in the output:"; ls -A "$out/j"; exit 1; }
grep -q '"journeys": 924' "$out/j/stats.json"
grep -q '"10341182"' "$out/j/mapper.json"

"$tp" journeys "$criteo" --out "$out/all" --split 1 --max-len 3 > /dev/null
[ -s "$out/all/all.parquet" ] && [ ! -e "$out/all/train.parquet" ]
# Re-running with the other layout into the same folder leaves no stale split files behind.
"$tp" journeys "$criteo" --out "$out/all" > /dev/null
[ ! -e "$out/all/all.parquet" ] && [ -s "$out/all/train.parquet" ]
"$tp" journeys "$criteo" --out "$out/all" --split 1 > /dev/null
[ -s "$out/all/all.parquet" ] && [ ! -e "$out/all/train.parquet" ] && [ ! -e "$out/all/test.parquet" ]

"$tp" encode "$out/j" --out "$out/onehot.parquet" | grep -q "924 journeys, 210 one-hot columns"
[ -s "$out/onehot.parquet" ]
echo "journeys smoke ok"
