#!/usr/bin/env bash
# simulate_smoke.sh BUILD_DIR: `touchpoint simulate` end to end: usage errors exit 2, Parquet and
# CSV outputs, the truth JSON, identical files for the same seed on 1 and 2 threads, and no
# partial output when the run fails.
set -eu
tp="$1/touchpoint"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$tp" simulate --help | grep -q -- "--trap-strength" || fail "--help"
set +e
"$tp" simulate --out "$dir/x.parquet" 2>/dev/null; [ $? -eq 2 ] || fail "missing --users should exit 2"
"$tp" simulate --users 10 --campaigns 3 --out "$dir/x.parquet" 2>/dev/null; [ $? -eq 2 ] || fail "--campaigns 3 should exit 2"
"$tp" simulate --users 10 --disable nope --out "$dir/x.parquet" 2>/dev/null; [ $? -eq 2 ] || fail "--disable nope should exit 2"
"$tp" simulate --users 10 --out "$dir/x.json" 2>/dev/null; [ $? -eq 2 ] || fail "a .json output should exit 2"
"$tp" simulate --users 10 --out "$dir/missing/x.parquet" 2>/dev/null; [ $? -eq 1 ] || fail "unwritable output should exit 1"
set -e
[ -z "$(ls -A "$dir")" ] || fail "failed runs left files: $(ls -A "$dir")"

"$tp" --quiet --threads 1 simulate --users 3000 --seed 7 --conversion-id --cost --user-features \
    --out "$dir/a.parquet" --truth "$dir/a.json"
"$tp" --quiet --threads 2 simulate --users 3000 --seed 7 --conversion-id --cost --user-features \
    --batch-rows 10000 --out "$dir/b.parquet" --truth "$dir/b.json"
cmp -s "$dir/a.parquet" "$dir/b.parquet" || fail "same seed, 1 vs 2 threads: Parquet files differ"
cmp -s "$dir/a.json" "$dir/b.json" || fail "same seed: truth files differ"
"$tp" --quiet simulate --users 3000 --seed 8 --out "$dir/c.parquet"
cmp -s "$dir/a.parquet" "$dir/c.parquet" && fail "different seeds gave the same file"
[ "$(head -c 4 "$dir/a.parquet")" = "PAR1" ] || fail "not a Parquet file"

/usr/bin/python3 - "$dir/a.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
for k in ("seed", "users", "impressions", "conversions", "baseline_conversions",
          "incremental_conversions", "campaigns"):
    assert k in t, k
assert t["seed"] == 7 and t["users"] == 3000
assert t["incremental_conversions"] == t["conversions"] - t["baseline_conversions"]
c = {x["name"]: x for x in t["campaigns"]}
assert len(c) == 10 and "c01_retarget" in c and c["c01_retarget"]["role"] == "retargeting"
assert c["c01_retarget"]["incremental_conversions"] == 0
assert c["c03_banner"]["incremental_conversions"] == 0
assert abs(sum(x["true_share"] for x in t["campaigns"]) - 1) < 1e-9
assert sum(x["impressions"] for x in t["campaigns"]) == t["impressions"]
EOF

# CSV: header and row count; the truth says how many rows
"$tp" --quiet simulate --users 500 --seed 7 --out "$dir/d.csv" --truth "$dir/d.json"
head -1 "$dir/d.csv" | grep -q '^uid,timestamp,campaign,conversion$' || fail "CSV header: $(head -1 "$dir/d.csv")"
rows=$(($(wc -l < "$dir/d.csv") - 1))
want=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['impressions'])" "$dir/d.json")
[ "$rows" -eq "$want" ] || fail "CSV has $rows rows, truth says $want"

# disabling the useless campaign changes no conversion
"$tp" --quiet simulate --users 3000 --seed 7 --disable c03_banner --out "$dir/e.parquet" --truth "$dir/e.json"
/usr/bin/python3 - "$dir/a.json" "$dir/e.json" <<'EOF'
import json, sys
a, e = (json.load(open(p)) for p in sys.argv[1:])
assert a["conversions"] == e["conversions"], (a["conversions"], e["conversions"])
EOF
# --conversion-events: the same world with the advertiser's conversions as event rows (null
# campaign): one event row per conversion (touched or not), no touch flagged, one last observation
# row per user; the journeys then hold every conversion, some of them without a touch
"$tp" --quiet simulate --users 3000 --seed 7 --conversion-events --out "$dir/ev.csv" --truth "$dir/ev.json"
/usr/bin/python3 - "$dir/ev.csv" "$dir/ev.json" "$dir/a.json" <<'EOF' || fail "conversion events"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
t, a = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
assert t["conversions"] == a["conversions"], (t["conversions"], a["conversions"])
assert len(rows) == a["impressions"] + t["conversions"] + 3000, (len(rows), a["impressions"])
ev = [r for r in rows if r["campaign"] == ""]
assert all(r["conversion"] == "false" for r in rows if r["campaign"] != ""), "a touch carries the conversion"
assert sum(r["conversion"] == "true" for r in ev) == t["conversions"]
last = {}
for r in rows: last[r["uid"]] = r
assert len(last) == 3000 and all(r["campaign"] == "" and r["conversion"] == "false" for r in last.values())
EOF
"$tp" --quiet journeys "$dir/ev.csv" --out "$dir/evj" --split 1 > /dev/null
/usr/bin/python3 - "$dir/evj/stats.json" "$dir/ev.json" <<'EOF' || fail "journeys of conversion events"
import json, sys
s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert s["conversions"] == t["conversions"], (s["conversions"], t["conversions"])
assert s["empty_journeys"] > 0 and s["event_rows"] == t["conversions"] + 3000, s
EOF
echo ok
