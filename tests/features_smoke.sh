#!/usr/bin/env bash
# features_smoke.sh BUILD_DIR: the propensity feature commands end to end: simulate --kind events
# (same seed, same bytes on 1 and 2 threads), features --out, featurestore materialize (then the
# same again: a no-op; changed definitions: version 2), list, get, show, and the exit codes of
# usage errors (2) and YAML errors (1, naming the line).
set -eu
tp="$1/touchpoint"
defs="$(cd "$(dirname "$0")/.." && pwd)/examples/features.yaml"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

set +e
"$tp" simulate --kind nope --users 10 --out "$dir/x.parquet" 2>/dev/null; [ $? -eq 2 ] || fail "--kind nope should exit 2"
"$tp" simulate --kind events --out "$dir/x.parquet" 2>/dev/null; [ $? -eq 2 ] || fail "events without --users should exit 2"
"$tp" features --events "$dir/x" --defs "$defs" 2>/dev/null; [ $? -eq 2 ] || fail "features without --as-of should exit 2"
"$tp" features --events "$dir/x" --defs "$defs" --as-of 2024-02-30 --out "$dir/o" 2>/dev/null; [ $? -eq 2 ] || fail "a bad date should exit 2"
set -e

TP_THREADS=1 "$tp" --quiet simulate --kind events --users 2000 --days 90 --seed 3 --out "$dir/ev.parquet" \
  --items "$dir/items.parquet" --truth "$dir/truth.json"
TP_THREADS=2 "$tp" --quiet simulate --kind events --users 2000 --days 90 --seed 3 --out "$dir/ev2.parquet"
cmp -s "$dir/ev.parquet" "$dir/ev2.parquet" || fail "simulate --kind events differs between 1 and 2 threads"
grep -q '"coef_cart_engaged"' "$dir/truth.json" || fail "truth JSON"
"$tp" cat "$dir/items.parquet" | head -1 | grep -q '"price"' || fail "items table"

"$tp" --quiet features --events "$dir/ev.parquet" --defs "$defs" --as-of 2024-03-01 --out "$dir/f" > "$dir/f.txt"
for l in user group user_group; do [ -s "$dir/f/$l.parquet" ] || fail "no $l.parquet"; done
grep -q "user_group .* x 37" "$dir/f.txt" || fail "features summary: $(cat "$dir/f.txt")"

# events without a group column, groups from the items table
"$tp" --quiet convert "$dir/ev.parquet" "$dir/ev.csv"
cut -d, -f1-4,6 "$dir/ev.csv" > "$dir/ev_nogroup.csv"
"$tp" --quiet features --events "$dir/ev_nogroup.csv" --items "$dir/items.parquet" --defs "$defs" \
  --as-of 2024-03-01 --out "$dir/f2" > /dev/null
cmp -s <("$tp" cat "$dir/f/user_group.parquet") <("$tp" cat "$dir/f2/user_group.parquet") \
  || fail "groups from the items table give other features"

s="$dir/store"
"$tp" --quiet featurestore materialize --store "$s" --events "$dir/ev.parquet" --defs "$defs" --as-of 2024-03-01 | grep -q "version 1:" || fail "first materialize"
"$tp" --quiet featurestore materialize --store "$s" --events "$dir/ev.parquet" --defs "$defs" --as-of 2024-03-01 | grep -q "nothing done" || fail "second materialize is not a no-op"
sed 's/horizon_days: 30/horizon_days: 14/' "$defs" > "$dir/defs2.yaml"
"$tp" --quiet featurestore materialize --store "$s" --events "$dir/ev.parquet" --defs "$dir/defs2.yaml" --as-of 2024-03-01 | grep -q "version 2:" || fail "changed definitions are not version 2"
[ "$("$tp" featurestore list --store "$s" | wc -l)" -eq 7 ] || fail "catalogue rows"
[ -s "$s/snapshots/user_group/as_of=2024-03-01/v2/part-0.parquet" ] || fail "snapshot layout"
ls "$s/snapshots/user/as_of=2024-03-01" | grep -q tmp && fail "temporary folder left"
uid=$("$tp" cat "$dir/f/user_group.parquet" | head -1 | sed 's/.*"uid":\([0-9]*\).*/\1/')
grp=$("$tp" cat "$dir/f/user_group.parquet" | head -1 | sed 's/.*"group":"\([^"]*\)".*/\1/')
"$tp" featurestore get --store "$s" --as-of 2024-03-01 --level user_group --uid "$uid" --group "$grp" | grep -q "^cart_to_view_30d" || fail "get"
hash=$("$tp" featurestore list --store "$s" | awk 'NR == 2 { print $4 }')
"$tp" featurestore show --store "$s" --hash "$hash" | grep -q "horizon_days=30" || fail "show"

printf 'features:\n  - level: user\n    metric: count\n    windos: [7]\n' > "$dir/bad.yaml"
set +e
"$tp" --quiet features --events "$dir/ev.parquet" --defs "$dir/bad.yaml" --as-of 2024-03-01 --out "$dir/b" 2> "$dir/err.txt"
rc=$?
set -e
[ $rc -eq 1 ] || fail "a YAML error should exit 1"
grep -q "bad.yaml:4: unknown key 'windos'" "$dir/err.txt" || fail "YAML error message: $(cat "$dir/err.txt")"
echo "features smoke: ok"
