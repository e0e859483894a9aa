// Pruning with tfjs: selection counts on a hand-made case, summed gradients against finite
// differences, masked weights that stay exactly zero through fine-tuning, a pruned model that
// saves and reloads with its masks and outputs, and `mam prune`'s errors.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { tinyConfig } from './fixtures.js';
import type { WindowSet } from '../src/data/pipeline.js';
import { prepareFromSource } from '../src/data/source.js';
import { MamDense } from '../src/layers/mam-dense.js';
import { MaskedDense } from '../src/layers/masked-dense.js';
import { setAsnr } from '../src/metrics/reconstruction.js';
import { PrunableDense } from '../src/layers/prunable-dense.js';
import { reconstruct } from '../src/model/infer.js';
import { loadAutoencoder } from '../src/model/metadata.js';
import { DEFAULT_PRUNE_OPTIONS, layerTable, pruneModel, sparsityOf } from '../src/prune/pruner.js';
import { selectionCounts, summedKernelGradients } from '../src/prune/scores.js';
import { pruneSaved } from '../src/prune/session.js';
import { startTraining, type TrainConfig } from '../src/train/session.js';
import { mam, tempDir } from './cli-helpers.js';
import { randomArray, rng } from './helpers.js';

const dir = tempDir('mam-prune-test-');

function windowSet(data: number[][]): WindowSet {
  return { data: Float32Array.from(data.flat()), count: data.length, length: data[0]!.length, origin: data.map(() => ({ record: 0, start: 0 })) };
}

/** Replaces a layer's kernel, keeping its other weights (bias, mask). */
function setKernel(layer: PrunableDense, values: ArrayLike<number>): void {
  const weights = layer.getWeights();
  weights[0] = tf.tensor2d(Float32Array.from(values), layer.kernelShape());
  layer.setWeights(weights);
}

function config(seed = 5): TrainConfig {
  return tinyConfig({ seed, mamLayers: 'dec1,out' });
}

describe('pruning scores', () => {
  before(async () => { await initBackend({ backend: 'wasm' }); });

  it('selection counts each argmax and argmin, as worked out by hand', () => {
    // One MAM layer, 3 inputs -> 2 outputs, no bias. Column 0 weights (1, 2, -1), column 1 (0.5, -1, 3).
    const layer = new MamDense({ units: 2, useBias: false, inputShape: [3] });
    const model = tf.sequential({ layers: [layer] });
    setKernel(layer, [1, 0.5, 2, -1, -1, 3]);
    const x = windowSet([[1, 1, 1], [1, -1, 2], [-1, 0.1, 0.2]]);
    // Products per window (column 0 | column 1):
    //  [1, 1, 1]:     1, 2, -1 -> max j1, min j2 |  0.5, -1, 3  -> max j2, min j1
    //  [1, -1, 2]:    1, -2, -2 -> max j0, min j1 (first of the tie) | 0.5, 1, 6 -> max j2, min j0
    //  [-1, .1, .2]: -1, .2, -.2 -> max j1, min j0 | -0.5, -0.1, 0.6 -> max j2, min j0
    const [counts] = selectionCounts(model, [layer], x);
    // Layout [input j][output k]: column 0 = j0: 2 (max, min), j1: 3, j2: 1; column 1 = j0: 2, j1: 1, j2: 3.
    assert.deepEqual([...counts!], [2, 2, 3, 1, 1, 3]);
  });

  it('a connection never selected scores 0, and an absent (pruned) one is never selected', () => {
    const layer = new MamDense({ units: 1, useBias: false, inputShape: [4], prunedAs: 'absent' });
    const model = tf.sequential({ layers: [layer] });
    setKernel(layer, [1, 0.001, -1, 5]);
    layer.setMask([1, 1, 1, 0]);
    const [counts] = selectionCounts(model, [layer], windowSet([[1, 1, 1, 1], [2, 1, 3, 9]]));
    assert.deepEqual([...counts!], [2, 0, 2, 0]);
  });

  it('summed kernel gradients match central finite differences of the summed loss', () => {
    const r = rng(9);
    const mac = new MaskedDense({ units: 5, inputShape: [6], activation: 'relu' });
    const mam = new MamDense({ units: 6 });
    const model = tf.sequential({ layers: [mac, mam] });
    setKernel(mac, randomArray(r, 30));
    setKernel(mam, randomArray(r, 30));
    const data = windowSet(Array.from({ length: 7 }, () => Array.from(randomArray(r, 6))));
    const grads = summedKernelGradients(model, [mac, mam], data);
    // Sum over windows of each window's mean squared error, in float64 from float32 outputs.
    const loss = () => {
      const y = reconstruct(model, data);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += (y[i]! - data.data[i]!) ** 2;
      return s / data.length;
    };
    for (const [l, layer] of [mac, mam].entries()) {
      const w = layer.getWeights()[0]!.dataSync().slice() as Float32Array;
      for (const e of [0, 3, 7, w.length - 1]) {
        const h = 2e-3; // small enough not to cross a ReLU or max/min switch at these seeded values
        const at = (v: number) => { const c = w.slice(); c[e] = v; setKernel(layer, c); return loss(); };
        const fd = (at(w[e]! + h) - at(w[e]! - h)) / (2 * h);
        at(w[e]!);
        const g = grads[l]![e]!;
        assert.ok(Math.abs(fd - g) <= 2e-4 + 1e-3 * Math.abs(g), `layer ${l} entry ${e}: finite difference ${fd}, gradient ${g}`);
      }
    }
  });
});

