#!/usr/bin/env bash
# propensity_smoke.sh BUILD_DIR: `touchpoint propensity` and `registry` by hand: train on a
# ready-made feature table (CSV) and on simulated events (2 groups, registered), evaluate,
# promote (first, then a refused challenger, then --force), score, lookup; the sidecar and XGBoost
# file; usage errors exit 2, runtime errors 1.
set -eu
tp="$1/touchpoint"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export TP_THREADS=1

# ---- a ready-made table: label from a known rule on two of three features ----
/usr/bin/python3 - "$dir/table.csv" <<'PY'
import random, sys
random.seed(4)
with open(sys.argv[1], "w") as f:
    f.write("uid,visits,cart_adds,noise,bought\n")
    for u in range(1, 4001):
        v, c, n = random.random() * 10, random.randint(0, 5), random.random()
        p = 0.6 if (v > 6 and c >= 3) else 0.02
        f.write(f"{u},{v:.4f},{c},{n:.4f},{int(random.random() < p)}\n")
PY
"$tp" --quiet propensity train --table "$dir/table.csv" --label bought --group tbl --trials 3 \
  --max-rounds 60 --out "$dir/tm" > "$dir/t.txt" || fail "train --table"
grep -q "^tbl: test PR-AUC" "$dir/t.txt" || fail "train output: $(cat "$dir/t.txt")"
for f in model.json meta.json holdout.parquet; do [ -s "$dir/tm/tbl/$f" ] || fail "no $f"; done
/usr/bin/python3 - "$dir/tm/tbl" <<'PY' || fail "sidecar/model check"
import json, sys
d = sys.argv[1]
m = json.load(open(d + "/meta.json"))
assert m["features"] == ["visits", "cart_adds", "noise"], m["features"]
assert m["group"] == "tbl" and len(m["trials"]) == 3
t = m["metrics"]
assert t["pr_auc"] > 0.5, t["pr_auc"]          # the rule is easy for trees
assert m["baseline"]["pr_auc"] is not None
for k in ("roc_auc", "log_loss"): assert k in t, k
x = json.load(open(d + "/model.json"))           # XGBoost's own JSON format
assert x["learner"]["objective"]["name"] == "binary:logistic"
assert int(x["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"]) == m["params"]["rounds"]
PY
/usr/bin/python3 - "$dir/tm/tbl" <<'PY' || fail "python xgboost predicts the same"
import json, sys, xgboost as xgb, numpy as np
d = sys.argv[1]
b = xgb.Booster(); b.load_model(d + "/model.json")
p = b.predict(xgb.DMatrix(np.array([[8.0, 4, 0.5], [1.0, 0, 0.5]], dtype=np.float32)))
assert p[0] > 0.3 > p[1], p
PY

# ---- events: train two groups into a registry, evaluate, promote, score, lookup ----
"$tp" --quiet simulate --kind events --users 2500 --groups 2 --days 100 --seed 8 --out "$dir/ev.parquet"
defs="$root/examples/features.yaml"
reg="$dir/reg.sqlite"
train() {
  "$tp" --quiet propensity train --events "$dir/ev.parquet" --defs "$defs" --store "$dir/store" \
    --as-of 2024-01-11,2024-02-10,2024-03-11 --all-groups --trials 2 --max-rounds 40 \
    --registry "$reg" --out "$dir/$1" "${@:2}"
}
train m1 > "$dir/t1.txt" || fail "train events: $(cat "$dir/t1.txt")"
[ "$(grep -c "registered v1" "$dir/t1.txt")" = 2 ] || fail "two groups registered: $(cat "$dir/t1.txt")"
"$tp" registry promote --registry "$reg" --all > "$dir/p1.txt" || fail "promote"
[ "$(grep -c "v1 is production (no production version)" "$dir/p1.txt")" = 2 ] || fail "first promotion: $(cat "$dir/p1.txt")"
# the same data and seed again: an identical challenger cannot beat production by a margin
train m2 --seed 1 > "$dir/t2.txt" || fail "train 2"
"$tp" propensity evaluate --registry "$reg" --group g00 > "$dir/e.txt" || fail "evaluate"
grep -q "g00: v2 PR-AUC .* vs production v1 .* on holdout g00/v2" "$dir/e.txt" || fail "evaluate output: $(cat "$dir/e.txt")"
"$tp" registry promote --registry "$reg" --model g00 --margin 0.01 > "$dir/p2.txt" || fail "promote 2"
grep -q "g00: v2 not promoted, production stays v1 (challenger PR-AUC .* does not beat" "$dir/p2.txt" || fail "refusal: $(cat "$dir/p2.txt")"
"$tp" registry promote --registry "$reg" --model g00 --version 2 --force --reason "smoke" | grep -q "v2 is production (forced: smoke)" || fail "force"
"$tp" registry show --registry "$reg" --model g00 --version 1 | grep -q '"to": "archived"' || fail "v1 archived"
"$tp" registry list --registry "$reg" > "$dir/l.txt"
grep -q "^g00	2	production" "$dir/l.txt" && grep -q "^g01	1	production" "$dir/l.txt" && grep -q "^g01	2	staging\|^g01	2	none" "$dir/l.txt" || fail "list: $(cat "$dir/l.txt")"
"$tp" --quiet propensity score --as-of 2024-04-10 --registry "$reg" --events "$dir/ev.parquet" \
  --defs "$defs" --store "$dir/store" --out "$dir/prof" > "$dir/s.txt" || fail "score"
