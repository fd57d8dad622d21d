#!/usr/bin/env bash
# dnamta.sh BUILD: training throughput of the attention model through `touchpoint train` (the
# whole training loop: batching, forward, backward, clip, Adam) vs the PyTorch reference
# (bench/dnamta_torch.py, Debian python3-torch), on the same simulated journeys: embedding 20,
# LSTM 64, L=10 and L=20, batch 256, 2 threads, the same epochs, plain shuffled batches (the
# PyTorch peer has no oversampling), no dropout, Adam lr 1e-3, clip 5. Prints, for each side,
# the best epoch's journeys per wall second and the journeys per CPU-second (all threads) over
# all epochs, the ratios, and each side's ROC-AUC on the same test split (the comparison counts
# only when they agree within 0.005). On a shared machine wall time swings by 3x from run to run
# and busy-waiting OpenMP threads (PyTorch) win CPU share from sleeping ones, so each side runs
# DNAMTA_REPS times, alternating, and the best of the runs is shown.
# Env: DNAMTA_USERS (default 30000 users), DNAMTA_EPOCHS (2), DNAMTA_THREADS (2), DNAMTA_REPS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
tp="$build/touchpoint"
users=${DNAMTA_USERS:-30000}
epochs=${DNAMTA_EPOCHS:-2}
threads=${DNAMTA_THREADS:-2}
reps=${DNAMTA_REPS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "dnamta bench: python3-torch is not installed (apt-get install python3-torch): skipping"
  exit 0
fi
max() { /usr/bin/python3 -c "import sys; print('%.0f' % max(float(x) for x in sys.argv[1:]))" "$@"; }
"$tp" --quiet simulate --users "$users" --seed 42 --out "$work/imp.parquet" > /dev/null
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $threads threads, $epochs epochs, best of $reps runs"
printf '%-3s %8s %11s %11s %7s %11s %11s %7s %8s %8s\n' L journeys "tp wall" "torch wall" "wall x" "tp cpu" "torch cpu" "cpu x" "tp AUC" "torch AUC"
for L in 10 20; do
  j="$work/j$L"
  "$tp" --quiet journeys "$work/imp.parquet" --out "$j" --max-len "$L" > /dev/null
  "$tp" --quiet convert "$j/train.parquet" "$j/train.csv"
  "$tp" --quiet convert "$j/test.parquet" "$j/test.csv"
  tw=(); tc=(); pw=(); pc=()
  for r in $(seq "$reps"); do
    "$tp" --quiet train "$j" --out "$work/m$L.bin" --epochs "$epochs" --patience "$epochs" --batch-size 256 \
      --embed 20 --hidden 64 --dropout 0 --lr 0.001 --imbalance none --threads "$threads" --seed 1 > /dev/null
    read -r w c tp_auc n_train < <(/usr/bin/python3 - "$work/m$L.bin.metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
c = m["curve"]
rows = sum(e["journeys_per_s"] * e["seconds"] for e in c)
print("%.0f %.0f %.4f %d" % (max(e["journeys_per_s"] for e in c), rows / sum(e["cpu_seconds"] for e in c),
                             m["test"]["roc_auc"], m["hyperparameters"]["train_journeys"]))
PY
)
    tw+=("$w"); tc+=("$c")
    res=$(/usr/bin/python3 bench/dnamta_torch.py --bench --csv "$j/train.csv" --val-csv "$j/test.csv" --len "$L" \
      --embed 20 --hidden 64 --batch 256 --threads "$threads" --epochs "$epochs" --lr 0.001 --seed 1 | grep '^RESULT')
    pw+=("$(sed -n 's/.* best_epoch_jps=\([0-9.]*\).*/\1/p' <<< "$res")")
    pc+=("$(sed -n 's/.* train_cpu_jps=\([0-9.]*\).*/\1/p' <<< "$res")")
    th_auc=$(sed -n 's/.* val_auc=\([0-9.]*\).*/\1/p' <<< "$res")
  done
  a=$(max "${tw[@]}"); b=$(max "${pw[@]}"); c=$(max "${tc[@]}"); d=$(max "${pc[@]}")
  printf '%-3s %8s %11s %11s %6.2fx %11s %11s %6.2fx %8s %8s\n' "$L" "$n_train" "$a" "$b" \
    "$(/usr/bin/python3 -c "print($a / $b)")" "$c" "$d" "$(/usr/bin/python3 -c "print($c / $d)")" "$tp_auc" "$th_auc"
  /usr/bin/python3 -c "d = abs($tp_auc - $th_auc); print('    test ROC-AUC difference %.4f %s' % (d, '(within 0.005)' if d <= 0.005 else '(NOT within 0.005)'))"
done
echo "(wall: the best epoch's training journeys per second; cpu: training journeys per CPU-second of"
echo " all threads; touchpoint restores its best validation epoch before the test AUC; load average at"
echo " the end: $(cut -d' ' -f1-3 /proc/loadavg))"
