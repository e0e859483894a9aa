import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expandCsvPaths, readEcgCsv, readEcgFiles, type CsvReadOptions } from '../src/data/csv.js';
import { MamError } from '../src/errors.js';
import { mam, tempDir } from './cli-helpers.js';
import { sameFloats } from './helpers.js';

// The real recordings: five in ../shared/ecg/ beside the repository (or $MAM_ECG_DIR), which a
// fresh clone may lack. The repository ships data/mitdb_100_60s.csv, the first minute of
// mitdb_100.csv: the tests of record 100 run on that file then; the others skip.
// Compiled to dist/test/csv.test.js: the repository's root is two levels up.
const ECG = process.env.MAM_ECG_DIR ?? fileURLToPath(new URL('../../../shared/ecg/', import.meta.url));
const MINUTE = fileURLToPath(new URL('../../data/mitdb_100_60s.csv', import.meta.url));
const shared = existsSync(join(ECG, 'mitdb_100.csv'));
const needsShared = shared ? false : `needs the recordings in ${ECG}, absent here (the repository has only data/mitdb_100_60s.csv)`;
/**
 * MIT-BIH record 100 (MLII and V5 at 360 Hz): the whole 300 s from the shared folder, else the
 * repository's first minute, with what each holds (its last row; MLII's range and mean, 6 digits).
 */
const RECORD_100 = shared
  ? { file: join(ECG, 'mitdb_100.csv'), rows: 108000, seconds: 300, duration: '300 s (5:00)', last: [-0.295, -0.225], range: '-0.695 to 1.245 mV, mean -0.321025 mV' }
  : { file: MINUTE, rows: 21600, seconds: 60, duration: '60 s (1:00)', last: [-0.245, -0.175], range: '-0.695 to 1.05 mV, mean -0.336348 mV' };
// fast-check: a fixed seed so a failure repeats; FC_SEED=... and FC_RUNS=... explore more.
const FC = { seed: Number(process.env.FC_SEED ?? 20251124), numRuns: Number(process.env.FC_RUNS ?? 150) };

