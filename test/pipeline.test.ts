// The preprocessing pipeline: resampling, baseline removal, windows, normalisation, splits.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MamError } from '../src/errors.js';
import { removeBaseline } from '../src/data/filters.js';
import { conditionRecord, DEFAULT_SPLIT, prepareData, windowAll, type PipelineSettings } from '../src/data/pipeline.js';
import { idealLowpass } from '../src/data/filters.js';
import { lowpassReference } from '../src/eval/floor.js';
import { synthRecords } from '../src/data/ecgsyn.js';
import { detectRPeaks } from '../src/data/rpeaks.js';
import type { EcgRecord } from '../src/data/record.js';
import { linearResample, resample, resampleFilter, resampledLength } from '../src/data/resample.js';
import { compressionRatio } from '../src/metrics/reconstruction.js';

const sine = (n: number, fs: number, f: number, amp = 1, phase = 0) =>
  Float32Array.from({ length: n }, (_, i) => amp * Math.sin(2 * Math.PI * f * (i / fs) + phase));

/** Amplitude and phase of the component at f (least squares on sin and cos), away from the ends. */
function component(x: Float32Array, fs: number, f: number, margin: number): { amp: number; phase: number } {
  let s = 0, c = 0, n = 0;
  for (let i = margin; i < x.length - margin; i++) {
    const w = 2 * Math.PI * f * (i / fs);
    s += x[i]! * Math.sin(w);
    c += x[i]! * Math.cos(w);
    n++;
  }
  return { amp: (2 / n) * Math.hypot(s, c), phase: Math.atan2(c, s) };
}

describe('resample', () => {
  for (const [fsIn, fsOut] of [[360, 256], [1000, 256], [500, 256], [128, 256], [250, 360]]) {
    it(`${fsIn} -> ${fsOut} Hz keeps a sine's amplitude and frequency`, () => {
      const seconds = 4;
      const x = sine(seconds * fsIn, fsIn, 7.3, 0.8, 0.4);
      const y = resample(x, fsIn, fsOut);
      assert.equal(y.length, resampledLength(x.length, resampleFilter(fsIn, fsOut)));
      assert.equal(y.length, Math.floor(((x.length - 1) * fsOut) / fsIn) + 1);
      const want = sine(y.length, fsOut, 7.3, 0.8, 0.4);
      let maxErr = 0;
      for (let i = fsOut / 2; i < y.length - fsOut / 2; i++) maxErr = Math.max(maxErr, Math.abs(y[i]! - want[i]!));
      assert.ok(maxErr < 1e-3, `max error ${maxErr}`);
      const c = component(y, fsOut, 7.3, fsOut / 2);
      assert.ok(Math.abs(c.amp - 0.8) < 1e-3, `amplitude ${c.amp}`);
    });
  }

  it('removes what would alias: 150 Hz at 360 Hz is attenuated by more than 60 dB at 256 Hz', () => {
    const y = resample(sine(360 * 4, 360, 150), 360, 256);
    let peak = 0;
    for (let i = 128; i < y.length - 128; i++) peak = Math.max(peak, Math.abs(y[i]!));
    assert.ok(20 * Math.log10(peak) < -60, `peak ${peak}`);
  });

  it('keeps a constant exactly and the same rate untouched', () => {
    const y = resample(new Float32Array(1000).fill(-0.9), 360, 256);
    assert.ok(y.every((v) => Math.abs(v + 0.9) < 1e-6));
    const x = sine(100, 256, 3);
    assert.equal(resample(x, 256, 256), x);
    assert.throws(() => resample(x, 256.0001, 256), /multiples of 0.001 Hz/);
  });
});