describe('pruning a model', () => {
  before(async () => { await initBackend({ backend: 'wasm' }); });

  it('masked weights stay exactly zero through fine-tuning, and each step reaches its target', async () => {
    const cfg = config();
    const data = await prepareFromSource(cfg.source, cfg.pipeline);
    const run = await startTraining(cfg, join(dir, 'dense'), { log: () => {} });
    const options = { ...DEFAULT_PRUNE_OPTIONS, sparsity: 0.8, steps: 3, fineTuneEpochs: 2, score: 'selection' as const, batchSize: 16, seed: 1 };
    const layers = run.model.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
    const masks: Float32Array[][] = [];
    const steps = await pruneModel(run.model, data.train, data.val, options, setAsnr, {
      onStep: () => masks.push(layers.map((l) => l.getMask().dataSync() as Float32Array)),
    });
    // Masks only grow sparser: what one step pruned stays pruned in the next.
    for (let t = 1; t < masks.length; t++) {
      masks[t]!.forEach((m, l) => m.forEach((v, i) => { if (masks[t - 1]![l]![i] === 0) assert.equal(v, 0, `step ${t + 1}, ${layers[l]!.name}[${i}] came back`); }));
    }
    assert.deepEqual(steps.map((s) => s.step), [1, 2, 3]);
    for (const s of steps) assert.ok(Math.abs(s.sparsity - s.target) <= 1 / sparsityOf(layers).weights, `step ${s.step}`);
    assert.equal(sparsityOf(layers).nonzeros, Math.round(0.2 * sparsityOf(layers).weights));
    for (const layer of layers) {
      const mask = layer.getMask().dataSync();
      const raw = layer.getWeights()[0]!.dataSync();
      let zeros = 0;
      for (let i = 0; i < mask.length; i++) {
        if (mask[i] === 0) { assert.equal(raw[i], 0, `${layer.name}[${i}] moved`); zeros++; }
      }
      assert.ok(zeros > 0, layer.name);
    }
    for (const row of layerTable(run.model, layers.map((l) => l.name))) assert.ok(row.nonzeros >= row.outputs, `${row.name} kept one per neuron`);
  });

  it('a pruned model saves and reloads with the same masks and outputs; --pruned-as is stored', async () => {
    const out = join(dir, 'pruned');
    const { model, metadata, run } = await pruneSaved(join(dir, 'dense'), out, {
      ...DEFAULT_PRUNE_OPTIONS, sparsity: 0.6, steps: 2, fineTuneEpochs: 1, scope: 'layer', prunedAs: 'absent',
    });
    assert.equal(metadata.spec.prunedAs, 'absent');
    assert.equal(run.layers.filter((r) => r.prunedAs).every((r) => r.prunedAs === 'absent'), true);
    for (const row of run.layers) assert.ok(Math.abs(row.sparsity - 0.6) <= 0.5 / row.weights + 1e-12, row.name);
    const loaded = await loadAutoencoder(out);
    assert.equal(loaded.metadata.pruning!.length, 1);
    assert.equal(loaded.metadata.pruning![0]!.options.scope, 'layer');
    const a = model.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
    const b = loaded.model.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
    a.forEach((l, i) => {
      assert.deepEqual(b[i]!.getMask().dataSync(), l.getMask().dataSync());
      if (l instanceof MamDense) assert.equal((b[i] as MamDense).prunedAs, 'absent');
    });
    // Stored as exactly +0 where pruned (not -0: a negative weight times a 0 mask).
    for (const l of b) {
      const mask = l.getMask().dataSync();
      const raw = l.getWeights()[0]!.dataSync();
      for (let i = 0; i < mask.length; i++) if (mask[i] === 0) assert.ok(Object.is(raw[i], 0), `${l.name}[${i}] is ${raw[i]}`);
    }
    const x = tf.tensor2d(randomArray(rng(3), 4 * 128), [4, 128]);
    assert.deepEqual((loaded.model.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync());
  });
});

describe('mam prune', () => {
  it('prints a line per step and the per-layer table; --json has the same numbers', () => {
    const out = join(dir, 'cli-pruned');
    const r = mam(['prune', '--model', join(dir, 'dense'), '--sparsity', '0.5', '--out', out, '--steps', '2', '--fine-tune-epochs', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^step 1\/2: target sparsity 0\.4375, actual 0\.4375, validation ASNR -?\d+\.\d\d dB/m);
    assert.match(r.stderr, /^step 2\/2: target sparsity 0\.5000, actual 0\.5000/m);
    const json = JSON.parse(r.stdout) as { totals: { pruned: { sparsity: number; nonzeros: number; weights: number } }; layers: Array<{ name: string }>; steps: unknown[] };
    assert.equal(json.steps.length, 2);
    assert.deepEqual(json.layers.map((l) => l.name), ['enc1', 'latent', 'dec1', 'out']);
    assert.equal(json.totals.pruned.nonzeros, json.totals.pruned.weights / 2);
    const table = mam(['prune', '--model', out, '--sparsity', '0.6', '--out', out, '--schedule', 'oneshot', '--fine-tune-epochs', '0', '--layers', 'out']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^out +mam +24x128 +3072 +1229 +59\.99% +yes$/m);
    assert.match(table.stdout, /^enc1 +mac +128x16 +2048 +\d+ +\d+\.\d\d% +no$/m);
    assert.match(table.stdout, /^pruned +3072 +1229 +59\.99%/m);
  });

  it('bad options and models: one line, exit 2 for a bad setting, else 1', () => {
    const notMam = join(dir, 'not-mam');
    mkdirSync(notMam, { recursive: true });
    writeFileSync(join(notMam, 'mam.json'), '{"format": "something-else"}');
    const dense = join(dir, 'dense');
    for (const [args, pattern, code] of [
      [['--sparsity', '1'], /^mam: --sparsity must be a fraction in \[0, 1\)/, 2],
      [['--sparsity', '-0.1'], /^mam: --sparsity must be a fraction in \[0, 1\)/, 2],
      [['--sparsity', 'lots'], /^mam: --sparsity must be a number, got "lots"/, 2],
      [['--sparsity', '0.5', '--layers', 'dec7'], /^mam: --layers: no layer named dec7; this model's layers are enc1, latent, dec1, out$/, 2],
      [['--sparsity', '0.5', '--exclude', 'enc1,latent,dec1,out'], /^mam: --layers\/--exclude leave no layer to prune/, 2],
      [['--sparsity', '0.5', '--score', 'luck'], /^mam: --score must be one of magnitude, gradient, selection, got "luck"$/, 2],
      [['--sparsity', '0.1', '--model', join(dir, 'cli-pruned')], /^mam: --sparsity 0\.1: these layers are already 0\.\d{4} sparse and pruned weights do not come back; give at least that$/, 2],
      [['--sparsity', '0.5', '--model', notMam], /^mam: .*not-mam.*mam\.json: not a mam model description/, 1],
      [['--sparsity', '0.5', '--out', notMam], /^mam: .*not-mam exists and is not a mam model directory: choose another --out/, 1],
    ] as Array<[string[], RegExp, number]>) {
      const full = ['prune', '--model', dense, ...(args.includes('--out') ? [] : ['--out', join(dir, 'never')]), ...args];
      const r = mam(full);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, pattern);
    }
  });
});
