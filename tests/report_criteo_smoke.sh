#!/usr/bin/env bash
# report_criteo_smoke.sh BUILD_DIR: real Criteo rows (../shared/data/deepattribution/
# raw_impressions_criteo_head1000.parquet: timestamp first, integer campaign ids) through the CLI
# jobs journeys -> attribute (all methods, per-touch credit) -> report, and through the pipeline.
# Checks the campaign attention table (every campaign a decimal string of the Criteo id, shares of
# attributed conversions summing to the conversions) and that the report draws one bar per
# campaign x method.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bin="$(pwd)/$build/touchpoint"
data=""
for d in "${TP_SHARED_DATA:-}" ../shared/data ../../shared/data ../../../shared/data; do
  if [ -n "$d" ] && [ -f "$d/deepattribution/raw_impressions_criteo_head1000.parquet" ]; then
    data="$(cd "$d" && pwd)/deepattribution/raw_impressions_criteo_head1000.parquet"; break
  fi
done
if [ -z "$data" ]; then
  echo "skip: shared data (raw_impressions_criteo_head1000.parquet) not found"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "report_criteo_smoke: $*" >&2; exit 1; }

"$bin" --quiet journeys "$data" --out "$tmp/j" --split 1 --max-len 10 > /dev/null
"$bin" --quiet attribute "$tmp/j" --method all --per-touch --out "$tmp/credit" > /dev/null
"$bin" --quiet report --journeys "$tmp/j" --credit "$tmp/credit" --out "$tmp/rep" \
  --attention-from linear
test -s "$tmp/rep/report.html" || fail "no report.html"
test -s "$tmp/rep/campaign_attention.parquet" || fail "no campaign_attention.parquet"

# the attention table, read back as CSV by our own reader
"$bin" --quiet cat "$tmp/rep/campaign_attention.parquet" --format csv > "$tmp/att.csv"
head -n 1 "$tmp/att.csv" | grep -q '^campaign_nm,total_attention,average_attention,attributed_conversions$' ||
  fail "campaign_attention.parquet columns: $(head -n 1 "$tmp/att.csv")"
conv=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["conversions"])' "$tmp/j/stats.json")
/usr/bin/python3 - "$tmp/att.csv" "$conv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
conv = float(sys.argv[2])
assert rows, "no campaigns"
for r in rows:
    assert r["campaign_nm"].isdigit(), f"campaign {r['campaign_nm']!r} is not a Criteo id"
    assert float(r["total_attention"]) >= float(r["attributed_conversions"]) - 1e-9
s = sum(float(r["attributed_conversions"]) for r in rows)
# linear credit sums to 1 per converting journey that has a touch
assert abs(s - conv) < 1e-6 * max(1, conv), (s, conv)
print(f"criteo: {len(rows)} campaigns, {s:.0f} attributed conversions of {conv:.0f}")
PY
methods=$(ls "$tmp/credit" | grep -c -v '_touches.parquet$')
camps=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["campaigns"]))' "$tmp/j/mapper.json")
bars=$(grep -o 'class="bar"' "$tmp/rep/report.html" | wc -l)
shown=$(( camps < 30 ? camps : 30 ))
[ "$bars" -eq $(( methods * shown )) ] || fail "$bars bars, wanted $methods methods x $shown campaigns"

# the same file through the pipeline
cat > "$tmp/p.yaml" <<YAML
input: $data
output: $tmp/pipe
journey_max_len: 10
methods: [last, markov, shapley]
YAML
"$bin" --quiet pipeline --config "$tmp/p.yaml" > /dev/null
test -s "$tmp/pipe/report/report.html" || fail "pipeline wrote no report"
echo "criteo ok: $camps campaigns, $methods methods, $bars bars"
