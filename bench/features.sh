#!/usr/bin/env bash
# features.sh BUILD_DIR [EVENTS...]: `touchpoint features` against the vectorised pandas peer
# (bench/features_pandas.py) on the definitions of examples/features.yaml (77 features at three
# levels), on simulated event logs of about EVENTS rows each (default 10M and 50M). pandas has no
# Parquet engine here, so it reads CSV; its read and computation are timed apart, and touchpoint
# runs on the same CSV and on the Parquet copy. Wall time, CPU time and peak RSS come from
# /usr/bin/time -v; the machine may be shared, so CPU seconds are reported beside wall seconds.
# First both are compared value by value on a small log.
# Env: WORK=DIR keeps the data there (default: a temp dir removed at exit).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000000 50000000)
here=$(cd "$(dirname "$0")" && pwd)
defs="$here/../examples/features.yaml"
py=/usr/bin/python3
tp="$build/touchpoint"
as_of=2024-04-15
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

echo "== correctness: pandas and touchpoint on 3000 simulated users"
"$tp" --quiet simulate --kind events --users 3000 --seed 7 --out "$work/small.csv"
"$tp" --quiet features --events "$work/small.csv" --defs "$defs" --as-of $as_of --out "$work/small_tp" > /dev/null
for l in user group user_group; do "$tp" --quiet convert "$work/small_tp/$l.parquet" "$work/small_tp/$l.csv"; done
$py "$here/features_pandas.py" run "$work/small.csv" $as_of "$work/small_pd" --write > /dev/null
$py "$here/features_pandas.py" compare "$work/small_pd" "$work/small_tp"

for n in "${sizes[@]}"; do
  users=$(( n / 59 ))   # the simulator's default activity gives about 59 events per user
  echo; echo "== $users users (about $n events), features at $as_of"
  if [ ! -s "$work/ev_$n.csv" ]; then
    "$tp" --quiet simulate --kind events --users "$users" --seed 42 --out "$work/ev_$n.parquet"
    "$tp" --quiet convert "$work/ev_$n.parquet" "$work/ev_$n.csv"
  fi
  rows=$("$tp" inspect "$work/ev_$n.parquet" | sed -n 's/^rows: //p')
  echo "events: $rows"
  read -r pw pc pr < <(measure pandas $py "$here/features_pandas.py" run "$work/ev_$n.csv" $as_of "$work/pd_$n")
  read -r cw cc cr < <(measure tp_csv "$tp" features --events "$work/ev_$n.csv" --defs "$defs" --as-of $as_of --out "$work/tp_csv_$n")
  read -r qw qc qr < <(measure tp_pq "$tp" features --events "$work/ev_$n.parquet" --defs "$defs" --as-of $as_of --out "$work/tp_pq_$n")
  sed 's/^/  /' "$work/pandas.out"
  echo "  touchpoint (CSV):     $(grep -h '^loaded' "$work/tp_csv.time"); $(grep -h '^computed' "$work/tp_csv.time")"
  echo "  touchpoint (Parquet): $(grep -h '^loaded' "$work/tp_pq.time"); $(grep -h '^computed' "$work/tp_pq.time")"
  printf '  %-36s %9s %9s %9s\n' "run (whole process)" "wall s" "cpu s" "peak MB"
  printf '  %-36s %9s %9s %9s\n' "pandas (CSV in)" "$pw" "$pc" "$pr"
  printf '  %-36s %9s %9s %9s\n' "touchpoint (CSV in, Parquet out)" "$cw" "$cc" "$cr"
  printf '  %-36s %9s %9s %9s\n' "touchpoint (Parquet in and out)" "$qw" "$qc" "$qr"
  pf=$(sed -n 's/.*features \([0-9.]*\) s (cpu \([0-9.]*\) s).*/\1 \2/p' "$work/pandas.out")
  tf=$(sed -n 's/^computed .* in \([0-9.]*\) s (cpu \([0-9.]*\) s).*/\1 \2/p' "$work/tp_pq.time")
  awk -v pw="$pw" -v pc="$pc" -v cw="$cw" -v cc="$cc" -v qw="$qw" -v qc="$qc" -v pf="$pf" -v tf="$tf" \
      -v pr="$pr" -v qr="$qr" 'BEGIN {
    split(pf, P, " "); split(tf, Q, " ")
    printf "  speed-up vs pandas, whole process: wall %.1fx (CSV) %.1fx (Parquet); cpu %.1fx (CSV) %.1fx (Parquet)\n", pw / cw, pw / qw, pc / cc, pc / qc
    printf "  speed-up vs pandas, feature computation only: wall %.1fx (pandas %.2f s, touchpoint %.3f s), cpu %.1fx (pandas %.2f s, touchpoint %.3f s)\n", P[1] / Q[1], P[1], Q[1], P[2] / Q[2], P[2], Q[2]
    printf "  peak memory: touchpoint (Parquet) %.2fx pandas\n", qr / pr }'
done