describe('baseline removal', () => {
  it('removes 0.1 Hz wander by more than 40 dB, keeps 10 Hz within 1% and in phase', () => {
    const fs = 256, n = fs * 60;
    const wander = sine(n, fs, 0.1, 1);
    const ecgLike = sine(n, fs, 10, 0.5, 1.1);
    const y = removeBaseline(Float32Array.from(wander, (v, i) => v + ecgLike[i]! + 0.3), fs);
    const margin = fs * 5;
    assert.ok(20 * Math.log10(component(y, fs, 0.1, margin).amp) < -40);
    const kept = component(y, fs, 10, margin);
    assert.ok(Math.abs(kept.amp - 0.5) < 0.005, `10 Hz amplitude ${kept.amp}`);
    assert.ok(Math.abs(kept.phase - component(ecgLike, fs, 10, margin).phase) < 1e-3, 'phase moved');
    let mean = 0;
    for (let i = margin; i < n - margin; i++) mean += y[i]!;
    assert.ok(Math.abs(mean / (n - 2 * margin)) < 1e-3, 'DC offset left');
  });
});

const settings = (over: Partial<PipelineSettings> = {}): PipelineSettings => ({
  fs: 256, window: 128, hop: 128, baseline: 'none', normalization: { method: 'window' },
  split: DEFAULT_SPLIT, seed: 1, ...over,
});
/** A record whose sample i is its index (plus an offset), so windows show where they came from. */
const ramp = (name: string, n: number, offset = 0): EcgRecord =>
  ({ name, fs: 256, lead: 'ECG', signal: Float32Array.from({ length: n }, (_, i) => offset + i) });

