#!/usr/bin/env bash
# demo_lookalike.sh BUILD_DIR: the lookalike part of `make demo` (issue #6). Simulates 20,000 users
# with planted interest groups over 14 days, prepares the logs, trains the DIN-style click model,
# prints its test ROC-AUC and log loss against the keyword-CTR baseline, writes the score table into
# out/demo_lookalike/out/scores/ (scores.parquet, scores.tpsm), extends a seed audience of 200
# users from one interest group and validates it on the following week (days 15-21 of the same
# simulation): clicks on the group's keyword among the audience vs an equal random sample.
# DEMO_USERS overrides the number of users.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bin="$build/touchpoint"
if [ ! -x "$bin" ]; then
  echo "demo: $bin not found; run make first" >&2
  exit 1
fi
users=${DEMO_USERS:-20000}
root=out/demo_lookalike
mkdir -p "$root"
# the example config, with its paths pointing into the demo folder
sed -e 's#lookalike_data/#data/#' -e 's#^output: lookalike_out#output: out#' examples/lookalike.yaml \
    > "$root/lookalike.yaml"
echo "demo: simulate --kind lookalike ($users users, 40 keywords, 14 days, 4 planted interest groups)"
"$bin" simulate --kind lookalike --users "$users" --keywords 40 --days 14 --groups 4 --seed 1 --out "$root/data"
echo "demo: lookalike prepare"
"$bin" lookalike prepare --config "$root/lookalike.yaml"
echo "demo: lookalike train"
"$bin" lookalike train --config "$root/lookalike.yaml"
echo "demo: lookalike scores"
"$bin" lookalike scores --config "$root/lookalike.yaml"
python3 - "$root/out/train_stats.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print()
print("  click model on the newest 20%% of days (%d samples, %d clicks)" % (s["test_samples"], s["test_positives"]))
print("  %-28s %10s %10s" % ("", "ROC-AUC", "log loss"))
print("  %-28s %10.4f %10.4f" % ("DIN (attention over history)", s["test_auc"], s["test_logloss"]))
print("  %-28s %10.4f %10.4f" % ("keyword CTR (popularity)", s["baseline_auc"], s["baseline_logloss"]))
print("  training: %d epochs in %.1f s" % (s["epochs"], s["train_seconds"]))
PY
echo
echo "demo: score table $(pwd)/$root/out/scores/scores.tpsm (and scores.parquet)"

echo
echo "demo: lookalike extend (200 seeds from interest group 0, audience 3x the seeds)"
"$bin" convert "$root/data/groups.parquet" "$root/groups.csv" >/dev/null
awk -F, 'NR > 1 && $2 == 0 && n < 200 { print $1; n++ }' "$root/groups.csv" > "$root/seeds.csv"
"$bin" lookalike extend --scores "$root/out/scores" --seeds "$root/seeds.csv" --out "$root/audience" \
    --k 5 --extension-pct 300
echo "demo: lookalike validate on days 15-21 (the same simulation run one more week)"
"$bin" --quiet simulate --kind lookalike --users "$users" --keywords 40 --days 21 --groups 4 --seed 1 \
    --out "$root/data21" >/dev/null
sed -e 's#data/#data21/#' -e 's#^output: out#output: out21#' "$root/lookalike.yaml" > "$root/lookalike21.yaml"
"$bin" --quiet lookalike prepare --config "$root/lookalike21.yaml" >/dev/null
kw=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["interest_keywords"][0][0])' "$root/data/truth.json")
"$bin" lookalike validate --audience "$root/audience/audience.parquet" --clicks "$root/out21/logs" \
    --from 2024-01-15 --keyword "$kw" --seeds "$root/seeds.csv" --scores "$root/out/scores" \
    --out "$root/validate.json"
echo
echo "demo: audience $(pwd)/$root/audience/audience.parquet, validation $(pwd)/$root/validate.json"
