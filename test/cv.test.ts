// Leave-one-out cross-validation (mam cv) on two shipped recordings, and its resume.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { evaluationData, pcaBaseline } from '../src/eval/evaluate.js';
import { loadAutoencoder } from '../src/model/metadata.js';
import { mam, tempDir } from './cli-helpers.js';

const DATA = fileURLToPath(new URL('../../data/', import.meta.url));
const dir = tempDir('mam-cv-');

describe('mam cv', () => {
  it('a fold per recording, each tested on the one it left out, beside PCA fitted on the same training windows; running again reads the folds back', async () => {
    const out = join(dir, 'cv');
    const args = ['cv', join(DATA, 'wfdb', 'mitdb_100_60s'), join(DATA, 'wfdb', 'test01_00s'), '--kind', 'mac', '--epochs', '2', '--out', out];
    const r = mam([...args, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const cv = JSON.parse(r.stdout) as { kind: string; compression_ratio: number; finished: boolean; folds: Array<{ record: string; model: string; windows: number; asnr_db: number; pca_asnr_db: number; epochs: number }>; mean: { asnr_db: number; pca_asnr_db: number } };
    assert.deepEqual([cv.kind, cv.compression_ratio, cv.finished], ['mac', 8, true]);
    assert.deepEqual(cv.folds.map((f) => [f.record.split('/').at(-1), f.model.split('/').at(-1), f.epochs]), [['mitdb_100_60s.hea', 'mitdb_100_60s', 2], ['test01_00s.hea', 'test01_00s', 2]]);
    // Every window of the left-out recording is tested: 60 s and 8 s at 256 Hz, windows of 128.
    assert.deepEqual(cv.folds.map((f) => f.windows), [120, 16]);
    for (const [i, f] of cv.folds.entries()) {
      const { model, metadata } = await loadAutoencoder(f.model);
      model.dispose();
      assert.deepEqual(metadata.data.pipeline.testRecords, [f.record]);
      assert.equal(metadata.data.windows.test, f.windows);
      // The fold's PCA figure is PCA fitted on its training windows, on its test record's windows.
      const data = await evaluationData(metadata);
      const pca = pcaBaseline(data, data.train!, metadata.spec.latent).overall.asnr_db;
      assert.ok(Math.abs(pca - f.pca_asnr_db) < 1e-9, `fold ${i}: PCA refitted ${pca}, cv ${f.pca_asnr_db}`);
    }
    const mean = (pick: (f: (typeof cv.folds)[number]) => number) => cv.folds.reduce((a, f) => a + pick(f), 0) / cv.folds.length;
    assert.ok(Math.abs(cv.mean.asnr_db - mean((f) => f.asnr_db)) < 1e-12);
    assert.ok(Math.abs(cv.mean.pca_asnr_db - mean((f) => f.pca_asnr_db)) < 1e-12);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'cv.json'), 'utf8')), cv);
    // --lowpass adds the noise floor of each test recording; the folds are not trained again.
    const floor = mam([...args, '--lowpass', '40', '--json']);
    assert.equal(floor.code, 0, floor.stderr);
    const withFloor = JSON.parse(floor.stdout) as { lowpass_hz: number; folds: Array<{ asnr_db: number; lowpass_asnr_db: number }> };
    assert.equal(withFloor.lowpass_hz, 40);
    withFloor.folds.forEach((f, i) => {
      assert.equal(f.asnr_db, cv.folds[i]!.asnr_db);
      assert.ok(f.lowpass_asnr_db > 5 && f.lowpass_asnr_db < 60, `floor ${f.lowpass_asnr_db}`);
    });

    // Again: the finished folds are read back, not trained again; the same figures.
    const again = mam(args);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /epoch 1:/);
    assert.match(again.stdout, /leave one out, MAC, compression ratio 8/);
    assert.match(again.stdout, new RegExp(`mean\\s+${cv.mean.asnr_db.toFixed(2)}\\s+${cv.mean.pca_asnr_db.toFixed(2)}`));
    // Other settings in the same directory are another run: refused.
    const other = mam([...args.filter((a) => a !== '--json'), '--baseline', 'highpass']);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /holds a run with another preprocessing/);
  });

  it('--val-by record: each fold validates on the next recording, whole, and trains on the rest', async () => {
    const recordings = ['mitdb_100_60s', 'test01_00s', '100_3chan'].map((n) => join(DATA, 'wfdb', n));
    const r = mam(['cv', ...recordings, '--kind', 'mac', '--epochs', '1', '--val-by', 'record', '--out', join(dir, 'by-record'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /fold 1 of 3: test on mitdb_100_60s, validate on test01_00s, train on 100_3chan/);
    const cv = JSON.parse(r.stdout) as { val_by: string; folds: Array<{ record: string; model: string }> };
    assert.equal(cv.val_by, 'record');
    // 60 s, 8 s and 999 samples at 360 Hz (710 at 256 Hz): 120, 16 and 5 windows of 128.
    const windows = [120, 16, 5];
    for (const [i, f] of cv.folds.entries()) {
      const { model, metadata } = await loadAutoencoder(f.model);
      model.dispose();
      const v = (i + 1) % 3;
      assert.deepEqual(metadata.data.pipeline.valRecords, [`${recordings[v]}.hea`]);
      assert.deepEqual(metadata.data.windows, { train: windows[3 - i - v]!, val: windows[v]!, test: windows[i]! });
    }
    assert.match(mam(['cv', ...recordings.slice(0, 2), '--val-by', 'record', '--out', join(dir, 'two')]).stderr, /--val-by record needs three or more recordings/);
  });

  it('refuses what it cannot do: one recording, the synthetic generator, --test-records', () => {
    assert.match(mam(['cv', join(DATA, 'wfdb', 'mitdb_100_60s'), '--out', join(dir, 'one')]).stderr, /cross-validation needs two or more recordings/);
    assert.equal(mam(['cv', '--out', join(dir, 'none')]).code, 2);
    assert.match(mam(['cv', join(DATA, 'wfdb', 'mitdb_100_60s'), join(DATA, 'wfdb', 'test01_00s'), '--test-records', '100', '--out', join(dir, 'x')]).stderr, /--test-records is what mam cv chooses/);
  });
});
