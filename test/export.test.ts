// Export: the JSON format against its schema (and its CSR against its dense kernel), the same
// bytes for the same model, and the C export compiled with the host's cc and run on test
// windows: its outputs equal the tfjs model's, for MAC and MAM layers, pruned and dense, both
// ways of counting pruned MAM connections, whole networks and tails. The tfjs export loaded by
// a child process that has only @tensorflow/tfjs (MAC) or also mam's MamDense (MAM), its
// outputs against mam's model.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { initBackend } from '../src/backend.js';
import { tinyConfig } from './fixtures.js';
import { cFloat } from '../src/export/c-syntax.js';
import { CSR_UNROLL_MIN, exportC } from '../src/export/c.js';
import { exportNetwork, type Activation, type ExportLayer, type ExportNetwork } from '../src/export/network.js';
import { mamForwardJs, type PrunedAs } from '../src/layers/mam-math.js';
import { mainC, PROFILE_H } from '../src/mcu/firmware.js';
import { hostOutputs } from '../src/mcu/session.js';
import { C_TOLERANCE, checkC, exportModel, goldenVectors, hostCompiler } from '../src/export/session.js';
import { DEFAULT_PRUNE_OPTIONS } from '../src/prune/pruner.js';
import { loadAutoencoder } from '../src/model/metadata.js';
import { pruneSaved } from '../src/prune/session.js';
import { startTraining, type TrainConfig } from '../src/train/session.js';
import { mam, tempDir } from './cli-helpers.js';
import { randomArray, rng, sameFloats, worstRelative } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAM_INDEX = pathToFileURL(join(ROOT, 'dist/src/index.js')).href;
const SCHEMA = fileURLToPath(new URL('../../schema/mam-export.schema.json', import.meta.url));
const dir = tempDir('mam-export-test-');

function config(kind: 'mam' | 'mac', seed = 7): TrainConfig {
  // MAM in dec1 (6 inputs) and out (24 inputs), 2 slices each: both storages, both kinds.
  return tinyConfig({ seed, kind, mamLayers: 'dec1,out', splits: 2 });
}

const models: Record<string, string> = {};

before(async () => {
  await initBackend({ backend: 'wasm' });
  for (const kind of ['mam', 'mac'] as const) {
    models[kind] = join(dir, kind);
    await startTraining(config(kind), models[kind]!, { log: () => {} });
  }
  const prune = { ...DEFAULT_PRUNE_OPTIONS, steps: 1, fineTuneEpochs: 1, scope: 'layer' as const };
  await pruneSaved(models.mam!, (models.mamZero = join(dir, 'mam-zero')), { ...prune, sparsity: 0.7, prunedAs: 'zero' });
  await pruneSaved(models.mam!, (models.mamAbsent = join(dir, 'mam-absent')), { ...prune, sparsity: 0.7, prunedAs: 'absent' });
  // Light pruning: dense storage is the smaller one, and 'absent' still needs CSR for its mask.
  await pruneSaved(models.mam!, (models.mamAbsentLight = join(dir, 'mam-absent-light')), { ...prune, sparsity: 0.1, prunedAs: 'absent' });
  await pruneSaved(models.mac!, (models.macPruned = join(dir, 'mac-pruned')), { ...prune, sparsity: 0.7 });
});

