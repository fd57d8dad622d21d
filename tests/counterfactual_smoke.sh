#!/usr/bin/env bash
# counterfactual_smoke.sh BUILD_DIR: model-based counterfactual credit on a small simulation whose
# truth is clear: one effective campaign (c00_search) and one zero-effect retargeting campaign
# aimed at high-baseline users, with observable covariates (past_purchases, visit_frequency).
# A model trained with those covariates as control variables must give the retargeting campaign
# a model-shapley share well below last touch's and closer to its true zero.
set -eu
build=$1
tp="$build/touchpoint"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
seed=${CF_SMOKE_SEED:-3}

set +e
"$tp" attribute "$out" --method model-shapley --out "$out/c" > /dev/null 2>&1
[ $? -eq 2 ] || { echo "model-shapley without --model should exit 2"; exit 1; }
set -e

"$tp" --quiet simulate --users 15000 --campaigns 5 --disable c02_email,c03_banner,c04_social \
  --user-features --trap-strength 2 --seed "$seed" --out "$out/imp.parquet" --truth "$out/truth.json" > /dev/null
"$tp" --quiet journeys "$out/imp.parquet" --out "$out/j" > /dev/null
"$tp" --quiet train "$out/j" --out "$out/m.bin" --controls past_purchases,visit_frequency,age_band,region \
  --epochs 6 --hidden 16 --threads 2 --seed 1 > /dev/null
"$tp" --quiet attribute "$out/j" --method last --out "$out/c" > /dev/null
"$tp" --quiet attribute "$out/j" --method model-shapley,model-removal --model "$out/m.bin" --out "$out/c" \
  --threads 2 --per-touch > "$out/cf.txt"
grep -q "model-shapley: .* observed conversions" "$out/cf.txt"
[ -s "$out/c/model-shapley_touches.parquet" ] && [ -s "$out/c/model-removal.parquet" ]
"$tp" --quiet evaluate --truth "$out/truth.json" "$out/c" --out "$out/eval.json" > "$out/eval.txt"
cat "$out/eval.txt"
# retargeting share per method: last vs model-shapley
share() { "$tp" --quiet cat "$out/c/$1.parquet" --format csv 2>/dev/null | awk -F, '$1=="c01_retarget"{print $3}'; }
last=$(share last)
shap=$(share model-shapley)
echo "c01_retarget share: last $last, model-shapley $shap (truth 0)"
awk -v l="$last" -v s="$shap" 'BEGIN {
  a = s < 0 ? -s : s;
  if (!(a < l / 2)) { print "model-shapley does not beat last touch on the retargeting campaign"; exit 1 }
}'
