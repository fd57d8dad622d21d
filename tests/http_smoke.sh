#!/usr/bin/env bash
# http_smoke.sh BUILD_DIR: starts the real `touchpoint serve` on 127.0.0.1 (a free port) with a
# temporary config and a small planted score table, submits jobs (JSON and multipart), polls them
# to completion, checks the audience, the error codes (401/413/400/404/405/415), /metrics, and
# that a finished job is still served after a restart. Loopback only; the server is always
# stopped by PID (trap).
set -eu
tp="$1/touchpoint"
dir=$(mktemp -d)
pid=""
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pid=""
}
trap 'stop; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; [ -f "$dir/serve.log" ] && tail -n 20 "$dir/serve.log"; exit 1; }

# ---- a score table: 600 users in 3 planted groups over 6 keywords (group g leans on 2g, 2g+1) ----
awk 'BEGIN { srand(7); print "did,kw_a,kw_b,kw_c,kw_d,kw_e,kw_f";
  for (i = 0; i < 600; i++) { g = i % 3; printf "u%04d", i;
    for (k = 0; k < 6; k++) printf ",%.6f", (int(k / 2) == g ? 1 : 0) + 0.3 * rand(); print "" } }' \
  > "$dir/scores.csv"
"$tp" convert "$dir/scores.csv" "$dir/scores.parquet" >/dev/null 2>&1 || fail "convert"
token=smoke-token-0123456789
cat > "$dir/serve.yaml" <<EOF
listen: 127.0.0.1
port: 0
data_root: .
scores: scores.parquet
job_db: jobs.sqlite
clusters: 3
top_n: 5
extension_pct: 200
workers: 2
job_threads: 1
tokens: [$token]
max_body_bytes: 2048
EOF

start() {
  : > "$dir/serve.log"
  "$tp" serve --config "$dir/serve.yaml" ${1:+--port "$1"} 2> "$dir/serve.log" &
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$dir/serve.log")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "server exited at start"
    sleep 0.1
  done
  [ -n "$port" ] || fail "server did not report its port"
  base="http://127.0.0.1:$port"
}
auth=(-H "Authorization: Bearer $token")
code() { curl -s -o "$dir/body" -w '%{http_code}' "$@"; }
expect() { # expect CODE curl-args...: the status code and a JSON error body for 4xx
  local want=$1; shift
  local got; got=$(code "$@")
  [ "$got" = "$want" ] || fail "wanted $want, got $got for $* ($(cat "$dir/body"))"
  if [ "$want" -ge 400 ]; then jq -e '.error | type == "string"' "$dir/body" >/dev/null || fail "no JSON error for $*"; fi
}
poll() { # poll ID: until Finished (or Failed -> fail), at most 30 s
  for _ in $(seq 300); do
    curl -s "${auth[@]}" "$base/lookalike/status/$1" > "$dir/status"
    st=$(jq -r .status "$dir/status")
    [ "$st" = Finished ] && return 0
    [ "$st" = Failed ] && fail "job $1 failed: $(cat "$dir/status")"
    [ "$st" = Running ] || fail "bad status reply: $(cat "$dir/status")"
    sleep 0.1
  done
  fail "job $1 did not finish in 30 s"
}
# check_audience FILE N SEEDS...: N rows, header did,score, every did in group 0, no seed, sorted
check_audience() {
  local f=$1 n=$2; shift 2
  [ "$(head -n 1 "$f")" = "did,score" ] || fail "result header: $(head -n 1 "$f")"
  [ "$(tail -n +2 "$f" | wc -l)" -eq "$n" ] || fail "result has $(tail -n +2 "$f" | wc -l) rows, wanted $n"
  tail -n +2 "$f" | awk -F, '{ i = substr($1, 2) + 0; if (i % 3 != 0) exit 1 }' || fail "a user outside the seed group"
  for s in "$@"; do ! grep -q "^$s," "$f" || fail "seed $s in the audience"; done
  tail -n +2 "$f" | awk -F, 'NR > 1 && $2 > prev + 1e-12 { exit 1 } { prev = $2 }' || fail "scores not sorted"
}

start
expect 200 "$base/healthz"
jq -e '.users == 600 and .keywords == 6' "$dir/body" >/dev/null || fail "healthz: $(cat "$dir/body")"

# ---- JSON job ----
seeds='["u0000","u0003","u0006","u0009","u0012","u0015","nobody"]'
expect 202 "${auth[@]}" -H 'Content-Type: application/json' -d "{\"seeds\": $seeds}" "$base/lookalike/extend-audience"
id=$(jq -r '."job-id"' "$dir/body")
[[ "$id" =~ ^[0-9a-f]{32}$ ]] || fail "job id '$id'"
poll "$id"
jq -e --arg u "/lookalike/result/$id" '.url == $u and .users == 12 and ."unknown-seeds" == 1' "$dir/status" >/dev/null \
  || fail "status: $(cat "$dir/status")"
expect 200 "${auth[@]}" "$base/lookalike/result/$id"
cp "$dir/body" "$dir/result1.csv"
check_audience "$dir/result1.csv" 12 u0000 u0003 u0006 u0009 u0012 u0015   # 200% of 6 matched seeds

# ---- multipart job with form parameters ----
printf 'did\nu0000\nu0003\nu0006\n' > "$dir/seeds.csv"
expect 202 "${auth[@]}" -F "file=@$dir/seeds.csv" -F m=25 -F k=2 "$base/lookalike/extend-audience"
id2=$(jq -r '."job-id"' "$dir/body")
poll "$id2"
expect 200 "${auth[@]}" "$base/lookalike/result/$id2"
check_audience "$dir/body" 25 u0000 u0003 u0006

