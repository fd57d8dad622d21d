#!/usr/bin/env bash
# dnamta.sh BUILD: training throughput of the attention model, touchpoint vs the PyTorch reference
# (bench/dnamta_torch.py, Debian python3-torch), on the same simulated journeys: embedding 20,
# LSTM 64, L=10 and L=20, batch 256, 2 threads, the same epochs, plain shuffled batches (no
# oversampling: the PyTorch peer has none), no dropout, Adam lr 1e-3, clip 5. Prints journeys/s
# per epoch for both, the ratio, and each side's ROC-AUC on the same test split (the comparison
# only counts when the AUCs agree within 0.005).
# Env: DNAMTA_USERS (default 60000 users), DNAMTA_EPOCHS (default 3), DNAMTA_THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
tp="$build/touchpoint"
users=${DNAMTA_USERS:-60000}
epochs=${DNAMTA_EPOCHS:-3}
threads=${DNAMTA_THREADS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "dnamta bench: python3-torch is not installed (apt-get install python3-torch): skipping"
  exit 0
fi
"$tp" --quiet simulate --users "$users" --seed 42 --out "$work/imp.parquet" > /dev/null
printf '%-4s %-6s %9s %14s %14s %8s %10s %10s\n' L train journeys "touchpoint j/s" "pytorch j/s" ratio "tp AUC" "torch AUC"
for L in 10 20; do
  j="$work/j$L"
  "$tp" --quiet journeys "$work/imp.parquet" --out "$j" --max-len "$L" > /dev/null
  "$tp" --quiet convert "$j/train.parquet" "$j/train.csv"
  "$tp" --quiet convert "$j/test.parquet" "$j/test.csv"
  "$tp" --quiet train "$j" --out "$work/m$L.bin" --epochs "$epochs" --patience "$epochs" --batch-size 256 \
    --embed 20 --hidden 64 --dropout 0 --lr 0.001 --imbalance none --threads "$threads" --seed 1 > "$work/tp$L.txt"
  read -r tp_jps tp_auc n_train < <(/usr/bin/python3 - "$work/m$L.bin.metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
c = m["curve"]
print("%.0f %.4f %d" % (sum(e["journeys_per_s"] for e in c) / len(c), m["test"]["roc_auc"],
                        m["hyperparameters"]["train_journeys"]))
PY
)
  /usr/bin/python3 bench/dnamta_torch.py --bench --csv "$j/train.csv" --val-csv "$j/test.csv" --len "$L" \
    --embed 20 --hidden 64 --batch 256 --threads "$threads" --epochs "$epochs" --lr 0.001 --seed 1 > "$work/torch$L.txt"
  res=$(grep '^RESULT' "$work/torch$L.txt")
  th_jps=$(sed -n 's/.* train_jps=\([0-9.]*\).*/\1/p' <<< "$res")
  th_auc=$(sed -n 's/.* val_auc=\([0-9.]*\).*/\1/p' <<< "$res")
  ratio=$(/usr/bin/python3 -c "print('%.2f' % ($tp_jps / $th_jps))")
  printf '%-4s %-6s %9s %14s %14s %7sx %10s %10s\n' "$L" "$epochs ep" "$n_train" "$tp_jps" "$th_jps" "$ratio" "$tp_auc" "$th_auc"
  /usr/bin/python3 -c "import sys; d = abs($tp_auc - $th_auc); print('   AUC difference %.4f %s' % (d, '(within 0.005)' if d <= 0.005 else '(NOT within 0.005)'))"
done
echo "(touchpoint: mean over epochs of training rows / training seconds, validation excluded; pytorch:"
echo " the same from bench/dnamta_torch.py; touchpoint restores its best validation epoch before the test AUC)"
