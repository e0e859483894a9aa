// Data that would mislead without a word: flat stretches (a lead off) left out of training and
// of every metric and counted per record, a split that leaves training the smallest set, and
// training files edited after the model was trained on them.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { generateEcg } from '../src/data/ecgsyn.js';
import { dataWarnings, DEFAULT_SPLIT, FLAT_STD_MV, isFlat, prepareData, type PipelineSettings, type PreparedData } from '../src/data/pipeline.js';
import { mam, tempDir } from './cli-helpers.js';

const dir = tempDir('mam-data-faults-');
const FS = 256;
const settings: PipelineSettings = { fs: FS, window: 128, hop: 128, baseline: 'none', normalization: { method: 'window' }, split: DEFAULT_SPLIT, seed: 1 };

/** 60 s of ECGSYN at 256 Hz, with [from, to) seconds replaced by a constant (a lead off). */
function ecgWithLeadOff(seed: number, from?: number, to?: number): Float32Array {
  const x = generateEcg({ seconds: 60, fs: FS, seed }).signal;
  if (from !== undefined && to !== undefined) x.fill(0.3, from * FS, to * FS);
  return x;
}

function csv(file: string, x: Float32Array): string {
  writeFileSync(file, `time_s,ECG\n${Array.from(x, (v, i) => `${(i / FS).toFixed(8)},${v.toFixed(5)}`).join('\n')}\n`);
  return file;
}

