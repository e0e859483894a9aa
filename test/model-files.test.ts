import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { MamError } from '../src/errors.js';
import { MamDense } from '../src/layers/mam-dense.js';
import { MaskedDense } from '../src/layers/masked-dense.js';
import type { PrunableDense } from '../src/layers/prunable-dense.js';
import { MODEL_FORMAT_VERSION, loadModel, saveModel } from '../src/model/files.js';
import { loadAutoencoder, type AutoencoderMetadata } from '../src/model/metadata.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { startTraining } from '../src/train/session.js';
import type { TrainOptions } from '../src/train/trainer.js';
import { tinyConfig } from './fixtures.js';
import { deadPid } from './cli-helpers.js';

delete process.env.MAM_BACKEND;

let root = '';
let count = 0;
before(async () => { root = await fs.mkdtemp(join(tmpdir(), 'mam-files-test-')); });
after(() => fs.rm(root, { recursive: true, force: true }));
/** A fresh, empty parent directory, so each test can list exactly what was left in it. */
const freshParent = () => fs.mkdtemp(join(root, `t${count++}-`));

/** 6 -> MaskedDense(relu) 8 -> MamDense(splits 2, absent, beta 0.3) 5 -> MamDense(linear, zero) 3. */
function buildModel(seed: number): tf.Sequential {
  const kernel = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const bias = (k: number) => tf.initializers.randomNormal({ seed: seed + 100 + k, stddev: 0.1 });
  return tf.sequential({ layers: [
    new MaskedDense({ name: 'mac1', units: 8, activation: 'relu', inputShape: [6], kernelInitializer: kernel(0), biasInitializer: bias(0) }),
    new MamDense({ name: 'mam1', units: 5, splits: 2, prunedAs: 'absent', beta: 0.3, kernelInitializer: kernel(1), biasInitializer: bias(1) }),
    new MamDense({ name: 'mam2', units: 3, activation: 'linear', prunedAs: 'zero', kernelInitializer: kernel(2), biasInitializer: bias(2) }),
  ] });
}

/** Prunes about 30% of a layer's connections, in a fixed pattern. */
const maskFor = (size: number) => Array.from({ length: size }, (_, i) => ((i * 7) % 10 < 3 ? 0 : 1));

function predict(model: tf.LayersModel, x: tf.Tensor): number[] {
  return tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
}

/** weights.bin split by the manifest in model.json: name -> values. */
async function savedWeights(dir: string): Promise<Map<string, Float32Array>> {
  const manifest = JSON.parse(await fs.readFile(join(dir, 'model.json'), 'utf8')) as
    { weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
  assert.deepEqual(manifest.weightsManifest[0]!.paths, ['./weights.bin']);
  const bin = await fs.readFile(join(dir, 'weights.bin'));
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of manifest.weightsManifest[0]!.weights) {
    const bytes = 4 * spec.shape.reduce((a, b) => a * b, 1);
    out.set(spec.name, new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + bytes)));
    offset += bytes;
  }
  assert.equal(offset, bin.length);
  return out;
}

