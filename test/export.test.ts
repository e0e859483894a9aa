// Export: the JSON format against its schema (and its CSR against its dense kernel), the same
// bytes for the same model, and the C export compiled with the host's cc and run on test
// windows: its outputs equal the tfjs model's, for MAC and MAM layers, pruned and dense, both
// ways of counting pruned MAM connections, whole networks and tails.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { initBackend } from '../src/backend.js';
import { tinyConfig } from './fixtures.js';
import { cFloat } from '../src/export/c.js';
import { checkC, exportModel, hostCompiler } from '../src/export/session.js';
import { DEFAULT_PRUNE_OPTIONS } from '../src/prune/pruner.js';
import { pruneSaved } from '../src/prune/session.js';
import { startTraining, type TrainConfig } from '../src/train/session.js';
import { mam, tempDir } from './cli-helpers.js';
import { randomArray, rng } from './helpers.js';

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
    // Swap max and min in every MAM neuron: still valid C, different outputs.
    writeFileSync(file, readFileSync(file, 'utf8').replace(/if \(!any \|\| p > mx\) mx = p;/g, 'if (!any || p < mx) mx = p;'));
    assert.equal(checkC(out).passed, false);
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

describe('mam export', () => {
  it('--check reports the comparison; bad requests get one line and exit 1', () => {
    const ok = mam(['export', '--model', models.mamAbsent!, '--format', 'c', '--out', join(dir, 'cli-c'), '--check', '--tail', '2']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /^wrote .*mam_model\.h, .*mam_model\.c: 2 layers \(dec1 mam csr, out mam csr\)/m);
    assert.match(ok.stderr, /^check: 4 golden windows, largest difference from tfjs .* passed$/m);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const [args, pattern] of [
      [['--model', models.mam!, '--tail', '5', '--out', join(dir, 'x.json')], /^mam: --tail 5: this model has 4 layers \(enc1, latent, dec1, out\); give 1 to 4$/],
      [['--model', models.mam!, '--format', 'c', '--out', file], /^mam: .*a-file exists and is not a directory/],
      [['--model', models.mam!, '--out', dir], /^mam: .* is a directory: give a file name for the JSON export/],
      [['--model', models.mam!, '--format', 'onnx', '--out', file], /^mam: --format must be one of json, c, got "onnx"$/],
      [['--model', models.mam!, '--check', '--out', join(dir, 'y.json')], /^mam: --check compiles the C export: give --format c$/],
      [['--model', dir, '--out', join(dir, 'z.json')], /^mam: .*mam\.json: missing: give a directory written by mam/],
    ] as Array<[string[], RegExp]>) {
      const r = mam(['export', ...args]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trimEnd(), pattern);
    }
    assert.equal(readFileSync(file, 'utf8'), 'x', 'nothing overwritten');
  });

  it('mam footprint --json: flash, RAM and the verdict, as the C export stores the model', async () => {
    const r = mam(['footprint', '--model', models.mamZero!, '--tail', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const fp = JSON.parse(r.stdout) as { flash_bytes: number; ram_bytes: number; fits: boolean; layers: Array<{ name: string; flashBytes: number; storage: { chosen: string } }> };
    assert.deepEqual(fp.layers.map((l) => l.name), ['dec1', 'out']);
    assert.equal(fp.flash_bytes, fp.layers.reduce((n, l) => n + l.flashBytes, 0));
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
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^mam: --target esp32: unknown part; choose one of stm32f767zi, /);
  });
});
