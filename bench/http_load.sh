#!/usr/bin/env bash
# http_load.sh BUILD: status-request throughput and latency of `touchpoint serve` with wrk
# (Debian package wrk) for a bounded time against 127.0.0.1 only. Starts its own server on a free
# port with a small planted score table and one finished job, then hammers
# GET /lookalike/status/<id> (bearer token on) and GET /healthz; prints req/s and latency
# percentiles. The server is stopped by PID on exit.
# Env: LOAD_SECONDS (10), LOAD_CONNECTIONS (32), LOAD_THREADS (2), HTTP_THREADS (server, 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
secs=${LOAD_SECONDS:-10} conns=${LOAD_CONNECTIONS:-32} wthreads=${LOAD_THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
tp="$build/touchpoint"
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
awk 'BEGIN { srand(3); print "did,kw_a,kw_b,kw_c,kw_d";
  for (i = 0; i < 20000; i++) { printf "u%05d", i; for (k = 0; k < 4; k++) printf ",%.5f", (k == i % 4) + rand(); print "" } }' \
  > "$dir/scores.csv"
"$tp" convert "$dir/scores.csv" "$dir/scores.parquet" >/dev/null 2>&1
token=load-token-0123456789
cat > "$dir/serve.yaml" <<EOF
listen: 127.0.0.1
port: 0
data_root: .
scores: scores.parquet
http_threads: ${HTTP_THREADS:-2}
tokens: [$token]
EOF
"$tp" serve --config "$dir/serve.yaml" 2> "$dir/serve.log" &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$dir/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$dir/serve.log"; exit 1; }
base="http://127.0.0.1:$port"
id=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"seeds": ["u00000", "u00004", "u00008"]}' "$base/lookalike/extend-audience" | jq -r '."job-id"')
for _ in $(seq 100); do
  st=$(curl -s -H "Authorization: Bearer $token" "$base/lookalike/status/$id" | jq -r .status)
  [ "$st" = Running ] || break
  sleep 0.1
done
echo "touchpoint serve http load, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "server: ${HTTP_THREADS:-2} HTTP threads; wrk: $wthreads threads, $conns connections, ${secs}s; job $id is $st"
echo; echo "== GET /lookalike/status/<id> (bearer token, SQLite lookup)"
wrk -t "$wthreads" -c "$conns" -d "${secs}s" --latency -H "Authorization: Bearer $token" \
  "$base/lookalike/status/$id" | tee "$dir/wrk1.txt"
echo; echo "== GET /healthz"
wrk -t "$wthreads" -c "$conns" -d "${secs}s" --latency "$base/healthz" | tee "$dir/wrk2.txt"
for f in wrk1 wrk2; do
  awk -v n="$f" '/Requests\/sec/ { r = $2 } /^ +50%/ { p50 = $2 } /^ +90%/ { p90 = $2 } /^ +99%/ { p99 = $2 }
    END { printf "RESULT %s req_per_s=%s p50=%s p90=%s p99=%s\n", (n == "wrk1" ? "status" : "healthz"), r, p50, p90, p99 }' "$dir/$f.txt"
done
curl -s -H "Authorization: Bearer $token" "$base/metrics" | grep -E '^touchpoint_http_requests_total' || true