/** Expects a one-line MamError about `file` whose message also says what to do (`fix`). */
async function rejectsMam(promise: Promise<unknown>, file: string, fix: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof MamError, `not a MamError: ${String(err)}`);
    assert.ok(!err.message.includes('\n'), `not one line: ${JSON.stringify(err.message)}`);
    assert.ok(err.message.includes(file), `does not name ${file}: ${err.message}`);
    assert.equal(err.file, file);
    assert.match(err.message, fix);
    return true;
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`saveModel / loadModel round trip on ${backend}`, () => {
    before(async () => { await initBackend({ backend }); });

    it('gives bitwise-equal outputs and keeps layers, options, masks and metadata', async () => {
      assert.equal(tf.getBackend(), backend);
      const model = buildModel(7);
      const [mac1, mam1, mam2] = model.layers as [MaskedDense, MamDense, MamDense];
      mac1.setMask(maskFor(6 * 8));
      mam1.setMask(tf.tensor2d(maskFor(8 * 5), [8, 5]));
      // Perturb the raw kernels after setMask (as an optimizer would): pruned entries become non-zero.
      for (const layer of [mac1, mam1]) {
        const [kernel, bias, mask] = layer.getWeights() as [tf.Tensor, tf.Tensor, tf.Tensor];
        layer.setWeights([kernel.add(1.5), bias, mask]);
        const raw = layer.getWeights()[0]!.dataSync();
        assert.ok(maskFor(raw.length).every((m, i) => m === 1 || raw[i] !== 0), 'perturbation reached pruned entries');
      }
      const x = tf.randomNormal([4, 6], 0, 1, 'float32', 11);
      const expected = predict(model, x);
      assert.ok(expected.every(Number.isFinite) && new Set(expected).size > 1);

      const dir = join(await freshParent(), 'model');
      await saveModel(model, dir, { preprocessing: { rate: 360, window: [0, 1] }, note: 'round trip', format: 'mine' });

      // Saved kernels are exactly 0 where pruned, and hold the perturbed values elsewhere.
      const saved = await savedWeights(dir);
      assert.deepEqual([...saved.keys()].sort(),
        ['mac1/bias', 'mac1/kernel', 'mac1/mask', 'mam1/bias', 'mam1/kernel', 'mam1/mask', 'mam2/bias', 'mam2/kernel', 'mam2/mask']);
      for (const layer of [mac1, mam1]) {
        const kernel = saved.get(`${layer.name}/kernel`)!;
        const mask = maskFor(kernel.length);
        assert.deepEqual(Array.from(saved.get(`${layer.name}/mask`)!), mask);
        const raw = layer.getWeights()[0]!.dataSync();
        kernel.forEach((v, i) => assert.ok(mask[i] === 0 ? Object.is(v, 0) : v === raw[i] && v !== 0, `${layer.name} kernel[${i}] = ${v}`));
      }
      assert.ok(saved.get('mam2/mask')!.every((v) => v === 1));

      const { model: loaded, metadata } = await loadModel(dir);
      assert.deepEqual(predict(loaded, x), expected);
      assert.deepEqual(predict(model, x), expected, 'saving (and re-masking) does not change the outputs');
      assert.equal(MODEL_FORMAT_VERSION, 1);
      assert.deepEqual(metadata, { preprocessing: { rate: 360, window: [0, 1] }, note: 'round trip', format: 'mam-ecg-model', formatVersion: 1 });

      const [l1, l2, l3] = loaded.layers as [MaskedDense, MamDense, MamDense];
      assert.deepEqual(loaded.layers.map((l) => l.constructor), [MaskedDense, MamDense, MamDense]);
      assert.deepEqual([l2.beta, l2.prunedAs, l2.splits], [0.3, 'absent', 2]);
      assert.deepEqual([l3.beta, l3.prunedAs, l3.splits], [0, 'zero', 1]);
      assert.deepEqual([l1.getConfig().activation, l3.getConfig().activation], ['relu', 'linear']);
      assert.deepEqual(loaded.layers.map((l) => l.getConfig()), model.layers.map((l) => l.getConfig()));
      assert.deepEqual(Array.from(l1.getMask().dataSync()), maskFor(48));
      assert.deepEqual(Array.from(l2.getMask().dataSync()), maskFor(40));
      assert.deepEqual(Array.from(l3.getMask().dataSync()), new Array(15).fill(1));
      assert.deepEqual([l1.maskCounts(), l3.maskCounts()], [{ total: 48, kept: 33 }, { total: 15, kept: 15 }]);
      for (const [a, b] of model.layers.map((l, i) => [l, loaded.layers[i]!] as const)) {
        a.getWeights().forEach((w, i) => assert.deepEqual(Array.from(b.getWeights()[i]!.dataSync()), Array.from(w.dataSync())));
      }
    });
  });
}