describe('windows and splits', () => {
  it('one record: contiguous time blocks, windows inside each, none overlapping another split', () => {
    const p = prepareData([ramp('a', 256 * 100)], settings({ normalization: { method: 'none' }, hop: 64 }));
    assert.equal(p.splitBy, 'time');
    const block = (name: 'train' | 'val' | 'test') => p[name].origin.map((o) => [o.start, o.start + 128]);
    const ends = (name: 'train' | 'val' | 'test') => [Math.min(...block(name).map((b) => b[0]!)), Math.max(...block(name).map((b) => b[1]!))];
    assert.ok(ends('train')[1]! <= ends('val')[0]! && ends('val')[1]! <= ends('test')[0]!);
    assert.ok(ends('train')[1]! <= 256 * 80 && ends('val')[1]! <= 256 * 90);
    // windows hold exactly the samples they claim
    for (const name of ['train', 'val', 'test'] as const) {
      p[name].origin.forEach((o, w) => assert.equal(p[name].data[w * 128], o.start));
    }
    // hop 64 over the train block [0, 20480): (20480 - 128) / 64 + 1 windows
    assert.equal(p.train.count, (256 * 80 - 128) / 64 + 1);
  });

  it('three or more records: whole records per split, seeded and repeatable', () => {
    const records = Array.from({ length: 10 }, (_, r) => ramp(`r${r}`, 256 * 10, r * 1e6));
    const p = prepareData(records, settings({ normalization: { method: 'none' } }));
    assert.equal(p.splitBy, 'record');
    assert.deepEqual(p.assignment.filter((a) => a === 'test').length, 1);
    assert.deepEqual(p.assignment.filter((a) => a === 'val').length, 1);
    for (const name of ['train', 'val', 'test'] as const) {
      for (const o of p[name].origin) assert.equal(p.assignment[o.record], name);
    }
    const again = prepareData(records, settings({ normalization: { method: 'none' } }));
    assert.deepEqual(again.assignment, p.assignment);
    assert.deepEqual(again.train.origin, p.train.origin);
    const other = prepareData(records, settings({ normalization: { method: 'none' }, seed: 2 }));
    assert.notDeepEqual(other.train.origin, p.train.origin);
    // the training windows are shuffled, validation and test are in order
    const starts = p.train.origin.map((o) => o.record * 1e6 + o.start);
    assert.notDeepEqual(starts, [...starts].sort((a, b) => a - b));
    const valStarts = p.val.origin.map((o) => o.start);
    assert.deepEqual(valStarts, [...valStarts].sort((a, b) => a - b));
  });

  it('named test records: whole as the test split; the others cut into a training block and then a validation block', () => {
    const records = ['/d/100.hea', '/d/106.hea', '/e/121.csv'].map((name, r) => ramp(name, 256 * 9, r * 1e6));
    // 2304 samples, windows of 128: the training share 0.8 / 0.9 of each training record is its first 2048 samples.
    const p = prepareData(records, settings({ normalization: { method: 'none' }, testRecords: ['106'] }));
    assert.equal(p.splitBy, 'named');
    assert.deepEqual(p.assignment, ['all', 'test', 'all']);
    assert.deepEqual(p.test.origin, Array.from({ length: 18 }, (_, k) => ({ record: 1, start: 128 * k })));
    assert.deepEqual(p.val.origin, [{ record: 0, start: 2048 }, { record: 0, start: 2176 }, { record: 2, start: 2048 }, { record: 2, start: 2176 }]);
    assert.deepEqual(p.train.origin.map((o) => `${o.record}:${o.start}`).sort(), [0, 2].flatMap((r) => Array.from({ length: 16 }, (_, k) => `${r}:${128 * k}`)).sort());
    // Names: a path, a file name with or without its extension; the folder must match when given.
    for (const name of ['/d/106.hea', '106.hea', 'd/106', '106']) assert.deepEqual(prepareData(records, settings({ testRecords: [name] })).assignment, ['all', 'test', 'all'], name);
    assert.throws(() => prepareData(records, settings({ testRecords: ['e/106'] })), (e: Error) => e instanceof MamError && e.message === "testRecords: 'e/106' is none of the records (100.hea, 106.hea, 121.csv): name test records among them");
    assert.throws(() => prepareData(records, settings({ testRecords: ['100', '106', '121'] })), /every record is a test record: leave at least one to train on/);
  });

  it('named validation records: whole as the validation split; with named test records the others train whole, without they give training and test blocks', () => {
    const records = ['/d/100.hea', '/d/106.hea', '/e/121.csv'].map((name, r) => ramp(name, 256 * 9, r * 1e6));
    const both = prepareData(records, settings({ normalization: { method: 'none' }, testRecords: ['106'], valRecords: ['121'] }));
    assert.deepEqual(both.assignment, ['train', 'test', 'val']);
    const all = (r: number) => Array.from({ length: 18 }, (_, k) => ({ record: r, start: 128 * k }));
    assert.deepEqual(both.val.origin, all(2));
    assert.deepEqual(both.test.origin, all(1));
    assert.deepEqual([...both.train.origin].sort((a, b) => a.start - b.start), all(0));
    // Only validation named: the others' first 0.8 / 0.9 (2048 samples) train, the rest tests.
    const val = prepareData(records, settings({ normalization: { method: 'none' }, valRecords: ['121'] }));
    assert.deepEqual(val.assignment, ['all', 'all', 'val']);
    assert.deepEqual(val.test.origin, [{ record: 0, start: 2048 }, { record: 0, start: 2176 }, { record: 1, start: 2048 }, { record: 1, start: 2176 }]);
    assert.equal(val.train.count, 32);
    assert.throws(() => prepareData(records, settings({ testRecords: ['106'], valRecords: ['106'] })), /valRecords: 106.hea is a test record too/);
    assert.throws(() => prepareData(records, settings({ testRecords: ['106'], valRecords: ['100', '121'] })), /every record is a test or validation record: leave at least one to train on/);
    assert.throws(() => prepareData(records, settings({ valRecords: ['107'] })), /valRecords: '107' is none of the records \(100.hea, 106.hea, 121.csv\): name validation records among them/);
  });

  it('jitter: each training window also shifted either way inside its block; validation and test windows as they were', () => {
    const records = ['/d/100.hea', '/d/106.hea', '/e/121.csv'].map((name, r) => ramp(name, 256 * 9, r * 1e6));
    const plain = prepareData(records, settings({ normalization: { method: 'none' }, testRecords: ['106'] }));
    const shifted = prepareData(records, settings({ normalization: { method: 'none' }, testRecords: ['106'], jitter: 16 }));
    assert.deepEqual(shifted.val.origin, plain.val.origin);
    assert.deepEqual(shifted.test.origin, plain.test.origin);
    // 16 windows per training block [0, 2048): each also at -16 and +16, but -16 before the first and +16 after the last fall outside.
    const starts = shifted.train.origin.filter((o) => o.record === 0).map((o) => o.start).sort((a, b) => a - b);
    assert.deepEqual(starts, Array.from({ length: 16 }, (_, k) => [128 * k - 16, 128 * k, 128 * k + 16]).flat().filter((t) => t >= 0 && t + 128 <= 2048));
    assert.throws(() => prepareData(records, settings({ jitter: 128 })), /jitter must be a whole number of samples from 0 to below the window/);
  });

  it('stretch: each training window also time-scaled by 1 - f and 1 + f about its middle, interpolated; validation and test as they were', () => {
    const records = ['/d/100.hea', '/d/106.hea', '/e/121.csv'].map((name, r) => ramp(name, 256 * 9, r * 1e6));
    const plain = prepareData(records, settings({ normalization: { method: 'none' }, testRecords: ['106'] }));
    const p = prepareData(records, settings({ normalization: { method: 'none' }, testRecords: ['106'], stretch: 0.25 }));
    assert.deepEqual(p.val.origin, plain.val.origin);
    assert.deepEqual(p.test.origin, plain.test.origin);
    const copies = p.train.origin.map((o, w) => ({ ...o, w })).filter((o) => o.scale !== undefined && o.record === 0);
    // Block [0, 2048), windows of 128 at 0, 128, ..., 1920: 1.25 reaches 16 samples beyond either edge, so the first and last have no wider copy.
    assert.deepEqual(copies.filter((o) => o.scale === 0.75).map((o) => o.start).sort((a, b) => a - b), Array.from({ length: 16 }, (_, k) => 128 * k));
    assert.deepEqual(copies.filter((o) => o.scale === 1.25).map((o) => o.start).sort((a, b) => a - b), Array.from({ length: 14 }, (_, k) => 128 * (k + 1)));
    assert.equal(p.train.count, plain.train.count + 2 * (16 + 14));
    // The records are ramps (sample t holds offset + t, conditioned unchanged): a stretched window is a steeper or flatter ramp through its middle.
    const conditioned = conditionRecord(records[0]!, settings({}));
    for (const o of copies) {
      for (const i of [0, 1, 63, 64, 100, 127]) {
        const t = o.start + 64 + (i - 64) * o.scale!;
        const k = Math.floor(t);
        const expected = conditioned[k]! + (t - k) * ((conditioned[k + 1] ?? conditioned[k]!) - conditioned[k]!);
        assert.ok(Math.abs(p.train.data[o.w * 128 + i]! - expected) < 1e-3, `window ${o.start} x${o.scale} sample ${i}: ${p.train.data[o.w * 128 + i]} against ${expected}`);
      }
      assert.ok(Math.abs(p.train.data[o.w * 128 + 64]! - conditioned[o.start + 64]!) < 1e-3, 'the middle sample is the unstretched one');
    }
    assert.throws(() => prepareData(records, settings({ stretch: 0.5 })), /stretch must be a fraction above 0 and below 0.5/);
  });

  it("windows: 'rr' tiles the signal with beat-to-beat segments, each resampled to the window length and kept as it was, in the window's units", () => {
    const [rec] = synthRecords({ count: 1, seconds: 30, seed: 3, fs: 256 });
    const s = settings({ windows: 'rr', baseline: 'highpass', split: { train: 1 - 1e-9, val: 0, test: 1e-9 } });
    const all = windowAll([rec!], s);
    const x = conditionRecord(rec!, s);
    const peaks = detectRPeaks(x, 256);
    // Segment k runs from the midpoint before R peak k to the midpoint after it: consecutive, covering every sample between the first and last midpoint.
    const mids = Array.from({ length: peaks.length - 1 }, (_, k) => Math.round((peaks[k]! + peaks[k + 1]!) / 2));
    assert.deepEqual(all.origin.map((o) => [o.start, o.span]), mids.slice(0, -1).map((m, k) => [m, mids[k + 1]! - m]));
    assert.equal(all.segments!.offsets.length, all.count + 1);
    for (let w = 0; w < all.count; w++) {
      const { start, span } = all.origin[w]!;
      const mean = all.norm!.mean[w]!, std = all.norm!.std[w]!;
      const segment = all.segments!.data.subarray(all.segments!.offsets[w]!, all.segments!.offsets[w + 1]!);
      assert.equal(segment.length, span);
      for (const i of [0, span! >> 1, span! - 1]) assert.ok(Math.abs(segment[i]! * std + mean - x[start + i]!) < 1e-5);
      const expected = linearResample(x.subarray(start, start + span!), 128);
      for (const i of [0, 1, 64, 127]) assert.ok(Math.abs(all.data[w * 128 + i]! * std + mean - expected[i]!) < 1e-5);
    }
    // Samples per value out: the mean segment length over latent + 1 (the length is sent too).
    const meanSpan = all.origin.reduce((a, o) => a + o.span!, 0) / all.count;
    assert.ok(Math.abs(compressionRatio(all, 16) - meanSpan / 17) < 1e-9);
    assert.equal(compressionRatio({ length: 128 }, 16), 8);
    assert.throws(() => prepareData([rec!], settings({ windows: 'rr', stretch: 0.1 })), /rr windows are period-normalised already/);
  });

  it("windows: 'beats' puts a window on each R peak, the peak at its middle sample", () => {
    const [rec] = synthRecords({ count: 1, seconds: 30, seed: 3, fs: 256 });
    const p = prepareData([rec!], settings({ windows: 'beats', normalization: { method: 'none' }, baseline: 'highpass' }));
    const fixed = prepareData([rec!], settings({ normalization: { method: 'none' }, baseline: 'highpass' }));
    const all = [...p.train.origin, ...p.val.origin, ...p.test.origin];
    const peaks = detectRPeaks(conditionRecord(rec!, settings({ baseline: 'highpass' })), 256);
    // Every detected beat whose window fits inside its time block, and no other window.
    assert.ok(all.length >= peaks.length - 3 && all.length <= peaks.length, `${all.length} windows, ${peaks.length} beats`);
    for (const o of all) assert.ok(peaks.includes(o.start + 64), `window at ${o.start}: no R peak at its middle`);
    for (const set of [p.train, p.val, p.test]) {
      for (let w = 0; w < set.count; w++) {
        const win = set.data.subarray(w * 128, (w + 1) * 128);
        assert.equal(win.indexOf(Math.max(...win)), 64, 'the R peak is the window\'s largest sample, in the middle');
      }
    }
    assert.notDeepEqual(all.map((o) => o.start).sort(), [...fixed.train.origin, ...fixed.val.origin, ...fixed.test.origin].map((o) => o.start).sort());
  });

  it('resamples records to the model rate first', () => {
    const rec: EcgRecord = { name: 'fast', fs: 512, lead: 'ECG', signal: sine(512 * 20, 512, 5) };
    const p = prepareData([rec], settings({ normalization: { method: 'none' } }));
    const total = p.train.count + p.val.count + p.test.count;
    assert.ok(total >= 37 && total <= 40, `${total} windows`);
    assert.ok(Math.abs(p.train.data[1]! - Math.sin(2 * Math.PI * 5 * ((p.train.origin[0]!.start + 1) / 256))) < 1e-3);
  });
});

