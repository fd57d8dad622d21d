#!/usr/bin/env bash
# pipeline_smoke.sh BUILD_DIR: `touchpoint pipeline` end to end on a small simulated data set.
#  1. a full run: every step done, every output present, state.json records them;
#  2. the same config with --resume: every step skipped, no output rewritten;
#  3. a changed attribution setting with --resume: simulate and journeys skipped, the rest re-run;
#     per_touch switched off and on again leaves no stale per-touch credit or attention table;
#  4. a broken step (an invalid method): exit 1, the error names the step and the method, the
#     outputs of earlier steps are untouched and the state records the failure;
#  5. a second run on a locked output folder is refused;
#  6. an unknown config key: exit 1, the error names the key and its line.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bin="$(pwd)/$build/touchpoint"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
fail() { echo "pipeline_smoke: $*" >&2; exit 1; }
mtime() { stat -c %Y.%y "$1"; }
status_of() { # step name -> status in state.json
  /usr/bin/python3 -c 'import json,sys
s=json.load(open(sys.argv[1]))
print([x["status"] for x in s["steps"] if x["name"]==sys.argv[2]][0])' "$out/_pipeline/state.json" "$1"
}

cat > "$tmp/p.yaml" <<YAML
# smoke test config
output: $out
simulate:
  users: 2000
  campaigns: 6
  days: 15
  seed: 11
journey_max_len: 8
split: [0.8, 0.1, 0.1]
seed: 5
lookback_days: 20
methods: [last, linear, markov, shapley]
half_life_days: 7
YAML

# 1. full run
"$bin" pipeline --config "$tmp/p.yaml" > "$tmp/run1.out" 2> "$tmp/run1.err" || { cat "$tmp/run1.err"; fail "first run failed"; }
for f in simulate/impressions.parquet simulate/truth.json journeys/train.parquet journeys/val.parquet \
         journeys/test.parquet journeys/mapper.json attribution/last.parquet attribution/markov.parquet \
         attribution/shapley_touches.parquet evaluation/evaluation.json report/report.html \
         report/campaign_attention.parquet _pipeline/state.json; do
  test -s "$out/$f" || fail "missing output $f"
done
for s in simulate journeys attribute evaluate report; do
  [ "$(status_of $s)" = done ] || fail "step $s not done after the first run"
done
grep -q "report: $out/report/report.html" "$tmp/run1.out" || fail "report path not printed"
grep -q '^1 ' "$tmp/run1.out" || fail "evaluation table not printed"
[ "$(grep -c 'skipped' "$tmp/run1.err" || true)" -eq 0 ] || fail "first run skipped a step"

# 2. resume: nothing to do
before_report=$(mtime "$out/report/report.html")
before_train=$(mtime "$out/journeys/train.parquet")
"$bin" pipeline --config "$tmp/p.yaml" --resume > "$tmp/run2.out" 2> "$tmp/run2.err" || { cat "$tmp/run2.err"; fail "resume failed"; }
[ "$(grep -c 'skipped' "$tmp/run2.err")" -eq 5 ] || { cat "$tmp/run2.err"; fail "resume did not skip all 5 steps"; }
[ "$(mtime "$out/report/report.html")" = "$before_report" ] || fail "resume rewrote the report"
grep -q '^1 ' "$tmp/run2.out" || fail "evaluation table not printed on resume"

# 3. a changed attribution setting re-runs attribute and what follows, not what precedes
sed 's/^half_life_days: 7/half_life_days: 3/' "$tmp/p.yaml" > "$tmp/p3.yaml"
"$bin" pipeline --config "$tmp/p3.yaml" --resume > /dev/null 2> "$tmp/run3.err" || { cat "$tmp/run3.err"; fail "partial resume failed"; }
grep -q 'simulate skipped' "$tmp/run3.err" && grep -q 'journeys skipped' "$tmp/run3.err" || fail "early steps re-ran"
grep -q 'attribute done' "$tmp/run3.err" && grep -q 'report done' "$tmp/run3.err" || fail "late steps did not re-run"
[ "$(mtime "$out/journeys/train.parquet")" = "$before_train" ] || fail "journeys rewritten"

# 3b. per-touch credit switched off: no stale per-touch files or attention table are left behind
sed 's/^half_life_days: 7/per_touch: false/' "$tmp/p.yaml" > "$tmp/p4.yaml"
"$bin" pipeline --config "$tmp/p4.yaml" --resume > /dev/null 2> "$tmp/run4.err" || { cat "$tmp/run4.err"; fail "per_touch: false failed"; }
[ -z "$(ls "$out/attribution" | grep _touches.parquet || true)" ] || fail "stale per-touch credit left"
test ! -e "$out/report/campaign_attention.parquet" || fail "stale campaign_attention.parquet left"
test -s "$out/report/report.html" || fail "no report without per-touch credit"
"$bin" pipeline --config "$tmp/p3.yaml" --resume > /dev/null 2> "$tmp/run5.err" || { cat "$tmp/run5.err"; fail "back to per_touch failed"; }
test -s "$out/report/campaign_attention.parquet" || fail "campaign_attention.parquet not rebuilt"

# 4. a broken step
sed 's/^methods: .*/methods: [last, no-such-method]/' "$tmp/p3.yaml" > "$tmp/bad.yaml"
before_train=$(mtime "$out/journeys/train.parquet")
before_truth=$(mtime "$out/simulate/truth.json")
set +e
"$bin" pipeline --config "$tmp/bad.yaml" --resume > /dev/null 2> "$tmp/bad.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "broken step exited $rc, wanted 1"
grep -q "pipeline step 'attribute' failed" "$tmp/bad.err" || { cat "$tmp/bad.err"; fail "error does not name the step"; }
grep -q "no-such-method" "$tmp/bad.err" || fail "error does not say why"
[ "$(mtime "$out/journeys/train.parquet")" = "$before_train" ] || fail "earlier outputs touched"
[ "$(mtime "$out/simulate/truth.json")" = "$before_truth" ] || fail "earlier outputs touched"
test -s "$out/report/report.html" || fail "earlier report removed"
[ "$(status_of attribute)" = failed ] || fail "state does not record the failure"
[ "$(status_of journeys)" = done ] || fail "state lost the earlier steps"

# 4b. one run per output folder: a held lock refuses a second run, and leaves the state alone
cp "$out/_pipeline/state.json" "$tmp/state.before"
set +e
flock "$out/_pipeline/lock" "$bin" pipeline --config "$tmp/p3.yaml" --resume > /dev/null 2> "$tmp/lock.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a locked output folder exited $rc"
grep -q "another pipeline is running" "$tmp/lock.err" || { cat "$tmp/lock.err"; fail "lock error unclear"; }
cmp -s "$tmp/state.before" "$out/_pipeline/state.json" || fail "a refused run changed the state"

# 5. unknown key, with its line
printf 'output: %s\ninput: x.parquet\nmetods: [last]\n' "$out" > "$tmp/typo.yaml"
set +e
"$bin" pipeline --config "$tmp/typo.yaml" 2> "$tmp/typo.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "unknown key exited $rc"
grep -q "line 3" "$tmp/typo.err" && grep -q "metods" "$tmp/typo.err" || { cat "$tmp/typo.err"; fail "unknown key not named with its line"; }
echo "pipeline ok: run, resume (all skipped), partial resume, failed step isolated, unknown key"
