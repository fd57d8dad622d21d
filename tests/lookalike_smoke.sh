#!/usr/bin/env bash
# lookalike_smoke.sh BUILD_DIR: `touchpoint simulate --kind lookalike` and `touchpoint lookalike
# prepare|train|scores` end to end: usage errors exit 2, a bad config exits 1 naming the line,
# the Hive partitions and stats.json exist, the model beats the keyword-CTR baseline, the score
# table is the .tpsm format of BRIEF.md (parsed here in Python, independently of the C reader;
# corrupt files are covered by tests/test_lookalike.c), identical tables on 1 and 2 threads.
set -eu
tp="$1/touchpoint"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$tp" lookalike --help | grep -q "prepare" || fail "lookalike --help"
"$tp" simulate --kind lookalike --help | grep -q -- "--keywords" || fail "simulate --kind lookalike --help"
set +e
"$tp" lookalike 2>/dev/null; [ $? -eq 2 ] || fail "no step should exit 2"
"$tp" lookalike train 2>/dev/null; [ $? -eq 2 ] || fail "missing --config should exit 2"
"$tp" simulate --kind lookalike --out "$dir/x" 2>/dev/null; [ $? -eq 2 ] || fail "missing --users should exit 2"
printf 'input:\n  persona: a\noutput: o\nbogus: 1\n' > "$dir/bad.yaml"
err=$("$tp" lookalike prepare --config "$dir/bad.yaml" 2>&1); [ $? -eq 1 ] || fail "bad config should exit 1"
echo "$err" | grep -q "line 4" || fail "bad config error should name line 4: $err"
set -e
rm -f "$dir/bad.yaml"

"$tp" --quiet simulate --kind lookalike --users 800 --keywords 20 --days 10 --seed 5 --out "$dir/data"
for f in persona shows clicks keywords groups; do [ -s "$dir/data/$f.parquet" ] || fail "no $f.parquet"; done
cat > "$dir/lal.yaml" <<YAML
input:
  persona: data/persona.parquet
  shows: data/shows.parquet
  clicks: data/clicks.parquet
  keywords: data/keywords.parquet
output: out
prepare:
  slot_ids: [s1, s2, s3]
  keyword_min_share: 0.001
  did_buckets: 3
  batch_days: 4
  min_active_intervals: 2
train:
  embedding_dim: 8
  attention_hidden: 16
  hidden: 16
  epochs: 3
YAML
"$tp" --quiet lookalike prepare --config "$dir/lal.yaml"
[ -s "$dir/out/stats.json" ] || fail "no stats.json"
ls "$dir/out/logs" | grep -q '^day=2024-01-01$' || fail "no day= partition"
ls "$dir/out/logs/day=2024-01-01" | grep -q '^did_bucket=2$' || fail "no did_bucket= partition"
"$tp" cat "$dir/out/logs" 2>/dev/null | head -1 | grep -q '"is_click"' || fail "unified logs unreadable"
"$tp" --quiet --threads 1 lookalike train --config "$dir/lal.yaml"
python3 - "$dir/out/train_stats.json" <<'PY' || fail "model does not beat the baseline"
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if s["test_auc"] > s["baseline_auc"] else 1)
PY
"$tp" --quiet --threads 1 lookalike train --config "$dir/lal.yaml" --model "$dir/again.tpdin"
cmp -s "$dir/out/model.tpdin" "$dir/again.tpdin" || fail "same seed and threads: model files differ"
[ "$(head -c 8 "$dir/again.tpdin")" = "TPDINMDL" ] || fail "bad model magic"
rm -f "$dir/again.tpdin"
"$tp" --quiet --threads 1 lookalike scores --config "$dir/lal.yaml"
"$tp" --quiet --threads 2 lookalike scores --config "$dir/lal.yaml" --out "$dir/s2"
cmp -s "$dir/out/scores/scores.tpsm" "$dir/s2/scores.tpsm" || fail "1 vs 2 threads: score tables differ"
[ "$(head -c 8 "$dir/out/scores/scores.tpsm")" = "TPSCORE1" ] || fail "bad .tpsm magic"
[ "$(head -c 4 "$dir/out/scores/scores.parquet")" = "PAR1" ] || fail "not a Parquet file"
# the .tpsm layout, checked independently of the C reader
python3 - "$dir/out/scores/scores.tpsm" <<'PY' || fail ".tpsm layout"
import struct, sys
b = open(sys.argv[1], "rb").read()
ver, nu, nk, res = struct.unpack_from("<IQII", b, 8)
o = 28
for _ in range(nk + nu):
    (l,) = struct.unpack_from("<I", b, o); o += 4 + l
assert ver == 1 and res == 0 and nk == 20 and o + 4 * nu * nk + 8 == len(b), (ver, nu, nk, o, len(b))
for u in range(nu):
    row = struct.unpack_from("<%df" % nk, b, o + 4 * nk * u)
    assert abs(sum(x * x for x in row) - 1) < 1e-4
PY
# DuckDB (when node and its package are set up) reads the Hive folders and tables independently
repo=$(cd "$(dirname "$0")/.." && pwd)
if command -v node >/dev/null 2>&1 && [ -d "$repo/build/node/node_modules/@duckdb" ]; then
  oracle="node $repo/tests/duckdb_oracle.mjs"
  got=$($oracle sql "select count(*), sum(is_click) from read_parquet('$dir/out/logs/*/*/*.parquet', hive_partitioning=true)")
  want=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['unified']; print('[\"%d\",\"%d\"]' % (s['rows'], s['clicks']))" "$dir/out/stats.json")
  [ "$got" = "$want" ] || fail "DuckDB reads $got unified rows/clicks, stats.json says $want"
  got=$($oracle sql "select count(*) from read_parquet('$dir/out/scores/scores.parquet')")
  n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['trainready']['users_kept'])" "$dir/out/stats.json")
  [ "$got" = "[\"$n\"]" ] || fail "DuckDB reads $got score rows, want $n"
else
  echo "lookalike smoke: DuckDB oracle not set up (scripts/setup_node.sh), skipping that check"
fi
echo "lookalike smoke: ok"
