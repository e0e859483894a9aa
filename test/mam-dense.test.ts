// MamDense and MaskedDense as tfjs layers: gradients against central finite differences of a
// float64 reference, the vcon blend, pruning masks under training, backends, leaks.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { MamDense, type MamDenseArgs } from '../src/layers/mam-dense.js';
import { MaskedDense } from '../src/layers/masked-dense.js';
import type { PrunableDense } from '../src/layers/prunable-dense.js';
import { layerF64, randomArray, rng, sameFloats } from './helpers.js';

function build(args: MamDenseArgs, n: number, seed: number): MamDense {
  const layer = new MamDense({ ...args, kernelInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed }),
    biasInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: seed + 1 }) });
  layer.build([null, n]);
  return layer;
}

describe('MamDense gradients', () => {
  before(async () => { await initBackend({ backend: 'cpu' }); });

  const settings: Array<[string, number, number, Partial<MamDenseArgs>, boolean]> = [
    ['pure MAM', 6, 4, { beta: 0 }, false],
    ['n = 1 (argmax == argmin)', 1, 3, { beta: 0 }, false],
    ['m = 1, blend beta 0.3', 9, 1, { beta: 0.3 }, false],
    ['splits 3', 12, 5, { beta: 0, splits: 3 }, false],
    ['pruned, zero', 10, 4, { beta: 0, prunedAs: 'zero' }, true],
    ['pruned, absent, splits 2', 10, 4, { beta: 0.5, prunedAs: 'absent', splits: 2 }, true],
  ];
  for (const [label, n, m, extra, pruned] of settings) {
    it(`match central finite differences of a float64 reference: ${label}`, () => {
      const rand = rng(n * 31 + m);
      const layerArgs: MamDenseArgs = { units: m, ...extra };
      const layer = build(layerArgs, n, n + m);
      const keep = pruned ? Float32Array.from({ length: n * m }, (_, i) => (i % m === 0 || rand() < 0.6 ? 1 : 0)) : null;
      if (keep) layer.setMask(keep);
      const [kernelVar, biasVar] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
      const w = Float64Array.from(kernelVar!.dataSync());
      const bias = Float64Array.from(biasVar!.dataSync());
      const x = Float64Array.from(randomArray(rand, n));
      const c = Float64Array.from(randomArray(rand, m)); // loss = sum_k c_k y_k
      const loss = (xx: Float64Array, ww: Float64Array) =>
        layerF64(xx, ww, bias, keep, layerArgs, n).reduce((s, v, k) => s + v * c[k]!, 0);

      const { dx, dw } = tf.tidy(() => {
        const xt = tf.tensor2d(Float32Array.from(x), [1, n]);
        const f = (xi: tf.Tensor) => tf.sum(tf.mul(layer.apply(xi) as tf.Tensor, tf.tensor1d(Float32Array.from(c))));
        const gx = tf.grad(f)(xt);
        const gw = tf.variableGrads(() => f(xt) as tf.Scalar, [kernelVar!]).grads[kernelVar!.name]!;
        return { dx: gx.dataSync(), dw: gw.dataSync() };
      });

      // The function is piecewise linear: a small step never crosses a selection change here.
      const h = 1e-6;
      const fd = (v: Float64Array, i: number, f: (v: Float64Array) => number) => {
        const up = v.slice(), down = v.slice();
        up[i]! += h; down[i]! -= h;
        return (f(up) - f(down)) / (2 * h);
      };
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(dx[i]! - fd(x, i, (v) => loss(v, w))) < 1e-4, `${label}: dL/dx[${i}] = ${dx[i]}, FD ${fd(x, i, (v) => loss(v, w))}`);
      }
      for (let i = 0; i < n * m; i++) {
        const want = keep && keep[i] === 0 ? 0 : fd(w, i, (v) => loss(x, v));
        assert.ok(Math.abs(dw[i]! - want) < 1e-4, `${label}: dL/dW[${i}] = ${dw[i]}, FD ${want}`);
      }
    });
  }
});