describe('JSON export', () => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);

  it('validates against the schema, its CSR is its dense kernel, and the same model gives the same bytes', async () => {
    for (const name of ['mam', 'mamAbsent', 'macPruned']) {
      const a = join(dir, `export-${name}.json`), b = join(dir, `export-${name}-again.json`);
      await exportModel({ model: models[name]!, format: 'json', out: a });
      await exportModel({ model: models[name]!, format: 'json', out: b });
      assert.ok(readFileSync(a).equals(readFileSync(b)), `${name}: not deterministic`);
      const doc = JSON.parse(readFileSync(a, 'utf8')) as { layers: Array<{ inputSize: number; outputSize: number; nonzeros: number; sparsity: number; kernel: { dense: number[][]; csr: { values: number[]; colIndices: number[]; rowPointers: number[] } } }> };
      assert.ok(validate(doc), `${name}: ${JSON.stringify(validate.errors)}`);
      for (const l of doc.layers) {
        const { values, colIndices, rowPointers } = l.kernel.csr;
        assert.equal(rowPointers.length, l.outputSize + 1);
        assert.equal(values.length, l.nonzeros);
        assert.ok(Math.abs(l.sparsity - (1 - l.nonzeros / (l.inputSize * l.outputSize))) < 1e-12);
        const rebuilt = Array.from({ length: l.inputSize }, () => new Array<number>(l.outputSize).fill(0));
        for (let k = 0; k < l.outputSize; k++) {
          for (let e = rowPointers[k]!; e < rowPointers[k + 1]!; e++) {
            if (e > rowPointers[k]!) assert.ok(colIndices[e]! > colIndices[e - 1]!, 'columns ascending');
            rebuilt[colIndices[e]!]![k] = values[e]!;
          }
        }
        assert.deepEqual(rebuilt, l.kernel.dense);
      }
    }
  });

  it('--tail K exports the last K layers with the input size of the first of them', async () => {
    const out = join(dir, 'tail.json');
    await exportModel({ model: models.mamZero!, format: 'json', out, tail: 2 });
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { input: { size: number; of: string }; layers: Array<{ name: string; kind: string; prunedAs: string }> };
    assert.deepEqual(doc.layers.map((l) => [l.name, l.kind, l.prunedAs]), [['dec1', 'mam', 'zero'], ['out', 'mam', 'zero']]);
    assert.deepEqual(doc.input, { size: 6, of: 'activation' });
    assert.ok(validate(doc));
    // A document that breaks the format is refused by the schema (it can fail).
    (doc.layers[0] as { kind: string }).kind = 'conv';
    assert.equal(validate(doc), false);
    (doc.layers[0] as { kind: string }).kind = 'mam';
    (doc as unknown as { preprocessing: { normalization: object } }).preprocessing.normalization = { method: 'dataset' };
    assert.equal(validate(doc), false, 'dataset normalisation without its mean and std');
  });

  it('refuses a model still blending MAC into MAM (an unfinished run stopped during vcon)', async () => {
    let steps = 0;
    const unfinished = join(dir, 'unfinished');
    await startTraining(config('mam', 8), unfinished, { log: () => {}, shouldStop: () => ++steps > 3 });
    await assert.rejects(exportModel({ model: unfinished, format: 'json', out: join(dir, 'never.json') }),
      /layer dec1 still blends in the dense product \(beta 0\.\d+\): the model is an unfinished training run/);
  });
});

