#!/usr/bin/env bash
# report_browser_smoke.sh BUILD_DIR: the attribution report renders in a real browser.
# Runs the pipeline on a small simulated data set (simulate -> journeys -> attribute (all
# methods) -> evaluate -> report), then opens report.html in headless Chromium twice:
#  1. a probe copy (CSP meta removed, a tiny script appended) whose --dump-dom carries the
#     browser's own measurements: every credit bar's getBBox() width (non-zero where its share is,
#     proportional to the share), the chart sizes, the histogram bars;
#  2. the report itself, unchanged, as a screenshot that must not be blank and must show every
#     series colour (tests/report_png_check.py decodes the PNG).
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bin="$(pwd)/$build/touchpoint"
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
  echo "chromium is not installed (Debian package chromium; scripts/setup.sh installs it)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/p.yaml" <<YAML
output: $tmp/out
simulate: {users: 3000, campaigns: 8, days: 20, seed: 3}
journey_max_len: 12
methods: all
title: "Browser <smoke> & test"
YAML
"$bin" --quiet pipeline --config "$tmp/p.yaml" > "$tmp/pipeline.log"
html="$tmp/out/report/report.html"
test -s "$html"
grep -q '<script' "$html" && { echo "report.html must not contain scripts" >&2; exit 1; }
grep -q 'Browser &lt;smoke&gt; &amp; test' "$html"

# what the report should draw: (methods + truth) x campaigns bars
n_series=$(( $(ls "$tmp/out/attribution" | grep -c -v '_touches.parquet$') + 1 ))
n_camp=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["campaigns"]))' \
  "$tmp/out/simulate/truth.json")
want=$(( n_series * n_camp ))

run_chrome() {
  local prof
  prof=$(mktemp -d -p "$tmp")
  timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$prof" --window-size=1280,2000 "$@" 2>>"$tmp/chrome.log"
}

# 1. measurements from inside the browser
sed -e '/http-equiv="Content-Security-Policy"/s/<meta http-equiv="Content-Security-Policy"[^>]*>//' \
    -e 's|</body>|<script>\
const bars=[...document.querySelectorAll("svg.credit rect.bar")];\
const w=bars.map(b=>b.getBBox().width), sh=bars.map(b=>+b.dataset.share);\
const mag=sh.map(Math.abs), big=mag.indexOf(Math.max(...mag)), scale=w[big]/mag[big];\
let zero=0, off=0;\
bars.forEach((b,i)=>{ if(mag[i]>0\&\&!(w[i]>0)) zero++; if(mag[i]>0.005\&\&Math.abs(w[i]-mag[i]*scale)>1) off++; });\
const svgs=[...document.querySelectorAll("svg.chart")].map(s=>{const r=s.getBoundingClientRect(); return Math.round(r.width)+"x"+Math.round(r.height);});\
const hb=[...document.querySelectorAll("svg.lengths rect.hbar")].filter(b=>b.getBBox().height>0).length;\
const pts=[...document.querySelectorAll("svg.rate circle.pt")].filter(c=>c.getBBox().width>0).length;\
document.title="PROBE bars="+bars.length+" positive="+mag.filter(s=>s>0).length+" drawn="+w.filter(x=>x>0).length+" zero="+zero+" off="+off+" hbars="+hb+" points="+pts+" svgs="+svgs.join(",")+" END";\
</script></body>|' "$html" > "$tmp/probe.html"
run_chrome --dump-dom "file://$tmp/probe.html" > "$tmp/dom.html"
probe=$(grep -o 'PROBE [^<]* END' "$tmp/dom.html" | head -n 1)
echo "$probe"
[ -n "$probe" ] || { echo "no probe result in the dumped DOM" >&2; tail -n 5 "$tmp/chrome.log" >&2; exit 1; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$probe"; }
[ "$(field bars)" -eq "$want" ] || { echo "expected $want bars ($n_series series x $n_camp campaigns)" >&2; exit 1; }
[ "$(field positive)" -gt 0 ]
[ "$(field drawn)" -eq "$(field positive)" ] || { echo "bars with a share but no width" >&2; exit 1; }
[ "$(field zero)" -eq 0 ]
[ "$(field off)" -eq 0 ] || { echo "bar widths not proportional to the shares" >&2; exit 1; }
[ "$(field hbars)" -gt 0 ] && [ "$(field points)" -gt 0 ]
for s in $(field svgs | tr ',' ' '); do
  w=${s%x*}; h=${s#*x}
  [ "$w" -gt 300 ] && [ "$h" -gt 100 ] || { echo "chart rendered at $s" >&2; exit 1; }
done
[ "$(field svgs | tr ',' '\n' | wc -l)" -eq 3 ]   # credit, lengths, rate

# the unmodified report, as the user sees it: also no JavaScript needed to draw it
run_chrome --dump-dom "file://$html" > "$tmp/dom2.html"
[ "$(grep -o 'class="bar"' "$tmp/dom2.html" | wc -l)" -eq "$want" ]

# 2. screenshot: not blank, and every series colour is on screen
run_chrome --screenshot="$tmp/shot.png" "file://$html" > /dev/null
colours=$(grep -o 'class="sw" style="background:#[0-9A-Fa-f]\{6\}' "$html" | sed 's/.*#//' | sort -u)
/usr/bin/python3 tests/report_png_check.py "$tmp/shot.png" $colours
if [ -n "${REPORT_SMOKE_KEEP:-}" ]; then cp "$tmp/shot.png" "$html" "$REPORT_SMOKE_KEEP"/; fi
echo "report renders: $want bars, screenshot ok"
