#!/usr/bin/env bash
# similarity.sh BUILD: lookalike similarity throughput against the machine's sgemm peak, and an
# end-to-end extension on 1M users x 1,000 seeds (synthetic .tpsm score table, 100 keywords) by
# `touchpoint lookalike extend` and by the numpy peer (bench/similarity_numpy.py), with the ratio
# and the overlap of the two selected audiences.
# Env: SIM_USERS (1000000), SIM_SEEDS (1000), SIM_KEYWORDS (100), SIM_M (10000), SIM_TOP_N (10),
#      SIM_THREADS (nproc), SIM_DIR (data folder, default BUILD/bench/similarity; kept between runs).
# On a shared machine, wall times vary with load; CPU seconds are printed alongside.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
users=${SIM_USERS:-1000000} seeds=${SIM_SEEDS:-1000} kw=${SIM_KEYWORDS:-100}
m=${SIM_M:-10000} topn=${SIM_TOP_N:-10} threads=${SIM_THREADS:-$(nproc)}
data=${SIM_DIR:-$build/bench/similarity}
mkdir -p "$data"
make -s BUILD="$build" "$build/bench/similarity_bench" "$build/bench/sgemm_peak" "$build/touchpoint"
tp="$build/touchpoint"
echo "lookalike similarity bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

echo; echo "== sgemm peak (OpenBLAS, 2048^3, $threads threads)"
peak=$("$build/bench/sgemm_peak" "$threads" 2048 | sed -n 's/^RESULT sgemm_gflops=\([0-9.]*\).*/\1/p')
echo "sgemm peak: $peak GFLOP/s"

echo; echo "== similarity kernel: $users users x $seeds columns x $kw keywords, top-$topn ($threads threads)"
"$build/bench/similarity_bench" sim "$users" "$seeds" "$kw" "$topn" "$threads" | tee "$data/kernel.txt"
gf=$(sed -n 's/^RESULT .* gflops=\([0-9.]*\) .*/\1/p' "$data/kernel.txt")
awk -v g="$gf" -v p="$peak" 'BEGIN { printf "share of sgemm peak (wall): %.0f%%\n", 100 * g / p }'
sed -n 's/^RESULT .* share_of_peak_cpu=\([0-9.]*\).*/\1/p' "$data/kernel.txt" |
  awk '{ printf "share of sgemm peak (per CPU second, robust to load): %.0f%%\n", 100 * $1 }'

echo; echo "== end to end: extension of $seeds seeds over $users users"
tpsm="$data/scores_${users}x${kw}.tpsm" seedf="$data/seeds_${seeds}.csv"
if [ ! -s "$tpsm" ] || [ ! -s "$seedf" ]; then
  "$build/bench/similarity_bench" gen "$tpsm" "$seedf" "$users" "$kw" 10 "$seeds" 1
fi
ls -l "$tpsm" | awk '{ printf "score table: %.0f MB\n", $5 / 1e6 }'
run() { # label, then the command; prints wall, CPU and peak memory
  local label=$1; shift
  /usr/bin/time -f "$label: wall %e s, CPU %U+%S s, peak RSS %M KB" "$@"
}
run "touchpoint --no-cluster" env TP_THREADS="$threads" "$tp" lookalike extend --scores "$tpsm" --seeds "$seedf" \
  --out "$data/aud_tp.csv" --no-cluster --m "$m" --top-n "$topn" 2>&1 | grep -v '^$'
sim_tp=$(jq .similarity_seconds "$data/extend.json")
run "touchpoint k=20" env TP_THREADS="$threads" "$tp" lookalike extend --scores "$tpsm" --seeds "$seedf" \
  --out "$data/clustered/aud_tp.csv" --k 20 --m "$m" --top-n "$topn" 2>&1 | grep -v '^$'
run "numpy --no-cluster" /usr/bin/python3 bench/similarity_numpy.py "$tpsm" "$seedf" --top-n "$topn" --m "$m" \
  --out "$data/aud_np.csv" 2>&1 | tee "$data/numpy.txt"
sim_np=$(sed -n 's/^RESULT numpy_similarity_seconds=\([0-9.]*\).*/\1/p' "$data/numpy.txt")
awk -v a="$sim_np" -v b="$sim_tp" 'BEGIN { printf "similarity + top-N: touchpoint %.2f s, numpy %.2f s: %.1fx\n", b, a, a / b }'
# the two audiences: same users? (float rounding may reorder near-ties at the boundary)
overlap=$(awk -F, 'NR == FNR { if (FNR > 1) a[$1] = 1; next } FNR > 1 && ($1 in a) { n++ } END { print n + 0 }' \
  "$data/aud_tp.csv" "$data/aud_np.csv")
echo "audience overlap touchpoint vs numpy: $overlap of $m"
