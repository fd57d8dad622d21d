#!/usr/bin/env bash
# dnamta_quality.sh BUILD: how close the attention model's credit is to the simulator's truth,
# next to the classic methods and a logistic-regression baseline, and how well each model predicts
# conversion (test ROC-AUC). Simulated users with known incremental effects (docs/simulate.md),
# journeys split 80/10/10 by user, the model trained on train, stopped on val, tested once.
# Env: QUALITY_USERS (default 50000), QUALITY_EPOCHS (default 10), QUALITY_THREADS (default 2),
# QUALITY_OUT (keep the outputs there; default a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
tp="$build/touchpoint"
users=${QUALITY_USERS:-50000}
epochs=${QUALITY_EPOCHS:-10}
threads=${QUALITY_THREADS:-2}
if [ -n "${QUALITY_OUT:-}" ]; then w=$QUALITY_OUT; mkdir -p "$w"; else w=$(mktemp -d); trap 'rm -rf "$w"' EXIT; fi
"$tp" --quiet simulate --users "$users" --seed 42 --out "$w/imp.parquet" --truth "$w/truth.json" > /dev/null
"$tp" --quiet journeys "$w/imp.parquet" --out "$w/j" --max-len 20 > /dev/null
"$tp" --quiet attribute "$w/j" --out "$w/credit" --method all > /dev/null
for decay in no yes; do
  flag=""; [ "$decay" = yes ] && flag="--time-decay"
  echo "== attention model (time decay: $decay), $epochs epochs max, E=20 H=64, oversampling 0.5"
  "$tp" --quiet train "$w/j" --out "$w/model_$decay.bin" --epochs "$epochs" --threads "$threads" $flag \
    --baseline "$w/credit" | grep -E "^model:|ROC-AUC|PR-AUC|baseline" || true
  "$tp" --quiet predict --model "$w/model_$decay.bin" "$w/j" --out "$w/scores_$decay.parquet" \
    --credit-dir "$w/credit_$decay" --threads "$threads" > /dev/null
  cp "$w/credit_$decay/attention.parquet" "$w/credit/attention_decay_$decay.parquet"
done
echo "== credit against the truth (TVD: half the L1 distance of the shares; lower is better)"
"$tp" evaluate --truth "$w/truth.json" "$w/credit"
echo "== true shares"
/usr/bin/python3 -c "
import json,sys
t=json.load(open('$w/truth.json'))
for c in t['campaigns']: print('%-16s %-12s %.4f' % (c['name'], c['role'], c['true_share']))"
