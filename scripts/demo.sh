#!/usr/bin/env bash
# demo.sh BUILD_DIR: the attribution demo behind `make demo`. Runs examples/demo_pipeline.yaml:
# simulates 20,000 users with a known true contribution per campaign, builds journeys, runs every
# attribution method, scores each against the truth and writes the HTML report into out/demo/.
# Prints the evaluation table (best method first) and the report's path. DEMO_RESUME=1 reuses the
# steps of an earlier run whose inputs and settings are unchanged.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bin="$build/touchpoint"
if [ ! -x "$bin" ]; then
  echo "demo: $bin not found; run make first" >&2
  exit 1
fi
resume=()
[ "${DEMO_RESUME:-0}" = 1 ] && resume=(--resume)
mkdir -p out/demo
echo "demo: attribution: simulate -> journeys -> attribute -> train -> predict -> evaluate -> report"
"$bin" pipeline --config examples/demo_pipeline.yaml "${resume[@]}"
echo
echo "demo: open $(pwd)/out/demo/report/report.html in a browser"

echo
echo "demo: lookalike: simulate logs -> prepare -> click model -> score table -> extend -> validate"
scripts/demo_lookalike.sh "$build"

echo
echo "demo: propensity: simulate events -> weekly workflow (features, train, promote) -> daily workflow (score)"
scripts/demo_propensity.sh "$build"
