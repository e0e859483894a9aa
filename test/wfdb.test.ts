// The WFDB reader against PhysioNet's own files (data/wfdb/, and ../shared/ecg/wfdb/ when it is
// there): every format against samples decoded by hand and the header checksums, frames, skew,
// byte offsets, several files, the same millivolts as the CSV export of the same record, and
// the malformed cases; then the CLI on a record.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { readEcgCsv } from '../src/data/csv.js';
import { expandRecordingPaths, readRecording, readRecordings } from '../src/data/recordings.js';
import { bytesFor, decodeSamples, samplesIn } from '../src/data/wfdb/formats.js';
import { parseHeader } from '../src/data/wfdb/header.js';
import { readWfdbRecord, type WfdbRecord } from '../src/data/wfdb/reader.js';
import { MamError, RequestError } from '../src/errors.js';
import { mam, tempDir } from './cli-helpers.js';

const DATA = fileURLToPath(new URL('../../data/wfdb/', import.meta.url));
const CSV_60S = fileURLToPath(new URL('../../data/mitdb_100_60s.csv', import.meta.url));
const ECG = process.env.MAM_ECG_DIR ?? fileURLToPath(new URL('../../../shared/ecg/', import.meta.url));
const needsShared = existsSync(join(ECG, 'wfdb', '100.hea')) ? false : `needs the records in ${ECG}wfdb, absent here`;
const dir = tempDir('mam-wfdb-');

const rec = (name: string, options = {}) => readWfdbRecord(join(DATA, name), { signals: 'all', ...options });
/** A physical value back to its stored integer (exact for gains like 200 and 100). */
const stored = (r: WfdbRecord, signal: number, i: number) => {
  const s = r.header.signals[signal]!;
  return Math.round(r.signals[signal]![i]! * s.gain + s.baseline);
};
const rejects = (p: Promise<unknown>, pattern: RegExp) => assert.rejects(p, (e: Error) => {
  assert.ok(e instanceof MamError, `a MamError, got ${e.stack}`);
  assert.match(e.message, pattern);
  assert.ok(!e.message.includes('\n'), 'one line');
  return true;
});

