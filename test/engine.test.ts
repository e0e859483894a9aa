// The training engine as a whole: its gradients against central finite differences of a
// float64 reference network (MAC, MAM zero/absent, splits, the vcon blend, pruned layers, odd
// sizes), the same bits for 1, 2 and 3 threads, its forward pass against tfjs's, and training
// through it against training through tfjs's autograd.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { MamDense } from '../src/layers/mam-dense.js';
import { MaskedDense } from '../src/layers/masked-dense.js';
import type { PrunableDense } from '../src/layers/prunable-dense.js';
import { closeEnginePool, engineUnsupported, TrainingEngine } from '../src/train/engine/engine.js';
import { C_DONE, CONTROL_SLOTS, makeBarrier, PoolFailure, signalFailure, ThreadPool, waitFor } from '../src/train/engine/pool.js';
import { layerF64, randomArray, rng, sameFloats } from './helpers.js';

interface LayerSpec { units: number; mam?: boolean; splits?: number; absent?: boolean; relu?: boolean; prune?: number }

/** A sequential model of these layers on `window` inputs, seeded weights, masks pruned at random. */
function buildNet(window: number, specs: LayerSpec[], seed: number): tf.Sequential {
  const rand = rng(seed);
  const model = tf.sequential();
  specs.forEach((s, i) => {
    const args = {
      units: s.units, activation: (s.relu ?? i < specs.length - 1 ? 'relu' : 'linear') as 'relu' | 'linear',
      kernelInitializer: tf.initializers.randomUniform({ minval: -0.8, maxval: 0.8, seed: seed * 10 + i }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed * 10 + i + 5 }),
      ...(i === 0 ? { inputShape: [window] } : {}),
    };
    model.add(s.mam ? new MamDense({ ...args, splits: s.splits ?? 1, prunedAs: s.absent ? 'absent' : 'zero' }) : new MaskedDense(args));
  });
  for (const [i, s] of specs.entries()) {
    if (!s.prune) continue;
    const layer = model.layers[i] as PrunableDense;
    const [n, m] = layer.kernelShape();
    const mask = Float32Array.from({ length: n * m }, () => (rand() < s.prune! ? 0 : 1));
    for (let k = 0; k < m; k++) mask[k] = 1; // every output keeps a connection
    layer.setMask(mask);
  }
  return model;
}

function setBeta(model: tf.LayersModel, beta: number): void {
  for (const l of model.layers) if (l instanceof MamDense) l.setBeta(beta);
}

/** The model's mean squared reconstruction error in float64, with its weights replaced by `params` (trainable order). */
function lossF64(model: tf.LayersModel, params: Float64Array[], x: Float32Array, rows: number, beta: number, target = x): number {
  const window = x.length / rows;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let a: Float64Array = Float64Array.from(x.subarray(r * window, (r + 1) * window));
    let p = 0;
    for (const layer of model.layers as PrunableDense[]) {
      const [n, m] = layer.kernelShape();
      const w = params[p++]!;
      const b = layer.useBias ? params[p++]! : new Float64Array(m);
      const mask = layer.getMask().dataSync() as Float32Array;
      const args = layer instanceof MamDense
        ? { units: m, beta, splits: layer.splits, prunedAs: layer.prunedAs }
        : { units: m, beta: 1 }; // a dense layer is MAM's blend at beta 1
      const out = layerF64(a, w, b, mask, args, n);
      if (String(layer.getConfig().activation) === 'relu') out.forEach((v, k) => { out[k] = Math.max(v, 0); });
      a = out;
    }
    for (let j = 0; j < window; j++) total += (a[j]! - target[r * window + j]!) ** 2;
  }
  return total / (rows * window);
}

