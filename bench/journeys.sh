#!/usr/bin/env bash
# journeys.sh BUILD_DIR [N]: `touchpoint journeys` against the vectorised pandas peer
# (bench/journeys_pandas.py) on the same simulated impressions (N rows, default 10M): wall time,
# CPU time and peak RSS of each via /usr/bin/time -v, and the ratios. pandas here has no
# Parquet engine (no pyarrow in Debian 12), so it reads the CSV; touchpoint is timed on both the
# CSV and the Parquet copy. First, on a small file, both outputs are compared journey by journey.
# Env: WORK=DIR keeps the data there (default: a temp dir removed at exit); MEMORY=4G adds
# --memory to a third touchpoint run (the bucketed path).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${2:-10000000}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
tp="$build/touchpoint"
if [ -n "${WORK:-}" ]; then work=$WORK; mkdir -p "$work"; else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi

measure() { # name, command...: prints "wall_s cpu_s rss_mb"
  local name=$1; shift
  /usr/bin/time -v "$@" > "$work/$name.out" 2> "$work/$name.time" || {
    cat "$work/$name.out" "$work/$name.time" >&2; echo "$name failed" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
              /User time/ { u = $2 } /System time/ { s = $2 }
              /Maximum resident set size/ { r = $2 / 1024 }
              END { printf "%.2f %.2f %.0f\n", w, u + s, r }' "$work/$name.time"
}

echo "== correctness: pandas and touchpoint on 200k rows, --split 1"
$py "$here/journeys_pandas.py" generate 200000 "$work/small.csv" --seed 7
"$tp" --quiet journeys "$work/small.csv" --out "$work/small_tp" --split 1
"$tp" --quiet convert "$work/small_tp/all.parquet" "$work/small_tp/all.csv"
$py "$here/journeys_pandas.py" run "$work/small.csv" "$work/small_pd" --split 1 > /dev/null
$py "$here/journeys_pandas.py" compare "$work/small_pd" "$work/small_tp/all.csv"

echo "== data: $n impressions"
if [ ! -s "$work/imp.csv" ]; then
  $py "$here/journeys_pandas.py" generate "$n" "$work/imp.csv" --seed 1
  "$tp" --quiet convert "$work/imp.csv" "$work/imp.parquet"
fi
ls -la "$work/imp.csv" "$work/imp.parquet" | awk '{print "  " $5 " bytes  " $NF}'

read -r pw pc pr < <(measure pandas $py "$here/journeys_pandas.py" run "$work/imp.csv" "$work/pd_out")
sed 's/^/  /' "$work/pandas.out"
read -r cw cc cr < <(measure tp_csv "$tp" journeys "$work/imp.csv" --out "$work/tp_csv")
read -r qw qc qr < <(measure tp_parquet "$tp" journeys "$work/imp.parquet" --out "$work/tp_pq")
sed 's/^/  /' "$work/tp_parquet.out"
printf '%-34s %9s %9s %9s\n' "run" "wall s" "cpu s" "peak MB"
printf '%-34s %9s %9s %9s\n' "pandas (CSV in, pickles out)" "$pw" "$pc" "$pr"
printf '%-34s %9s %9s %9s\n' "touchpoint (CSV in, Parquet out)" "$cw" "$cc" "$cr"
printf '%-34s %9s %9s %9s\n' "touchpoint (Parquet in and out)" "$qw" "$qc" "$qr"
if [ -n "${MEMORY:-}" ]; then
  read -r mw mc mr < <(measure tp_mem "$tp" journeys "$work/imp.parquet" --out "$work/tp_mem" --memory "$MEMORY")
  printf '%-34s %9s %9s %9s\n' "touchpoint --memory $MEMORY" "$mw" "$mc" "$mr"
  cmp <(grep -v buckets "$work/tp_pq/stats.json") <(grep -v buckets "$work/tp_mem/stats.json") \
    && echo "  bucketed stats.json identical to in-memory"
fi
echo "machine: $(nproc) CPUs, threads ${TP_THREADS:-default}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v pw="$pw" -v cw="$cw" -v qw="$qw" -v pr="$pr" -v cr="$cr" -v qr="$qr" 'BEGIN {
  printf "speed-up vs pandas: %.1fx (same CSV input), %.1fx (Parquet input)\n", pw / cw, pw / qw
  printf "peak memory vs pandas: %.2fx (CSV), %.2fx (Parquet)\n", cr / pr, qr / pr }'
awk -v pc="$pc" -v cc="$cc" -v qc="$qc" 'BEGIN {
  printf "CPU time vs pandas: %.1fx less (CSV), %.1fx less (Parquet)\n", pc / cc, pc / qc }'