# ---- errors ----
expect 401 "$base/lookalike/status/$id"
expect 401 -H "Authorization: Bearer wrong-token-xxxxxxxx" "$base/lookalike/status/$id"
expect 401 -H 'Content-Type: application/json' -d '{"seeds": ["u0000"]}' "$base/lookalike/extend-audience"
head -c 5000 /dev/zero | tr '\0' 'x' > "$dir/big.txt"
expect 413 "${auth[@]}" -H 'Content-Type: text/plain' --data-binary "@$dir/big.txt" "$base/lookalike/extend-audience"
expect 400 "${auth[@]}" -H 'Content-Type: application/json' -d '{"seeds": [' "$base/lookalike/extend-audience"
expect 400 "${auth[@]}" -H 'Content-Type: application/json' -d '{"seeds": "u0000"}' "$base/lookalike/extend-audience"
expect 400 "${auth[@]}" -H 'Content-Type: application/json' -d '{"seeds": []}' "$base/lookalike/extend-audience"
expect 400 "${auth[@]}" -H 'Content-Type: application/json' -d '{"seeds": ["u0000"], "path": "/etc/passwd"}' "$base/lookalike/extend-audience"
expect 400 "${auth[@]}" -H 'Content-Type: application/json' -d '{"seeds": ["u0000"], "k": -1}' "$base/lookalike/extend-audience"
expect 400 "${auth[@]}" -F "file=@$dir/seeds.csv" -F k=abc "$base/lookalike/extend-audience"
expect 415 "${auth[@]}" -H 'Content-Type: application/xml' -d '<x/>' "$base/lookalike/extend-audience"
expect 404 "${auth[@]}" "$base/lookalike/status/0123456789abcdef0123456789abcdef"
expect 404 "${auth[@]}" "$base/lookalike/result/0123456789abcdef0123456789abcdef"
expect 404 "${auth[@]}" "$base/lookalike/status/not-a-job"
expect 404 "${auth[@]}" --path-as-is "$base/lookalike/result/../../../etc/passwd"
expect 404 "${auth[@]}" --path-as-is "$base/lookalike/result/..%2f..%2fjobs.sqlite"
expect 404 "${auth[@]}" "$base/nope"
expect 405 "${auth[@]}" -X DELETE "$base/lookalike/status/$id"
# a job whose seeds are all unknown fails, with the reason
expect 202 "${auth[@]}" -H 'Content-Type: application/json' -d '{"seeds": ["x1", "x2"]}' "$base/lookalike/extend-audience"
id3=$(jq -r '."job-id"' "$dir/body")
for _ in $(seq 300); do
  curl -s "${auth[@]}" "$base/lookalike/status/$id3" > "$dir/status"
  [ "$(jq -r .status "$dir/status")" = Running ] || break
  sleep 0.1
done
jq -e '.status == "Failed" and (.error | test("none of the 2 seed dids"))' "$dir/status" >/dev/null \
  || fail "all-unknown job: $(cat "$dir/status")"
expect 409 "${auth[@]}" "$base/lookalike/result/$id3"

# ---- metrics ----
expect 200 "${auth[@]}" "$base/metrics"
grep -q '^touchpoint_http_requests_total{route="/lookalike/extend-audience",code="202"} 3$' "$dir/body" || fail "metrics: 202 count"
grep -q '^touchpoint_http_requests_total{route="/lookalike/status/{id}",code="401"} 2$' "$dir/body" || fail "metrics: 401 count"
grep -q '^touchpoint_jobs{state="finished"} 2$' "$dir/body" || fail "metrics: finished jobs"
grep -q '^touchpoint_jobs{state="failed"} 1$' "$dir/body" || fail "metrics: failed jobs"
grep -q '^touchpoint_http_request_duration_seconds_bucket{route="/lookalike/status/{id}",le="+Inf"}' "$dir/body" \
  || fail "metrics: latency histogram"

# ---- graceful stop, restart: finished jobs are still served ----
kill -TERM "$pid"
wait "$pid" || fail "server exit status $? after SIGTERM"
pid=""
grep -q "stopped" "$dir/serve.log" || fail "no graceful shutdown message"
# a job a killed process left Running (written straight into the store) must come back Failed
ghost=00000000000000000000000000000abc
/usr/bin/python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("INSERT INTO jobs(id, status, n_seeds) VALUES(?, ?, 1)", (sys.argv[2], "Running")); c.commit()' \
  "$dir/jobs.sqlite" "$ghost" || fail "cannot write the job store"
start
poll "$id"
expect 200 "${auth[@]}" "$base/lookalike/result/$id"
cmp -s "$dir/body" "$dir/result1.csv" || fail "result changed across a restart"
curl -s "${auth[@]}" "$base/lookalike/status/$id3" | jq -e '.status == "Failed"' >/dev/null || fail "failed job after restart"
curl -s "${auth[@]}" "$base/lookalike/status/$ghost" | jq -e '.status == "Failed" and (.error | test("interrupted"))' >/dev/null \
  || fail "interrupted job after restart: $(curl -s "${auth[@]}" "$base/lookalike/status/$ghost")"
kill -TERM "$pid"
wait "$pid" || fail "server exit status $? after the second SIGTERM"
pid=""
echo "http smoke ok (port $port)"