describe('C export', { skip: hostCompiler() ? false : 'no C compiler on this machine' }, () => {
  it('compiles with -std=c99 -Wall -Wextra -Werror and matches tfjs on test windows: MAC, MAM, pruned, dense, zero, absent, tails', async () => {
    const cases: Array<[string, number | undefined, string[]]> = [
      ['mam', undefined, ['dense', 'dense', 'dense', 'dense']],
      ['mac', undefined, ['dense', 'dense', 'dense', 'dense']],
      ['mamZero', undefined, ['csr', 'csr', 'csr', 'csr']],
      ['mamAbsent', undefined, ['csr', 'csr', 'csr', 'csr']],
      ['mamAbsentLight', undefined, ['dense', 'dense', 'csr', 'csr']],
      ['macPruned', undefined, ['csr', 'csr', 'csr', 'csr']],
      ['mamAbsent', 2, ['csr', 'csr']],
      ['macPruned', 1, ['csr']],
      ['mamZero', 3, ['csr', 'csr', 'csr']],
    ];
    for (const [name, tail, storages] of cases) {
      const out = join(dir, `c-${name}-${tail ?? 'all'}`);
      const r = await exportModel({ model: models[name]!, format: 'c', out, tail, golden: 12 });
      assert.deepEqual(r.c!.storages.map((s) => s.storage), storages, name);
      const check = checkC(out);
      assert.equal(check.vectors, 12);
      assert.ok(check.passed, `${name} tail ${tail}: ${check.worstRelativeError}`);
      const header = readFileSync(join(out, 'mam_model.h'), 'utf8');
      assert.match(header, new RegExp(`#define MAM_INPUT_SIZE ${({ 1: 24, 2: 6, 3: 16 } as Record<number, number>)[tail ?? 0] ?? 128}\\b`));
      assert.match(header, /#define MAM_OUTPUT_SIZE 128\b/);
      assert.match(header, /void mam_infer\(const float \*in, float \*out\);/);
      assert.doesNotMatch(readFileSync(join(out, 'mam_model.c'), 'utf8'), /malloc/);
    }
  });

  it('the check fails when the C computes something else', async () => {
    const out = join(dir, 'c-broken');
    await exportModel({ model: models.mamZero!, format: 'c', out });
    const file = join(out, 'mam_model.c');
    // Every MAM neuron's max a second min: still valid C, different outputs.
    const text = readFileSync(file, 'utf8');
    const broken = text.replace('#define MAXMIN(p, mx, mn) ((mx) = (p) > (mx) ? (p) : (mx),', '#define MAXMIN(p, mx, mn) ((mx) = (p) < (mx) ? (p) : (mx),');
    assert.notEqual(broken, text);
    writeFileSync(file, broken);
    assert.equal(checkC(out).passed, false);
  });

  it('CSR rows of every length, 0 to n (n not a multiple of 4), with and without four products a turn: the reference\'s bits, strict and with -DMAM_MAXNM', () => {
    const rand = rng(21);
    const lengths = (m: number, most: number) => Array.from({ length: m }, (_, k) => k % (most + 1));
    // Long rows (means of 18.5 to 19.5: four a turn), short ones, and slices (one a turn).
    const net: ExportNetwork = {
      preprocessing: { fs: 256, window: 37, hop: 37, baseline: 'none', normalization: { method: 'window' }, split: { train: 0.8, val: 0.1, test: 0.1 }, seed: 1 },
      skipped: 1,
      layers: [
        rowsLayer('a', 'mam', 37, lengths(38, 37), { prunedAs: 'zero' }, rand),
        rowsLayer('b', 'mam', 38, lengths(39, 38), { prunedAs: 'absent' }, rand),
        rowsLayer('c', 'mac', 39, lengths(40, 39), {}, rand),
        rowsLayer('d', 'mam', 40, lengths(21, 5), { prunedAs: 'zero', splits: 2 }, rand),
        rowsLayer('e', 'mam', 21, lengths(22, 21), { prunedAs: 'absent', splits: 3 }, rand),
        rowsLayer('f', 'mac', 22, lengths(23, 6), { activation: 'linear' }, rand),
      ],
    };
    // Small whole numbers, exact zeros of both signs: ties, and 0 products of both signs.
    const count = 16;
    const x = randomArray(rand, count * 37, -2, 2, true).map((v, i) => (v === 0 && i % 2 ? -0 : v));
    const want = reference(net, x, count);
    const out = join(dir, 'c-rows');
    mkdirSync(out, { recursive: true });
    const c = exportC(net, { goldenIn: x, goldenOut: want });
    assert.deepEqual(c.storages.map((st) => st.storage), ['csr', 'csr', 'csr', 'csr', 'csr', 'csr']);
    const functions = c.source.split(/^static void /m).slice(1);
    assert.deepEqual(functions.map((f) => f.includes('e + 4 <=')), [true, true, true, false, false, false], `four a turn from ${CSR_UNROLL_MIN} a row, without splits`);
    writeFileSync(join(out, c.headerName), c.header);
    writeFileSync(join(out, c.sourceName), c.source);
    writeFileSync(join(out, 'main.c'), mainC(net.layers.length));
    writeFileSync(join(out, 'profile.h'), PROFILE_H);
    const bits = Array.from(new Uint32Array(want.buffer), (v) => v.toString(16).padStart(8, '0'));
    for (const cc of [hostCompiler()!, ...(have('clang') ? ['clang'] : [])]) {
      for (const maxnm of [false, true]) assert.deepEqual(hostOutputs(out, cc, maxnm), bits, `${cc}${maxnm ? ' -DMAM_MAXNM' : ''}`);
    }
  });

  it('float literals read back to the same float32', () => {
    const values = [...randomArray(rng(1), 200, -3, 3), 0, -0, 1, 1e-30, 3.4e38, -1.5e-45];
    for (const v of values) {
      const f = Math.fround(v);
      const literal = cFloat(f);
      assert.match(literal, /^-?\d+(\.\d+)?(e[-+]?\d+)?f$|^-?\d+\.\d+e[-+]\d+f$|^-?0\.0f$/);
      assert.ok(Object.is(Math.fround(Number(literal.slice(0, -1))), f), `${f} -> ${literal}`);
    }
  });
});

// What a program that uses tfjs but not mam runs: read the export, predict, write the outputs.
// With a fifth argument it first imports that module (mam-ecg, which registers MamDense).
const PLAIN_TFJS = `
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
const [dir, inputs, size, out, register] = process.argv.slice(1);
if (register) await import(register);
tf.enableProdMode(); // no "install the node backend" banner
const json = JSON.parse(readFileSync(dir + '/model.json', 'utf8'));
// A Buffer may be a view on a shared pool: copy out exactly its bytes.
const bytes = (file) => { const b = readFileSync(file); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length); };
const model = await tf.loadLayersModel(tf.io.fromMemory({
  modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
  weightData: bytes(dir + '/' + json.weightsManifest[0].paths[0]),
}));
const x = new Float32Array(bytes(inputs));
const y = model.predict(tf.tensor2d(x, [x.length / Number(size), Number(size)]));
writeFileSync(out, Buffer.from(y.dataSync().buffer));
console.log(tf.getBackend());
`;

/** The export's outputs on `inputs` in a fresh Node process (cwd: the repo, for its @tensorflow/tfjs). */
function plainTfjs(exportDir: string, inputs: Float32Array, size: number, register?: string) {
  const inFile = join(exportDir, '..', `${Math.random().toString(36).slice(2)}.in`);
  const outFile = `${inFile}.out`;
  writeFileSync(inFile, inputs);
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PLAIN_TFJS, exportDir, inFile, String(size), outFile, ...(register ? [register] : [])], { cwd: ROOT, encoding: 'utf8' });
  try {
    if (r.status !== 0) return { error: r.stderr };
    const b = readFileSync(outFile);
    return { backend: r.stdout.trim(), outputs: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)) };
  } finally {
    rmSync(inFile, { force: true });
    rmSync(outFile, { force: true });
  }
}

