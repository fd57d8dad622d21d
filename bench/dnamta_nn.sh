#!/usr/bin/env bash
# dnamta_nn.sh BUILD: forward+backward+Adam throughput of the attention model's kernels, touchpoint
# (bench/dnamta_bench.c) vs PyTorch (bench/dnamta_torch.py --bench) on the same synthetic journeys
# (embedding 20, LSTM 64, 50 campaigns, batch 256), L=10 and L=20, lengths uniform in 1..L
# ("var": touchpoint skips padding, torch runs it) and all of length L ("full": equal work).
# Also the OpenBLAS sgemm peak, for the share of peak training reaches. wall = journeys per
# wall-clock second (what a user sees); cpu = per CPU-second of the process. On a shared machine
# both swing by 3x from run to run, so each side runs NN_REPS times, alternating, and the best
# epoch of all runs is reported (the capability of each, measured the same way).
# Env: NN_THREADS (2), NN_JOURNEYS (10000), NN_TORCH_JOURNEYS (same), NN_EPOCHS (2),
# NN_REPS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
threads=${NN_THREADS:-2}
n=${NN_JOURNEYS:-10000}
nt=${NN_TORCH_JOURNEYS:-$n}
epochs=${NN_EPOCHS:-2}
reps=${NN_REPS:-3}
make -s "$build/bench/dnamta_bench" "$build/bench/sgemm_peak" BUILD="$build" >/dev/null
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<< "$2"; }
max() { /usr/bin/python3 -c "import sys; v = [float(x) for x in sys.argv[1:] if x]; print(max(v) if v else 'nan')" "$@"; }
peaks=()
for i in $(seq "$reps"); do peaks+=("$(field sgemm_gflops "$("$build/bench/sgemm_peak" "$threads" | grep '^RESULT')")"); done
peak=$(max "${peaks[@]}")
echo "sgemm peak ($threads threads, 2048^3, best of $reps runs x 5): $peak GFLOP/s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
have_torch=1
/usr/bin/python3 -c 'import torch' 2>/dev/null || { have_torch=0; echo "(python3-torch absent: touchpoint only)"; }
printf '%-3s %-5s %12s %12s %12s %12s %8s %8s %9s %11s %11s %7s\n' L lens "tp wall j/s" "torch wall" "tp cpu j/s" "torch cpu" "wall x" "cpu x" "% peak" "tp predict" "torch pred" "pred x"
echo "(train = forward + backward + clip + Adam; predict = forward only, wall j/s; $threads threads; best of $reps runs each;"
echo " % peak: model FLOPs of training (3x forward, real touches) per wall second over the sgemm peak)"
for L in 10 20; do
  for mode in var full; do
    flag=""; [ "$mode" = full ] && flag="--full"
    cws=() ccs=() gfs=() tws=() tcs=() cps=() tps=()
    for i in $(seq "$reps"); do
      c=$("$build/bench/dnamta_bench" --len "$L" --journeys "$n" --epochs "$epochs" --threads "$threads" $flag | grep '^RESULT')
      cws+=("$(field best_epoch_jps "$c")") ccs+=("$(field train_cpu_jps "$c")") gfs+=("$(field train_gflops "$c")")
      cps+=("$(field predict_jps "$c")")
      if [ "$have_torch" = 1 ]; then
        t=$(/usr/bin/python3 bench/dnamta_torch.py --bench --len "$L" --journeys "$nt" --epochs "$epochs" --threads "$threads" $flag | grep '^RESULT')
        tws+=("$(field best_epoch_jps "$t")") tcs+=("$(field train_cpu_jps "$t")") tps+=("$(field predict_jps "$t")")
      fi
    done
    cw=$(max "${cws[@]}"); cc=$(max "${ccs[@]}"); gf=$(max "${gfs[@]}"); tw=$(max "${tws[@]}"); tc=$(max "${tcs[@]}")
    cp=$(max "${cps[@]}"); tp=$(max "${tps[@]}")
    /usr/bin/python3 - "$L" "$mode" "$cw" "$tw" "$cc" "$tc" "$gf" "$peak" "$cp" "$tp" <<'PY'
import sys
L, mode, cw, tw, cc, tc, gf, peak, cp, tp = sys.argv[1:]
cw, tw, cc, tc, gf, peak, cp, tp = map(float, (cw, tw, cc, tc, gf, peak, cp, tp))
r = lambda a, b: "%.1fx" % (a / b) if b == b and b > 0 else "-"
print("%-3s %-5s %12.0f %12.0f %12.0f %12.0f %8s %8s %8.1f%% %11.0f %11.0f %7s" % (L, mode, cw, tw, cc, tc, r(cw, tw), r(cc, tc), 100 * gf / peak, cp, tp, r(cp, tp)))
PY
  done
done
