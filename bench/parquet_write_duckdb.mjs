// parquet_write_duckdb.mjs: Parquet write throughput, touchpoint vs DuckDB's COPY TO, on the same
// 10M-row impressions-like table (uid i64, timestamp i64, campaign string with 50 values,
// conversion bool). Builds bench/parquet_write_bench.c against build/libtouchpoint.a, runs it,
// then times DuckDB (npm @duckdb/node-api, from build/node) writing the same rows, checks that
// DuckDB reads our files back to the same aggregates, and prints a table.
//   node bench/parquet_write_duckdb.mjs [ROWS]     (ROWS default 10000000; BUILD env = build dir)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = process.env.BUILD || join(repo, 'build');
const nodeDir = process.env.TP_NODE_DIR || join(build, 'node');
const { DuckDBInstance } = await import(
  pathToFileURL(createRequire(join(nodeDir, 'package.json')).resolve('@duckdb/node-api')).href);

const rows = Number(process.argv[2] || 10000000);
const out = mkdtempSync(join(tmpdir(), 'tp_pqw_bench.'));
const libs = (process.env.LDLIBS || '-ljansson -lyaml -lzstd -lsnappy -lz -lbrotlidec -lbrotlienc -llz4 -lm -lpthread').split(/\s+/);
const exe = join(build, 'bench', 'parquet_write_bench');
mkdirSync(dirname(exe), { recursive: true });
execFileSync('cc', ['-O2', '-std=c11', '-D_GNU_SOURCE', '-pthread', `-I${repo}/include`, '-o', exe,
  join(repo, 'bench', 'parquet_write_bench.c'), join(build, 'libtouchpoint.a'), ...libs], { stdio: 'inherit' });

const results = [];
// Our writer encodes the column chunks of a row group in parallel: TP_THREADS workers.
for (const threads of [1, 2]) {
  const env = { ...process.env, TP_THREADS: String(threads) };
  const ours = execFileSync(exe, [String(rows), join(out, `t${threads}`)], { encoding: 'utf8', env });
  for (const line of ours.trim().split('\n')) {
    const r = JSON.parse(line);
    results.push({ writer: 'touchpoint', threads, codec: r.codec, seconds: r.seconds, cpu: r.cpu_seconds, bytes: r.file_bytes, path: r.path });
  }
}
// Streaming: 100k-row batches through one writer (generation time excluded), peak RSS reported.
const st = JSON.parse(execFileSync(exe, [String(rows), out, 'stream'], {
  encoding: 'utf8', env: { ...process.env, TP_THREADS: '2' } }).trim());
results.push({ writer: 'tp-stream', threads: 2, codec: st.codec, seconds: st.seconds, bytes: st.file_bytes, path: st.path });
const streamRss = st.max_rss_mb;

const inst = await DuckDBInstance.create(':memory:');
const conn = await inst.connect();
const q = (sql) => conn.runAndReadAll(sql);
await q(`CREATE TABLE imp AS SELECT
    (i * 2654435761) % 1000003 AS uid,
    1600000000000000 + i * 1000 + (i * 7919) % 1000 AS "timestamp",
    'campaign_' || CAST(CASE WHEN i % 3 = 0 THEN (i * 40503) % 5 ELSE (i * 40503) % 50 END AS VARCHAR) AS campaign,
    i % 97 = 0 AS conversion
  FROM range(${rows}) t(i) ORDER BY i`);

const agg = `count(*), sum(uid), sum("timestamp"), sum(hash(campaign)), count(DISTINCT campaign), sum(conversion::INT)`;
const want = JSON.stringify((await q(`SELECT ${agg} FROM imp`)).getRows()[0].map(String));
for (const r of results) {
  const got = JSON.stringify((await q(`SELECT ${agg} FROM read_parquet('${r.path}')`)).getRows()[0].map(String));
  if (got !== want) {
    console.error(`MISMATCH: DuckDB reads ${r.path} as ${got}, table is ${want}`);
    process.exit(1);
  }
}

for (const threads of [1, 2]) {
  await q(`SET threads = ${threads}`);
  for (const codec of ['zstd', 'snappy', 'uncompressed']) {
    const path = join(out, `duckdb_${codec}_t${threads}.parquet`);
    let best = Infinity, bestCpu = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
      await q(`COPY imp TO '${path}' (FORMAT parquet, COMPRESSION ${codec})`);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      const c = process.cpuUsage(c0); // all threads of this process, DuckDB's included
      bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
    }
    results.push({ writer: 'duckdb', threads, codec: codec === 'uncompressed' ? 'none' : codec, seconds: best, cpu: bestCpu, bytes: statSync(path).size });
  }
}

const inMB = rows * (8 + 8 + 4 + 1) / 1e6; // the frame's value bytes (campaign as an int32 code)
console.log(`rows=${rows}  input=${inMB.toFixed(0)} MB (frame value bytes)  best of 3 runs; touchpoint includes fsync + rename`);
console.log('writer      threads codec    seconds   Mrows/s   MB/s(in)  file MB  vs touchpoint  cpu s  cpu vs touchpoint');
for (const r of results) {
  const base = results.find((x) => x.writer === 'touchpoint' && x.codec === r.codec && x.threads === r.threads);
  const cpu = r.cpu === undefined ? '      -' : r.cpu.toFixed(3).padStart(7);
  const cpuRatio = r.cpu === undefined ? '' : `${(r.cpu / base.cpu).toFixed(2).padStart(8)}x`;
  console.log(`${r.writer.padEnd(11)} ${String(r.threads).padStart(7)} ${r.codec.padEnd(8)} ${r.seconds.toFixed(3).padStart(7)}` +
    `  ${(rows / r.seconds / 1e6).toFixed(2).padStart(8)}  ${(inMB / r.seconds).toFixed(0).padStart(8)}` +
    `  ${(r.bytes / 1e6).toFixed(1).padStart(7)}  ${(r.seconds / base.seconds).toFixed(2).padStart(12)}x ${cpu} ${cpuRatio}`);
}
console.log(`tp-stream: 100,000-row batches through one tp_pq_writer, peak RSS of the whole process ${streamRss} MB`);
console.log(`aggregates of every touchpoint file, read by DuckDB, equal the source table: ${want}`);
rmSync(out, { recursive: true, force: true });
