#!/usr/bin/env bash
# bench/counterfactual.sh [BUILD_DIR] [USERS]: throughput of model-removal and model-shapley
# (issue 7 target: 1M journeys with L=10 in minutes on 2 cores). Simulates USERS users (default
# 1,650,000, about 1M journeys with 10 campaigns), builds journeys with L=10, trains the
# reference-size model (embedding 20, LSTM 64, controls) for one epoch on 2 threads, then times
# both methods on all journeys with 2 threads. Prints journeys/s and variant rows/s.
set -eu
build=${1:-build}
users=${2:-1650000}
tp="$build/touchpoint"
out=${CF_BENCH_DIR:-$(mktemp -d)}
trap '[ -z "${CF_BENCH_DIR:-}" ] && rm -rf "$out"' EXIT
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
"$tp" --quiet simulate --users "$users" --user-features --seed 11 --out "$out/imp.parquet" > /dev/null
"$tp" --quiet journeys "$out/imp.parquet" --out "$out/j" --max-len 10 --split 1 > /dev/null
"$tp" --quiet train "$out/j" --out "$out/m.bin" --controls past_purchases,visit_frequency,age_band,region \
  --epochs 1 --embed 20 --hidden 64 --threads 2 > /dev/null
for m in model-removal model-shapley; do
  t0=$(date +%s.%N)
  "$tp" --quiet attribute "$out/j" --method "$m" --model "$out/m.bin" --out "$out/c" --threads 2 > "$out/$m.txt"
  t1=$(date +%s.%N)
  n=$(awk '/journeys,/ {print $2; exit}' "$out/$m.txt")
  rows=$(awk '/variant rows/ {for (i = 1; i <= NF; i++) if ($i == "variant") print $(i-1)}' "$out/$m.txt")
  secs=$(awk '/variant rows/ {for (i = 1; i <= NF; i++) if ($i == "s") print $(i-1)}' "$out/$m.txt")
  awk -v m="$m" -v n="$n" -v r="$rows" -v s="$secs" -v w="$(echo "$t1 - $t0" | bc)" 'BEGIN {
    printf "%-14s %9d journeys %10d variant rows  attribution %.1f s (%.0f journeys/s, %.0f rows/s), command %.1f s\n",
           m, n, r, s, n / s, r / s, w }'
  head -2 "$out/$m.txt" | sed 's/^/    /'
done
