// Benchmarks the two recording readers on a 24-hour two-lead record at 360 Hz (31,104,000
// samples per lead), the size a Holter recording has: the CSV reader (about 0.9 GB of text;
// goal >= 1 M rows/s) and the WFDB reader on the same samples in format 212 (93 MB, as MIT-BIH
// stores them; goal: at least as fast as the CSV reader), each with its memory (goal: about 4
// bytes per sample per lead above the process's baseline, whatever the file's size).
//
//   node dist/bench/recordings-bench.js [ROWS]     (or MAM_CSV_BENCH_ROWS=ROWS; default a full day)
//
// The files are written to os.tmpdir() as streams (never held in memory) and removed after.
// Each is read in a child process, so that its peak RSS (maxRSS) counts the reading alone and
// not the writing; the child reports its baseline RSS before reading, after loading the reader.
import { execFileSync } from 'node:child_process';
import { createWriteStream, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readEcgCsv } from '../src/data/csv.js';
import { readWfdbRecord } from '../src/data/wfdb/reader.js';

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
  const wfdb = file.endsWith('.hea');
  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  // maxRSS is the kernel's own high-water mark; sampling as well covers platforms where it is coarse.
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  const r = wfdb ? await readWfdbRecord(file, { signals: 'all' }) : await readEcgCsv(file);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  const result: ReadResult = { rows: r.rows, leads: r.leads.length, fs: r.fs, seconds, baselineRss, peakRss };
  if (wfdb && (r as { checks: string[] }).checks.some((c) => c !== 'ok')) throw new Error(`checksums: ${(r as { checks: string[] }).checks.join(', ')}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** n / 10^decimals written with exactly that many decimals (toFixed is the slow part of writing). */
function fixed(n: number, decimals: number): string {
  const digits = String(Math.abs(n)).padStart(decimals + 1, '0');
  const cut = digits.length - decimals;
  return `${n < 0 ? '-' : ''}${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

/** Sample i of the two leads in uV: 75 beats/min, a narrow R wave on a slow baseline wander, V5 a scaled copy. */
function sampleUv(i: number): [number, number] {
  const phase = (i % 288) / 288 - 0.3;
  const beat = Math.exp(-phase * phase * 4000);
  const wander = 0.2 * Math.sin(i / 2000);
  return [Math.round((1.2 * beat + wander - 0.3) * 1000), Math.round((0.6 * beat - wander) * 1000)];
}

/** Writes the same record as WFDB: NAME.dat in format 212 (200 counts/mV, so 5 uV steps) and NAME.hea with checksums. */
async function writeWfdb(header: string, rows: number): Promise<void> {
  const dat = header.replace(/\.hea$/, '.dat');
  const out = createWriteStream(dat);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  const BATCH = 1 << 16;
  const sums = [0, 0];
  const first: number[] = [];
  for (let start = 0; start < rows; start += BATCH) {
    const n = Math.min(rows, start + BATCH) - start;
    const buf = Buffer.alloc(n * 3);
    for (let k = 0; k < n; k++) {
      const counts = sampleUv(start + k).map((uv) => Math.round(uv / 5) + 1024);
      if (start + k === 0) first.push(...counts);
      const [a, b] = counts.map((c) => c & 0xfff) as [number, number];
      buf[3 * k] = a & 0xff;
      buf[3 * k + 1] = (a >> 8) | ((b >> 8) << 4);
      buf[3 * k + 2] = b & 0xff;
      sums[0] = (sums[0]! + counts[0]!) & 0xffff;
      sums[1] = (sums[1]! + counts[1]!) & 0xffff;
    }
    if (!out.write(buf)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await done;
  const name = basename(dat, '.dat');
  writeFileSync(header, `${name} 2 ${FS} ${rows}\n${name}.dat 212 200 12 1024 ${first[0]} ${sums[0]} 0 MLII\n${name}.dat 212 200 12 1024 ${first[1]} ${sums[1]} 0 V5\n`);
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
      const [a, b] = sampleUv(i);
      lines.push(`${fixed(Math.round((i * 10000) / FS), 4)},${fixed(a, 3)},${fixed(b, 3)}`);
    }
    if (!out.write(`${lines.join('\n')}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await done;
}

/** Reads `file` in a child process: its rows, time, and memory above the baseline. */
function measure(file: string, rows: number): ReadResult {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--read', file], { encoding: 'utf8' });
  const r = JSON.parse(out) as ReadResult;
  if (r.rows !== rows || r.fs !== FS) throw new Error(`${file}: read back ${r.rows} rows at ${r.fs} Hz, wrote ${rows} at ${FS}`);
  return r;
}

function report(r: ReadResult, bytes: number, rows: number, goal: (rate: number) => string): number {
  const rate = r.rows / r.seconds;
  const perSample = (r.peakRss - r.baselineRss) / (r.rows * r.leads);
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  console.log(`  read: ${r.seconds.toFixed(2)} s, ${(rate / 1e6).toFixed(2)} M samples/s per lead, ${(bytes / r.seconds / 1e6).toFixed(0)} MB/s (${goal(rate)})`);
  console.log(`  memory: peak RSS ${mb(r.peakRss)}, baseline ${mb(r.baselineRss)}, ` +
    `${perSample.toFixed(2)} bytes per sample per lead above baseline (goal about ${BYTES_GOAL}: ` +
    // Below ~10 M rows the fixed overhead (buffers, heap growth) dominates the figure.
    `${rows < 1e7 ? 'judged at full size only' : perSample <= BYTES_GOAL * 1.25 ? 'ok' : 'MISSED'})`);
  return rate;
}

async function main(): Promise<void> {
  const arg = process.argv[2] ?? process.env.MAM_CSV_BENCH_ROWS;
  const rows = arg === undefined ? FULL_ROWS : Number(arg);
  if (!Number.isInteger(rows) || rows < 2) throw new Error(`rows must be a whole number >= 2 (got ${arg})`);
  const csv = join(tmpdir(), `mam-csv-bench-${process.pid}.csv`);
  const hea = join(tmpdir(), `mam-wfdb-bench-${process.pid}.hea`);
  try {
    let t0 = performance.now();
    await writeRecord(csv, rows);
    let bytes = statSync(csv).size;
    console.log(`CSV reader: ${rows} rows x 2 leads at ${FS} Hz (${(rows / FS / 3600).toFixed(2)} h), ` +
      `${(bytes / 1e6).toFixed(0)} MB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s to ${csv}`);
    const csvRate = report(measure(csv, rows), bytes, rows, (rate) => `goal >= ${RATE_GOAL / 1e6} M rows/s: ${rate >= RATE_GOAL ? 'ok' : 'MISSED'}`);
    rmSync(csv, { force: true });

    t0 = performance.now();
    await writeWfdb(hea, rows);
    bytes = statSync(hea.replace(/\.hea$/, '.dat')).size;
    console.log(`WFDB reader: the same samples in format 212, ${(bytes / 1e6).toFixed(0)} MB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s to ${hea}`);
    report(measure(hea, rows), bytes, rows, (rate) => `${(rate / csvRate).toFixed(1)}x the CSV reader in this run; goal >= 1x: ${rate >= csvRate ? 'ok' : 'MISSED'}`);
  } finally {
    for (const f of [csv, hea, hea.replace(/\.hea$/, '.dat')]) rmSync(f, { force: true });
  }
}

if (process.argv[2] === '--read') await child(process.argv[3]!);
else await main();