describe('WFDB signal formats', () => {
  it('binformats: each format decodes to the samples worked out by hand from its first bytes, and every checksum agrees', async () => {
    const r = await rec('binformats');
    assert.equal(r.header.signals.length, 10);
    assert.deepEqual(r.checks, Array(10).fill('ok'));
    assert.deepEqual(r.signals.map((s) => s!.length), Array(10).fill(499));
    // First bytes (xxd) and the samples they hold:
    const byHand: Array<[number, number[]]> = [
      // d0, format 8: 00 7f 7f: differences 0, 127, 127 from the initial value -2047
      [0, [-2047, -1920, -1793]],
      // d1, format 16: 02 80 | 0e 82: 0x8002, 0x820e little-endian, two's complement
      [1, [-32766, -32242]],
      // d2, format 61: 80 03 | 82 0f: 0x8003, 0x820f big-endian
      [2, [-32765, -32241]],
      // d3, format 80: 04 | 12: 4 - 128, 18 - 128
      [3, [-124, -110]],
      // d4, format 160: 05 00 | 11 02: 0x0005 - 32768, 0x0211 - 32768
      [4, [-32763, -32239]],
      // d5, format 212: 06 98 22: 0x806 (12-bit -2042) and 0x922 (-1758)
      [5, [-2042, -1758]],
      // d6, format 310: words 0xec0e, 0x2ec4: bits 1-10 give 0x207 (-505) and 0x362 (-158); bits 11-15 give 29 | 5 << 5 = 189
      [6, [-505, -158, 189]],
      // d7, format 311: word 0x0bed8e08: bits 0-9 0x208 (-504), 10-19 0x363 (-157), 20-29 0x0be (190)
      [7, [-504, -157, 190]],
      // d8, format 24: 09 00 80: 0x800009
      [8, [-8388599]],
    ];
    for (const [signal, values] of byHand) {
      values.forEach((v, i) => assert.equal(stored(r, signal, i), v, `signal ${signal} (format ${r.header.signals[signal]!.format}) sample ${i}`));
    }
    // d9, format 32: 0a 00 00 80 = 0x8000000a: the physical value is float32 of (v - 0) / 200
    assert.equal(r.signals[9]![0], Math.fround(-2147483638 / 200));
  });

  it('the packed formats end inside a group: 212 keeps a lone sample in 2 bytes, 310 in 2, 311 two in 3', () => {
    assert.deepEqual([samplesIn(212, 749), bytesFor(212, 499)], [499, 749]);
    assert.deepEqual([samplesIn(310, 666), bytesFor(310, 499)], [499, 666]);
    assert.deepEqual([samplesIn(311, 3), bytesFor(311, 2), samplesIn(311, 2)], [2, 3, 1]);
    const out = new Int32Array(4);
    // 311, three bytes: 0x0bed8e08 cut to 08 8e ed: bits 0-9 and 10-19 are whole
    assert.equal(decodeSamples(311, Uint8Array.of(0x08, 0x8e, 0xed), 3, out), 2);
    assert.deepEqual([...out.subarray(0, 2)], [-504, -157]);
  });

  it('212 with three signals and an odd sample count: 999 frames, checksums agree, the same samples as record 100 in CSV', async () => {
    const r = await rec('100_3chan');
    assert.deepEqual(r.checks, ['ok', 'ok', 'ok']);
    assert.deepEqual(r.signals.map((s) => s!.length), [999, 999, 999]);
    assert.equal(r.header.signals[0]!.baseline, 1024, '200(1024)/mV: the baseline in parentheses');
    const csv = await readEcgCsv(CSV_60S);
    assert.deepEqual(r.signals[0], csv.signals[0]!.subarray(0, 999), 'I is MLII');
    assert.deepEqual(r.signals[1], csv.signals[1]!.subarray(0, 999), 'II is V5');
    assert.deepEqual(r.signals[2], r.signals[0]);
  });

  it("mitdb_100_60s.hea and data/mitdb_100_60s.csv hold the same millivolts, bit for bit (both leads)", async () => {
    const [w, c] = await Promise.all([rec('mitdb_100_60s'), readEcgCsv(CSV_60S)]);
    assert.deepEqual([w.fs, w.rows, w.leads], [360, 21600, ['MLII', 'V5']]);
    assert.deepEqual(w.signals[0], c.signals[0]);
    assert.deepEqual(w.signals[1], c.signals[1]);
  });

  it('MIT-BIH 100 in full and the CSV export of its first 300 s: the same millivolts', { skip: needsShared }, async () => {
    const [w, c] = await Promise.all([readWfdbRecord(join(ECG, 'wfdb', '100'), { signals: 'all' }), readEcgCsv(join(ECG, 'mitdb_100.csv'))]);
    assert.deepEqual(w.checks, ['ok', 'ok']);
    assert.equal(w.rows, 650000);
    assert.deepEqual(w.signals[0]!.subarray(0, c.rows), c.signals[0]);
    assert.deepEqual(w.signals[1]!.subarray(0, c.rows), c.signals[1]);
  });

  it('every record of ../shared/ecg/wfdb reads with its checksums agreeing (PTB: 15 leads in two files)', { skip: needsShared }, async () => {
    const ptb = await readWfdbRecord(join(ECG, 'wfdb', 's0010_re'), { signals: 'all' });
    assert.equal(ptb.leads.length, 15);
    assert.deepEqual(ptb.checks, Array(15).fill('ok'));
    assert.deepEqual([ptb.leads[12], ptb.header.signals[12]!.file, ptb.signals[12]!.length], ['vx', 's0010_re.xyz', 38400]);
    for (const name of ['106', '108', '121']) assert.deepEqual((await readWfdbRecord(join(ECG, 'wfdb', name))).checks, ['ok']);
    const csv = await readEcgCsv(join(ECG, 'macecgdb_test01_00s.csv'));
    const w = await rec('test01_00s');
    w.signals.forEach((s, i) => assert.deepEqual(s, csv.signals[i], `lead ${i}`));
  });
});

