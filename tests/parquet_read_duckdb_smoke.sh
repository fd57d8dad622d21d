#!/usr/bin/env bash
# parquet_read_duckdb_smoke.sh BUILD_DIR: DuckDB (an independent writer) writes one table of every
# column kind (nulls, ints of each width and sign, floats, decimals up to 38 digits, dates,
# timestamps in s/ms/us/ns, low- and high-cardinality strings, blobs, UUIDs) with every codec and
# both page versions (v2 brings DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT);
# `touchpoint cat` must read back what DuckDB reads, value for value.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
repo=$(pwd)

scripts/setup_node.sh >/dev/null
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP parquet_read_duckdb_smoke: node is not installed"
  exit 0
fi
oracle="node $repo/tests/duckdb_oracle.mjs"
dir=$(mktemp -d /tmp/tp_pq_read_smoke.XXXXXX)
trap 'rm -rf "$dir"' EXIT

q="SELECT i::BIGINT AS id,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37 % 1000)::INTEGER END AS uid,
  CASE WHEN i % 11 = 0 THEN NULL ELSE i / 3.0 END AS x,
  (i / 7.0)::FLOAT AS f,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'c_' || (i % 50)::VARCHAR END AS campaign,
  md5(i::VARCHAR) AS h,
  TIMESTAMP '2024-01-01' + INTERVAL (i * 1001) MILLISECOND AS ts,
  (TIMESTAMP '1960-06-01' + INTERVAL (i * 1000) SECOND)::TIMESTAMP_MS AS tms,
  (TIMESTAMP '2000-01-01' + INTERVAL (i) MINUTE)::TIMESTAMP_S AS ts_s,
  (TIMESTAMP '2021-06-01' + INTERVAL (i) SECOND)::TIMESTAMP_NS AS tns,
  DATE '1900-01-01' + (i * 13 % 80000)::INTEGER AS d,
  (i % 3 = 0) AS flag,
  (i % 100 - 50)::TINYINT AS t8, (i % 30000 - 15000)::SMALLINT AS s16,
  (i % 256)::UTINYINT AS u8, (i % 60000)::USMALLINT AS u16, (i * 131071)::UINTEGER AS u32,
  (i % 999)::DECIMAL(4,1) AS d4, ((i - 15000) * 98.765)::DECIMAL(9,2) AS d9,
  ((i * 1234567 - 500000000) / 1000)::DECIMAL(18,3) AS d18,
  ((i - 15000)::HUGEINT * 12345678901)::DECIMAL(38,4) AS d38,
  ('\\x' || lpad(to_hex(i % 256), 2, '0') || 'z')::BLOB AS b,
  CASE WHEN i % 3 = 0 THEN NULL ELSE md5(i::VARCHAR)::UUID END AS uu
FROM range(5000) t(i)"
q=$(tr '\n' ' ' <<<"$q")

# one node run writes every file and reads them all back (node and DuckDB start once)
sql="" files=()
for codec in uncompressed snappy gzip zstd brotli lz4 lz4_raw; do
  for pv in V1 V2; do
    f="$dir/${codec}_$pv.parquet"
    files+=("$f")
    sql+="COPY ($q) TO '$f' (FORMAT parquet, COMPRESSION $codec, PARQUET_VERSION $pv, ROW_GROUP_SIZE 2048); "
  done
done
list=$(printf "'%s'," "${files[@]}")
sql+="SELECT * FROM read_parquet([${list%,}], filename=true) ORDER BY filename, id"
$oracle sql "$sql" >"$dir/duck.jsonl"
for f in "${files[@]}"; do
  "$build/touchpoint" cat "$f" --format jsonl >"$f.jsonl"
done

/usr/bin/python3 - "$dir/duck.jsonl" "${files[@]}" <<'EOF'
import json, re, struct, sys
by_file = {}
for line in open(sys.argv[1]):
    row = json.loads(line)
    by_file.setdefault(row[-1], []).append(row[:-1])  # read_parquet's filename column comes last

def ts_norm(s):  # trailing zeros of the fraction do not matter
    m = re.match(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))?$', s)
    if not m: return s
    frac = (m.group(2) or '').rstrip('0')
    return m.group(1) + ('.' + frac if frac else '')

def f32(v):
    return struct.unpack('f', struct.pack('f', v))[0]

def same_number(a, b):
    a, b = float(a), float(b)
    if a == b: return True
    # a FLOAT column: DuckDB widens to double, we print the shortest float32 text
    return f32(a) == a and f32(b) == a

def blob(s):  # DuckDB and we both escape bytes as \xNN; compare the bytes
    return re.sub(r'\\x([0-9A-Fa-f]{2})', lambda m: chr(int(m.group(1), 16)), s)

failed = 0
for name in sys.argv[2:]:
    duck = by_file.get(name, [])
    ours = [json.loads(l) for l in open(name + '.jsonl')]
    if len(duck) != len(ours) or not ours:
        print(f"{name}: DuckDB reads {len(duck)} rows, we read {len(ours)}")
        failed += 1
        continue
    bad = 0
    for r, (drow, orow) in enumerate(zip(duck, ours)):
        keys, ovals = list(orow.keys()), list(orow.values())
        if len(drow) != len(ovals):
            sys.exit(f"{name}: row {r}: {len(drow)} DuckDB columns, {len(ovals)} ours")
        for c, (a, b) in enumerate(zip(drow, ovals)):
            if a is None or b is None:
                ok = a is None and b is None
            elif isinstance(a, bool) or isinstance(b, bool):
                ok = a == b
            elif isinstance(b, (int, float)):
                ok = same_number(a, b)  # decimals come as exact strings from DuckDB, as doubles from us
            else:
                ok = ts_norm(blob(str(a))) == ts_norm(blob(str(b)))
            if not ok:
                bad += 1
                if bad <= 5: print(f"{name}: row {r} column {keys[c]}: DuckDB {a!r}, ours {b!r}")
    if bad:
        print(f"{name}: {bad} values differ")
        failed += 1
sys.exit(1 if failed else 0)
EOF
echo "parquet_read_duckdb_smoke: ${#files[@]} DuckDB-written files (7 codecs x page v1/v2, 5000 rows in 3 row groups, 23 columns) read back identically"