describe('flat windows', () => {
  it('isFlat: a constant or a stuck ADC (a few 5 uV steps) is flat; the quietest ECG is not', () => {
    assert.equal(isFlat(new Float32Array(128).fill(1.2)), true);
    const steps = Float32Array.from({ length: 128 }, (_, i) => 0.3 + 0.005 * (i % 3 - 1)); // std 4.1 uV
    assert.equal(isFlat(steps), true);
    // A beat-free stretch of a low-amplitude ECG: a T wave of 50 uV over half a second.
    const tWave = Float32Array.from({ length: 128 }, (_, i) => 0.05 * Math.sin((Math.PI * i) / 128));
    assert.equal(isFlat(tWave), false);
    assert.ok(FLAT_STD_MV === 0.01);
  });

  it('a 10 s lead-off stretch: its 20 windows are left out of training and counted, the others unchanged', () => {
    const clean = prepareData([{ name: 'a', fs: FS, lead: 'ECG', signal: ecgWithLeadOff(1) }], settings);
    const off = prepareData([{ name: 'a', fs: FS, lead: 'ECG', signal: ecgWithLeadOff(1, 20, 30) }], settings);
    // By time: training is the first 48 s, so all 20 windows of 0.5 s in 20..30 s are training ones.
    assert.equal(off.train.flat!.length, 20);
    assert.deepEqual(off.train.flat!.map((o) => o.start / FS).sort((p, q) => p - q), Array.from({ length: 20 }, (_, i) => 20 + i / 2));
    assert.equal(off.train.count, clean.train.count - 20);
    assert.equal(clean.train.flat!.length, 0);
    assert.deepEqual([off.val.count, off.test.count], [clean.val.count, clean.test.count]);
    assert.match(dataWarnings(off)[0]!, /^note: 20 flat windows left out \(standard deviation below 0\.01 mV: no signal, or a lead off\): 20 training, 0 validation, 0 test$/);
  });

  it('a flat record trains to nothing: refused, saying why', () => {
    const flat = new Float32Array(60 * FS).fill(0.5);
    assert.throws(() => prepareData([{ name: 'flat', fs: FS, lead: 'ECG', signal: flat }], settings),
      /the training split has no window of 128 samples \(its \d+ windows are all flat, below 0\.01 mV: no signal, or a lead off\)/);
  });

  it('mam eval on a recording with a lead-off stretch: the metrics leave its flat windows out, and say how many, per record', () => {
    const train = [csv(join(dir, 'a.csv'), ecgWithLeadOff(1)), csv(join(dir, 'b.csv'), ecgWithLeadOff(2))];
    const model = join(dir, 'model');
    const t = mam(['train', ...train, '--out', model, '--epochs', '3', '--vcon-epochs', '1', '--encoder', '16', '--latent', '8', '--decoder', '16']);
    assert.equal(t.code, 0, t.stderr);
    const clean = csv(join(dir, 'c.csv'), ecgWithLeadOff(3));
    const off = csv(join(dir, 'c-off.csv'), ecgWithLeadOff(3, 20, 30));
    const a = JSON.parse(mam(['eval', '--model', model, clean, '--json']).stdout) as { asnr_db: number; windows: number; flat_windows: number };
    const r = mam(['eval', '--model', model, clean, off, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const both = JSON.parse(r.stdout) as { flat_windows: number; records: Array<{ name: string; asnr_db: number; windows: number; flat_windows: number }> };
    assert.equal(both.flat_windows, 20);
    assert.deepEqual(both.records.map((x) => [x.windows, x.flat_windows]), [[a.windows, 0], [a.windows - 20, 20]]);
    // The other windows of the damaged record are the clean record's: its ASNR is within a window's share of it.
    assert.ok(Math.abs(both.records[1]!.asnr_db - a.asnr_db) < 1, `${both.records[1]!.asnr_db} vs ${a.asnr_db}`);
    const text = mam(['eval', '--model', model, off]);
    assert.match(text.stdout, /^left out as flat \(standard deviation below 0\.01 mV: no signal, or a lead off\): c-off\.csv 20$/m);
    const flat = csv(join(dir, 'flat.csv'), new Float32Array(30 * FS).fill(0.2));
    const none = mam(['eval', '--model', model, flat]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^mam: every window of .*flat\.csv is flat .*nothing to evaluate/);
  });
});

describe('a lopsided split', () => {
  it('warns when training gets fewer windows than validation or test', () => {
    const data = (train: number, val: number, test: number, splitBy: 'record' | 'time') =>
      ({ train: { count: train }, val: { count: val }, test: { count: test }, splitBy } as unknown as PreparedData);
    assert.deepEqual(dataWarnings(data(800, 100, 100, 'record')), []);
    assert.deepEqual(dataWarnings(data(16, 600, 599, 'record')), [
      'warning: the split by record left 16 training windows against 600 validation and 599 test: whole records go to each split, and the training one got the least data; give more records (or records of more equal length), or at most 2 records to split each by time',
    ]);
  });
});

describe('training files edited after training', () => {
  let model: string, file: string;
  before(() => {
    file = csv(join(dir, 'own.csv'), ecgWithLeadOff(7));
    model = join(dir, 'own-model');
    const t = mam(['train', file, '--out', model, '--epochs', '2', '--vcon-epochs', '1', '--encoder', '16', '--latent', '8', '--decoder', '16']);
    assert.equal(t.code, 0, t.stderr);
  });

  it('the model stores each file\'s size and SHA-256', () => {
    const meta = JSON.parse(readFileSync(join(model, 'mam.json'), 'utf8')) as { data: { source: { files: string[]; fingerprints: Array<{ bytes: number; sha256: string }> } } };
    assert.deepEqual(meta.data.source.fingerprints.map((f) => f.bytes), [readFileSync(file).length]);
    assert.match(meta.data.source.fingerprints[0]!.sha256, /^[0-9a-f]{64}$/);
  });

  it('eval of its own test split and --resume refuse a file that changed, naming it and the fix', () => {
    assert.equal(mam(['eval', '--model', model]).code, 0);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/,(-?\d+\.\d{5})\n/, (_, v: string) => `,${(Number(v) + 0.00001).toFixed(5)}\n`)); // one digit, same size
    const same = mam(['eval', '--model', model]);
    assert.equal(same.code, 1);
    assert.match(same.stderr.trimEnd(), /^mam: .*own\.csv changed since the model was trained on it \(same size, SHA-256 [0-9a-f]{12}\.\.\. then, [0-9a-f]{12}\.\.\. now\): restore the file the model was trained on, or train a new model on it$/);
    appendFileSync(file, '60.00000000,0.00000\n');
    const resume = mam(['train', '--resume', model, '--epochs', '3']);
    assert.equal(resume.code, 1);
    assert.match(resume.stderr, /^mam: .*own\.csv changed since the model was trained on it \(\d+ bytes then, \d+ now\)/);
    writeFileSync(file, text);
    assert.equal(mam(['eval', '--model', model]).code, 0, 'the original file is accepted again');
  });
});
