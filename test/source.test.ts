// Data sources as stored with a model: loading them again gives the same records.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { MamError } from '../src/errors.js';
import { csvSource, loadRecords, targetRate, type DataSource } from '../src/data/source.js';
import { DEFAULT_SPLIT, prepareData } from '../src/data/pipeline.js';

const SAMPLE = fileURLToPath(new URL('../../data/mitdb_100_60s.csv', import.meta.url));

describe('data sources', () => {
  it('a synthetic source regenerates the same records from its JSON', async () => {
    const source: DataSource = { kind: 'synthetic', records: 3, generator: { seconds: 8, seed: 11, fs: 256 } };
    const a = await loadRecords(source);
    const b = await loadRecords(JSON.parse(JSON.stringify(source)) as DataSource);
    assert.equal(a.length, 3);
    assert.deepEqual(a.map((r) => [r.fs, r.signal.length]), [[256, 2048], [256, 2048], [256, 2048]]);
    a.forEach((r, i) => assert.deepEqual(r.signal, b[i]!.signal));
    assert.notDeepEqual(a[0]!.signal, a[1]!.signal, 'each trace is its own');
  });

  it('a CSV source stores absolute paths and reads the chosen lead', async () => {
    const source = csvSource([SAMPLE], { lead: 'V5' });
    assert.ok(source.kind === 'csv' && source.files[0]!.startsWith('/'));
    const [rec] = await loadRecords(source);
    assert.equal(rec!.fs, 360);
    assert.equal(rec!.lead, 'V5');
    assert.equal(rec!.signal.length, 21600);
    assert.ok(Math.abs(rec!.signal[0]! - -0.065) < 1e-6, `first V5 sample ${rec!.signal[0]}`);
    // and it goes through the pipeline: 60 s at 360 Hz -> 256 Hz, windows of 256 by time blocks
    const p = prepareData([rec!], { fs: 256, window: 256, hop: 256, baseline: 'highpass', normalization: { method: 'window' }, split: DEFAULT_SPLIT, seed: 1 });
    assert.equal(p.splitBy, 'time');
    assert.deepEqual([p.train.count, p.val.count, p.test.count], [48, 6, 6]); // 15360 samples: blocks of 12288, 1536, 1536
  });

  it('records at different rates need a rate to be resampled to', () => {
    const recs = [
      { name: 'a.csv', fs: 360, lead: 'MLII', signal: new Float32Array(10) },
      { name: 'b.csv', fs: 500, lead: 'ECG1', signal: new Float32Array(10) },
      { name: 'c.csv', fs: 360, lead: 'MLII', signal: new Float32Array(10) },
    ];
    assert.throws(() => targetRate(recs), (e: Error) => e instanceof MamError &&
      e.message === 'the records have different sampling rates (a.csv: 360 Hz, b.csv: 500 Hz): give the rate to resample them all to');
    assert.equal(targetRate(recs, 256), 256);
    assert.equal(targetRate(recs.filter((r) => r.fs === 360)), 360);
  });
});