describe('MamDense and MaskedDense layers', () => {
  before(async () => { await initBackend({ backend: 'cpu' }); });

  it('beta = 1 is exactly a tf.layers.dense with the same weights', () => {
    const x = tf.tensor2d(randomArray(rng(1), 8 * 20), [8, 20]);
    const mam = new MamDense({ units: 7, beta: 1, activation: 'relu' });
    const dense = tf.layers.dense({ units: 7, activation: 'relu' });
    dense.build([null, 20]);
    mam.build([null, 20]);
    mam.setWeights([...dense.getWeights(), tf.ones([20, 7])]);
    const r = sameFloats((mam.apply(x) as tf.Tensor).dataSync(), (dense.apply(x) as tf.Tensor).dataSync());
    assert.ok(r.equal, `differs at ${r.at}`);
    // and beta = 0 is not (it is MAM)
    mam.setBeta(0);
    assert.ok(!sameFloats((mam.apply(x) as tf.Tensor).dataSync(), (dense.apply(x) as tf.Tensor).dataSync()).equal);
  });

  it('blends beta xW + (1 - beta) MAM exactly as configured', () => {
    const x = tf.tensor2d(randomArray(rng(2), 4 * 6), [4, 6]);
    const layer = build({ units: 3, beta: 0 }, 6, 5);
    const mam = (layer.apply(x) as tf.Tensor).sub(layer.getWeights()[1]!);
    layer.setBeta(1);
    const mac = (layer.apply(x) as tf.Tensor).sub(layer.getWeights()[1]!);
    layer.setBeta(0.25);
    const mixed = (layer.apply(x) as tf.Tensor).sub(layer.getWeights()[1]!);
    const want = mac.mul(0.25).add(mam.mul(0.75));
    assert.ok(tf.max(tf.abs(mixed.sub(want))).dataSync()[0]! < 1e-6);
    assert.throws(() => layer.setBeta(1.5), /beta/);
    assert.throws(() => layer.setBeta(Number.NaN), /beta/);
  });

  it('rejects impossible options with a clear message', () => {
    assert.throws(() => new MamDense({ units: 0 }), /units/);
    assert.throws(() => new MamDense({ units: 2, splits: 0 }), /splits/);
    assert.throws(() => new MamDense({ units: 2, prunedAs: 'gone' as 'zero' }), /prunedAs/);
    assert.throws(() => new MamDense({ units: 2, splits: 5 }).build([null, 4]), /splits/);
    const layer = build({ units: 2 }, 3, 1);
    assert.throws(() => layer.setMask([1, 0, 1]), /does not fit/);
    assert.throws(() => layer.setMask([1, 0, 1, 1, 0.5, 1]), /0 \(pruned\) or 1/);
    // the right number of entries in the wrong shape (transposed) is refused too
    assert.throws(() => layer.setMask(tf.ones([2, 3])), /shape \[2, 3\] does not fit a kernel of shape \[3, 2\]/);
  });

  for (const [label, make] of [
    ['MamDense', () => new MamDense({ units: 6, activation: 'relu' })],
    ['MaskedDense', () => new MaskedDense({ units: 6, activation: 'relu' })],
  ] as Array<[string, () => PrunableDense]>) {
    it(`${label}: masked weights stay exactly zero through optimizer steps`, () => {
      const rand = rng(9);
      const layer = make();
      layer.build([null, 10]);
      const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [10] }), layer] });
      const x = tf.tensor2d(randomArray(rand, 32 * 10), [32, 10]);
      const target = tf.tensor2d(randomArray(rand, 32 * 6), [32, 6]);
      const lossFn = () => tf.losses.meanSquaredError(target, model.predict(x) as tf.Tensor) as tf.Scalar;
      const keep = Float32Array.from({ length: 60 }, () => (rand() < 0.3 ? 1 : 0));
      const pruned = (kernel: ArrayLike<number>) => Array.from(kernel).filter((_, i) => keep[i] === 0);

      // Fresh optimizer after pruning: the pruned entries get zero gradient and zero moments.
      layer.setMask(keep);
      const adam = tf.train.adam(0.05);
      const before = lossFn().dataSync()[0]!;
      for (let i = 0; i < 20; i++) adam.minimize(lossFn);
      assert.ok(lossFn().dataSync()[0]! < before, 'training did not reduce the loss');
      const kernel = layer.getWeights()[0]!.dataSync();
      assert.ok(pruned(kernel).every((v) => v === 0), 'a pruned weight moved');
      assert.equal(layer.maskCounts().kept, keep.reduce((a, b) => a + b, 0));

      // Pruning mid-training (momentum already built up): the forward pass still uses zeros,
      // and applyMask() restores exact zeros in the stored kernel.
      const layer2 = make();
      layer2.build([null, 10]);
      const model2 = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [10] }), layer2] });
      const loss2 = () => tf.losses.meanSquaredError(target, model2.predict(x) as tf.Tensor) as tf.Scalar;
      const adam2 = tf.train.adam(0.05);
      for (let i = 0; i < 5; i++) adam2.minimize(loss2);
      layer2.setMask(keep);
      for (let i = 0; i < 5; i++) adam2.minimize(loss2);
      const drifted = (model2.predict(x) as tf.Tensor).dataSync();
      layer2.applyMask();
      assert.ok(pruned(layer2.getWeights()[0]!.dataSync()).every((v) => v === 0));
      // the raw kernel's drift never reached the output: re-zeroing it changes nothing
      assert.ok(sameFloats(drifted, (model2.predict(x) as tf.Tensor).dataSync()).equal);
    });
  }

  it('cpu and wasm agree bit for bit on outputs and gradients (pure MAM, both prunedAs)', async () => {
    const rand = rng(77);
    const x = randomArray(rand, 16 * 24);
    const keep = Float32Array.from({ length: 24 * 10 }, () => (rand() < 0.5 ? 1 : 0));
    for (const prunedAs of ['zero', 'absent'] as const) {
      const results: Array<Float32Array[]> = [];
      for (const backend of ['cpu', 'wasm']) {
        await initBackend({ backend });
        const layer = build({ units: 10, prunedAs, splits: 3 }, 24, 3);
        layer.setMask(keep);
        results.push(tf.tidy(() => {
          const xt = tf.tensor2d(x, [16, 24]);
          const f = (xi: tf.Tensor) => tf.sum(tf.square(layer.apply(xi) as tf.Tensor));
          const kernel = layer.trainableWeights[0]!.read() as tf.Variable;
          return [(layer.apply(xt) as tf.Tensor).dataSync() as Float32Array, tf.grad(f)(xt).dataSync() as Float32Array,
            tf.variableGrads(() => f(xt) as tf.Scalar, [kernel]).grads[kernel.name]!.dataSync() as Float32Array];
        }));
      }
      for (let i = 0; i < 3; i++) {
        const r = sameFloats(results[0]![i]!, results[1]![i]!);
        assert.ok(r.equal, `${prunedAs}: result ${i} differs at ${r.at}`);
      }
    }
    await initBackend({ backend: 'cpu' });
  });

  it('leaks no tensors over repeated calls and training steps', async () => {
    for (const backend of ['cpu', 'wasm']) {
      await initBackend({ backend });
      const layer = build({ units: 8, beta: 0.5, prunedAs: 'absent', splits: 2 }, 12, 4);
      const x = tf.tensor2d(randomArray(rng(3), 5 * 12), [5, 12]);
      const opt = tf.train.sgd(0.01);
      const step = () => {
        opt.minimize(() => tf.sum(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar);
        tf.tidy(() => { layer.apply(x); });
      };
      step();
      const count = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) step();
      assert.equal(tf.memory().numTensors, count, `${backend}: tensors leaked`);
      x.dispose();
    }
    await initBackend({ backend: 'cpu' });
  });
});
