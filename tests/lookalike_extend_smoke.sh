#!/usr/bin/env bash
# lookalike_extend_smoke.sh BUILD_DIR: `touchpoint lookalike extend` and `validate` end to end on
# simulated logs with planted interest groups: 14 days -> prepare/train/scores; seeds from one
# group -> extend; the same simulation run on to 21 days gives the later test period (days 15-21,
# identical first 14 days) -> validate: the lift on the group's keyword must be clearly above 1,
# and below 1 on another group's keyword. Also usage errors, unknown seeds, CSV output.
set -eu
tp="$(cd "$1" && pwd)/touchpoint"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$dir"

"$tp" lookalike extend --help | grep -q -- "--extension-pct" || fail "extend --help"
"$tp" lookalike validate --help | grep -q -- "--keyword" || fail "validate --help"
set +e
"$tp" lookalike extend --seeds x.csv --out o 2>/dev/null; [ $? -eq 2 ] || fail "missing --scores should exit 2"
"$tp" lookalike extend --scores s --seeds x --out o --m 5 --extension-pct 10 2>/dev/null; [ $? -eq 2 ] || fail "--m with --extension-pct should exit 2"
"$tp" lookalike validate --audience a --clicks c 2>/dev/null; [ $? -eq 2 ] || fail "missing --keyword should exit 2"
set -e

"$tp" simulate --kind lookalike --users 3000 --days 14 --seed 3 --out sim14 >/dev/null 2>&1 || fail "simulate 14"
"$tp" simulate --kind lookalike --users 3000 --days 21 --seed 3 --out sim21 >/dev/null 2>&1 || fail "simulate 21"
for d in 14 21; do
  cat > la$d.yaml <<EOF
input:
  persona: sim$d/persona.parquet
  shows: sim$d/shows.parquet
  clicks: sim$d/clicks.parquet
  keywords: sim$d/keywords.parquet
output: out$d
prepare:
  min_active_intervals: 2
train:
  epochs: 2
  seed: 1
EOF
done
"$tp" lookalike prepare --config la14.yaml >/dev/null 2>&1 || fail "prepare 14"
"$tp" lookalike train --config la14.yaml >/dev/null 2>&1 || fail "train"
"$tp" lookalike scores --config la14.yaml >/dev/null 2>&1 || fail "scores"
"$tp" lookalike prepare --config la21.yaml >/dev/null 2>&1 || fail "prepare 21"

# seeds: 100 members of group 0, plus an unknown did
"$tp" convert sim14/groups.parquet groups.csv >/dev/null 2>&1
awk -F, 'NR > 1 && $2 == 0 { print $1 }' groups.csv | head -n 100 > seeds.csv
echo "no-such-user" >> seeds.csv
"$tp" lookalike extend --scores out14/scores --seeds seeds.csv --out ext --k 5 --extension-pct 300 \
  > extend.out 2> extend.err || fail "extend: $(cat extend.err)"
grep -q "no-such-user" extend.err || fail "unknown seed not reported"
jq -e '.seeds_unknown >= 1 and .selected == (.seeds_matched * 3) and .k == 5' ext/extend.json >/dev/null \
  || fail "extend.json: $(cat ext/extend.json)"
"$tp" convert ext/audience.parquet aud.csv >/dev/null 2>&1
[ "$(head -n 1 aud.csv)" = "did,score" ] || fail "audience columns"
if tail -n +2 aud.csv | cut -d, -f1 | grep -qxFf seeds.csv; then fail "a seed is in the audience"; fi
share=$(awk -F, 'NR == FNR { g[$1] = $2; next } FNR > 1 { n++; if (g[$1] == 0) h++ } END { printf "%.3f", h / n }' groups.csv aud.csv)
echo "audience share in the seed group: $share (base rate ~0.25)"
awk -v s="$share" 'BEGIN { exit !(s > 0.4) }' || fail "audience share in the seed group $share"

# same run twice, CSV output: identical rows; --no-cluster works
"$tp" lookalike extend --scores out14/scores --seeds seeds.csv --out ext2/aud.csv --k 5 --extension-pct 300 >/dev/null 2>&1
cmp -s aud.csv ext2/aud.csv || fail "extension is not deterministic (or CSV differs from Parquet)"
"$tp" lookalike extend --scores out14/scores --seeds seeds.csv --out ext3 --no-cluster --m 50 >/dev/null 2>&1 || fail "--no-cluster"
jq -e '.selected == 50 and .k == null' ext3/extend.json >/dev/null || fail "no-cluster json"
# nothing matches: exit 1 with a message naming a did
printf 'x1\nx2\n' > bad.csv
set +e
"$tp" lookalike extend --scores out14/scores --seeds bad.csv --out ext4 2> bad.err; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "x1" bad.err || fail "all-unknown seeds: exit $rc, $(cat bad.err)"
[ ! -e ext4/audience.parquet ] || fail "failed run wrote an audience"

# validation on the later period
kw=$(jq -r '.interest_keywords[0][0]' sim14/truth.json)
other=$(jq -r '.interest_keywords[1][0]' sim14/truth.json)
"$tp" lookalike validate --audience ext/audience.parquet --clicks out21/logs --from 2024-01-15 \
  --keyword "$kw" --seeds seeds.csv --scores out14/scores --out v.json || fail "validate"
lift=$(jq -r .lift_clicks v.json)
jq -e '.audience.users == .random.users and .audience.users > 0 and .precision_at_m > 0 and .recall_at_m > 0' v.json >/dev/null \
  || fail "validate.json: $(cat v.json)"
awk -v l="$lift" 'BEGIN { exit !(l > 1.3) }' || fail "lift on $kw is $lift, wanted clearly above 1"
"$tp" lookalike validate --audience ext/audience.parquet --clicks out21/logs --from 2024-01-15 \
  --keyword "$other" --seeds seeds.csv --scores out14/scores --out v2.json >/dev/null || fail "validate other"
lift2=$(jq -r .lift_clicks v2.json)
awk -v l="$lift2" 'BEGIN { exit !(l < 1) }' || fail "lift on another group's keyword $other is $lift2, wanted < 1"
echo "lift on $kw: $lift; on $other (another group): $lift2"
