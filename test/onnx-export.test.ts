// The ONNX export, run by ONNX Runtime (onnxruntime-node, a devDependency) and compared with
// the tfjs model: networks built in place (every MAM case: splits 1 to 3, pruned as zero and as
// absent, a slice that keeps nothing, a neuron that keeps nothing) and trained, pruned models
// through exportModel, whole and --tail; the graph read back with a protobuf decoder of its own
// (opset, operators, constants, metadata); the same bytes twice; and `mam export --format onnx`.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../src/backend.js';
import type { PipelineSettings } from '../src/data/pipeline.js';
import { MamDense } from '../src/layers/mam-dense.js';
import { MaskedDense } from '../src/layers/masked-dense.js';
import type { PrunableDense } from '../src/layers/prunable-dense.js';
import { loadAutoencoder } from '../src/model/metadata.js';
import { exportNetwork, inputDescription } from '../src/export/network.js';
import { exportOnnx, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } from '../src/export/onnx.js';
import { C_TOLERANCE, exportModel, goldenVectors } from '../src/export/session.js';
import { DEFAULT_PRUNE_OPTIONS } from '../src/prune/pruner.js';
import { pruneSaved } from '../src/prune/session.js';
import { startTraining } from '../src/train/session.js';
import { mamAsync, startMam, tempDir } from './cli-helpers.js';
import { tinyConfig } from './fixtures.js';
import { randomArray, rng, worstRelative } from './helpers.js';

const dir = tempDir('mam-onnx-test-');
const models: Record<string, string> = {};

before(async () => {
  await initBackend({ backend: 'wasm' });
  models.mac = join(dir, 'mac');
  await startTraining(tinyConfig({ seed: 5, kind: 'mac', epochs: 1 }), models.mac, { log: () => {} });
  models.mam = join(dir, 'mam');
  await startTraining(tinyConfig({ seed: 5, kind: 'mam', mamLayers: 'dec1,out', splits: 2, epochs: 2 }), models.mam, { log: () => {} });
  models.mamAbsent = join(dir, 'mam-absent');
  await pruneSaved(models.mam, models.mamAbsent, { ...DEFAULT_PRUNE_OPTIONS, steps: 1, fineTuneEpochs: 1, scope: 'layer', sparsity: 0.7, prunedAs: 'absent' });
});

