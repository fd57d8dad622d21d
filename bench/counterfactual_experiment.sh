#!/usr/bin/env bash
# bench/counterfactual_experiment.sh [BUILD_DIR] [OUT_DIR]: the honest evaluation of issue 7.
# For each seed and trap strength: simulate (10 campaigns, observable user covariates), build
# journeys (L=10), run the classic methods, train the attention model with and without control
# variables (past_purchases, visit_frequency, age_band, region), and score attention credit,
# model-removal and model-shapley of each model against the truth. Writes OUT_DIR/results.tsv
# (one row per run and method) and prints mean TVD per trap strength and method (lower is better).
# Env: SEEDS (default "1 2 3"), TRAPS (default "0.5 1 2"), USERS (default 30000), EPOCHS (8),
# EVENTS=1: simulate with --conversion-events (the advertiser's order log joined, so journeys
# without a touch exist and the models see the no-ad baseline); EVENTS=visits: --visit-events and
# per-visit units (journeys --per-event; the models also get the event-history controls);
# OBSERVABLE=1: campaigns target on the observable visit rate (--observable-targeting).
set -eu
build=${1:-build}
res=${2:-cf_experiment}
tp="$build/touchpoint"
seeds=${SEEDS:-1 2 3}
traps=${TRAPS:-0.5 1 2}
users=${USERS:-30000}
epochs=${EPOCHS:-8}
evopt="" jopt="" hctl=""
[ "${EVENTS:-0}" = 1 ] && evopt="--conversion-events"
[ "${EVENTS:-0}" = visits ] && evopt="--visit-events" jopt="--per-event" \
  hctl=",hist_prev_events,hist_prev_conversions,hist_events_in_journey"
[ "${OBSERVABLE:-0}" = 1 ] && evopt="$evopt --observable-targeting"
mkdir -p "$res"
tsv="$res/results.tsv"
printf 'seed\ttrap\tmethod\ttvd\tspearman\tretarget_share\n' > "$tsv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for s in $seeds; do
  for x in $traps; do
    w="$work/s${s}_t$x"
    mkdir -p "$w"
    "$tp" --quiet simulate --users "$users" --user-features --seed "$s" --trap-strength "$x" $evopt \
      --out "$w/imp.parquet" --truth "$w/truth.json" > /dev/null
    "$tp" --quiet journeys "$w/imp.parquet" --out "$w/j" --max-len 10 $jopt > /dev/null
    "$tp" --quiet attribute "$w/j" --method all --out "$w/classic" > /dev/null
    for ctl in controls none; do
      copt=""
      [ "$ctl" = controls ] && copt="--controls past_purchases,visit_frequency,age_band,region$hctl"
      "$tp" --quiet train "$w/j" --out "$w/m_$ctl.bin" $copt --epochs "$epochs" --hidden 32 --threads 2 --seed 1 > /dev/null
      "$tp" --quiet predict --model "$w/m_$ctl.bin" "$w/j" --out "$w/att_$ctl.parquet" --credit-dir "$w/m_$ctl" > /dev/null
      "$tp" --quiet attribute "$w/j" --method model-removal,model-shapley --model "$w/m_$ctl.bin" \
        --out "$w/m_$ctl" --threads 2 > /dev/null
    done
    for d in classic m_controls m_none; do
      suffix=""
      [ "$d" = m_controls ] && suffix="+controls"
      [ "$d" = m_none ] && suffix="-no-controls"
      "$tp" --quiet evaluate --truth "$w/truth.json" "$w/$d" > "$w/eval_$d.txt"
      for f in "$w/$d"/*.parquet; do
        case "$f" in *_touches.parquet) continue ;; esac
        m=$(basename "$f" .parquet)
        rs=$("$tp" --quiet cat "$f" --format csv | awk -F, '$1=="c01_retarget"{print $3}')
        awk -v s="$s" -v x="$x" -v m="$m" -v suf="$suffix" -v rs="$rs" '$1 == m {
          printf "%s\t%s\t%s%s\t%s\t%s\t%s\n", s, x, m, suf, $2, $3, rs }' "$w/eval_$d.txt" >> "$tsv"
      done
    done
    echo "seed $s trap $x done" >&2
  done
done
# mean TVD, Spearman and retargeting share per trap strength and method
awk -F'\t' 'NR > 1 { k = $2 "\t" $3; n[k]++; t[k] += $4; r[k] += $6; if ($5 != "nan" && $5 != "") { sp[k] += $5; ns[k]++ } }
  END { printf "trap\tmethod\truns\tmean_tvd\tmean_spearman\tmean_retarget_share\n";
        for (k in n) printf "%s\t%d\t%.3f\t%.3f\t%.3f\n", k, n[k], t[k] / n[k], ns[k] ? sp[k] / ns[k] : 0, r[k] / n[k] }' "$tsv" |
  (read -r h; echo "$h"; sort -t$'\t' -k1,1n -k4,4n) | tee "$res/summary.tsv"