/** mam's own model on its first test windows (the tail's inputs, the outputs), on the given backend. */
async function throughMam(modelDir: string, backend: string, tail?: number) {
  await initBackend({ backend });
  try {
    const { model, metadata } = await loadAutoencoder(modelDir);
    const net = exportNetwork(model, metadata.data.pipeline, tail);
    const g = await goldenVectors(model, net, modelDir, [metadata.data.source, metadata.data.pipeline], 24);
    return { ...g, size: net.layers[0]!.inputSize };
  } finally {
    await initBackend({ backend: 'wasm' });
  }
}

const have = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;

/** A layer whose neuron k keeps lengths[k] of its n inputs (chosen at random), weights +-1/2, 1 or 2 (ties). */
function rowsLayer(name: string, kind: 'mam' | 'mac', n: number, lengths: number[], o: { splits?: number; prunedAs?: PrunedAs; activation?: Activation }, rand: () => number): ExportLayer {
  const m = lengths.length;
  const kernel = new Float32Array(n * m), mask = new Uint8Array(n * m);
  lengths.forEach((len, k) => {
    const inputs = Array.from({ length: n }, (_, j) => j);
    for (let i = n - 1; i > 0; i--) {
      const r = Math.floor(rand() * (i + 1));
      [inputs[i], inputs[r]] = [inputs[r]!, inputs[i]!];
    }
    for (const j of inputs.slice(0, len)) {
      mask[j * m + k] = 1;
      kernel[j * m + k] = [-2, -1, -0.5, 0.5, 1, 2][Math.floor(rand() * 6)]!;
    }
  });
  return {
    name, kind, inputSize: n, outputSize: m, activation: o.activation ?? 'relu', splits: o.splits ?? 1, prunedAs: o.prunedAs ?? 'zero',
    bias: randomArray(rand, m, -0.5, 0.5), kernel, mask,
  };
}

