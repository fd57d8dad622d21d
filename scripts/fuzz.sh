#!/usr/bin/env bash
# fuzz.sh: build every fuzz/fuzz_<name>.c as a libFuzzer target (clang, ASan + UBSan) against the
# library compiled with -fsanitize=fuzzer-no-link into build-fuzz/, then run each for SECONDS with
# a scratch copy of fuzz/corpus/<name>/ as its seed corpus (the repository corpus stays clean).
# Fails if any target finds a crash; reproducers go to build-fuzz/artifacts/.
# Usage: scripts/fuzz.sh [SECONDS] [NAME...]   (NAMEs: only fuzz/fuzz_<NAME>.c; default all)
# clang and libclang-rt-14-dev come from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
only=("$@")
out=build-fuzz
if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: clang missing, installing clang libclang-rt-14-dev" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi

san='-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer'
make --no-print-directory BUILD=$out CC=clang \
  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link $san" "$out/libtouchpoint.a" >&2
# The link libraries, as the Makefile has them.
ldlibs=$(printf 'print-ldlibs:\n\t@echo $(LDLIBS)\n' | make --no-print-directory -s -f Makefile -f - print-ldlibs)

mkdir -p "$out/fuzz" "$out/artifacts"
status=0
shopt -s nullglob
targets=(fuzz/fuzz_*.c)
if [ ${#only[@]} -gt 0 ]; then targets=(); for n in "${only[@]}"; do targets+=("fuzz/fuzz_$n.c"); done; fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets under fuzz/" >&2; exit 0; }
for src in "${targets[@]}"; do
  name=$(basename "$src" .c); name=${name#fuzz_}
  [ -f "$src" ] || { echo "fuzz: no target $src" >&2; status=1; continue; }
  bin="$out/fuzz/fuzz_$name"
  clang -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude -Isrc -fsanitize=fuzzer $san \
    -o "$bin" "$src" "$out/libtouchpoint.a" $ldlibs -lpthread
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/tp_fuzz_$name.XXXXXX")
  if [ -d "fuzz/corpus/$name" ]; then cp -r "fuzz/corpus/$name/." "$scratch/"; fi
  echo "fuzz: $name for ${seconds}s (seeds: $(ls "$scratch" | wc -l))" >&2
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$out/artifacts/${name}-" "$scratch" \
       >"$out/fuzz_$name.log" 2>&1; then
    echo "fuzz: $name ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz_$name.log" | grep -o '[0-9]*$') runs, corpus $(ls "$scratch" | wc -l))" >&2
  else
    echo "fuzz: $name FOUND A CRASH, see $out/fuzz_$name.log and $out/artifacts/" >&2
    tail -40 "$out/fuzz_$name.log" >&2
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