describe('frames, skew, offsets, several files', () => {
  it('16x2: the signal with 2 samples per frame runs at 1000 Hz and takes two of the four values in each frame', async () => {
    const [plain, framed] = await Promise.all([rec('test01_00s'), rec('test01_00s_frame')]);
    assert.deepEqual(framed.rates, [500, 1000, 500]);
    assert.deepEqual(framed.signals.map((s) => s!.length), [4000, 8000, 4000]);
    assert.deepEqual(framed.checks.slice(0, 2), ['ok', 'ok']);
    for (let k = 0; k < 4000; k += 397) {
      assert.equal(framed.signals[0]![k], plain.signals[0]![k]);
      assert.equal(framed.signals[1]![2 * k], plain.signals[1]![k]);
      assert.equal(framed.signals[1]![2 * k + 1], plain.signals[2]![k]);
      assert.equal(framed.signals[2]![k], plain.signals[3]![k]);
    }
    // The header's initial value of ECG_3 is copied from the 4-signal record; its checksum agrees: a note, not an error.
    assert.match(framed.checks[2]!, /first sample is -66, the header's initial value -57/);
    assert.match(framed.notes.join('\n'), /initial value is stale/);
    const viaFrameRate = await readWfdbRecord(join(DATA, 'test01_00s_frame'), { lead: 'ECG_2' });
    assert.equal(viaFrameRate.fs, 1000);
  });

  it('16:3: the skewed signal starts 3 frames later and is 3 samples shorter', async () => {
    const [plain, skewed] = await Promise.all([rec('test01_00s'), rec('test01_00s_skew')]);
    assert.equal(skewed.header.signals[1]!.skew, 3);
    assert.equal(skewed.signals[1]!.length, 3997);
    assert.deepEqual(skewed.signals[1], plain.signals[1]!.subarray(3));
    assert.deepEqual(skewed.signals[0], plain.signals[0]);
  });

  it('16+24: a byte offset skips a prefix, as in .mat records', async () => {
    writeFileSync(join(dir, 'offset.dat'), Buffer.concat([Buffer.alloc(24, 0xab), readFileSync(join(DATA, 'test01_00s.dat'))]));
    writeFileSync(join(dir, 'offset.hea'), readFileSync(join(DATA, 'test01_00s.hea'), 'latin1').replace(/^test01_00s /, 'offset ').replaceAll('test01_00s.dat 16 ', 'offset.dat 16+24 '));
    const [plain, offset] = await Promise.all([rec('test01_00s'), readWfdbRecord(join(dir, 'offset'), { signals: 'all' })]);
    assert.deepEqual(offset.checks, ['ok', 'ok', 'ok', 'ok']);
    offset.signals.forEach((s, i) => assert.deepEqual(s, plain.signals[i]));
  });

  it('two signal files, two formats: each file read with its own; the number of samples from the files when the header has none', async () => {
    copyFileSync(join(DATA, 'mitdb_100_60s.dat'), join(dir, 'two_a.dat'));
    // A third signal in format 16 in a file of its own: 3 * sample index, in uV.
    const b = Buffer.alloc(21600 * 2);
    let sum = 0;
    for (let i = 0; i < 21600; i++) { b.writeInt16LE(((3 * i) << 16) >> 16, 2 * i); sum += ((3 * i) << 16) >> 16; }
    writeFileSync(join(dir, 'two_b.dat'), b);
    const header = (nsamp: string) => [
      `two 3 360${nsamp}`,
      'two_a.dat 212 200 11 1024 995 21537 0 MLII',
      'two_a.dat 212 200 11 1024 1011 -3962 0 V5',
      `two_b.dat 16 1000/uV 16 0 0 ${sum % 65536} 0 ramp in microvolts`, '',
    ].join('\n');
    writeFileSync(join(dir, 'two.hea'), header(' 21600'));
    const r = await readWfdbRecord(join(dir, 'two.hea'), { signals: 'all' });
    assert.deepEqual(r.checks, ['ok', 'ok', 'ok']);
    assert.equal(r.leads[2], 'ramp in microvolts', 'descriptions keep their spaces');
    assert.equal(r.signals[2]![5], Math.fround(((15 / 1000) * 1e-3)), '1000 counts per uV: 15 counts are 0.015 uV');
    writeFileSync(join(dir, 'two.hea'), header(''));
    const sized = await readWfdbRecord(join(dir, 'two.hea'), { signals: 'all' });
    assert.deepEqual(sized.signals.map((s) => s!.length), [21600, 21600, 21600]);
    assert.match(sized.notes.join(''), /gives no number of samples: 21600 frames, from the signal files' sizes/);
    // Only the lead's file is read unless every signal is asked for.
    const lead = await readWfdbRecord(join(dir, 'two.hea'), { lead: 'V5' });
    assert.deepEqual([lead.lead, lead.signals[2], lead.checks[2]], ['V5', null, null]);
  });
});

describe('header fields', () => {
  it('gains, baselines, units and defaults; the counter frequency and base time are kept', () => {
    const h = parseHeader([
      '# a comment first', 'rec 4 360/720(3) 1000 12:30:00 01/02/2003',
      'rec.dat 16 200(1024)/mV 12 1000 5 6 0 MLII', 'rec.dat 16 6554/mV', 'rec.dat 16 0/mmHg 16 0 0 0 0 ABP', 'rec.dat 16', '# and at the end',
    ].join('\n'), 'rec.hea');
    assert.deepEqual([h.fs, h.counterFrequency, h.baseCounter, h.frames, h.baseTime, h.baseDate], [360, 720, 3, 1000, '12:30:00', '01/02/2003']);
    const s = h.signals;
    assert.deepEqual([s[0]!.gain, s[0]!.baseline, s[0]!.adcZero, s[0]!.units], [200, 1024, 1000, 'mV'], 'the baseline in parentheses wins over adc_zero');
    assert.deepEqual([s[1]!.gain, s[1]!.baseline, s[1]!.units], [6554, 0, 'mV']);
    assert.deepEqual([s[2]!.gain, s[2]!.units], [200, 'mmHg'], 'gain 0 means 200');
    assert.deepEqual([s[3]!.gain, s[3]!.baseline, s[3]!.units, s[3]!.adcResolution, s[3]!.description], [200, 0, 'mV', 16, '']);
    assert.deepEqual(h.comments, ['a comment first', 'and at the end']);
    const noRate = parseHeader('rec 1\nrec.dat 212\n', 'rec.hea');
    assert.deepEqual([noRate.fs, noRate.frames], [250, undefined]);
  });

  it('a signal in mmHg is listed and refused as a lead; the default lead is the first signal in volts', async () => {
    copyFileSync(join(DATA, 'mitdb_100_60s.dat'), join(dir, 'bp.dat'));
    writeFileSync(join(dir, 'bp.hea'), 'bp 2 360 21600\nbp.dat 212 200/mmHg 11 1024 995 21537 0 ABP\nbp.dat 212 200 11 1024 1011 -3962 0 V5\n');
    const r = await readWfdbRecord(join(dir, 'bp'));
    assert.deepEqual([r.lead, r.leadIndex], ['V5', 1]);
    await rejects(readWfdbRecord(join(dir, 'bp'), { lead: 'abp' }), /bp\.hea: signal 0 \(ABP\) is in mmHg, not an ECG lead in volts: choose another with lead \(0 ABP \(mmHg\), 1 V5 \(mV\)\)$/);
    await rejects(readWfdbRecord(join(dir, 'bp'), { lead: 'II' }), /no signal named 'II'/);
    await rejects(readWfdbRecord(join(dir, 'bp'), { lead: 2 }), /lead 2: the record has 2 signals/);
  });
});

describe('checks and malformed records', () => {
  /** A copy of mitdb_100_60s named `name`, its header edited by `edit`. */
  const variant = (name: string, edit: (header: string) => string, dat = true) => {
    if (dat) copyFileSync(join(DATA, 'mitdb_100_60s.dat'), join(dir, `${name}.dat`));
    writeFileSync(join(dir, `${name}.hea`), edit(readFileSync(join(DATA, 'mitdb_100_60s.hea'), 'latin1').replaceAll('mitdb_100_60s', name)));
    return join(dir, `${name}.hea`);
  };

  it('a checksum that disagrees is an error naming the signal and the header line; verify false reads it with a warning', async () => {
    const path = variant('badsum', (h) => h.replace(' -3962 ', ' -3961 '));
    await rejects(readWfdbRecord(path), /badsum\.hea: line 3: signal 1 \(V5\): its samples sum to 61574 modulo 65536, the header's checksum is -3961: the header does not describe .*badsum\.dat .*give --no-verify to read it anyway$/);
    // Only the lead's file is read, and checked: the lead is in the same file here.
    const r = await readWfdbRecord(path, { verify: false });
    assert.match(r.notes.join(''), /^warning: .*badsum\.hea: line 3: signal 1 \(V5\): its samples sum to 61574/);
    assert.equal(r.rows, 21600);
    // Checksums are compared modulo 65536: the unsigned spelling of -3962 is as good.
    assert.deepEqual((await readWfdbRecord(variant('unsigned', (h) => h.replace(' -3962 ', ' 61574 ')), { signals: 'all' })).checks, ['ok', 'ok']);
  });

  it('one-line errors naming the file and line: missing or truncated signal file, unknown or FLAC format, bad fields, multi-segment', async () => {
    await rejects(readWfdbRecord(variant('nodat', (h) => h, false)), /nodat\.dat: no such file \(named on line 2 of nodat\.hea\): put the record's signal files beside its header$/);
    writeFileSync(join(dir, 'short.dat'), readFileSync(join(DATA, 'mitdb_100_60s.dat')).subarray(0, 64000));
    await rejects(readWfdbRecord(variant('short', (h) => h, false)), /short\.dat: 64000 bytes hold 21333 of the 21600 frames short\.hea gives \(64800 bytes needed\): the file is truncated; get it again$/);
    await rejects(readWfdbRecord(variant('fmt', (h) => h.replace('.dat 212 200 11 1024 1011', '.dat 213 200 11 1024 1011'))), /fmt\.hea: line 3: format 213 is not a WFDB signal format mam reads \(8, 16, 24, 32, 61, 80, 160, 212, 310, 311\): convert the record to format 16$/);
    await rejects(readWfdbRecord(variant('flac', (h) => h.replaceAll('.dat 212 ', '.dat 516 '))), /flac\.hea: line 2: format 516 is FLAC-compressed/);
    await rejects(readWfdbRecord(variant('gain', (h) => h.replace('212 200 11', '212 2x0 11'))), /gain\.hea: line 2: gain '2x0' is not GAIN\[\(BASELINE\)\]\[\/UNITS\]/);
    await rejects(readWfdbRecord(variant('zero', (h) => h.replace('200 11 1024 995', '200 11 1O24 995'))), /zero\.hea: line 2: ADC zero '1O24' is not a whole number/);
    await rejects(readWfdbRecord(variant('nsig', (h) => h.replace('nsig 2 360', 'nsig 3 360'))), /nsig\.hea: line 3: the record line says 3 signals, the header describes 2/);
    await rejects(readWfdbRecord(variant('mixed', (h) => h.replace('.dat 212 200 11 1024 1011', '.dat 16 200 11 1024 1011'))), /mixed\.hea: line 3: the signals of mixed\.dat must share one format and byte offset/);
    writeFileSync(join(dir, 'multi.hea'), 'multi/2 1 360 1000\nseg1 500\nseg2 500\n');
    await rejects(readWfdbRecord(join(dir, 'multi.hea')), /multi\.hea: line 1: 'multi\/2' is a multi-segment record: these are not read; give its segments' headers/);
    writeFileSync(join(dir, 'empty.hea'), '# nothing\n\n');
    await rejects(readWfdbRecord(join(dir, 'empty.hea')), /empty\.hea: no record line/);
    await rejects(readWfdbRecord(join(dir, 'absent')), /absent\.hea: no such file/);
  });

  it("WFDB's invalid value (a gap) in the lead is refused with where it is; an overview reads it as NaN and counts it", async () => {
    // mitdb_100_60s in format 16 with samples 100..149 of MLII set to -32768.
    const src = await rec('mitdb_100_60s');
    const b = Buffer.alloc(21600 * 4);
    const sums = [0, 0];
    for (let i = 0; i < 21600; i++) {
      for (let s = 0; s < 2; s++) {
        const v = s === 0 && i >= 100 && i < 150 ? -32768 : stored(src, s, i);
        b.writeInt16LE(v, 4 * i + 2 * s);
        sums[s] = (sums[s]! + v) & 0xffff;
      }
    }
    writeFileSync(join(dir, 'gaps.dat'), b);
    writeFileSync(join(dir, 'gaps.hea'), `gaps 2 360 21600\ngaps.dat 16 200 11 1024 995 ${sums[0]} 0 MLII\ngaps.dat 16 200 11 1024 1011 ${sums[1]} 0 V5\n`);
    await rejects(readWfdbRecord(join(dir, 'gaps')), /gaps\.hea: signal 0 \(MLII\): 50 samples hold WFDB's invalid value \(-32768 in format 16: a gap or a lead off\), the first at sample 100 \(0\.3 s\): mam does not bridge gaps; choose another lead/);
    const v5 = await readWfdbRecord(join(dir, 'gaps'), { lead: 'V5' });
    assert.deepEqual(v5.signal, src.signals[1], 'the other lead is whole');
    const all = await readRecording(join(dir, 'gaps.hea'), {}, true) as WfdbRecord;
    assert.deepEqual(all.invalid, [50, 0]);
    assert.ok(Number.isNaN(all.signals[0]![100]!) && Number.isNaN(all.signals[0]![149]!) && all.signals[0]![150] === src.signals[0]![150]);
    const info = mam(['data', 'info', join(dir, 'gaps.hea')]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /0 MLII gaps\.dat 16\s+360\s+21600\s+200\(1024\)\/mV\s+ok; 50 invalid \(gaps\)/);
  });

  it('recordings: record names without .hea, directories with CSV files and records; --fs and --adc-* are refused for records', async () => {
    const paths = await expandRecordingPaths([join(DATA, 'mitdb_100_60s'), DATA]);
    assert.equal(paths[0], join(DATA, 'mitdb_100_60s.hea'));
    assert.deepEqual(paths.slice(1).map((p) => p.slice(DATA.length)), ['100_3chan.hea', 'binformats.hea', 'mitdb_100_60s.hea', 'test01_00s.hea', 'test01_00s_frame.hea', 'test01_00s_skew.hea']);
    const [w, c] = await readRecordings([join(DATA, 'mitdb_100_60s'), CSV_60S], { lead: 'V5' });
    assert.deepEqual(w!.signal, c!.signal);
    await assert.rejects(readRecording(join(DATA, 'mitdb_100_60s.hea'), { fs: 360 }), (e: Error) => e instanceof RequestError && /fs is for CSV files: a WFDB header states/.test(e.message));
    await rejects(expandRecordingPaths([join(DATA, 'nothing')]), /nothing: no such file/);
  });
});

describe('mam with WFDB records', () => {
  it('data info: every signal with its format and checksum, the beats per class', () => {
    const r = mam(['data', 'info', join(DATA, 'mitdb_100_60s'), '--annotations', 'atr', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [info] = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual([info!.fs, info!.samples, info!.fs_source], [360, 21600, 'the header']);
    assert.deepEqual((info!.signals as Array<Record<string, unknown>>).map((s) => [s.name, s.format, s.check]), [['MLII', '212', 'ok'], ['V5', '212', 'ok']]);
    assert.deepEqual((info!.annotations as { beats: Array<Record<string, unknown>> }).beats.map((b) => [b.symbol, b.count]), [['N', 73], ['A', 1]]);
    const text = mam(['data', 'info', join(DATA, 'mitdb_100_60s.hea'), '--annotations', 'atr']);
    assert.match(text.stdout, /beats\s+74 in mitdb_100_60s\.atr: N 73, A 1 \(AAMI classes: N 73, S 1\)/);
    const fs = mam(['data', 'info', join(DATA, 'mitdb_100_60s.hea'), '--fs', '360']);
    assert.equal(fs.code, 2);
    assert.match(fs.stderr, /^mam: .*mitdb_100_60s\.hea: --fs is for CSV files/);
  });

  it('train on a record, eval with --annotations and --pca: quality per beat class in the table and in --json', () => {
    const model = join(dir, 'model');
    const t = mam(['train', join(DATA, 'mitdb_100_60s'), '--kind', 'mac', '--epochs', '2', '--split', '0.6,0.2,0.2', '--out', model]);
    assert.equal(t.code, 0, t.stderr);
    const r = mam(['eval', '--model', model, '--annotations', 'atr', '--pca', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { windows: number; pca: { components: number; asnr_db: number }; beats: { overall: { classes: Record<string, { beats: number; beats_uncovered: number; windows: number; prd: number }> } } };
    // The test split is the last 12 s: beats in it only.
    const n = out.beats.overall.classes.N!;
    assert.ok(n.beats + n.beats_uncovered >= 12 && n.beats + n.beats_uncovered <= 17, `N beats in the last 12 s: ${JSON.stringify(n)}`);
    assert.ok(n.windows > 0 && n.windows <= out.windows);
    assert.ok(n.prd > 0 && Number.isFinite(n.prd));
    assert.equal(out.pca.components, 16);
    assert.ok(Number.isFinite(out.pca.asnr_db));
    const text = mam(['eval', '--model', model, '--annotations', 'atr']);
    assert.match(text.stdout, /beats from mitdb_100_60s\.atr: ASNR of the windows holding each class; PRD and PRDN \(in mV\) of \+-0\.3 s around each beat/);
    assert.match(text.stdout, /all N \(normal\)\s+\d+\s+\d+\s+-?\d+\.\d\d/);
    const csv = mam(['eval', '--model', model, CSV_60S, '--annotations', 'atr']);
    assert.equal(csv.code, 1);
    assert.match(csv.stderr, /^mam: .*mitdb_100_60s\.csv: not a WFDB record: beat annotations are read beside WFDB records/);
  });

  it("a record's fingerprint covers its signal file: a model's data changed since training is refused; --no-verify lets a bad checksum through with a warning", () => {
    for (const ext of ['hea', 'dat']) copyFileSync(join(DATA, `mitdb_100_60s.${ext}`), join(dir, `fp.${ext}`));
    writeFileSync(join(dir, 'fp.hea'), readFileSync(join(DATA, 'mitdb_100_60s.hea'), 'latin1').replaceAll('mitdb_100_60s', 'fp'));
    const model = join(dir, 'fp-model');
    assert.equal(mam(['train', join(dir, 'fp'), '--kind', 'mac', '--epochs', '1', '--out', model]).code, 0);
    const dat = readFileSync(join(dir, 'fp.dat'));
    dat[1000] = dat[1000]! ^ 1;
    writeFileSync(join(dir, 'fp.dat'), dat);
    const changed = mam(['eval', '--model', model]);
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /^mam: .*fp\.hea changed since the model was trained on it \(same size, SHA-256/);
    // The flipped bit also breaks the checksum: an error, or a warning with --no-verify.
    const info = mam(['data', 'info', join(dir, 'fp')]);
    assert.equal(info.code, 1);
    assert.match(info.stderr.trim(), /^mam: .*fp\.hea: line 2: signal 0 \(MLII\): its samples sum to \d+ modulo 65536, the header's checksum is 21537: .*give --no-verify to read it anyway$/);
    const anyway = mam(['data', 'info', join(dir, 'fp'), '--no-verify']);
    assert.equal(anyway.code, 0, anyway.stderr);
    assert.match(anyway.stdout, /warning: .*fp\.hea: line 2: signal 0 \(MLII\): its samples sum to/);
    const trained = mam(['train', join(dir, 'fp'), '--no-verify', '--kind', 'mac', '--epochs', '1', '--out', join(dir, 'fp-model2')]);
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stderr, /warning: .*fp\.hea: line 2: signal 0 \(MLII\)/);
  });
});
