#!/usr/bin/env bash
# run_all.sh BUILD_DIR: runs the C test suites, then every tests/*_smoke.sh, and ends with the
# line "N passed, N failed" (suites and smoke scripts counted together); exits 1 on any failure.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
passed=0 failed=0
out=$(mktemp)
"$build/tp_tests" 2>&1 | tee "$out"
read -r p f < <(sed -n 's/^\([0-9]\+\) passed, \([0-9]\+\) failed$/\1 \2/p' "$out" | tail -n 1)
if [ -z "${p:-}" ]; then
  echo "tp_tests did not finish (crash?)"
  failed=$((failed + 1))
else
  passed=$((passed + p)); failed=$((failed + f))
fi
rm -f "$out"
for t in tests/*_smoke.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  start=$(date +%s.%N)
  if log=$(bash "$t" "$build" 2>&1); then
    passed=$((passed + 1))
    printf "ok   %-20s (%ss)\n" "$name" "$(awk -v a="$start" -v b="$(date +%s.%N)" "BEGIN{printf \"%.1f\", b-a}")"
  else
    failed=$((failed + 1))
    printf 'FAIL %-20s\n' "$name"
    printf '%s\n' "$log" | tail -n 30 | sed 's/^/    /'
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