/** `mam ...args` with its stdout as bytes (the ONNX model written to a pipe). */
function binaryStdout(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = startMam(args);
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

/** The ONNX model's outputs on `x` ([rows, size]) in ONNX Runtime. */
async function runOnnx(bytes: Uint8Array, x: Float32Array, size: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', x, [x.length / size, size]) });
    return out[ONNX_OUTPUT]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

// --- a protobuf reader, to look at what the export wrote -------------------------------------

type Fields = Map<number, Array<bigint | Uint8Array>>;

/** One message's fields: number -> values (varints as bigint, length-delimited as bytes). */
function fields(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  let at = 0;
  const varint = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = buf[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const key = Number(varint());
    const wire = key & 7;
    let value: bigint | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) { const len = Number(varint()); value = buf.subarray(at, (at += len)); }
    else throw new Error(`wire type ${wire} at byte ${at}: the export writes varints and length-delimited fields only`);
    const list = out.get(key >> 3) ?? [];
    list.push(value);
    out.set(key >> 3, list);
  }
  return out;
}
const text = (f: Fields, n: number) => (f.get(n) ?? []).map((v) => new TextDecoder().decode(v as Uint8Array));
const nums = (f: Fields, n: number) => (f.get(n) ?? []).map((v) => Number(v as bigint));
const messages = (f: Fields, n: number) => (f.get(n) ?? []).map((v) => fields(v as Uint8Array));

/** The ModelProto's parts the tests look at. */
function readModel(bytes: Uint8Array) {
  const model = fields(bytes);
  const graph = messages(model, 7)[0]!;
  return {
    irVersion: nums(model, 1)[0],
    producer: text(model, 2)[0],
    doc: text(model, 6)[0]!,
    opsets: messages(model, 8).map((o) => [text(o, 1)[0] ?? '', nums(o, 2)[0]]),
    metadata: Object.fromEntries(messages(model, 14).map((e) => [text(e, 1)[0], text(e, 2)[0]])),
    nodes: messages(graph, 1).map((n) => ({ op: text(n, 4)[0]!, domain: text(n, 7)[0] ?? '', inputs: text(n, 1) })),
    initializers: messages(graph, 5).map((t) => ({ name: text(t, 8)[0]!, dims: nums(t, 1), type: nums(t, 2)[0], raw: (t.get(9)?.[0] ?? new Uint8Array()) as Uint8Array })),
    inputs: messages(graph, 11).map((v) => text(v, 1)[0]),
    outputs: messages(graph, 12).map((v) => text(v, 1)[0]),
  };
}

const STANDARD_OPS = new Set(['MatMul', 'Add', 'Relu', 'Unsqueeze', 'Mul', 'Slice', 'ReduceMax', 'ReduceMin', 'Where']);

const PIPELINE: PipelineSettings = { fs: 256, window: 12, hop: 12, baseline: 'none', normalization: { method: 'window' }, split: { train: 0.8, val: 0.1, test: 0.1 }, seed: 1 };

/** A mask keeping about 60% of a [n, m] kernel in a fixed pattern, less the entries `drop` says. */
function maskOf(n: number, m: number, drop: (j: number, k: number) => boolean): number[] {
  return Array.from({ length: n * m }, (_, i) => ((i * 7) % 10 < 4 || drop(Math.floor(i / m), i % m) ? 0 : 1));
}

describe('ONNX export in ONNX Runtime against tfjs', () => {
  it('networks built in place: MAC, and MAM with 1 to 3 slices, pruned as zero and as absent, empty slices and neurons', async () => {
    const kernel = (k: number) => tf.initializers.glorotUniform({ seed: 10 + k });
    const bias = (k: number) => tf.initializers.randomNormal({ seed: 20 + k, stddev: 0.1 });
    const model = tf.sequential({ layers: [
      new MaskedDense({ name: 'mac1', units: 9, activation: 'relu', inputShape: [12], kernelInitializer: kernel(0), biasInitializer: bias(0) }),
      new MamDense({ name: 'absent3', units: 7, splits: 3, prunedAs: 'absent', kernelInitializer: kernel(1), biasInitializer: bias(1) }),
      new MamDense({ name: 'zero2', units: 6, splits: 2, prunedAs: 'zero', kernelInitializer: kernel(2), biasInitializer: bias(2) }),
      new MamDense({ name: 'absent1', units: 5, prunedAs: 'absent', kernelInitializer: kernel(3), biasInitializer: bias(3) }),
      new MaskedDense({ name: 'mac2', units: 4, activation: 'linear', kernelInitializer: kernel(4), biasInitializer: bias(4) }),
    ] });
    try {
      const layers = model.layers as PrunableDense[];
      layers[0]!.setMask(maskOf(12, 9, () => false));
      // absent3 (9 inputs, slices 0-2, 3-5, 6-8): neuron 0 keeps nothing of slice 0, neuron 6 nothing at all.
      layers[1]!.setMask(maskOf(9, 7, (j, k) => (k === 0 && j < 3) || k === 6));
      layers[2]!.setMask(maskOf(7, 6, (_j, k) => k === 5));
      layers[3]!.setMask(maskOf(6, 5, (_j, k) => k === 2));
      const net = exportNetwork(model, PIPELINE);
      const bytes = exportOnnx(net, { preset: 'small', kind: 'mam' });
      const x = randomArray(rng(3), 32 * 12, -2, 2);
      const want = tf.tidy(() => (model.predict(tf.tensor2d(x, [32, 12])) as tf.Tensor).dataSync() as Float32Array);
      const got = await runOnnx(bytes, x, 12);
      assert.equal(got.length, want.length);
      assert.ok(got.every(Number.isFinite), 'a slice that keeps nothing adds 0, never NaN');
      const worst = worstRelative(got, want, 4);
      assert.ok(worst <= C_TOLERANCE, `worst ${worst}`);

      const read = readModel(bytes);
      assert.ok(read.nodes.every((n) => STANDARD_OPS.has(n.op) && n.domain === ''), read.nodes.map((n) => n.op).join(' '));
      // The 3 slices of absent3 and the 2 of zero2 are cut; only absent3 has an empty slice (its
      // slice 0, and all three for neuron 6) and only the 'absent' layers replace pruned products.
      assert.equal(read.nodes.filter((n) => n.op === 'Slice').length, 2 * 3 + 2);
      assert.deepEqual(read.nodes.filter((n) => n.op === 'Where').map((n) => n.inputs[0]),
        ['absent3/kept', 'absent3/kept', 'absent3/slice0/any_kept', 'absent3/slice1/any_kept', 'absent3/slice2/any_kept', 'absent1/kept', 'absent1/kept', 'absent1/any_kept']);
      assert.deepEqual(read.initializers.find((t) => t.name === 'absent3/slice1/starts')!.raw, Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0));
    } finally {
      model.dispose();
    }
  });

  it('an all-MAM network gives tfjs\'s outputs exactly (the same products, max, min and sums in the same order)', async () => {
    const model = tf.sequential({ layers: [
      new MamDense({ name: 'm1', units: 8, splits: 3, prunedAs: 'absent', inputShape: [10], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 2 }) }),
      new MamDense({ name: 'm2', units: 5, splits: 2, activation: 'linear', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: tf.initializers.randomNormal({ seed: 4 }) }),
    ] });
    try {
      (model.layers[0] as PrunableDense).setMask(maskOf(10, 8, (j, k) => k === 1 && j >= 7));
      (model.layers[1] as PrunableDense).setMask(maskOf(8, 5, () => false));
      const x = randomArray(rng(9), 40 * 10, -3, 3);
      const want = tf.tidy(() => (model.predict(tf.tensor2d(x, [40, 10])) as tf.Tensor).dataSync() as Float32Array);
      const got = await runOnnx(exportOnnx(exportNetwork(model, PIPELINE), { preset: 'small', kind: 'mam' }), x, 10);
      got.forEach((v, i) => assert.ok(v === want[i], `output ${i}: ONNX ${v}, tfjs ${want[i]}`));
    } finally {
      model.dispose();
    }
  });

  it('trained and pruned models, whole and --tail: the outputs of mam\'s model on its test windows', async () => {
    for (const [name, tail] of [['mac', undefined], ['mac', 2], ['mam', undefined], ['mamAbsent', undefined], ['mamAbsent', 2]] as const) {
      const out = join(dir, `${name}-${tail ?? 'all'}.onnx`);
      const r = await exportModel({ model: models[name]!, format: 'onnx', out, tail });
      assert.deepEqual(r.files, [out]);
      const { model, metadata } = await loadAutoencoder(models[name]!);
      try {
        const net = exportNetwork(model, metadata.data.pipeline, tail);
        const g = await goldenVectors(model, net, models[name]!, [metadata.data.source, metadata.data.pipeline], 24);
        const bytes = readFileSync(out);
        const got = await runOnnx(bytes, g.goldenIn, net.layers[0]!.inputSize);
        const worst = worstRelative(got, g.goldenOut, 128);
        assert.ok(worst <= C_TOLERANCE, `${name} tail ${tail}: worst ${worst}`);

        const read = readModel(bytes);
        assert.deepEqual(read.opsets, [['', ONNX_OPSET]]);
        assert.equal(read.irVersion, 7);
        assert.equal(read.producer, 'mam-ecg');
        assert.deepEqual([read.inputs, read.outputs], [[ONNX_INPUT], [ONNX_OUTPUT]]);
        const ops = new Set(read.nodes.map((n) => n.op));
        if (name === 'mac') assert.deepEqual([...ops].sort(), ['Add', 'MatMul', 'Relu']);
        else assert.ok(['Mul', 'ReduceMax', 'ReduceMin', 'Slice'].every((op) => ops.has(op)) && [...ops].every((op) => STANDARD_OPS.has(op)));
        assert.equal(ops.has('Where'), name === 'mamAbsent', 'Where only where pruned connections are absent');
        // The masks are folded in: the kernels hold +0 where pruned, the same values as mam's.
        for (const l of net.layers) {
          const t = read.initializers.find((i) => i.name === `${l.name}/kernel`)!;
          assert.deepEqual(t.dims, [l.inputSize, l.outputSize]);
          assert.deepEqual(new Float32Array(new Uint8Array(t.raw).buffer), l.kernel);
        }
        assert.deepEqual(JSON.parse(read.metadata.preprocessing!), inputDescription(net).preprocessing);
        assert.deepEqual(JSON.parse(read.metadata.input!), tail ? { size: 6, of: 'activation' } : { size: 128, of: 'window' });
        assert.match(read.doc, tail ? /^Input 'input' \[batch, 6\]: the activations of the layer before dec1/m : /^Input 'input' \[batch, 128\]: windows of 128 samples of one ECG lead in mV, resampled to 256 Hz, then each window minus its own mean/m);
      } finally {
        model.dispose();
      }
    }
  });

  it('the same model gives the same bytes', async () => {
    const a = join(dir, 'again-a.onnx'), b = join(dir, 'again-b.onnx');
    await exportModel({ model: models.mamAbsent!, format: 'onnx', out: a });
    await exportModel({ model: models.mamAbsent!, format: 'onnx', out: b });
    assert.ok(readFileSync(a).equals(readFileSync(b)));
  });
});

