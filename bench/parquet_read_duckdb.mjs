// parquet_read_duckdb.mjs: Parquet read throughput, touchpoint vs DuckDB, on the same file.
//   node bench/parquet_read_duckdb.mjs FILE.parquet   (BUILD env = build dir, default build/)
// touchpoint: build/bench/bench_parquet (full read of every column into memory, best of 3; columns
// are decoded in parallel, TP_THREADS sets how many threads).
// DuckDB: CREATE TABLE AS SELECT * FROM read_parquet(FILE) (materialises every column), best of 3,
// with 1 and 2 threads. Prints both and the ratio of times.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = process.env.BUILD || join(repo, 'build');
const nodeDir = process.env.TP_NODE_DIR || join(build, 'node');
const { DuckDBInstance } = await import(
  pathToFileURL(createRequire(join(nodeDir, 'package.json')).resolve('@duckdb/node-api')).href);

const file = process.argv[2];
if (!file) { console.error('usage: node bench/parquet_read_duckdb.mjs FILE.parquet'); process.exit(2); }
const mb = statSync(file).size / 1e6;

const ours = execFileSync(join(build, 'bench', 'bench_parquet'), [file, '3'], { encoding: 'utf8' });
const m = /read  touchpoint: (\d+) rows in ([\d.]+) s/.exec(ours);
if (!m) { console.error(ours); process.exit(1); }
const rows = Number(m[1]), tpSec = Number(m[2]);

const inst = await DuckDBInstance.create(':memory:');
const conn = await inst.connect();
const q = (sql) => conn.runAndReadAll(sql);
const res = [];
for (const threads of [1, 2]) {
  await q(`SET threads = ${threads}`);
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    await q('DROP TABLE IF EXISTS t');
    const t0 = process.hrtime.bigint();
    await q(`CREATE TABLE t AS SELECT * FROM read_parquet('${file}')`);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const n = Number((await q('SELECT count(*) FROM t')).getRows()[0][0]);
  if (n !== rows) { console.error(`row count differs: duckdb ${n}, touchpoint ${rows}`); process.exit(1); }
  res.push({ threads, seconds: best });
}
console.log(`file ${file}: ${rows} rows, ${mb.toFixed(1)} MB; best of 3`);
console.log(`touchpoint (${process.env.TP_THREADS || 2} threads) ${tpSec.toFixed(3)} s  ${(rows / tpSec / 1e6).toFixed(2)} M rows/s  ${(mb / tpSec).toFixed(0)} MB/s`);
for (const r of res)
  console.log(`duckdb (${r.threads} thread${r.threads > 1 ? 's' : ''})    ${r.seconds.toFixed(3)} s  ` +
    `${(rows / r.seconds / 1e6).toFixed(2)} M rows/s  ${(mb / r.seconds).toFixed(0)} MB/s  ` +
    `touchpoint is ${(r.seconds / tpSec).toFixed(2)}x its speed`);
console.log(ours.trim().split('\n').filter((l) => l.startsWith('write')).join('\n'));
