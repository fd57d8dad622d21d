#!/usr/bin/env bash
# workflow_smoke.sh BUILD_DIR: the weekly then daily propensity workflows on a small simulated event
# log; a train step that fails after registering (TP_FAIL_STEP=train) resumes without a duplicate
# version; a score step killed by SIGKILL midway (TP_FAIL_STEP=score:kill, after the long table is
# written) leaves the previous profile untouched, and --resume finishes it; a run killed from
# outside (kill -9 while a step runs) resumes too; YAML errors name the line.
set -eu
tp="$1/touchpoint"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
q() { /usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print('\n'.join('|'.join(map(str,r)) for r in c.execute(sys.argv[2])))" "$@"; }

export TP_DATA="$dir/data" TP_THREADS=1
mkdir -p "$TP_DATA" "$dir/wf"
cp "$root/examples/features.yaml" "$dir/wf/features.yaml"
"$tp" --quiet simulate --kind events --users 2500 --groups 2 --days 100 --seed 5 --out "$TP_DATA/events.parquet"
# the shipped examples with a small search (same keys, fewer trials)
sed -e 's/trials: 8/trials: 2/' -e 's/max_rounds: 500/max_rounds: 40/' -e 's/dates: \[-120, -90, -60, -30\]/dates: [-90, -60, -30]/' \
  "$root/examples/weekly.yaml" > "$dir/wf/weekly.yaml"
cp "$root/examples/daily.yaml" "$dir/wf/daily.yaml"
grep -q "trials: 2" "$dir/wf/weekly.yaml" || fail "sed on weekly.yaml"
state="$TP_DATA/workflows.sqlite"

# ---- weekly, with the train step failing after its output is registered ----
set +e
TP_FAIL_STEP=train "$tp" workflow run "$dir/wf/weekly.yaml" --as-of 2024-04-10 > "$dir/w1.txt" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "injected train failure should exit 1 (got $rc): $(cat "$dir/w1.txt")"
grep -q "step 'train' failed" "$dir/w1.txt" || fail "no failure message: $(cat "$dir/w1.txt")"
[ "$(q "$state" "select status from steps where run_id=1 and name='train'")" = failed ] || fail "train not recorded as failed"
n1=$(q "$TP_DATA/registry.sqlite" "select count(*) from versions")
[ "$n1" = 2 ] || fail "expected 2 versions registered before the failure, got $n1"
"$tp" workflow run "$dir/wf/weekly.yaml" --resume > "$dir/w2.txt" 2>&1 || fail "resume weekly: $(cat "$dir/w2.txt")"
grep -q "features: done in an earlier attempt, skipped" "$dir/w2.txt" || fail "features not skipped on resume"
[ "$(q "$TP_DATA/registry.sqlite" "select count(*) from versions")" = 2 ] || fail "resume registered duplicate versions"
[ "$(q "$TP_DATA/registry.sqlite" "select count(*) from versions where stage='production'")" = 2 ] || fail "no production versions"
[ "$(q "$state" "select attempts from steps where run_id=1 and name='train'")" = 2 ] || fail "train attempts"
"$tp" registry list --registry "$TP_DATA/registry.sqlite" | grep -q "g00	1	production" || fail "registry list"

# ---- daily: a first profile ----
"$tp" workflow run "$dir/wf/daily.yaml" --as-of 2024-04-10 > "$dir/d1.txt" 2>&1 || fail "daily: $(cat "$dir/d1.txt")"
prof="$TP_DATA/profile"
before=$(cat "$prof/LATEST")
[ -s "$prof/current/profile_long.parquet" ] && [ -s "$prof/current/profile_wide.parquet" ] && [ -s "$prof/current/index.bin" ] || fail "profile files"
"$tp" propensity lookup --profile "$prof" --uid 7 > "$dir/l.txt" || fail "lookup"
[ "$(grep -c '^7	g0' "$dir/l.txt")" = 2 ] || fail "lookup rows: $(cat "$dir/l.txt")"
users=$(q "$state" "select outputs from steps where name='score' and status='done'" | /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.readline())['users'])")
long_rows=$("$tp" cat "$prof/current/profile_long.parquet" | wc -l)
[ "$long_rows" = $((users * 2)) ] || fail "long table rows $long_rows, want $((users * 2))"