grep -q "x 2 groups at 2024-04-10" "$dir/s.txt" || fail "score output: $(cat "$dir/s.txt")"
"$tp" propensity lookup --profile "$dir/prof" --uid 11 | grep -q "^11	g00	.*	2	2024-04-10$" || fail "lookup"
set +e
"$tp" propensity lookup --profile "$dir/prof" --uid 999999 2>/dev/null; [ $? -eq 1 ] || fail "unknown uid should exit 1"
"$tp" propensity train --table "$dir/table.csv" --out "$dir/x" 2>/dev/null; [ $? -eq 2 ] || fail "--table without --label should exit 2"
"$tp" propensity train --events e --defs d --as-of 2024-13-01 --all-groups --out x 2>/dev/null; [ $? -eq 2 ] || fail "bad date should exit 2"
"$tp" propensity train --events e --defs d --as-of 2024-01-01 --out x 2>/dev/null; [ $? -eq 2 ] || fail "no group should exit 2"
"$tp" propensity train --table "$dir/table.csv" --label nope --out "$dir/x" 2>/dev/null; [ $? -eq 1 ] || fail "missing label column should exit 1"
"$tp" registry promote --registry "$reg" --model nope 2>/dev/null; [ $? -eq 1 ] || fail "unknown model should exit 1"
"$tp" registry frobnicate --registry "$reg" 2>/dev/null; [ $? -eq 2 ] || fail "unknown action should exit 2"
set -e

# ---- the simulated purchase model rewards a good model: XGBoost beats the logistic baseline on
# held-out users with a paired-bootstrap 95% interval of the PR-AUC gain above zero (group g00,
# replenishment cycle 50 days: a bump in days-since-purchase that no linear model follows) ----
"$tp" --quiet simulate --kind events --users 30000 --groups 2 --days 240 --seed 4 --out "$dir/big.parquet"
TP_THREADS=2 "$tp" --quiet propensity train --events "$dir/big.parquet" --defs "$defs" --group g00 \
  --as-of 2024-04-29,2024-05-29,2024-06-28,2024-07-28 --trials 3 --max-rounds 200 --early-stopping 30 \
  --test-frac 0.4 --out "$dir/big" > "$dir/big.txt" || fail "train on the big simulation"
cat "$dir/big.txt" | sed 's/^/  /'
/usr/bin/python3 - "$dir/big/g00/meta.json" <<'PY' || fail "XGBoost is not measurably better than the baseline: $(cat "$dir/big.txt")"
import json, sys
m = json.load(open(sys.argv[1]))
c = m["vs_baseline"]
assert c["bootstrap"] == 1000 and abs(c["pr_auc_gain"] - (m["metrics"]["pr_auc"] - m["baseline"]["pr_auc"])) < 1e-8
assert c["ci95"][0] > 0 and c["p_not_better"] < 0.025, c
PY
echo "propensity smoke ok"
