#!/usr/bin/env bash
# attribution_truth_smoke.sh BUILD: on simulated data with a retargeting trap (a zero-effect
# campaign aimed at users about to convert), Markov and Shapley must be closer to the simulator's
# truth than last touch, both overall (total variation distance) and on the retargeting campaign.
set -euo pipefail
tp="$1/touchpoint"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$tp" --quiet simulate --users 30000 --seed 11 --out "$tmp/imp.parquet" --truth "$tmp/truth.json" 2>/dev/null
"$tp" --quiet journeys "$tmp/imp.parquet" --out "$tmp/j" --split 1 --max-len 20 >/dev/null
"$tp" --quiet attribute "$tmp/j" --method last,markov,shapley --out "$tmp/credit" >/dev/null
"$tp" --quiet evaluate --truth "$tmp/truth.json" "$tmp/credit" --out "$tmp/eval.json" >/dev/null
for m in last markov shapley; do
  "$tp" cat "$tmp/credit/$m.parquet" --format csv > "$tmp/$m.csv"
done
/usr/bin/python3 - "$tmp" <<'PY'
import csv, json, sys
d = sys.argv[1]
ev = {m["method"]: m for m in json.load(open(f"{d}/eval.json"))["methods"]}
truth = {c["name"]: c["true_share"] for c in json.load(open(f"{d}/truth.json"))["campaigns"]}
def share(m, name):
    for row in csv.DictReader(open(f"{d}/{m}.csv")):
        if row["campaign_nm"] == name:
            return float(row["share"])
    raise SystemExit(f"{m}: no row for {name}")
rt = "c01_retarget"
err = {m: abs(share(m, rt) - truth[rt]) for m in ("last", "markov", "shapley")}
print("tvd:", {m: round(ev[m]["tvd"], 3) for m in ev}, "retargeting share error:", {m: round(e, 3) for m, e in err.items()})
for m in ("markov", "shapley"):
    assert ev[m]["tvd"] < ev["last"]["tvd"], f"{m} is not closer to the truth than last touch"
    assert err[m] < err["last"], f"{m} credits the retargeting trap no less than last touch"
PY
