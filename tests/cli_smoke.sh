#!/usr/bin/env bash
# cli_smoke.sh BUILD: the CLI as a user meets it: help, version, exit codes, error messages that
# name the file, and the data commands (convert CSV -> Parquet -> CSV round trip, cat, inspect).
set -u
tp="$1/touchpoint"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$tp" --version | grep -Eq '^touchpoint [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
"$tp" help | grep -q 'convert' || fail "help lists commands"
"$tp" cat --help | grep -q 'usage: touchpoint cat' || fail "cat --help"
"$tp" nosuchcommand >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command exits 2"
"$tp" cat --limit x f.csv >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad option value exits 2"
"$tp" cat "$tmp/missing.parquet" 2>"$tmp/err"; [ $? -eq 1 ] || fail "missing file exits 1"
grep -q "^touchpoint: error: .*missing.parquet" "$tmp/err" || fail "error names the file: $(cat "$tmp/err")"

printf 'uid,timestamp,campaign,conversion,cost\n1,1600000000,"search, brand",false,0.5\n1,1600000100,display,true,\n2,1600000200,"say ""hi""",false,1e-3\n' > "$tmp/in.csv"
"$tp" convert "$tmp/in.csv" "$tmp/a.parquet" --compression snappy || fail "convert csv -> parquet"
[ -f "$tmp/a.parquet" ] || fail "parquet written"
ls "$tmp" | grep -q tmp- && fail "temp file left behind"
"$tp" convert "$tmp/a.parquet" "$tmp/b.csv" || fail "convert parquet -> csv"
# Floats print in shortest round-trip form, so 1e-3 comes back as 0.001.
sed 's/1e-3/0.001/' "$tmp/in.csv" | diff - "$tmp/b.csv" || fail "csv -> parquet -> csv round trip"
"$tp" cat "$tmp/a.parquet" --limit 1 > "$tmp/out.jsonl" || fail "cat"
grep -qx '{"uid":1,"timestamp":1600000000,"campaign":"search, brand","conversion":false,"cost":0.5}' "$tmp/out.jsonl" \
  || fail "cat jsonl: $(cat "$tmp/out.jsonl")"
[ "$("$tp" cat "$tmp/a.parquet" --format csv --columns campaign,uid | head -n 1)" = "campaign,uid" ] || fail "cat --columns csv"
"$tp" cat "$tmp/a.parquet" --columns nosuch 2>"$tmp/err"; [ $? -eq 1 ] || fail "unknown column exits 1"
grep -q "nosuch" "$tmp/err" || fail "error names the column"
"$tp" inspect "$tmp/a.parquet" > "$tmp/inspect.txt" || fail "inspect"
grep -qi 'snappy' "$tmp/inspect.txt" || fail "inspect shows the codec"
grep -q 'campaign' "$tmp/inspect.txt" || fail "inspect shows the schema"

# A failed conversion leaves an existing output untouched.
cp "$tmp/a.parquet" "$tmp/keep.parquet"
printf 'a,b\n1,2\n3\n' > "$tmp/ragged.csv"
"$tp" convert "$tmp/ragged.csv" "$tmp/keep.parquet" 2>"$tmp/err"; [ $? -eq 1 ] || fail "ragged csv exits 1"
grep -q 'line 3' "$tmp/err" || fail "ragged csv error names the line: $(cat "$tmp/err")"
cmp -s "$tmp/a.parquet" "$tmp/keep.parquet" || fail "failed convert clobbered the output"
exit 0