const dir = tempDir('mam-csv-test-');
let fileNo = 0;
function write(content: string | Uint8Array, name = `f${fileNo++}.csv`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Rejects with a one-line MamError naming the file and matching `re`. */
async function fails(path: string, options: CsvReadOptions, re: RegExp): Promise<void> {
  await assert.rejects(readEcgCsv(path, options), (e: unknown) => {
    assert.ok(e instanceof MamError, `not a MamError: ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `more than one line: ${e.message}`);
    assert.ok(e.message.startsWith(`${path}: `), `does not start with the file: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const f32 = (values: number[]) => Float32Array.from(values);
/** String(-0) is '0': keep the sign, which the reader keeps too. */
const str = (v: number) => (Object.is(v, -0) ? '-0' : String(v));
function assertSignal(actual: Float32Array, expected: number[]): void {
  const r = sameFloats(actual, f32(expected));
  assert.ok(r.equal, `differs at ${r.at}: ${actual[r.at]} vs ${Math.fround(expected[r.at] ?? NaN)} (lengths ${actual.length}, ${expected.length})`);
}

/** time_s rounded to 4 decimals like the shared recordings: rows at `fs` with the given leads. */
function timeCsv(fs: number, leads: number[][], sep = ',', names = leads.map((_, i) => `L${i}`)): string {
  const lines = [['time_s', ...names].join(sep)];
  for (let i = 0; i < leads[0]!.length; i++) lines.push([(i / fs).toFixed(4), ...leads.map((l) => str(l[i]!))].join(sep));
  return `${lines.join('\n')}\n`;
}
const ramp = (n: number, scale = 0.001) => Array.from({ length: n }, (_, i) => Math.sin(i / 7) * scale * 1000);

describe('readEcgCsv: accepted forms', () => {
  it('comma, time in seconds rounded to 4 decimals: fs inferred exactly, every lead read', async () => {
    const a = ramp(1000);
    const b = a.map((v) => -v / 2);
    const r = await readEcgCsv(write(timeCsv(360, [a, b], ',', ['MLII', 'V5'])));
    assert.equal(r.fs, 360);
    assert.equal(r.fsSource, 'time column (seconds)');
    assert.deepEqual(r.timeColumn, { name: 'time_s', unit: 'seconds' });
    assert.equal(r.rows, 1000);
    assert.deepEqual(r.leads, ['MLII', 'V5']);
    assert.equal(r.lead, 'MLII');
    assert.equal(r.leadIndex, 0);
    assert.equal(r.signal, r.signals[0]);
    assertSignal(r.signals[0]!, a);
    assertSignal(r.signals[1]!, b);
    assert.equal(r.delimiter, ',');
    assert.equal(r.header, true);
  });

  it('semicolon with decimal commas, and tab', async () => {
    const a = [0.125, -0.5, 1.75, 2, -3.25];
    const semi = `Time;ECG\n${a.map((v, i) => `${(i / 500).toFixed(3).replace('.', ',')};${String(v).replace('.', ',')}`).join('\n')}\n`;
    const r = await readEcgCsv(write(semi));
    assert.equal(r.delimiter, ';');
    assert.equal(r.fs, 500);
    assertSignal(r.signal, a);
    const tab = await readEcgCsv(write(timeCsv(1000, [a, a], '\t')));
    assert.equal(tab.delimiter, '\t');
    assert.equal(tab.fs, 1000);
    assertSignal(tab.signals[1]!, a);
  });

  it('a UTF-8 BOM and CRLF line ends', async () => {
    const a = ramp(50);
    const text = `\ufeff${timeCsv(250, [a]).replace(/\n/g, '\r\n')}`;
    const r = await readEcgCsv(write(text));
    assert.deepEqual(r.leads, ['L0']);
    assert.equal(r.timeColumn?.name, 'time_s');
    assert.equal(r.fs, 250);
    assertSignal(r.signal, a);
  });

  it("the MIT-BIH export header 'sample #','MLII','V5' with ADC counts: --adc-gain/--adc-zero, --fs", async () => {
    const path = write("'sample #','MLII','V5'\n0,995,1011\n1,995,1011\n2,1000,1024\n3,1020,979\n");
    const r = await readEcgCsv(path, { fs: 360, adcGain: 200, adcZero: 1024 });
    assert.deepEqual(r.leads, ['MLII', 'V5']);
    assert.deepEqual(r.timeColumn, { name: 'sample #', unit: 'samples' });
    assert.equal(r.fs, 360);
    assert.equal(r.fsSource, '--fs');
    assertSignal(r.signals[0]!, [995, 995, 1000, 1020].map((v) => (v - 1024) / 200));
    assertSignal(r.signals[1]!, [1011, 1011, 1024, 979].map((v) => (v - 1024) / 200));
    assert.equal(r.signals[0]![0], Math.fround(-0.145));
    // Without --fs the sample numbers give no rate.
    await fails(path, {}, /the first column 'sample #' numbers the samples but gives no rate: give fs/);
  });

  it('quoted names and cells, names matched without case or quotes, leads by 0-based index', async () => {
    const path = write('"time","Lead I","Lead II"\n"0.000","0.5","1.5"\n"0.004",\'0.25\', 2.5 \n0.008,0.125,3.5\n');
    const r = await readEcgCsv(path, { lead: "'lead ii'" });
    assert.deepEqual(r.leads, ['Lead I', 'Lead II']);
    assert.equal(r.lead, 'Lead II');
    assert.equal(r.fs, 250);
    assertSignal(r.signal, [1.5, 2.5, 3.5]);
    assert.equal((await readEcgCsv(path, { lead: 0 })).lead, 'Lead I');
    assert.equal((await readEcgCsv(path, { lead: '1' })).lead, 'Lead II');
  });

  it('no header: leads named by index, --fs required', async () => {
    const path = write('0.1,0.2\n0.3,0.4\n0.5,0.6');
    const r = await readEcgCsv(path, { fs: 128, lead: 1 });
    assert.equal(r.header, false);
    assert.equal(r.timeColumn, null);
    assert.deepEqual(r.leads, ['0', '1']);
    assert.equal(r.lead, '1');
    assertSignal(r.signal, [0.2, 0.4, 0.6]);
    await fails(path, {}, /no time column to infer the sampling rate from: give fs/);
  });

  it('time in milliseconds, and in seconds written in full', async () => {
    const ms = await readEcgCsv(write('time_ms,ecg\n0,1\n2,2\n4,3\n6,4\n'));
    assert.equal(ms.fs, 500);
    assert.equal(ms.fsSource, 'time column (milliseconds)');
    const lines = ['t,ecg', ...Array.from({ length: 20 }, (_, i) => `${i / 360},${i}`)];
    const full = await readEcgCsv(write(lines.join('\n')));
    assert.equal(full.fs, 360);
  });

  it('--fs wins over the time column, and says when they disagree', async () => {
    const path = write(timeCsv(360, [ramp(400)]));
    const r = await readEcgCsv(path, { fs: 250 });
    assert.equal(r.fs, 250);
    assert.equal(r.fsSource, '--fs (the time column says 360 Hz)');
    assert.equal(r.timeColumnFs, 360);
    assert.equal((await readEcgCsv(path, { fs: 360 })).fsSource, '--fs');
  });

  it('blank lines, no final newline, a trailing delimiter, long and exponent numbers', async () => {
    const r = await readEcgCsv(write('time_s,a,b,\n\n0,0.1234567890123456789,1e-3,\n0.001,-12345678901234567890,+2.5E2,\n\n0.002,.5,5.,\n0.003,1,1,'));
    assert.deepEqual(r.leads, ['a', 'b']);
    assert.equal(r.rows, 4);
    assert.equal(r.fs, 1000);
    assertSignal(r.signals[0]!, [0.1234567890123456789, -12345678901234567890, 0.5, 1]);
    assertSignal(r.signals[1]!, [1e-3, 250, 5, 1]);
  });

  it('readEcgFiles: files and directories (their *.csv, sorted)', async () => {
    const sub = join(dir, 'several');
    mkdirSync(sub);
    for (const name of ['b.csv', 'a.CSV', 'c.txt']) writeFileSync(join(sub, name), timeCsv(500, [ramp(10)]));
    const single = write(timeCsv(250, [ramp(5)]));
    const records = await readEcgFiles([sub, single]);
    assert.deepEqual(records.map((r) => r.name), [join(sub, 'a.CSV'), join(sub, 'b.csv'), single]);
    assert.deepEqual(records.map((r) => r.fs), [500, 500, 250]);
    const empty = join(dir, 'empty-dir');
    mkdirSync(empty);
    await assert.rejects(expandCsvPaths([empty]), /empty-dir: no \*\.csv files in this directory/);
    await assert.rejects(expandCsvPaths([]), MamError);
  });
});

describe('readEcgCsv: the real recordings', () => {
  for (const [file, fs, rows, leads] of [
    [RECORD_100.file, 360, RECORD_100.rows, ['MLII', 'V5']],
    [join(ECG, 'mitdb_108.csv'), 360, 108000, ['MLII']],
    [join(ECG, 'mitdb_121.csv'), 360, 108000, ['MLII']],
    [join(ECG, 'ptbdb_s0010_re.csv'), 1000, 38400, ['i', 'ii', 'iii', 'avr', 'avl', 'avf', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6']],
    [join(ECG, 'macecgdb_test01_00s.csv'), 500, 4000, ['ECG1', 'ECG2', 'ECG3', 'ECG4']],
  ] as const) {
    const skip = file === RECORD_100.file ? false : needsShared;
    it(`${basename(file)}: ${fs} Hz from the time column, ${rows} rows, every value as in the text`, { skip }, async () => {
      const r = await readEcgCsv(file);
      assert.equal(r.fs, fs);
      assert.equal(r.fsSource, 'time column (seconds)');
      assert.equal(r.rows, rows);
      assert.deepEqual(r.leads, leads);
      // The plainest possible reading of the same text.
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(1);
      assert.equal(lines.length, rows);
      for (let k = 0; k < leads.length; k++) {
        const expected = lines.map((l) => Number(l.split(',')[k + 1]));
        assertSignal(r.signals[k]!, expected);
      }
    });
  }

  it("the repository's data/mitdb_100_60s.csv is the first minute of mitdb_100.csv", { skip: needsShared }, async () => {
    const minute = await readEcgCsv(MINUTE);
    assert.equal(minute.fs, 360);
    assert.equal(minute.rows, 21600);
    const whole = await readEcgCsv(join(ECG, 'mitdb_100.csv'));
    for (let k = 0; k < 2; k++) assertSignal(minute.signals[k]!, [...whole.signals[k]!.subarray(0, 21600)]);
  });

  it(`${basename(RECORD_100.file)}: known values (first and last rows, V5 by name)`, async () => {
    const r = await readEcgCsv(RECORD_100.file, { lead: 'v5' });
    const last = RECORD_100.rows - 1;
    assert.equal(r.lead, 'V5');
    assert.equal(r.signals[0]![0], Math.fround(-0.145));
    assert.equal(r.signal[0], Math.fround(-0.065));
    assert.equal(r.signals[0]![last], Math.fround(RECORD_100.last[0]!));
    assert.equal(r.signal[last], Math.fround(RECORD_100.last[1]!));
  });
});

describe('readEcgCsv: bad input gets a one-line MamError naming the file and the fix', () => {
  it('a missing file, a directory', async () => {
    await fails(join(dir, 'nope.csv'), {}, /no such file: check the path/);
    await fails(dir, {}, /a directory, not a CSV file/);
  });

  it('an empty file, blank lines only, a header only', async () => {
    await fails(write(''), {}, /empty file/);
    await fails(write('\n \r\n\n'), {}, /empty file \(only blank lines\)/);
    await fails(write('time_s,MLII,V5\n'), {}, /a header but no data rows/);
    await fails(write("'sample #','MLII'\r\n\r\n"), {}, /a header but no data rows/);
  });

  it('a non-numeric, empty, NaN, infinite or float32-overflowing cell: line and column', async () => {
    const head = 'time_s,MLII,V5\n0,1,2\n0.0028,1,2\n';
    await fails(write(`${head}0.0056,1,abc\n`), {}, /: line 4, column 3 \(V5\): "abc" is not a number/);
    await fails(write(`${head}0.0056,,2\n`), {}, /: line 4, column 2 \(MLII\): empty cell/);
    await fails(write(`${head}0.0056,NaN,2\n`), {}, /: line 4, column 2 \(MLII\): "NaN" is not a finite number/);
    await fails(write(`${head}0.0056,1,-Infinity\n`), {}, /: line 4, column 3 \(V5\): "-Infinity" is not a finite number/);
    await fails(write(`${head}0.0056,1e39,1\n`), {}, /: line 4, column 2 \(MLII\): "1e39" is beyond the float32 range/);
    await fails(write(`${head}nan,1,1\n`), {}, /: line 4, column 1 \(time_s\): "nan" is not a finite number/);
    await fails(write('1,NaN\n2,3\n'), { fs: 100 }, /: line 1, column 2 \(lead 1\): "NaN" is not a finite number/);
  });

  it('an unknown lead lists the leads there are', async () => {
    const path = write(timeCsv(360, [ramp(10), ramp(10)], ',', ['MLII', 'V5']));
    await fails(path, { lead: 'V1' }, /no lead "V1": give lead as a name or 0-based index \(leads: 0 MLII, 1 V5\)/);
    await fails(path, { lead: 2 }, /no lead 2 \(indices count from 0\)/);
    await fails(write('time,ECG,ECG\n0,1,2\n'), { lead: 'ecg', fs: 1 }, /lead name "ecg" is ambiguous/);
  });

  it('rows of different lengths', async () => {
    await fails(write('time_s,MLII,V5\n0,1,2\n0.0028,1\n'), {}, /: line 3 has 2 fields where the header has 3/);
    await fails(write('1,2\n3,4,5\n'), { fs: 1 }, /: line 2 has 3 fields where the first line has 2/);
  });

  it('a time column that goes back, stays, or steps unevenly', async () => {
    await fails(write('time_s,a\n0,1\n0.01,1\n0.005,1\n'), {}, /: line 4, column 1 \(time_s\): the time goes back from 0.01 to 0.005 s/);
    await fails(write('time_s,a\n0,1\n0.01,1\n0.01,1\n'), {}, /: line 4, column 1 \(time_s\): the time stays/);
    // 360 Hz to 4 decimals (steps of 0.0028 and 0.0027 are rounding), then a row missing.
    await fails(write('time_s,a\n0.0000,1\n0.0028,1\n0.0056,1\n0.0083,1\n0.0139,1\n'), {}, /: line 6, column 1 \(time_s\): the time steps by 0.0056 s here but by 0.00276667 s on average before: missing or repeated rows\?.*give fs/);
    await fails(write("'sample #',a\n0,1\n1,1\n3,1\n"), { fs: 360 }, /: line 4, column 1 \(sample #\): the sample number steps by 2 here but by 1 before/);
    // With --fs the rows are taken as they are, but never backwards.
    assert.equal((await readEcgCsv(write('time_s,a\n0.0000,1\n0.0028,1\n0.0056,1\n0.0083,1\n0.0139,1\n'), { fs: 360 })).rows, 5);
    await fails(write('time_s,a\n0,1\n0.01,1\n0.005,1\n'), { fs: 100 }, /the time goes back/);
  });

  it('old Mac line ends (CR only)', async () => {
    await fails(write('time_s,a\r0,1\r0.001,2\r'), {}, /line 1 holds a bare CR: old Mac line ends/);
  });

  it('gzip, zip, UTF-16 and binary files are recognised', async () => {
    await fails(write(gzipSync(timeCsv(360, [ramp(10)]))), {}, /gzip-compressed, not CSV text: decompress it first/);
    await fails(write(Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2])), {}, /a zip archive/);
    await fails(write(Buffer.from('\ufefftime,a\n', 'utf16le')), {}, /UTF-16 text/);
    await fails(write(Buffer.from([0x41, 0x42, 0x00, 0x0a, 0x31])), {}, /binary data \(a NUL byte at offset 2\)/);
  });

  it('a rate that cannot be inferred and no --fs', async () => {
    await fails(write('a,b\n1,2\n'), {}, /no time column to infer the sampling rate from: give fs HZ/);
    await fails(write('time_s,a\n0,1\n'), {}, /one data row: a time column needs two to give the rate: give fs/);
    // 360 Hz to 3 decimals, a few rows: 3/0.008 = 375 Hz, and rounding could explain 333 to 429.
    await fails(write('time_s,a\n0.000,1\n0.003,2\n0.006,3\n0.008,3\n'), {}, /4 rows written to 3 decimals do not pin the rate down to 0.1%: give fs/);
    await fails(write('time,a\n0,1\n1,2\n2,3\n'), {}, /gives 1 Hz, not an ECG sampling rate.*time_ms/);
  });

  it('bad options', async () => {
    const path = write(timeCsv(360, [ramp(10)]));
    await assert.rejects(readEcgCsv(path, { fs: 0 }), /fs 0: the sampling rate must be a positive number/);
    await assert.rejects(readEcgCsv(path, { adcGain: 0 }), /adcGain 0/);
    await assert.rejects(readEcgCsv(path, { lead: -1 }), /lead -1/);
  });
});

// ---------------------------------------------------------------------------------------------
// Property-based: random valid files read back exactly; random damage always gives a MamError.

interface Csv {
  text: Buffer;
  options: CsvReadOptions;
  leads: number[][];
  leadIndex: number;
  /** For corrupting. */
  delim: string;
  nCols: number;
  rows: number;
}

const signed = (f: (v: number) => string) => (v: number) => (Object.is(v, -0) ? `-${f(0)}` : f(v));
const cellFormats = [str, signed((v) => v.toPrecision(9)), signed((v) => v.toExponential(8))];

const csvArb = (minRows: number) => fc.record({
  delim: fc.constantFrom(',', ';', '\t'),
  bom: fc.boolean(),
  crlf: fc.boolean(),
  finalNewline: fc.boolean(),
  header: fc.boolean(),
  time: fc.constantFrom('none', 'seconds', 'samples'),
  // Rates whose 1/fs is written exactly with many decimals: a time column written to few
  // decimals (1/250 = 0.004) could be rounded, and pins the rate down only over a second or more.
  fs: fc.constantFrom(128, 256, 360, 512, 1024),
  offset: fc.integer({ min: 0, max: 100 }),
  nameQuote: fc.constantFrom('', '"', "'"),
  decimalComma: fc.boolean(),
  blankLine: fc.boolean(),
  leadBy: fc.constantFrom('default', 'index', 'name'),
  nLeads: fc.integer({ min: 1, max: 4 }),
  rows: fc.integer({ min: minRows, max: 25 }),
  seed: fc.integer(),
}).chain((c) => fc.record({
  c: fc.constant(c),
  values: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: c.nLeads * c.rows, maxLength: c.nLeads * c.rows }),
  styles: fc.array(fc.nat(15), { minLength: c.nLeads * c.rows, maxLength: c.nLeads * c.rows }),
  leadPick: fc.nat(c.nLeads - 1),
})).map(({ c, values, styles, leadPick }): Csv => {
  const time = c.header ? c.time : 'none';
  const nCols = c.nLeads + (time === 'none' ? 0 : 1);
  // A lone column has no delimiter to tell a decimal comma from: only with two or more.
  const comma = c.decimalComma && c.delim !== ',' && nCols > 1;
  const names = Array.from({ length: c.nLeads }, (_, k) => `Lead ${k}x`);
  const quote = (s: string) => `${c.nameQuote}${s}${c.nameQuote}`;
  const lines: string[] = [];
  if (c.header) {
    const timeName = time === 'seconds' ? 'time_s' : time === 'samples' ? 'sample #' : undefined;
    lines.push([...(timeName ? [timeName] : []), ...names].map(quote).join(c.delim));
  }
  const leads = names.map(() => [] as number[]);
  for (let i = 0; i < c.rows; i++) {
    const cells: string[] = [];
    if (time === 'seconds') cells.push(String((i + c.offset) / c.fs));
    if (time === 'samples') cells.push(String(i + c.offset));
    for (let k = 0; k < c.nLeads; k++) {
      const v = values[i * c.nLeads + k]!;
      const style = styles[i * c.nLeads + k]!;
      leads[k]!.push(v);
      let s = cellFormats[style % 3]!(v);
      if (comma) s = s.replace('.', ',');
      if (style & 4) s = `"${s}"`;
      if (style & 8) s = ` ${s} `;
      cells.push(s);
    }
    lines.push(cells.join(c.delim));
    if (c.blankLine && i === 0) lines.push('');
  }
  const eol = c.crlf ? '\r\n' : '\n';
  const text = `${c.bom ? '\ufeff' : ''}${lines.join(eol)}${c.finalNewline ? eol : ''}`;
  const options: CsvReadOptions = time === 'seconds' ? {} : { fs: c.fs };
  let leadIndex = 0;
  if (c.leadBy === 'index') [options.lead, leadIndex] = [leadPick, leadPick];
  if (c.leadBy === 'name' && c.header) [options.lead, leadIndex] = [names[leadPick]!.toUpperCase(), leadPick];
  return { text: Buffer.from(text), options, leads, leadIndex, delim: c.delim, nCols, rows: c.rows };
});

describe('readEcgCsv: properties', () => {
  it('random valid CSVs read back exactly', async () => {
    await fc.assert(fc.asyncProperty(csvArb(2), async (csv) => {
      const r = await withTimeout(readEcgCsv(write(csv.text), csv.options), 5000);
      assert.equal(r.rows, csv.leads[0]!.length);
      assert.equal(r.leads.length, csv.leads.length);
      assert.equal(r.leadIndex, csv.leadIndex);
      assert.equal(r.fs, csv.options.fs ?? r.fs);
      if (csv.options.fs === undefined) assert.ok([128, 256, 360, 512, 1024].includes(r.fs), `fs ${r.fs}`);
      csv.leads.forEach((values, k) => assertSignal(r.signals[k]!, values));
    }), FC);
  });

  // Each corruption is made so that the file is certainly invalid (a truncation always loses a
  // field, text always has a letter), and it hits data rows after the first (which would
  // otherwise be taken as a header in a file without one).
  const damageArb = fc.record({
    csv: csvArb(3).filter((c) => c.nCols >= 2),
    kind: fc.constantFrom('truncate', 'text', 'nonfinite', 'drop', 'binary'),
    row: fc.nat(),
    col: fc.nat(),
    word: fc.stringMatching(/^[a-zA-Z][a-zA-Z_ ]{0,8}$/),
    nonfinite: fc.constantFrom('NaN', 'nan', '-NaN', 'Infinity', '-Infinity', 'inf', '1e39', '-1e400'),
    garbage: fc.uint8Array({ maxLength: 12 }),
    bad: fc.constantFrom(0x00, 0x01, 0x1b, 0x7f, 0x80, 0xc3, 0xff, 0x41, 0x7a, 0x3f, 0x26),
  });

  it('random damage gives a MamError, never another exception or a hang', async () => {
    await fc.assert(fc.asyncProperty(damageArb, async (d) => {
      const { csv } = d;
      const eol = csv.text.includes('\r\n') ? '\r\n' : '\n';
      const lines = csv.text.toString('latin1').split(eol);
      // Any non-blank line after the first (the header, or the first row).
      const candidates = lines.flatMap((l, i) => (l !== '' && i > 0 ? [i] : []));
      const li = candidates[d.row % candidates.length]!;
      const cells = lines[li]!.split(csv.delim);
      const c = d.col % cells.length;
      let out: Buffer;
      const join = (ls: string[]) => Buffer.from(ls.join(eol), 'latin1');
      switch (d.kind) {
        case 'truncate': {
          // Cut at one of the row's delimiters (not after the last one): a field is lost.
          const cut = cells.slice(0, (c % (cells.length - 1)) + 1).join(csv.delim);
          out = join([...lines.slice(0, li), cut]);
          break;
        }
        case 'drop':
          cells.splice(c, 1);
          out = join([...lines.slice(0, li), cells.join(csv.delim), ...lines.slice(li + 1)]);
          break;
        case 'text':
        case 'nonfinite':
          cells[c] = d.kind === 'text' ? d.word : d.nonfinite;
          out = join([...lines.slice(0, li), cells.join(csv.delim), ...lines.slice(li + 1)]);
          break;
        case 'binary': {
          const g = Buffer.from(d.garbage);
          const at = d.row % (g.length + 1);
          const cell = Buffer.concat([g.subarray(0, at), Buffer.from([d.bad]), g.subarray(at)]);
          const before = join([...lines.slice(0, li), [...cells.slice(0, c), ''].join(csv.delim)]);
          const rest = join([[''].concat(cells.slice(c + 1)).join(csv.delim), ...lines.slice(li + 1)]);
          out = Buffer.concat([before, cell, rest]);
          break;
        }
        default:
          throw new Error(d.kind);
      }
      const path = write(out);
      await assert.rejects(withTimeout(readEcgCsv(path, csv.options), 5000), (e: unknown) => {
        assert.ok(e instanceof MamError, `not a MamError: ${String(e)}`);
        assert.ok(e.message.startsWith(`${path}: `) && !e.message.includes('\n'), e.message);
        return true;
      });
    }), FC);
  });
});

// ---------------------------------------------------------------------------------------------

describe('mam data info', () => {
  const file = RECORD_100.file;

  it('prints leads, lead, rate and its source, samples, duration and range', () => {
    const r = mam(['data', 'info', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, [
      file,
      '  leads    MLII, V5',
      '  lead     MLII (index 0)',
      '  rate     360 Hz, from time column (seconds)',
      `  samples  ${RECORD_100.rows}`,
      `  duration ${RECORD_100.duration}`,
      `  range    ${RECORD_100.range}`,
      '',
    ].join('\n'));
  });

  it('--json: one JSON array, one object per file; --lead and --fs', () => {
    const r = mam(['data', 'info', '--json', '--lead', 'v5', '--fs', '360', file, file]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.equal(out.length, 2);
    assert.deepEqual(Object.keys(out[0]!), ['file', 'leads', 'lead', 'lead_index', 'fs', 'fs_source', 'samples', 'duration_s', 'min', 'max', 'mean']);
    assert.deepEqual([out[0]!.lead, out[0]!.lead_index, out[0]!.fs, out[0]!.fs_source, out[0]!.samples, out[0]!.duration_s], ['V5', 1, 360, '--fs', RECORD_100.rows, RECORD_100.seconds]);
  });

  it('an error: exit 1 (2 for a bad option), one "mam:" line, nothing on stdout', () => {
    for (const args of [['data', 'info', join(dir, 'absent.csv')], ['data', 'info', '--lead', 'V1', file], ['data', 'info', '--fs', 'fast', file]]) {
      // A lead the file does not have is a request the data cannot meet: a usage error, like a bad number.
      const r = mam(args);
      assert.equal(r.code, args.includes('fast') || args.includes('V1') ? 2 : 1, r.stderr);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^mam: (.*absent\\.csv: no such file|.*${basename(file).replace('.', '\\.')}: no lead "V1"|--fs must be a number, got "fast"; e\\.g\\. --fs 360)`));
    }
  });
});
