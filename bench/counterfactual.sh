#!/usr/bin/env bash
# bench/counterfactual.sh [BUILD_DIR] [USERS]: throughput of model-removal and model-shapley
# (issue 7 target: 1M journeys with L=10 in minutes on 2 cores). Simulates USERS users (default
# 1,650,000, about 1M journeys with 10 campaigns), builds journeys with L=10, trains the
# reference-size model (embedding 20, LSTM 64, controls) for one epoch on 2 threads, then times
# both methods on all journeys with 2 threads. Prints journeys/s, variant rows/s, and CPU
# seconds (user + system, so the figure means something on a shared machine). CF_BENCH_DIR=DIR
# keeps the data; CF_BENCH_REUSE=1 skips the simulation and training when DIR already has them.
set -eu
build=${1:-build}
users=${2:-1650000}
tp="$build/touchpoint"
out=${CF_BENCH_DIR:-$(mktemp -d)}
trap '[ -z "${CF_BENCH_DIR:-}" ] && rm -rf "$out"' EXIT
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
if [ -z "${CF_BENCH_REUSE:-}" ] || [ ! -s "$out/m.bin" ]; then
"$tp" --quiet simulate --users "$users" --user-features --seed 11 --out "$out/imp.parquet" > /dev/null
"$tp" --quiet journeys "$out/imp.parquet" --out "$out/j" --max-len 10 --split 1 > /dev/null
"$tp" --quiet train "$out/j" --out "$out/m.bin" --controls past_purchases,visit_frequency,age_band,region \
  --epochs 1 --embed 20 --hidden 64 --threads 2 > /dev/null
fi
for m in model-removal model-shapley; do
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$out/$m.time" \
    "$tp" --quiet attribute "$out/j" --method "$m" --model "$out/m.bin" --out "$out/c" --threads 2 > "$out/$m.txt"
  t1=$(date +%s.%N)
  cpu=$(awk '{print $1 + $2}' "$out/$m.time")
  n=$(awk '/journeys,/ {print $2; exit}' "$out/$m.txt")
  rows=$(awk '/variant rows/ {for (i = 1; i <= NF; i++) if ($i == "variant") print $(i-1)}' "$out/$m.txt")
  secs=$(awk '/variant rows/ {for (i = 1; i <= NF; i++) if ($i == "s") print $(i-1)}' "$out/$m.txt")
  awk -v m="$m" -v n="$n" -v r="$rows" -v s="$secs" -v w="$(echo "$t1 - $t0" | bc)" -v c="$cpu" 'BEGIN {
    printf "%-14s %9d journeys %10d variant rows  attribution %.1f s (%.0f journeys/s, %.0f rows/s), command %.1f s, CPU %.1f s (%.0f rows per CPU second)\n",
           m, n, r, s, n / s, r / s, w, c, r / c }'
  head -2 "$out/$m.txt" | sed 's/^/    /'
done