/** What the layers compute in float32: MAM as the tfjs kernel (mamForwardJs), MAC summed in input order; then bias and activation. */
function reference(net: ExportNetwork, x: Float32Array, batch: number): Float32Array {
  const f = Math.fround;
  let a = x;
  for (const l of net.layers) {
    const n = l.inputSize, m = l.outputSize;
    let y: Float32Array;
    if (l.kind === 'mam') {
      y = mamForwardJs(a, l.kernel, l.prunedAs === 'absent' ? l.mask : null, { batch, inputs: n, outputs: m, splits: l.splits }).y;
    } else {
      y = new Float32Array(batch * m);
      for (let b = 0; b < batch; b++) {
        for (let k = 0; k < m; k++) {
          let acc = 0;
          for (let j = 0; j < n; j++) if (l.mask[j * m + k]) acc = f(acc + f(a[b * n + j]! * l.kernel[j * m + k]!));
          y[b * m + k] = acc;
        }
      }
    }
    y = y.map((v, i) => { const z = f(v + l.bias[i % m]!); return l.activation === 'relu' ? (z > 0 ? z : 0) : z; });
    a = y;
  }
  return a;
}

/** Every class_name in a tfjs topology (layers, initializers, the model). */
function classNames(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((v) => classNames(v, into));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'class_name' && typeof v === 'string') into.add(v);
      else classNames(v, into);
    }
  }
  return into;
}

