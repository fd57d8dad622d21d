// duckdb_oracle.mjs: DuckDB (npm @duckdb/node-api) as an independent Parquet oracle.
//   node duckdb_oracle.mjs dump FILE            one JSON header line [[name, duckdb type], ...] then
//                                               one JSON array per row, values in exact form
//   node duckdb_oracle.mjs compare FILE EXPECTED  dump FILE and compare line by line (exit 1 on diff)
//   node duckdb_oracle.mjs compare-dir DIR      compare every DIR/<case>.parquet with DIR/<case>.expected.jsonl
//   node duckdb_oracle.mjs meta FILE            parquet_metadata/parquet_schema/kv rows as JSON lines
//   node duckdb_oracle.mjs sql "SQL"            run SQL, print each result row as a JSON array
// Exact forms (so a C test can write the same text): bool and int32 as JSON numbers; int64 and
// timestamps (epoch_ms/us/ns per DuckDB type) and dates (days since 1970-01-01) as decimal strings;
// floats as IEEE bit patterns in lower-case hex ("nan" for any NaN); strings and blobs as hex of
// their bytes; null as null.
// The package lives in <repo>/build/node (scripts/setup_node.sh); TP_NODE_DIR overrides.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const nodeDir = process.env.TP_NODE_DIR || join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'node');
const { DuckDBInstance } = await import(
  pathToFileURL(createRequire(join(nodeDir, 'package.json')).resolve('@duckdb/node-api')).href);

const sqlstr = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const ident = (s) => '"' + String(s).replaceAll('"', '""') + '"';

function exprFor(name, type) {
  const c = ident(name);
  switch (type) {
    case 'BOOLEAN': return `CAST(${c} AS INTEGER)`;
    case 'INTEGER': return c;
    case 'BIGINT': return `CAST(${c} AS VARCHAR)`;
    case 'FLOAT': case 'DOUBLE': return c;
    case 'VARCHAR': case 'BLOB': return `hex(${c})`;
    case 'DATE': return `CAST(${c} - DATE '1970-01-01' AS VARCHAR)`;
    case 'TIMESTAMP_MS': return `CAST(epoch_ms(${c}) AS VARCHAR)`;
    case 'TIMESTAMP_NS': return `CAST(epoch_ns(${c}) AS VARCHAR)`;
    case 'TIMESTAMP': case 'TIMESTAMP WITH TIME ZONE': return `CAST(epoch_us(${c}) AS VARCHAR)`;
    default: return `CAST(${c} AS VARCHAR)`;
  }
}

function floatBits(v, type) {
  if (v === null) return null;
  if (Number.isNaN(v)) return 'nan';
  const dv = new DataView(new ArrayBuffer(8));
  if (type === 'FLOAT') {
    dv.setFloat32(0, v, true);
    return dv.getUint32(0, true).toString(16).padStart(8, '0');
  }
  dv.setFloat64(0, v, true);
  return dv.getBigUint64(0, true).toString(16).padStart(16, '0');
}

function jsonable(v) {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(jsonable);
  return String(v);
}

async function dump(conn, file) {
  const src = `read_parquet(${sqlstr(file)})`;
  const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`);
  const cols = desc.getRows().map((r) => [String(r[0]), String(r[1])]);
  const lines = [JSON.stringify(cols)];
  if (cols.length === 0) return lines;
  const sel = cols.map(([n, t]) => exprFor(n, t)).join(', ');
  const res = await conn.runAndReadAll(`SELECT ${sel} FROM ${src}`);
  for (const row of res.getRows()) {
    lines.push(JSON.stringify(row.map((v, i) => {
      const t = cols[i][1];
      if (t === 'FLOAT' || t === 'DOUBLE') return floatBits(v, t);
      return jsonable(v);
    })));
  }
  return lines;
}

async function compare(conn, file, expected) {
  let got;
  try {
    got = await dump(conn, file);
  } catch (e) {
    console.error(`${file}: DuckDB cannot read it: ${e.message || e}`);
    return false;
  }
  const want = readFileSync(expected, 'utf8').split('\n').filter((l) => l.length > 0);
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      console.error(`${file}: line ${i + 1} differs (DuckDB vs expected):\n  duckdb:   ${got[i]}\n  expected: ${want[i]}`);
      return false;
    }
  }
  console.log(`${file}: ${got.length - 1} rows identical`);
  return true;
}

async function main() {
  const [mode, a, b] = process.argv.slice(2);
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  const out = [];
  if (mode === 'dump') {
    out.push(...await dump(conn, a));
  } else if (mode === 'compare') {
    if (!await compare(conn, a, b)) process.exit(1);
  } else if (mode === 'compare-dir') {
    const cases = readdirSync(a).filter((f) => f.endsWith('.expected.jsonl')).sort();
    let bad = 0;
    for (const c of cases) {
      const name = c.slice(0, -'.expected.jsonl'.length);
      if (!await compare(conn, join(a, name + '.parquet'), join(a, c))) bad++;
    }
    console.log(`${cases.length - bad} files identical, ${bad} differ`);
    if (bad || cases.length === 0) process.exit(1);
  } else if (mode === 'meta') {
    const f = sqlstr(a);
    const queries = [
      `SELECT 'chunk', row_group_id, row_group_num_rows, path_in_schema, type, stats_min_value, stats_max_value,
              stats_null_count, compression, encodings, num_values, dictionary_page_offset IS NOT NULL
         FROM parquet_metadata(${f}) ORDER BY row_group_id, column_id`,
      `SELECT 'schema', name, type, repetition_type, converted_type, logical_type FROM parquet_schema(${f})`,
      `SELECT 'kv', decode(key), decode(value) FROM parquet_kv_metadata(${f})`,
      `SELECT 'file', created_by, num_rows, num_row_groups FROM parquet_file_metadata(${f})`,
    ];
    for (const q of queries) {
      const r = await conn.runAndReadAll(q);
      for (const row of r.getRows()) out.push(JSON.stringify(row.map(jsonable)));
    }
  } else if (mode === 'sql') {
    const r = await conn.runAndReadAll(a);
    for (const row of r.getRows()) out.push(JSON.stringify(row.map(jsonable)));
  } else {
    console.error('usage: duckdb_oracle.mjs dump FILE | compare FILE EXPECTED | meta FILE | sql "SQL"');
    process.exit(2);
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => {
  console.error(`duckdb_oracle: ${e.message || e}`);
  process.exit(1);
});
