#!/usr/bin/env bash
# dnamta_smoke.sh BUILD_DIR: the attention model end to end. On the real Criteo rows: journeys ->
# train -> predict (scores + credit) -> report with the model's section; exit codes 0/1/2 and clear
# errors for a corrupt model; then a pipeline with a model: block on simulated data (train and
# predict steps, the model in the evaluation table and the report).
set -eu
build=$1
tp="$build/touchpoint"
data="${TP_SHARED_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}"
criteo="$data/deepattribution/raw_impressions_criteo_head1000.parquet"
if [ ! -f "$criteo" ]; then
  criteo="$(cd "$(dirname "$0")/../../.." 2>/dev/null && pwd)/shared/data/deepattribution/raw_impressions_criteo_head1000.parquet"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$tp" train --help | grep -q -- "--positive-fraction"
"$tp" predict --help | grep -q -- "--credit-dir"
set +e
"$tp" train > /dev/null 2>&1; [ $? -eq 2 ] || { echo "train without arguments should exit 2"; exit 1; }
"$tp" train "$out" --out "$out/m.bin" --metric auc > /dev/null 2>&1; [ $? -eq 2 ] || { echo "bad --metric should exit 2"; exit 1; }
"$tp" train "$out/none" --out "$out/m.bin" 2> "$out/err"; [ $? -eq 1 ] || { echo "missing journeys should exit 1"; exit 1; }
set -e
grep -q "touchpoint: error:" "$out/err"

if [ -f "$criteo" ]; then
  "$tp" --quiet journeys "$criteo" --out "$out/j" > /dev/null
  "$tp" --quiet train "$out/j" --out "$out/m.bin" --epochs 2 --batch-size 32 --hidden 16 --threads 2 > "$out/train.txt"
  grep -q "ROC-AUC" "$out/train.txt"
  [ -s "$out/m.bin" ] && [ -s "$out/m.bin.metrics.json" ]
  grep -q '"roc_curve"\|"test": null' "$out/m.bin.metrics.json"
  "$tp" --quiet predict --model "$out/m.bin" "$out/j" --out "$out/scores.parquet" --credit-dir "$out/credit" > /dev/null
  [ -s "$out/scores.parquet" ] && [ -s "$out/credit/attention.parquet" ] && [ -s "$out/credit/attention_touches.parquet" ]
  "$tp" --quiet report --journeys "$out/j" --credit "$out/credit" --attention "$out/scores.parquet" \
    --model-metrics "$out/m.bin.metrics.json" --out "$out/rep" > /dev/null
  grep -q 'id="model"' "$out/rep/report.html"
  grep -q 'id="attention"' "$out/rep/report.html"
  # A corrupt model is refused with a clear message.
  cp "$out/m.bin" "$out/bad.bin"
  printf 'X' | dd of="$out/bad.bin" bs=1 seek=200 conv=notrunc status=none
  set +e
  "$tp" predict --model "$out/bad.bin" "$out/j" --out "$out/s2.parquet" 2> "$out/err"; [ $? -eq 1 ] || { echo "corrupt model should exit 1"; exit 1; }
  set -e
  grep -q "touchpoint: error: model '.*bad.bin' is corrupt: checksum" "$out/err"
  [ ! -e "$out/s2.parquet" ]
else
  echo "shared Criteo data not found: skipping the Criteo part"
fi

cat > "$out/p.yaml" <<YAML
output: $out/pipe
simulate: {users: 3000, campaigns: 6, days: 20, seed: 5}
split: [0.8, 0.1, 0.1]
methods: [last, linear, markov]
model: {epochs: 2, embed: 8, hidden: 16, batch_size: 128, threads: 2}
YAML
"$tp" --quiet pipeline --config "$out/p.yaml" > "$out/pipe.txt"
grep -q "attention" "$out/pipe.txt"
[ -s "$out/pipe/model/model.bin" ] && [ -s "$out/pipe/model/attention_score.parquet" ]
grep -q '"method": "attention"' "$out/pipe/evaluation/evaluation.json"
grep -q 'id="model"' "$out/pipe/report/report.html"
echo "dnamta smoke: ok"
