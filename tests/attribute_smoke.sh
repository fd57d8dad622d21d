#!/usr/bin/env bash
# attribute_smoke.sh BUILD_DIR: simulate -> journeys -> attribute --method all -> evaluate through
# the CLI; checks the credit files, the printed table, the evaluation JSON and usage errors.
set -eu
T="$1/touchpoint"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$T" --quiet simulate --users 5000 --campaigns 6 --seed 7 --out "$dir/imp.parquet" --truth "$dir/truth.json" >/dev/null
"$T" --quiet journeys "$dir/imp.parquet" --out "$dir/j" --split 1 >/dev/null
"$T" --quiet attribute "$dir/j" --method all --out "$dir/credit" --per-touch --markov-order 2 > "$dir/table.txt"
for m in last first linear time-decay position markov shapley; do
  test -s "$dir/credit/$m.parquet"
  test -s "$dir/credit/${m}_touches.parquet"
done
grep -q "^campaign_nm *last *first *linear *time-decay *position *markov *shapley$" "$dir/table.txt"
test "$(ls "$dir/credit" | grep -c tmp)" -eq 0   # no temporary files left behind
# One method: the detailed table with shares summing to ~100%.
"$T" --quiet attribute "$dir/j/all.parquet" --method position --position 0.3,0.3,0.4 --out "$dir/c2" > "$dir/one.txt"
awk 'NR > 2 { s += $3 } END { if (s < 99.9 || s > 100.1) exit 1 }' "$dir/one.txt"
"$T" evaluate --truth "$dir/truth.json" "$dir/credit" --out "$dir/eval.json" > "$dir/eval.txt"
test "$(grep -c '"method"' "$dir/eval.json")" -eq 7
grep -q '^markov ' "$dir/eval.txt"
# Usage errors exit 2, runtime errors 1.
set +e
"$T" attribute "$dir/j" --out "$dir/x" --method bogus 2>/dev/null; test $? -eq 2 || exit 1
"$T" attribute "$dir/j" --out "$dir/x" --position 0.5,0.5,0.5 2>/dev/null; test $? -eq 2 || exit 1
"$T" attribute "$dir/j" --out "$dir/x" --markov-order 5 2>/dev/null; test $? -eq 2 || exit 1
"$T" attribute "$dir/nope" --out "$dir/x" 2>/dev/null; test $? -eq 1 || exit 1
"$T" evaluate "$dir/credit" 2>/dev/null; test $? -eq 2 || exit 1
"$T" evaluate --truth "$dir/nope.json" "$dir/credit" 2>/dev/null; test $? -eq 1 || exit 1
exit 0
