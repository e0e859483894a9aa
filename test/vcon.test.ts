// The vanishing-contributions schedule against its formulas, and stepped through model.fit().
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { MamDense } from '../src/layers/mam-dense.js';
import { MaskedDense } from '../src/layers/masked-dense.js';
import { setModelBeta, vconCallbacks } from '../src/train/beta.js';
import { VconSchedule, vconBeta } from '../src/train/vcon.js';

describe('vcon schedule', () => {
  it('linear: beta -= 1/steps per step, then 0', () => {
    const opts = { steps: 4, shape: 'linear' } as const;
    assert.deepEqual([0, 1, 2, 3, 4, 5, 100].map((t) => vconBeta(t, opts)), [1, 0.75, 0.5, 0.25, 0, 0, 0]);
  });

  it('exponential: beta *= exp(ln(eps)/steps) per step, 0 once <= eps', () => {
    const eps = 1e-3, steps = 10;
    const r = Math.exp(Math.log(eps) / steps);
    for (let t = 0; t < steps; t++) {
      assert.ok(Math.abs(vconBeta(t, { steps, shape: 'exponential' }) - r ** t) < 1e-12, `step ${t}`);
    }
    // r^steps = eps: there beta is set to 0 and stays there
    assert.equal(vconBeta(steps, { steps, shape: 'exponential' }), 0);
    assert.equal(vconBeta(steps + 5, { steps, shape: 'exponential' }), 0);
    assert.ok(Math.abs(vconBeta(2, { steps: 3, shape: 'exponential', eps: 0.5 }) - 0.5 ** (2 / 3)) < 1e-12);
  });

  it('steps = 0 is pure MAM from the start; bad options are refused', () => {
    assert.equal(vconBeta(0, { steps: 0, shape: 'linear' }), 0);
    assert.throws(() => vconBeta(-1, { steps: 3, shape: 'linear' }), /step/);
    assert.throws(() => vconBeta(0, { steps: 2.5, shape: 'linear' }), /steps/);
    assert.throws(() => vconBeta(0, { steps: 3, shape: 'cubic' as 'linear' }), /shape/);
    assert.throws(() => vconBeta(0, { steps: 3, shape: 'exponential', eps: 1 }), /eps/);
    assert.throws(() => new VconSchedule({ steps: -1, shape: 'linear' }), /steps/);
    // options are checked even where beta is already 0
    assert.throws(() => new VconSchedule({ steps: 0, shape: 'cubic' as 'linear' }), /shape/);
    assert.throws(() => new VconSchedule({ steps: 3, shape: 'exponential', eps: 7 }, 3), /eps/);
  });

  it('stepping and the closed form agree, so a resumed run continues exactly', () => {
    const opts = { steps: 7, shape: 'exponential' } as const;
    const s = new VconSchedule(opts);
    const stepped = [s.beta];
    for (let t = 0; t < 9; t++) stepped.push(s.advance());
    assert.deepEqual(stepped, Array.from({ length: 10 }, (_, t) => vconBeta(t, opts)));
    assert.equal(new VconSchedule(opts, 4).beta, stepped[4]);
  });
});

describe('vcon in training', () => {
  before(async () => { await initBackend({ backend: 'cpu' }); });

  it('fit() trains each batch at the schedule\'s beta, on every MAM layer only', async () => {
    const mam1 = new MamDense({ units: 4, inputShape: [6] });
    const mac = new MaskedDense({ units: 4 });
    const mam2 = new MamDense({ units: 6 });
    const model = tf.sequential({ layers: [mam1, mac, mam2] });
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
    assert.equal(setModelBeta(model, 0.5), 2);
    assert.deepEqual([mam1.beta, mam2.beta], [0.5, 0.5]);

    const schedule = new VconSchedule({ steps: 5, shape: 'linear' });
    const seen: number[] = [];
    const x = tf.randomUniform([12, 6], -1, 1, 'float32', 1);
    await model.fit(x, x, {
      epochs: 2, batchSize: 4, shuffle: false, verbose: 0,
      callbacks: [vconCallbacks(model, schedule), { onBatchBegin: async () => { seen.push(mam1.beta); } }],
    });
    // 3 batches x 2 epochs: 1, 0.8, 0.6, 0.4, 0.2, 0
    assert.deepEqual(seen.map((b) => Math.round(b * 1e9) / 1e9), [1, 0.8, 0.6, 0.4, 0.2, 0]);
    assert.equal(schedule.step, 6);
    assert.equal(mam2.beta, 0);
    x.dispose();
  });
});