# ---- daily killed by SIGKILL inside the score step ----
set +e
TP_FAIL_STEP=score:kill "$tp" workflow run "$dir/wf/daily.yaml" --as-of 2024-04-11 > "$dir/d2.txt" 2>&1
rc=$?
set -e
[ $rc -eq 137 ] || fail "score:kill should die by SIGKILL (got $rc)"
[ "$(cat "$prof/LATEST")" = "$before" ] || fail "LATEST changed by a killed run"
ls -a "$prof/snapshots" | grep -q '^\.tmp-' || fail "the killed run should have left its temporary folder (the kill came after the long table)"
[ "$(readlink "$prof/current")" = "snapshots/000001_2024-04-10" ] || fail "current moved: $(readlink "$prof/current")"
"$tp" propensity lookup --profile "$prof" --uid 7 | grep -q "2024-04-10" || fail "lookup after the kill"
[ "$(q "$state" "select status from steps where run_id=3 and name='score'")" = running ] || fail "killed step status"
"$tp" workflow run "$dir/wf/daily.yaml" --resume > "$dir/d3.txt" 2>&1 || fail "resume daily: $(cat "$dir/d3.txt")"
grep -q "resuming run 3 (as of 2024-04-11)" "$dir/d3.txt" || fail "resume message: $(cat "$dir/d3.txt")"
[ "$(readlink "$prof/current")" = "snapshots/000002_2024-04-11" ] || fail "current after resume: $(readlink "$prof/current")"
ls -a "$prof/snapshots" | grep -q '^\.tmp-' && fail "temporary folder of the killed run not cleaned"
grep -q '"as_of": "2024-04-11"' "$prof/LATEST" || fail "LATEST after resume"
[ "$(q "$state" "select status, attempts from steps where run_id=3 and name='score'")" = "done|2" ] || fail "score step after resume"

# ---- a kill -9 from outside while a step runs ----
"$tp" workflow run "$dir/wf/daily.yaml" --as-of 2024-04-12 > "$dir/d4.txt" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  s=$(q "$state" "select status from steps where run_id=4 and name='score'" 2>/dev/null || true)
  [ "$s" = running ] || [ "$s" = done ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
cur=$(readlink "$prof/current")
case "$cur" in snapshots/000002_2024-04-11|snapshots/000003_2024-04-12) ;; *) fail "current after kill -9: $cur" ;; esac
[ -s "$prof/$cur/index.bin" ] || fail "current snapshot incomplete"
"$tp" workflow run "$dir/wf/daily.yaml" --resume > "$dir/d5.txt" 2>&1 || fail "resume after kill -9: $(cat "$dir/d5.txt")"
grep -q '"as_of": "2024-04-12"' "$prof/LATEST" || fail "LATEST after the kill -9 resume"
"$tp" workflow status "$dir/wf/daily.yaml" | grep -q "^4	2024-04-12	score	done" || fail "status"

# ---- errors ----
printf 'name: x\nstate: s.sqlite\nevents: e\ndefs: d\nsteps: [features, scroe]\n' > "$dir/wf/bad.yaml"
set +e
"$tp" workflow run "$dir/wf/bad.yaml" 2> "$dir/e.txt"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "bad.yaml:5: unknown step 'scroe'" "$dir/e.txt" || fail "bad step: $(cat "$dir/e.txt")"
set +e
"$tp" workflow run 2>/dev/null; [ $? -eq 2 ] || fail "no YAML should exit 2"
set -e
echo "workflow smoke ok"
