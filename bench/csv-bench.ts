// Benchmarks the CSV reader on a 24-hour two-lead record at 360 Hz (31,104,000 rows, about
// 0.9 GB), the size a Holter recording has: speed (goal >= 1 M rows/s) and memory (goal: about
// 4 bytes per sample per lead above the process's baseline, whatever the file's size).
//
//   node dist/bench/csv-bench.js [ROWS]     (or MAM_CSV_BENCH_ROWS=ROWS; default a full day)
//
// The file is written to os.tmpdir() as a stream (never held in memory) and removed after.
// It is read in a child process, so that its peak RSS (maxRSS) counts the reading alone and
// not the writing; the child reports its baseline RSS before reading, after loading the reader.
import { execFileSync } from 'node:child_process';
import { createWriteStream, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readEcgCsv } from '../src/data/csv.js';

const FS = 360;
const FULL_ROWS = 24 * 3600 * FS;
const RATE_GOAL = 1e6; // rows/s
const BYTES_GOAL = 4; // per sample per lead, above baseline ("about")

interface ReadResult {
  rows: number;
  leads: number;
  fs: number;
  seconds: number;
  baselineRss: number;
  peakRss: number;
}

async function child(file: string): Promise<void> {
  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  // maxRSS is the kernel's own high-water mark; sampling as well covers platforms where it is coarse.
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  const r = await readEcgCsv(file);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  const result: ReadResult = { rows: r.rows, leads: r.leads.length, fs: r.fs, seconds, baselineRss, peakRss };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** n / 10^decimals written with exactly that many decimals (toFixed is the slow part of writing). */
function fixed(n: number, decimals: number): string {
  const digits = String(Math.abs(n)).padStart(decimals + 1, '0');
  const cut = digits.length - decimals;
  return `${n < 0 ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

/** Writes a time_s,MLII,V5 file like the real ones (time to 4 decimals, mV to 3), streamed. */
async function writeRecord(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  out.write('time_s,MLII,V5\n');
  const BATCH = 1 << 16;
  for (let start = 0; start < rows; start += BATCH) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + BATCH); i++) {
      // 75 beats/min: a narrow R wave on a slow baseline wander, V5 a scaled copy.
      const phase = (i % 288) / 288 - 0.3;
      const beat = Math.exp(-phase * phase * 4000);
      const wander = 0.2 * Math.sin(i / 2000);
      lines.push(`${fixed(Math.round((i * 10000) / FS), 4)},${fixed(Math.round((1.2 * beat + wander - 0.3) * 1000), 3)},` +
        fixed(Math.round((0.6 * beat - wander) * 1000), 3));
    }
    if (!out.write(`${lines.join('\n')}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await done;
}

async function main(): Promise<void> {
  const arg = process.argv[2] ?? process.env.MAM_CSV_BENCH_ROWS;
  const rows = arg === undefined ? FULL_ROWS : Number(arg);
  if (!Number.isInteger(rows) || rows < 2) throw new Error(`rows must be a whole number >= 2 (got ${arg})`);
  const file = join(tmpdir(), `mam-csv-bench-${process.pid}.csv`);
  try {
    let t0 = performance.now();
    await writeRecord(file, rows);
    const bytes = statSync(file).size;
    console.log(`CSV reader: ${rows} rows x 2 leads at ${FS} Hz (${(rows / FS / 3600).toFixed(2)} h), ` +
      `${(bytes / 1e6).toFixed(0)} MB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s to ${file}`);
    t0 = performance.now();
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--read', file], { encoding: 'utf8' });
    const r = JSON.parse(out) as ReadResult;
    if (r.rows !== rows || r.fs !== FS) throw new Error(`read back ${r.rows} rows at ${r.fs} Hz, wrote ${rows} at ${FS}`);
    const rate = r.rows / r.seconds;
    const perSample = (r.peakRss - r.baselineRss) / (r.rows * r.leads);
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    console.log(`  read: ${r.seconds.toFixed(2)} s, ${(rate / 1e6).toFixed(2)} M rows/s, ${(bytes / r.seconds / 1e6).toFixed(0)} MB/s ` +
      `(goal >= ${RATE_GOAL / 1e6} M rows/s: ${rate >= RATE_GOAL ? 'ok' : 'MISSED'})`);
    console.log(`  memory: peak RSS ${mb(r.peakRss)}, baseline ${mb(r.baselineRss)}, ` +
      `${perSample.toFixed(2)} bytes per sample per lead above baseline (goal about ${BYTES_GOAL}: ` +
      // Below ~10 M rows the fixed overhead (buffers, heap growth) dominates the figure.
      `${rows < 1e7 ? 'judged at full size only' : perSample <= BYTES_GOAL * 1.25 ? 'ok' : 'MISSED'})`);
  } finally {
    rmSync(file, { force: true });
  }
}

if (process.argv[2] === '--read') await child(process.argv[3]!);
else await main();