describe('layer serialization (getConfig -> fromConfig)', () => {
  const roundTrip = (layer: PrunableDense) => {
    const config = layer.getConfig();
    const [cls, fromConfig] = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()]!;
    const copy = fromConfig(cls, JSON.parse(JSON.stringify(config)) as tf.serialization.ConfigDict);
    assert.equal(copy.constructor, layer.constructor);
    assert.deepEqual((copy as PrunableDense).getConfig(), config);
    return config;
  };

  it('MamDense keeps every option', () => {
    const config = roundTrip(new MamDense({
      name: 'mam_s', units: 4, activation: 'tanh', useBias: false, beta: 0.25, prunedAs: 'absent', splits: 3,
      inputShape: [6], kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
    }));
    assert.deepEqual([config.name, config.units, config.activation, config.useBias], ['mam_s', 4, 'tanh', false]);
    assert.deepEqual([config.beta, config.prunedAs, config.splits], [0.25, 'absent', 3]);
    assert.deepEqual(config.batchInputShape, [null, 6]);
    assert.deepEqual(config.kernelInitializer, { className: 'VarianceScaling', config: { seed: 7, scale: 1, mode: 'fanAvg', distribution: 'uniform' } });
    const defaults = roundTrip(new MamDense({ units: 2 }));
    assert.deepEqual([defaults.beta, defaults.prunedAs, defaults.splits, defaults.useBias], [0, 'zero', 1, true]);
  });

  it('MaskedDense keeps every option', () => {
    const config = roundTrip(new MaskedDense({ name: 'mac_s', units: 3, activation: 'sigmoid', biasInitializer: 'ones', kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }));
    assert.deepEqual([config.name, config.units, config.activation, config.useBias], ['mac_s', 3, 'sigmoid', true]);
    assert.deepEqual(config.biasInitializer, { className: 'Ones', config: {} });
    assert.equal((config.kernelInitializer as { config: { seed: number } }).config.seed, 1);
  });
});

describe('loadModel errors', () => {
  let good = '';
  before(async () => { await initBackend({ backend: 'cpu' }); await saveModel(buildModel(1), good = join(await freshParent(), 'model')); });
  /** A copy of the good model directory, damaged by `edit`. */
  async function damaged(edit: (dir: string) => Promise<unknown>): Promise<string> {
    const dir = join(await freshParent(), 'model');
    await fs.cp(good, dir, { recursive: true });
    await edit(dir);
    return dir;
  }
  const RESAVE = /the file is truncated or corrupt; re-save or retrain the model$/;

  it('missing directory', async () => {
    const dir = join(root, 'no-such-model');
    await rejectsMam(loadModel(dir), dir, /not found: give the out directory of a 'mam train' run$/);
  });
  it('a save interrupted between its two renames: says where the previous model is', async () => {
    const parent = await freshParent();
    await fs.cp(good, join(parent, '.model.old-x1y2'), { recursive: true });
    const dir = join(parent, 'model');
    await rejectsMam(loadModel(dir), dir, /not found, but .*\.model\.old-x1y2 is: a save was interrupted \(or a run is saving it right now\); unless one is, rename it back to /);
  });
  it('a save killed between its two renames: the next load puts the previous model back', async () => {
    const parent = await freshParent();
    const aside = `.model.old-${deadPid()}-a1B2c3`;
    await fs.cp(good, join(parent, aside), { recursive: true });
    const dir = join(parent, 'model');
    const { model } = await loadModel(dir);
    model.dispose();
    assert.deepEqual(await fs.readdir(parent), ['model']);
  });
  it('missing mam.json', async () => {
    const dir = await damaged((d) => fs.rm(join(d, 'mam.json')));
    await rejectsMam(loadModel(dir), join(dir, 'mam.json'), /: missing: give a directory written by mam \(mam train out, or saveModel\)$/);
  });
  it('mam.json that is not JSON', async () => {
    const dir = await damaged((d) => fs.writeFile(join(d, 'mam.json'), '{\n  "format": mam\n}\n')); // V8 quotes this, newlines and all
    await rejectsMam(loadModel(dir), join(dir, 'mam.json'), /: not valid JSON \(.*\): the file is truncated or corrupt; give a directory written by mam/);
  });
  it('mam.json from a newer version', async () => {
    const dir = await damaged((d) => fs.writeFile(join(d, 'mam.json'), JSON.stringify({ format: 'mam-ecg-model', formatVersion: 99 })));
    await rejectsMam(loadModel(dir), join(dir, 'mam.json'), /model format version 99 is newer than this mam reads \(1\): upgrade mam-ecg$/);
  });
  it('model.json cut in half', async () => {
    const dir = await damaged(async (d) => {
      const text = await fs.readFile(join(d, 'model.json'), 'utf8');
      await fs.writeFile(join(d, 'model.json'), text.slice(0, text.length >> 1));
    });
    await rejectsMam(loadModel(dir), join(dir, 'model.json'), /: not valid JSON \(.*\): the file is truncated or corrupt; re-save or retrain the model$/);
  });
  it('weights.bin missing its last 4 bytes', async () => {
    const size = (await fs.stat(join(good, 'weights.bin'))).size;
    const dir = await damaged((d) => fs.truncate(join(d, 'weights.bin'), size - 4));
    await rejectsMam(loadModel(dir), join(dir, 'weights.bin'), new RegExp(`: ${size - 4} bytes where model.json describes ${size}: ${RESAVE.source}`));
  });
  it('weights.bin holding a NaN', async () => {
    const dir = await damaged(async (d) => {
      const bin = await fs.readFile(join(d, 'weights.bin'));
      bin.writeFloatLE(NaN, 4 * 3); // mac1/kernel is first in the manifest
      await fs.writeFile(join(d, 'weights.bin'), bin);
    });
    await rejectsMam(loadModel(dir), join(dir, 'weights.bin'), /: weight mac1\/kernel\[3\] is NaN: the model diverged or the file is corrupt; retrain it$/);
  });
  it('a directory that is not a model', async () => {
    const dir = await freshParent();
    await fs.writeFile(join(dir, 'readme.txt'), 'hello\n');
    await rejectsMam(loadModel(dir), join(dir, 'mam.json'), /: missing: give a directory written by mam \(mam train out, or saveModel\)$/);
    await fs.writeFile(join(dir, 'mam.json'), '{"name": "some other tool"}');
    await rejectsMam(loadModel(dir), join(dir, 'mam.json'), /not a mam model description .*: give a directory written by mam$/);
  });
});