const NETS: Array<{ label: string; layers: LayerSpec[]; beta: number }> = [
  { label: 'all MAC', layers: [{ units: 11 }, { units: 5 }, { units: 9 }, { units: 13 }], beta: 1 },
  { label: 'MAM dec1 (zero)', layers: [{ units: 11 }, { units: 5 }, { units: 9, mam: true }, { units: 13 }], beta: 0 },
  { label: 'MAM absent, pruned, 2 splits, ReLU output', layers: [{ units: 11 }, { units: 6 }, { units: 9, mam: true, splits: 2, absent: true, prune: 0.3 }, { units: 13, relu: true }], beta: 0 },
  { label: 'vcon blend 0.4, MAC layers pruned', layers: [{ units: 11, prune: 0.4 }, { units: 5 }, { units: 9, mam: true, prune: 0.2 }, { units: 13, prune: 0.25 }], beta: 0.4 },
  { label: 'MAM output layer, 20 wide', layers: [{ units: 20 }, { units: 7 }, { units: 20 }, { units: 13, mam: true, splits: 3 }], beta: 0 },
];

describe('training engine', () => {
  before(async () => { await initBackend({ backend: 'cpu' }); });
  after(async () => { await closeEnginePool(); });

  for (const net of NETS) {
    it(`gradients match central finite differences of a float64 reference: ${net.label}`, async () => {
      const window = 13, rows = 6;
      const model = buildNet(window, net.layers, 7);
      setBeta(model, net.beta);
      const x = randomArray(rng(3), rows * window, -1.5, 1.5);
      const engine = await TrainingEngine.create(model, rows, 1);
      const params = model.trainableWeights.map((w, i) => {
        const values = Float64Array.from(w.read().dataSync());
        const layer = model.layers[Math.floor(i / 2)] as PrunableDense;
        return i % 2 === 0 ? Float64Array.from(layer.effectiveKernel()) : values;
      });
      const loss = engine.step(x, rows, net.beta, 1e-3);
      assert.ok(Math.abs(loss - lossF64(model, params, x, rows, net.beta)) < 1e-5 * (1 + loss), 'loss');
      const grads = engine.gradients();
      const rand = rng(5);
      const h = 1e-5;
      let checked = 0, nonzero = 0;
      for (let v = 0; v < params.length; v++) {
        for (let trial = 0; trial < 12; trial++) {
          const i = Math.floor(rand() * params[v]!.length);
          const saved = params[v]![i]!;
          params[v]![i] = saved + h;
          const up = lossF64(model, params, x, rows, net.beta);
          params[v]![i] = saved - h;
          const down = lossF64(model, params, x, rows, net.beta);
          params[v]![i] = saved;
          const fd = (up - down) / (2 * h);
          const got = grads[v]![i]!;
          assert.ok(Math.abs(got - fd) <= 2e-4 * Math.max(1e-2, Math.abs(fd)) + 1e-6,
            `variable ${model.trainableWeights[v]!.name}[${i}]: engine ${got}, finite differences ${fd}`);
          checked++;
          if (fd !== 0) nonzero++;
        }
      }
      assert.ok(nonzero > checked / 3, `${nonzero} of ${checked} checked gradients are non-zero`);
    });
  }

  it('a step towards another target than the input (denoising): loss and gradients against finite differences', async () => {
    const window = 13, rows = 6;
    const model = buildNet(window, NETS[1]!.layers, 8);
    setBeta(model, 0);
    const clean = randomArray(rng(4), rows * window, -1.5, 1.5);
    const noisy = Float32Array.from(clean, (v, i) => v + 0.3 * Math.sin(i * 1.7));
    const engine = await TrainingEngine.create(model, rows, 1);
    const params = model.trainableWeights.map((w, i) => (i % 2 === 0 ? Float64Array.from((model.layers[Math.floor(i / 2)] as PrunableDense).effectiveKernel()) : Float64Array.from(w.read().dataSync())));
    const loss = engine.step(noisy, rows, 0, 1e-3, clean);
    assert.ok(Math.abs(loss - lossF64(model, params, noisy, rows, 0, clean)) < 1e-5 * (1 + loss), 'loss against the clean target');
    assert.ok(Math.abs(loss - lossF64(model, params, noisy, rows, 0)) > 1e-3, 'not the loss against the input');
    const grads = engine.gradients();
    const rand = rng(6);
    const h = 1e-5;
    for (let v = 0; v < params.length; v++) {
      for (let trial = 0; trial < 8; trial++) {
        const i = Math.floor(rand() * params[v]!.length);
        const saved = params[v]![i]!;
        params[v]![i] = saved + h;
        const up = lossF64(model, params, noisy, rows, 0, clean);
        params[v]![i] = saved - h;
        const down = lossF64(model, params, noisy, rows, 0, clean);
        params[v]![i] = saved;
        const fd = (up - down) / (2 * h);
        assert.ok(Math.abs(grads[v]![i]! - fd) <= 2e-4 * Math.max(1e-2, Math.abs(fd)) + 1e-6, `variable ${v}[${i}]: engine ${grads[v]![i]}, finite differences ${fd}`);
      }
    }
  });

  it('gives the same bits on 1, 2 and 3 threads (weights, Adam moments, losses), through vcon and a short last batch', async () => {
    // Widths of at least 3 x 8 with ragged tails, so that every thread has columns in every phase.
    const window = 29, rows = 11;
    const layers: LayerSpec[] = [{ units: 37, prune: 0.2 }, { units: 25 }, { units: 41, mam: true, splits: 3, absent: true, prune: 0.3 }, { units: 29 }];
    const runs = [];
    for (const threads of [1, 2, 3]) {
      const model = buildNet(window, layers, 11);
      const engine = await TrainingEngine.create(model, rows, threads);
      assert.equal(engine.threads, threads);
      const losses: number[] = [];
      for (let s = 0; s < 7; s++) {
        const x = randomArray(rng(100 + s), rows * window);
        losses.push(engine.step(x, s === 6 ? rows - 4 : rows, Math.max(0, 1 - 0.25 * s), 3e-3));
      }
      const moments = engine.moments();
      runs.push({ losses, weights: engine.weights(), m: moments.m, v: moments.v, out: engine.predict(randomArray(rng(9), 25 * window), 25, 0) });
    }
    for (const other of runs.slice(1)) {
      assert.deepEqual(other.losses, runs[0]!.losses);
      for (const key of ['weights', 'm', 'v'] as const) {
        runs[0]![key].forEach((a, i) => assert.ok(sameFloats(other[key][i]!, a).equal, `${key} ${i}`));
      }
      assert.ok(sameFloats(other.out, runs[0]!.out).equal, 'predict');
    }
  });

  it('a short batch has its own loss scale (matches the float64 reference)', async () => {
    const window = 13, rows = 6;
    const model = buildNet(window, NETS[1]!.layers, 8);
    const engine = await TrainingEngine.create(model, 16, 2); // buffers for 16 rows, 6 used
    const x = randomArray(rng(6), rows * window, -1.5, 1.5);
    const params = model.trainableWeights.map((w) => Float64Array.from(w.read().dataSync()));
    const loss = engine.step(x, rows, 0, 1e-3);
    assert.ok(Math.abs(loss - lossF64(model, params, x, rows, 0)) < 1e-5 * (1 + loss), 'loss');
    const grads = engine.gradients();
    const h = 1e-5;
    for (const [v, i] of [[0, 3], [2, 5], [4, 7], [6, 11]] as Array<[number, number]>) {
      const saved = params[v]![i]!;
      params[v]![i] = saved + h;
      const up = lossF64(model, params, x, rows, 0);
      params[v]![i] = saved - h;
      const down = lossF64(model, params, x, rows, 0);
      params[v]![i] = saved;
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(grads[v]![i]! - fd) <= 2e-4 * Math.max(1e-2, Math.abs(fd)) + 1e-6, `variable ${v}[${i}]: ${grads[v]![i]} vs ${fd}`);
    }
  });

  it('an engine that another engine took the threads from goes on, on one thread, with the same bits', async () => {
    const window = 13, rows = 8;
    const x = randomArray(rng(21), rows * window);
    const alone = await TrainingEngine.create(buildNet(window, NETS[2]!.layers, 5), rows, 1);
    const a = await TrainingEngine.create(buildNet(window, NETS[2]!.layers, 5), rows, 2);
    assert.equal(a.threads, 2);
    const b = await TrainingEngine.create(buildNet(window, NETS[0]!.layers, 6), rows, 2);
    assert.equal(a.threads, 1);
    assert.equal(b.threads, 2);
    for (let s = 0; s < 3; s++) {
      assert.equal(a.step(x, rows, 0, 1e-3), alone.step(x, rows, 0, 1e-3));
      b.step(x, rows, 1, 1e-3);
    }
    a.weights().forEach((w, i) => assert.ok(sameFloats(w, alone.weights()[i]!).equal, `weights ${i}`));
  });

  it('predicts what the tfjs model predicts, and writes its weights back into it', async () => {
    const window = 13;
    const model = buildNet(window, NETS[2]!.layers, 12);
    const engine = await TrainingEngine.create(model, 8, 2);
    const x = randomArray(rng(4), 30 * window);
    const tfjsOut = tf.tidy(() => (model.predict(tf.tensor2d(x, [30, window])) as tf.Tensor).dataSync());
    const out = engine.predict(x, 30, 0);
    for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i]! - tfjsOut[i]!) < 1e-5, `output ${i}`);
    engine.step(x, 8, 0, 1e-2);
    engine.writeModel();
    const weights = engine.weights();
    model.trainableWeights.forEach((w, i) => assert.ok(sameFloats(w.read().dataSync(), weights[i]!).equal, w.name));
    const layer = model.layers[2] as PrunableDense;
    const mask = layer.getMask().dataSync();
    const kernel = layer.kernelVariable().dataSync();
    assert.ok(mask.some((v) => v === 0) && kernel.every((v, i) => mask[i] !== 0 || Object.is(v, 0)), 'pruned weights stay +0');
  });

  it('a failing thread ends its pool with the error, and the next engine starts a new one', async () => {
    const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_SLOTS));
    signalFailure(control);
    assert.throws(() => makeBarrier(control, 2)(), PoolFailure);
    assert.equal(waitFor(control, C_DONE, 5), false);

    const window = 13, rows = 8;
    const x = randomArray(rng(22), rows * window);
    const engine = await TrainingEngine.create(buildNet(window, NETS[1]!.layers, 5), rows, 2);
    const pool = (engine as unknown as { pool: ThreadPool }).pool;
    assert.throws(() => pool.run(() => { throw new RangeError('boom'); }), /boom/);
    assert.equal(pool.usable, false);
    assert.equal(engine.threads, 1); // and it still trains, on the main thread
    const fresh = () => TrainingEngine.create(buildNet(window, NETS[1]!.layers, 5), rows, 1);
    const again = await TrainingEngine.create(buildNet(window, NETS[1]!.layers, 5), rows, 2);
    assert.equal(again.threads, 2);
    assert.equal(again.step(x, rows, 0, 1e-3), (await fresh()).step(x, rows, 0, 1e-3));
    assert.equal(engine.step(x, rows, 0, 1e-3), (await fresh()).step(x, rows, 0, 1e-3)); // the engine whose pool failed
  });

  it('takes only what it computes', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [6] })] });
    assert.match(engineUnsupported(model)!, /not a MaskedDense or MamDense/);
    const tanh = tf.sequential({ layers: [new MaskedDense({ units: 6, inputShape: [6], activation: 'tanh' })] });
    assert.match(engineUnsupported(tanh)!, /activation tanh/);
    const narrow = tf.sequential({ layers: [new MaskedDense({ units: 4, inputShape: [6] })] });
    assert.match(engineUnsupported(narrow)!, /not as wide as the input/);
    const frozen = tf.sequential({ layers: [new MaskedDense({ units: 6, inputShape: [6] })] });
    frozen.layers[0]!.trainable = false;
    assert.match(engineUnsupported(frozen)!, /frozen/);
    assert.equal(engineUnsupported(buildNet(13, NETS[0]!.layers, 1)), null);
  });
});