describe('tfjs export', () => {
  it('an all-MAC pruned model loads in plain tfjs (no mam imported) and computes what mam computes, bit for bit', async () => {
    for (const tail of [undefined, 2]) {
      const out = join(dir, `tfjs-mac-${tail ?? 'all'}`);
      const r = await exportModel({ model: models.macPruned!, format: 'tfjs', out, tail });
      assert.deepEqual(r.tfjs!.classes, tail ? ['Dense', 'Dense'] : ['Dense', 'Dense', 'Dense', 'Dense']);
      assert.deepEqual(r.tfjs!.mamLayers, []);
      assert.deepEqual(readdirSync(out).sort(), ['model.json', 'weights.bin']);
      const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { format: string; modelTopology: object; userDefinedMetadata: { mamEcg: { input: object } } };
      assert.equal(json.format, 'layers-model');
      assert.deepEqual([...classNames(json.modelTopology)].sort(), ['Dense', 'Sequential', 'VarianceScaling', 'Zeros']);
      assert.deepEqual(json.userDefinedMetadata.mamEcg.input, tail ? { size: 6, of: 'activation' } : { size: 128, of: 'window' });

      // Same backend (cpu: all plain tfjs has in Node), same ops: the same bits.
      const mam = await throughMam(models.macPruned!, 'cpu', tail);
      const plain = plainTfjs(out, mam.goldenIn, mam.size);
      assert.ok(plain.outputs, plain.error);
      assert.equal(plain.backend, 'cpu');
      assert.equal(plain.outputs.length, 24 * 128);
      const same = sameFloats(plain.outputs, mam.goldenOut);
      assert.ok(same.equal, `tail ${tail}: output ${same.at} is ${plain.outputs[same.at]}, mam ${mam.goldenOut[same.at]}`);
      // mam on wasm sums its products in XNNPACK's order: equal to rounding only.
      const wasm = await throughMam(models.macPruned!, 'wasm', tail);
      assert.ok(worstRelative(plain.outputs, wasm.goldenOut, 128) <= C_TOLERANCE);
    }
  });

  it('folds the masks into standard Dense kernels: pruned entries exactly +0, the rest the trained weights', async () => {
    const out = join(dir, 'tfjs-mac-all');
    const { model } = await loadAutoencoder(models.macPruned!);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { weightsManifest: Array<{ weights: Array<{ name: string; shape: number[] }> }> };
    const bin = readFileSync(join(out, 'weights.bin'));
    const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
    let offset = 0, pruned = 0;
    for (const spec of json.weightsManifest[0]!.weights) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const values = all.subarray(offset, (offset += n));
      const [layerName, weight] = spec.name.split('/') as [string, string];
      assert.notEqual(weight, 'mask', 'a Dense layer has no mask');
      const layer = model.getLayer(layerName) as unknown as { getMask(): { dataSync(): Float32Array }; effectiveKernel(): Float32Array };
      if (weight !== 'kernel') continue;
      const mask = layer.getMask().dataSync();
      mask.forEach((m, i) => { if (m === 0) { pruned++; assert.ok(Object.is(values[i], 0), `${spec.name}[${i}] is ${values[i]}`); } });
      assert.ok(sameFloats(values, layer.effectiveKernel()).equal, spec.name);
    }
    assert.equal(offset, all.length);
    assert.ok(pruned > 0.5 * offset, `only ${pruned} pruned`);
  });

  it('a MAM model keeps its MAM layers as MamDense: plain tfjs refuses them, with mam imported it computes what mam computes', async () => {
    const out = join(dir, 'tfjs-mam');
    const r = await exportModel({ model: models.mamAbsent!, format: 'tfjs', out });
    assert.deepEqual(r.tfjs!.classes, ['Dense', 'Dense', 'MamDense', 'MamDense']);
    assert.deepEqual(r.tfjs!.mamLayers, ['dec1', 'out']);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { modelTopology: { config: { layers: Array<{ class_name: string; config: { name: string; pruned_as?: string; splits?: number; beta?: number } }> } } };
    assert.deepEqual(json.modelTopology.config.layers.map((l) => [l.class_name, l.config.name, l.config.pruned_as, l.config.splits, l.config.beta]),
      [['Dense', 'enc1', undefined, undefined, undefined], ['Dense', 'latent', undefined, undefined, undefined], ['MamDense', 'dec1', 'absent', 2, 0], ['MamDense', 'out', 'absent', 2, 0]]);

    const mam = await throughMam(models.mamAbsent!, 'cpu');
    const refused = plainTfjs(out, mam.goldenIn, mam.size);
    assert.match(refused.error ?? '', /Unknown layer: MamDense/);
    const loaded = plainTfjs(out, mam.goldenIn, mam.size, MAM_INDEX);
    assert.ok(loaded.outputs, loaded.error);
    const same = sameFloats(loaded.outputs, mam.goldenOut);
    assert.ok(same.equal, `output ${same.at} is ${loaded.outputs[same.at]}, mam ${mam.goldenOut[same.at]}`);
    // The mask travels with MamDense: without it an 'absent' layer would compute something else.
    const zero = await throughMam(models.mamZero!, 'cpu');
    assert.ok(!sameFloats(zero.goldenOut, mam.goldenOut).equal);
  });

  it('replaces only an empty directory or an earlier tfjs export', async () => {
    const out = join(dir, 'tfjs-again');
    await exportModel({ model: models.macPruned!, format: 'tfjs', out });
    await exportModel({ model: models.mamZero!, format: 'tfjs', out, tail: 2 }); // an earlier export: replaced
    assert.deepEqual((JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { userDefinedMetadata: { mamEcg: { mamLayers: string[] } } }).userDefinedMetadata.mamEcg.mamLayers, ['dec1', 'out']);
    const empty = join(dir, 'tfjs-empty');
    mkdirSync(empty);
    await exportModel({ model: models.macPruned!, format: 'tfjs', out: empty });
    assert.deepEqual(readdirSync(empty).sort(), ['model.json', 'weights.bin']);

    const before = readFileSync(join(models.mam!, 'model.json'));
    await assert.rejects(exportModel({ model: models.mam!, format: 'tfjs', out: models.mam! }),
      /^MamError: .* is neither empty nor an earlier tfjs export of mam: choose another output directory/);
    assert.ok(readFileSync(join(models.mam!, 'model.json')).equals(before), 'the model directory is untouched');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    await assert.rejects(exportModel({ model: models.mam!, format: 'tfjs', out }), /is neither empty nor an earlier tfjs export/);
    assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine');
    await assert.rejects(exportModel({ model: models.mam!, format: 'tfjs', out: join(out, 'notes.txt') }), /exists and is not a directory: the tfjs export writes model\.json and weights\.bin into a directory/);
  });
});