describe('saveModel is atomic and replaces only mam model directories', () => {
  before(async () => { await initBackend({ backend: 'cpu' }); });
  const REFUSE = /exists and is not a mam model directory: choose another out \(mam replaces only its own model directories\)$/;

  it('saving twice leaves only the second model and no .tmp-/.old- siblings', async () => {
    const parent = await freshParent();
    const dir = join(parent, 'model');
    const [first, second] = [buildModel(1), buildModel(2)];
    await saveModel(first, dir, { run: 'first' });
    await saveModel(second, dir, { run: 'second' });
    assert.deepEqual(await fs.readdir(parent), ['model']);
    assert.deepEqual((await fs.readdir(dir)).sort(), ['mam.json', 'model.json', 'weights.bin']);
    const { model, metadata } = await loadModel(dir);
    assert.equal(metadata.run, 'second');
    const x = tf.randomNormal([3, 6], 0, 1, 'float32', 5);
    assert.deepEqual(predict(model, x), predict(second, x));
    assert.notDeepEqual(predict(model, x), predict(first, x));
  });

  it('refuses a non-empty directory that is not a mam model and leaves it untouched', async () => {
    const cases: Array<Record<string, string>> = [
      { 'notes.txt': 'keep me\n', 'data.csv': '1,2,3\n' },
      { 'mam.json': '{"name": "someone else\'s config"}\n', 'notes.txt': 'mine\n' }, // a mam.json that is not ours
      { 'mam.json': 'not json\n' },
    ];
    for (const files of cases) {
      const parent = await freshParent();
      const dir = join(parent, 'out');
      await fs.mkdir(dir);
      for (const [name, text] of Object.entries(files)) await fs.writeFile(join(dir, name), text);
      await rejectsMam(saveModel(buildModel(1), dir), dir, REFUSE);
      assert.deepEqual(await fs.readdir(parent), ['out']);
      assert.deepEqual((await fs.readdir(dir)).sort(), Object.keys(files).sort());
      for (const [name, text] of Object.entries(files)) assert.equal(await fs.readFile(join(dir, name), 'utf8'), text);
    }
  });

  it('refuses to save over a file', async () => {
    const parent = await freshParent();
    const file = join(parent, 'model');
    await fs.writeFile(file, 'not a directory\n');
    await rejectsMam(saveModel(buildModel(1), file), file, /it or a folder above it is a file, not a directory: choose another out$/);
    assert.deepEqual(await fs.readdir(parent), ['model']);
    assert.equal(await fs.readFile(file, 'utf8'), 'not a directory\n');
  });
});

