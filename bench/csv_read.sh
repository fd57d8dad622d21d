#!/usr/bin/env bash
# csv_read.sh: CSV read throughput of tp_csv_read_file vs pandas.read_csv on the same
# impressions-like file (uid,timestamp,campaign,conversion). Usage: bench/csv_read.sh [BUILD] [ROWS]
# Env: CSV_BENCH_DIR (where the generated file is kept, default /tmp/tp_bench), REPEAT (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rows=${2:-10000000}
dir=${CSV_BENCH_DIR:-/tmp/tp_bench}
repeat=${REPEAT:-3}
mkdir -p "$dir"
csv="$dir/impressions_${rows}.csv"
if [ ! -s "$csv" ]; then
  echo "csv_read: generating $csv ($rows rows)" >&2
  /usr/bin/python3 bench/csv_gen_impressions.py "$csv.tmp" "$rows" && mv "$csv.tmp" "$csv"
fi
bin="$build/bench/csv_read_bench" # built by the Makefile's bench rule from bench/csv_read_bench.c
make --no-print-directory BUILD="$build" "$bin" >&2
ours=$("$bin" "$csv" "$repeat")
echo "$ours"
theirs=$(/usr/bin/python3 bench/csv_read_pandas.py "$csv" "$repeat")
echo "$theirs"
rate() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
while read -r line; do
  mode=$(awk '{print $2}' <<<"$line")
  awk -v a="$(rate rows_per_s "$ours")" -v b="$(rate rows_per_s "$line")" \
      -v ac="$(rate cpu_rows_per_s "$ours")" -v bc="$(rate cpu_rows_per_s "$line")" -v m="$mode" \
    'BEGIN { printf "csv_read: touchpoint %.0f rows/s, pandas(%s) %.0f rows/s, ratio %.2fx (CPU time: %.0f vs %.0f rows/s, %.2fx)\n", a, m, b, a / b, ac, bc, ac / bc }'
done <<<"$theirs"
