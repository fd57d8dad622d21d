#!/usr/bin/env bash
# propensity.sh BUILD: training time and PR-AUC of `touchpoint propensity train` (XGBoost through
# its C API) against xgboost.train from Debian's python3-xgboost on the same matrix, the same rows
# (touchpoint's user split, reproduced in bench/propensity_xgb.py), the same parameters and the
# same thread count. Both call the same libxgboost, so the models must be identical (same rounds,
# same PR-AUC) and the time difference is only the data handling around it. Target: within 10%.
# Env: PB_ROWS (default 200000), PB_FEATURES (40), PB_THREADS (nproc), PB_REPEATS (3), PB_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
tp="$build/touchpoint"
rows=${PB_ROWS:-200000}
feats=${PB_FEATURES:-40}
threads=${PB_THREADS:-$(nproc)}
reps=${PB_REPEATS:-3}
dir=${PB_DIR:-$build/bench/propensity_${rows}x${feats}}
mkdir -p "$dir"
if [ ! -s "$dir/matrix.npz" ]; then
  /usr/bin/python3 bench/propensity_xgb.py gen "$dir" "$rows" "$feats" 1
  "$tp" --quiet convert "$dir/matrix.csv" "$dir/matrix.parquet"
fi
echo "matrix: $rows rows x $feats features ($dir), $threads thread(s), $reps repeat(s), load $(cut -d' ' -f1 /proc/loadavg)"
res="$dir/results.jsonl"
: > "$res"
for r in $(seq 1 "$reps"); do
  /usr/bin/time -f '%e %U %S %M' -o "$dir/time.txt" \
    "$tp" --threads "$threads" --quiet propensity train --table "$dir/matrix.parquet" --label label \
    --trials 1 --no-baseline --seed 1 --out "$dir/ours" > /dev/null
  read -r wall usr sys peak < "$dir/time.txt"
  /usr/bin/python3 - "$dir/ours/table/meta.json" "$wall" "$usr" "$sys" "$peak" >> "$res" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); t = m["trials"][0]
print(json.dumps({"who": "touchpoint", "seconds": t["seconds"], "cpu_seconds": t["cpu_seconds"],
                  "rounds": t["rounds"], "pr_auc": m["metrics"]["pr_auc"],
                  "process_wall": float(sys.argv[2]), "process_cpu": float(sys.argv[3]) + float(sys.argv[4]),
                  "peak_kb": int(sys.argv[5])}))
PY
  /usr/bin/time -f '%e %U %S %M' -o "$dir/time.txt" \
    /usr/bin/python3 bench/propensity_xgb.py train "$dir" "$threads" > "$dir/py.json"
  read -r wall usr sys peak < "$dir/time.txt"
  /usr/bin/python3 - "$dir/py.json" "$wall" "$usr" "$sys" "$peak" >> "$res" <<'PY'
import json, sys
p = json.load(open(sys.argv[1])); p["who"] = "python"
p.update(process_wall=float(sys.argv[2]), process_cpu=float(sys.argv[3]) + float(sys.argv[4]), peak_kb=int(sys.argv[5]))
print(json.dumps(p))
PY
done
/usr/bin/python3 - "$res" <<'PY'
import json, statistics, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
def med(who, k): return statistics.median(r[k] for r in rs if r["who"] == who)
print("%-11s %9s %9s %7s %10s %12s %12s %9s" % ("", "train s", "train cpu", "rounds", "PR-AUC", "process s", "process cpu", "peak MB"))
for who in ("touchpoint", "python"):
    r = [x for x in rs if x["who"] == who][0]
    print("%-11s %9.2f %9.2f %7d %10.6f %12.2f %12.2f %9.0f" % (who, med(who, "seconds"), med(who, "cpu_seconds"),
          r["rounds"], r["pr_auc"], med(who, "process_wall"), med(who, "process_cpu"), med(who, "peak_kb") / 1024))
same = len({(x["rounds"], round(x["pr_auc"], 8)) for x in rs}) == 1
print("same model on both sides (rounds, PR-AUC): %s" % ("yes" if same else "NO"))
print("training time touchpoint / python: wall %.3f, cpu %.3f (target <= 1.10)" %
      (med("touchpoint", "seconds") / med("python", "seconds"), med("touchpoint", "cpu_seconds") / med("python", "cpu_seconds")))
PY
