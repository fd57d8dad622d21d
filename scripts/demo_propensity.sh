#!/usr/bin/env bash
# demo_propensity.sh BUILD_DIR: the propensity part of `make demo`. Simulates an e-commerce event
# log with a known purchase model (touchpoint simulate --kind events), runs the weekly workflow
# (features for the training dates -> one XGBoost model per product group -> evaluate -> promote)
# and then the daily one (features -> profile table), and prints each group's test PR-AUC beside
# the logistic baseline and where the profile table is. DEMO_USERS (default 50000) sizes it.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bin="$build/touchpoint"
[ -x "$bin" ] || { echo "demo: $bin not found; run make first" >&2; exit 1; }
export TP_DATA="$(pwd)/out/demo_propensity"
rm -rf "$TP_DATA"
mkdir -p "$TP_DATA"
users=${DEMO_USERS:-50000}
echo
echo "demo (propensity): simulate $users users, 4 product groups, 240 days of views/carts/purchases"
"$bin" --quiet simulate --kind events --users "$users" --groups 4 --days 240 --seed 1 \
  --out "$TP_DATA/events.parquet" --truth "$TP_DATA/purchase_model.json"
# events cover 2024-01-01 .. 2024-08-27: the weekly run of 2024-08-27 trains on as-of dates
# -120/-90/-60/-30 days (the last one's 30-day labels end on the run date)
echo "demo (propensity): weekly workflow (examples/weekly.yaml) as of 2024-08-27"
"$bin" workflow run examples/weekly.yaml --as-of 2024-08-27 2>&1 | grep -v "^touchpoint: trial"
echo "demo (propensity): daily workflow (examples/daily.yaml) as of 2024-08-28"
"$bin" workflow run examples/daily.yaml --as-of 2024-08-28
echo
echo "test PR-AUC per product group (held-out users at the last as-of date), XGBoost vs logistic baseline:"
"$bin" registry list --registry "$TP_DATA/registry.sqlite" | tail -n +2 | cut -f1,2 | while read -r g v; do
  "$bin" registry show --registry "$TP_DATA/registry.sqlite" --model "$g" --version "$v"
done | /usr/bin/python3 -c '
import json, sys
dec = json.JSONDecoder(); text = sys.stdin.read(); i = 0
print("  group  version  stage       PR-AUC  baseline  gain (95% CI)              ROC-AUC  lift@1%  test rows (positives)")
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    o, i = dec.raw_decode(text, i)
    t, b, c = o["metrics"]["test"], o["metrics"]["baseline"], o["metrics"]["vs_baseline"]
    lift = t["lift"][0]["lift"] if t.get("lift") else float("nan")
    gain = "%+.4f [%+.4f, %+.4f]" % (c["pr_auc_gain"], c["ci95"][0], c["ci95"][1])
    row = (o["model"], "v%d" % o["version"], o["stage"], t["pr_auc"], b["pr_auc"], gain, t["roc_auc"], lift, t["n"], t["positives"])
    print("  %-6s %-8s %-11s %.4f  %.4f    %-26s %.4f   %6.2f   %d (%d)" % row)
'
echo
echo "profile table: $TP_DATA/profile/current/profile_long.parquet (uid, group, score, model_version, as_of)"
echo "               $TP_DATA/profile/current/profile_wide.parquet (uid, one score column per group)"
echo "lookup:        $bin propensity lookup --profile $TP_DATA/profile --uid 42"
"$bin" propensity lookup --profile "$TP_DATA/profile" --uid 42