describe('mam export --format onnx', () => {
  it('writes the file, or stdout with --out -; refuses a directory in one line', async () => {
    const file = join(dir, 'cli.onnx'), folder = join(dir, 'a-folder');
    mkdirSync(folder);
    // Side by side: each run spends most of its time starting tfjs.
    const [r, piped, refused] = await Promise.all([
      mamAsync(['export', '--model', models.mamAbsent!, '--format', 'onnx', '--out', file, '--tail', '2', '--json']),
      binaryStdout(['export', '--model', models.mamAbsent!, '--format', 'onnx', '--out', '-', '--tail', '2']),
      mamAsync(['export', '--model', models.mac!, '--format', 'onnx', '--out', folder]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^wrote .*cli\.onnx: 2 layers \(dec1 mam, out mam\), \d+ of \d+ weights kept$/m);
    assert.match(r.stderr, /^onnx: opset 13, standard operators only; input "input" \[batch, 6\] \(the activations before dec1\), output "output" \[batch, 128\]$/m);
    const json = JSON.parse(r.stdout) as { format: string; files: string[]; opset: number; layers: Array<{ name: string }> };
    assert.deepEqual([json.format, json.files, json.opset, json.layers.map((l) => l.name)], ['onnx', [file], 13, ['dec1', 'out']]);

    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(piped.stdout.equals(readFileSync(file)), 'stdout holds the same bytes as the file');
    assert.match(piped.stderr, /^wrote the ONNX export to stdout: 2 layers/m);

    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `mam: ${folder} is a directory: give a file name for the ONNX export, e.g. ${join(folder, 'model.onnx')}\n`);
  });
});