describe('mam.json of a trained model: checked field by field on load', () => {
  let trained = '';
  let text = '';
  before(async () => {
    await initBackend({ backend: 'cpu' });
    trained = join(await freshParent(), 'trained');
    const run = await startTraining(tinyConfig({ seed: 3, epochs: 2 }), trained, { log: () => {} });
    run.model.dispose();
    text = await fs.readFile(join(trained, 'mam.json'), 'utf8');
  });
  /** A copy of the trained model whose mam.json `edit` has damaged. */
  async function edited(edit: (metadata: AutoencoderMetadata) => void): Promise<string> {
    const dir = join(await freshParent(), 'model');
    await fs.cp(trained, dir, { recursive: true });
    const metadata = JSON.parse(text) as AutoencoderMetadata;
    edit(metadata);
    await fs.writeFile(join(dir, 'mam.json'), JSON.stringify(metadata, null, 2));
    return dir;
  }
  const FIX = /: restore the mam\.json mam wrote, or train the model again$/;

  it('a trained model\'s mam.json passes, checked in place: written back, it is the same bytes', async () => {
    const { model, metadata } = await loadAutoencoder(trained);
    model.dispose();
    assert.equal(metadata.kind, 'autoencoder');
    assert.equal(metadata.training.state.history.length, 2);
    assert.equal(metadata.optimizer!.length > 0, true);
    assert.equal(`${JSON.stringify(metadata, null, 2)}\n`, text);
  });

  // Object.assign: the damage is of the wrong type on purpose.
  const cases: Array<[string, (m: AutoencoderMetadata) => void, RegExp]> = [
    ['a missing field', (m) => { delete (m.training.options as Partial<TrainOptions>).batchSize; }, /: training\.options\.batchSize is missing \(a number\)/],
    ['a number written as a string', (m) => { Object.assign(m.spec, { window: '128' }); }, /: spec\.window is "128", not a whole number/],
    ['a name that is not one of the choices', (m) => { Object.assign(m.data.source, { kind: 'ftp' }); }, /: data\.source\.kind is "ftp", not one of "synthetic", "csv"/],
    ['a field of a tagged variant', (m) => { Object.assign(m.data.source, { records: [6] }); }, /: data\.source\.records is a list, not a whole number/],
    ['an entry of a list', (m) => { Object.assign(m.training.state.history[1]!, { valAsnrDb: null }); }, /: training\.state\.history\[1\]\.valAsnrDb is null, not a number/],
    ['a section that is not an object', (m) => { Object.assign(m.data, { pipeline: 'default' }); }, /: data\.pipeline is "default", not an object/],
  ];
  for (const [what, edit, field] of cases) {
    it(`${what}: a one-line MamError naming the file, the field and the fix`, async () => {
      const dir = await edited(edit);
      // mam eval, prune, export and sweep load it so; mam train --resume too.
      for (const load of [loadAutoencoder, loadCheckpoint]) {
        await rejectsMam(load(dir), join(dir, 'mam.json'), new RegExp(`mam\\.json${field.source}${FIX.source}`));
      }
    });
  }

  it('a mam model that is no trained autoencoder: the message it always had', async () => {
    const dir = join(await freshParent(), 'plain');
    await saveModel(buildModel(1), dir, { note: 'not from mam train' });
    await rejectsMam(loadAutoencoder(dir), dir, /: not an autoencoder trained by mam train \(no data settings in mam\.json\): give a directory written by mam train$/);
    await rejectsMam(loadCheckpoint(dir), dir, /: no training state to resume \(it was not written by mam train\): train a new model with out$/);
  });
});

describe('the latent activation', () => {
  it("'linear' makes only the latent layer linear (signed codes); unset keeps ReLU and stores nothing", async () => {
    const { buildAutoencoder, specFromPreset } = await import('../src/model/autoencoder.js');
    const activations = (spec: ReturnType<typeof specFromPreset>) => buildAutoencoder(spec).layers.map((l) => `${l.name}:${String(l.getConfig().activation)}`);
    const plain = specFromPreset('small', { kind: 'mac' });
    assert.equal('latentActivation' in plain, false);
    assert.deepEqual(activations(plain), ['enc1:relu', 'latent:relu', 'dec1:relu', 'out:linear']);
    assert.deepEqual(activations(specFromPreset('small', { kind: 'mac', latentActivation: 'linear' })), ['enc1:relu', 'latent:linear', 'dec1:relu', 'out:linear']);
  });
});