describe('the noise floor (an ideal lowpass as the reference)', () => {
  // 4096 samples at 256 Hz: 10 Hz and 60 Hz fall on FFT bins, and every window of 128 holds whole cycles of both.
  const x = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(2 * Math.PI * 10 * i / 256) + 0.1 * Math.sin(2 * Math.PI * 60 * i / 256));

  it('idealLowpass keeps what is below the cutoff and removes what is above', () => {
    const low = idealLowpass(x, 256, 40);
    for (let i = 0; i < x.length; i += 37) assert.ok(Math.abs(low[i]! - Math.sin(2 * Math.PI * 10 * i / 256)) < 1e-5, `sample ${i}`);
  });

  it('lowpassReference: each window\'s SNR is 10 log10((1 + a^2) / a^2) for a 60 Hz part of amplitude a = 0.1', () => {
    const rec: EcgRecord = { name: 'sines', fs: 256, lead: 'ECG', signal: x };
    const s = settings();
    const windows = windowAll([rec], s);
    const floor = lowpassReference({ windows, recordNames: ['sines'], split: 'all' }, [rec], s, 40);
    assert.equal(floor.overall.windows, 32);
    assert.ok(Math.abs(floor.overall.asnr_db - 10 * Math.log10(1.01 / 0.01)) < 1e-3, `${floor.overall.asnr_db}`);
    assert.ok(Math.abs(floor.overall.snr_p5_db - floor.overall.asnr_db) < 1e-3, 'the same in every window');
  });
});

