#!/usr/bin/env bash
# run.sh BUILD: every benchmark, each side by side with the peer a user would otherwise use on the
# same machine (DuckDB for Parquet, pandas for CSV and journeys), on ~10M simulated impressions.
# Results go to stdout and to BUILD/bench/results.txt; docs/performance.md quotes them.
# Env: BENCH_USERS (default 500000 users, about 10M impressions), BENCH_DIR (data, default
# BUILD/bench/data, kept between runs so a second run skips generation).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
users=${BENCH_USERS:-500000}
data=${BENCH_DIR:-$build/bench/data}
mkdir -p "$data"
out="$build/bench/results.txt"
exec > >(tee "$out") 2>&1
tp="$build/touchpoint"
echo "touchpoint bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -m)"

echo; echo "== simulate: $users users (impressions/s)"
imp="$data/impressions_${users}.parquet"
if [ ! -s "$imp" ]; then
  /usr/bin/time -f "simulate wall %e s, cpu %U+%S s, peak %M KB" \
    "$tp" simulate --users "$users" --seed 42 --out "$imp" --truth "$data/truth_${users}.json"
else
  echo "(reusing $imp)"
fi
rows=$("$tp" inspect "$imp" | sed -n 's/^rows: //p')
echo "impressions: $rows"

echo; echo "== Parquet read and write: touchpoint vs DuckDB"
node bench/parquet_read_duckdb.mjs "$imp"
echo; echo "== Parquet write (synthetic 10M rows): touchpoint vs DuckDB COPY TO"
BUILD="$build" node bench/parquet_write_duckdb.mjs 10000000

echo; echo "== CSV read: touchpoint vs pandas.read_csv"
CSV_BENCH_DIR="$data" bench/csv_read.sh "$build" 10000000

echo; echo "== journeys: touchpoint vs pandas"
WORK="$data/journeys" bench/journeys.sh "$build" 10000000

echo; echo "== attribute --method all on 10M journeys (in memory)"
"$build/bench/bench_attribute" 10000000 200 2

echo; echo "== propensity features on 10M events: touchpoint vs pandas"
WORK="$data/features" bench/features.sh "$build" 10000000