describe('mam export', () => {
  it('--check reports the comparison; bad requests get one line and exit 2 (a bad setting) or 1', () => {
    const ok = mam(['export', '--model', models.mamAbsent!, '--format', 'c', '--out', join(dir, 'cli-c'), '--check', '--tail', '2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /^wrote .*mam_model\.h, .*mam_model\.c: 2 layers \(dec1 mam csr, out mam csr\)/m);
    assert.match(ok.stderr, /^check: 4 golden windows, largest difference from tfjs .* passed$/m);
    const tfjs = mam(['export', '--model', models.mamZero!, '--format', 'tfjs', '--out', join(dir, 'cli-tfjs')]);
    assert.equal(tfjs.code, 0, tfjs.stderr);
    assert.match(tfjs.stderr, /^wrote .*model\.json, .*weights\.bin: 4 layers \(enc1 mac Dense, latent mac Dense, dec1 mam MamDense, out mam MamDense\), \d+ of \d+ weights kept$/m);
    assert.match(tfjs.stderr, /^tfjs: dec1, out are MamDense, which has no standard tfjs equivalent: import mam-ecg \(it registers MamDense\) before tf\.loadLayersModel$/m);
    const plain = mam(['export', '--model', models.macPruned!, '--format', 'tfjs', '--out', join(dir, 'cli-tfjs-mac'), '--tail', '1']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /\(out mac Dense\).*\ntfjs: standard Dense layers only: plain @tensorflow\/tfjs loads it/);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const [args, pattern, code] of [
      [['--model', models.mam!, '--tail', '5', '--out', join(dir, 'x.json')], /^mam: --tail 5: this model has 4 layers \(enc1, latent, dec1, out\); give 1 to 4$/, 2],
      [['--model', models.mam!, '--format', 'c', '--out', file], /^mam: .*a-file exists and is not a directory/, 1],
      [['--model', models.mam!, '--out', dir], /^mam: .* is a directory: give a file name for the JSON export/, 1],
      [['--model', models.mam!, '--format', 'tflite', '--out', file], /^mam: --format must be one of json, c, tfjs, onnx, got "tflite"$/, 2],
      [['--model', models.mam!, '--check', '--out', join(dir, 'y.json')], /^mam: --check compiles the C export: give --format c$/, 2],
      [['--model', dir, '--out', join(dir, 'z.json')], /^mam: .*mam\.json: missing: give a directory written by mam \(mam train --out, or saveModel\)$/, 1],
    ] as Array<[string[], RegExp, number]>) {
      const r = mam(['export', ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trimEnd(), pattern);
    }
    assert.equal(readFileSync(file, 'utf8'), 'x', 'nothing overwritten');
  });

  it('mam footprint --json: flash, RAM and the verdict, as the C export stores the model', async () => {
    const r = mam(['footprint', '--model', models.mamZero!, '--tail', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const fp = JSON.parse(r.stdout) as { flash_bytes: number; ram_bytes: number; fits: boolean; layers: Array<{ name: string; flash_bytes: number; storage: { chosen: string } }> };
    assert.deepEqual(fp.layers.map((l) => l.name), ['dec1', 'out']);
    assert.equal(fp.flash_bytes, fp.layers.reduce((n, l) => n + l.flash_bytes, 0));
    // One internal activation of 24 floats, input 6, output 128.
    assert.equal(fp.ram_bytes, 4 * (24 + 6 + 128));
    assert.equal(fp.fits, true);
    // The C export makes the same storage choice the footprint reports.
    const c = await exportModel({ model: models.mamZero!, format: 'c', out: join(dir, 'fp-c'), tail: 2 });
    assert.deepEqual(fp.layers.map((l) => l.storage.chosen), c.c!.storages.map((st) => st.storage));
    const table = mam(['footprint', '--model', models.mam!]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^fits the STM32F767ZI$/m);
    const bad = mam(['footprint', '--model', models.mam!, '--target', 'esp32']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^mam: --target esp32: unknown part; choose one of stm32f767zi, /);
  });
});