describe('normalisation', () => {
  const rand = (n: number, seed: number) => { let s = seed; return Float32Array.from({ length: n }, () => ((s = (s * 16807) % 2147483647) / 2147483647) * 3 - 2); };
  const recs = [0, 1, 2, 3].map((r): EcgRecord => ({ name: `r${r}`, fs: 256, lead: 'ECG', signal: rand(256 * 8, r + 1) }));

  it("'window': every window has mean 0 and standard deviation 1", () => {
    const p = prepareData(recs, settings());
    for (const set of [p.train, p.val, p.test]) {
      for (let w = 0; w < set.count; w++) {
        const win = set.data.subarray(w * 128, (w + 1) * 128);
        const mean = win.reduce((a, b) => a + b, 0) / 128;
        const sd = Math.sqrt(win.reduce((a, b) => a + (b - mean) ** 2, 0) / 128);
        assert.ok(Math.abs(mean) < 1e-5 && Math.abs(sd - 1) < 1e-5, `window ${w}: mean ${mean}, sd ${sd}`);
      }
    }
  });

  it("'dataset': the training windows' mean and std, stored and applied to every split", () => {
    const raw = prepareData(recs, settings({ normalization: { method: 'none' } }));
    const p = prepareData(recs, settings({ normalization: { method: 'dataset' } }));
    const n = p.settings.normalization as { mean: number; std: number };
    const data = raw.train.data;
    const mean = data.reduce((a, b) => a + b, 0) / data.length;
    assert.ok(Math.abs(n.mean - mean) < 1e-9);
    assert.ok(Math.abs(p.test.data[5]! - (raw.test.data[5]! - n.mean) / n.std) < 1e-6);
    // stored values are reused as given (evaluation with a trained model's settings)
    const fixed = prepareData(recs, settings({ normalization: { method: 'dataset', mean: 1, std: 2 } }));
    assert.ok(Math.abs(fixed.test.data[5]! - (raw.test.data[5]! - 1) / 2) < 1e-6);
  });
});

describe('pipeline errors', () => {
  it('a record shorter than one window is named, with the fix', () => {
    assert.throws(() => prepareData([ramp('short.csv', 100)], settings()),
      (e: Error) => e instanceof MamError && /^short\.csv: 100 samples at 256 Hz, fewer than one window of 128/.test(e.message));
  });
  it('impossible settings are refused', () => {
    assert.throws(() => prepareData([ramp('a', 5000)], settings({ window: 1 })), /window/);
    assert.throws(() => prepareData([ramp('a', 5000)], settings({ split: { train: 0.5, val: 0.1, test: 0.1 } })), /sum to 1/);
    assert.throws(() => prepareData([], settings()), /no records/);
  });
});
