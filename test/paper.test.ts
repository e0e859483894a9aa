// The paper's claim, as far as tests reach: the two sweep protocols (papers: surviving weights
// bit for bit the dense model's; finetune: as before), MAM's free first step (no output changes
// on the training windows when pruned connections are absent), `mam train --from` (a MAC model
// in a MAM layer at beta = 1 computes what the MAC model did), the paper-wide preset's tail
// against the 2 MB flash, and `mam paper`'s table on a tiny run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { prepareFromSource } from '../src/data/source.js';
import { footprint, TARGETS } from '../src/export/footprint.js';
import { exportC } from '../src/export/c.js';
import { exportNetwork } from '../src/export/network.js';
import { MamDense } from '../src/layers/mam-dense.js';
import { PrunableDense } from '../src/layers/prunable-dense.js';
import { buildAutoencoder, copyTrainedWeights, PAPER_PRESET, specFromPreset } from '../src/model/autoencoder.js';
import { loadModel } from '../src/model/files.js';
import { reconstruct } from '../src/model/infer.js';
import { dropUnselected, sparsityOf } from '../src/prune/pruner.js';
import { sparsestAtTarget, type PaperTable } from '../src/paper/paper.js';
import { protocolPrune, startingPoint } from '../src/sweep/protocol.js';
import { loadSweepFile, type SweepFile } from '../src/sweep/sweep.js';
import { startTraining } from '../src/train/session.js';
import { DEFAULT_SPLIT } from '../src/data/pipeline.js';
import { DEFAULT_PRUNE_OPTIONS } from '../src/prune/pruner.js';
import { tinyConfig } from './fixtures.js';
import { mam, tempDir } from './cli-helpers.js';
import { sameFloats } from './helpers.js';

const dir = tempDir('mam-paper-test-');

const TINY_TRAIN = ['--encoder', '16', '--latent', '6', '--decoder', '24,24', '--mam-layers', 'dec2', '--epochs', '3', '--vcon-epochs', '1', '--synth-records', '6', '--synth-seconds', '12'];

/** Per layer: kernel, bias and mask as float arrays. */
async function weightsOf(modelDir: string): Promise<Map<string, Float32Array[]>> {
  const { model } = await loadModel(modelDir);
  const out = new Map(model.layers.map((l) => [l.name, l.getWeights().map((w) => w.dataSync() as Float32Array)]));
  model.dispose();
  return out;
}

describe('sweep protocols', () => {
  it('papers fixes one shot without fine-tuning and starts every point from the dense model; finetune chains', () => {
    const base = { ...DEFAULT_PRUNE_OPTIONS };
    assert.deepEqual(
      (({ schedule, steps, fineTuneEpochs }) => ({ schedule, steps, fineTuneEpochs }))(protocolPrune('papers', base)),
      { schedule: 'oneshot', steps: 1, fineTuneEpochs: 0 },
    );
    assert.deepEqual(protocolPrune('finetune', base), base);
    const done = [{ sparsity: 0 }, { sparsity: 0.5 }, { sparsity: 0.8 }];
    assert.equal(startingPoint('papers', 0.9, done), null);
    assert.deepEqual(startingPoint('finetune', 0.9, done), { sparsity: 0.8 });
    assert.deepEqual(startingPoint('finetune', 0.6, done), { sparsity: 0.5 });
  });

  it('the table picks its point on the validation ASNR, not the test ASNR', () => {
    const p = (sparsity: number, val: number, test: number) => ({
      protocol: 'papers' as const, kind: 'mam' as const, sparsity, actual_sparsity: sparsity, remaining_pct: 100 * (1 - sparsity),
      nonzeros: Math.round(1000 * (1 - sparsity)), weights: 1000, asnr_db: test, prd: 1, val_asnr_db: val, model: `mam/s${sparsity}`,
    });
    const points = [p(0, 35, 35), p(0.5, 33, 32), p(0.8, 32, 33)];
    assert.equal(sparsestAtTarget(points, 32.6)!.sparsity, 0.5);
    assert.equal(sparsestAtTarget(points, 36), null);
  });

  const out = join(dir, 'papers');
  it('mam sweep --protocol papers: each point from the dense model, its surviving weights the dense ones bit for bit', async () => {
    const r = mam(['sweep', ...TINY_TRAIN, '--protocol', 'papers', '--layers', 'dec2', '--grid', '0,0.5,0.9', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /protocol papers: one shot from the dense model, no fine-tuning/);
    assert.match(r.stderr, /mam: pruning to 0\.9 from the dense model/);
    const file = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepFile;
    assert.equal(file.protocol, 'papers');
    assert.equal(file.summary.protocol, 'papers');
    assert.deepEqual(file.points.map((p) => p.protocol), Array(6).fill('papers'));
    assert.match(readFileSync(join(out, 'sweep.csv'), 'utf8'), /^protocol,kind,/);
    assert.match(readFileSync(join(out, 'sweep.svg'), 'utf8'), /protocol papers/);
    assert.equal(file.settings.prune.fineTuneEpochs, 0);
    for (const kind of ['mac', 'mam'] as const) {
      const dense = await weightsOf(join(out, kind, 'dense'));
      for (const s of [0.5, 0.9]) {
        const pruned = await weightsOf(join(out, kind, `s${s}`));
        for (const [name, [kernel, bias, mask]] of pruned) {
          const [dk, db] = dense.get(name)!;
          assert.ok(sameFloats(bias!, db!).equal, `${kind} ${s} ${name} bias`);
          let kept = 0;
          for (let i = 0; i < kernel!.length; i++) {
            if (mask![i] === 1) { kept++; assert.ok(Object.is(kernel![i], dk![i]), `${kind} ${s} ${name}[${i}]`); }
            else assert.ok(Object.is(kernel![i], 0), `${kind} ${s} ${name}[${i}] is +0`);
          }
          if (name !== 'dec2') assert.equal(kept, kernel!.length, `${name} is not pruned`);
          else assert.equal(kept, Math.round((1 - s) * kernel!.length));
        }
      }
    }
  });

  it('a sweep.json from before protocols had names loads as finetune, its points and summary too', async () => {
    const legacy = join(dir, 'legacy');
    mkdirSync(legacy);
    const file = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepFile & Record<string, unknown>;
    delete (file as Partial<SweepFile>).protocol;
    delete (file.settings as Partial<SweepFile['settings']>).protocol;
    delete (file.summary as Partial<SweepFile['summary']>).protocol;
    for (const p of file.points) delete (p as Partial<typeof p>).protocol;
    writeFileSync(join(legacy, 'sweep.json'), JSON.stringify(file));
    const loaded = await loadSweepFile(join(legacy, 'sweep.json'), 'fix');
    assert.equal(loaded.protocol, 'finetune');
    assert.equal(loaded.settings.protocol, 'finetune');
    assert.equal(loaded.summary.protocol, 'finetune');
    assert.deepEqual([...new Set(loaded.points.map((p) => p.protocol))], ['finetune']);
  });

  it('a sweep.json is checked field by field: as written it loads unchanged; a damaged field is named, in one line', async () => {
    const path = join(out, 'sweep.json');
    const file = JSON.parse(readFileSync(path, 'utf8')) as SweepFile;
    assert.deepEqual(await loadSweepFile(path, 'fix'), file);
    const damaged = join(dir, 'damaged');
    mkdirSync(damaged);
    Object.assign(file.points[1]!, { asnr_db: '31.2' });
    writeFileSync(join(damaged, 'sweep.json'), JSON.stringify(file));
    await assert.rejects(loadSweepFile(join(damaged, 'sweep.json'), 'delete it'), (e: Error) => {
      assert.equal(e.message, `${join(damaged, 'sweep.json')}: points[1].asnr_db is "31.2", not a number: delete it`);
      return true;
    });
  });

  it('papers refuses the fine-tuning options; a resumed sweep must keep its protocol', () => {
    const r = mam(['sweep', ...TINY_TRAIN, '--protocol', 'papers', '--fine-tune-epochs', '2', '--out', join(dir, 'x')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--protocol papers prunes each point in one shot .*remove --fine-tune-epochs/);
    const other = mam(['sweep', ...TINY_TRAIN, '--layers', 'dec2', '--grid', '0,0.5,0.9', '--out', out]);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /was made with --protocol papers: give --protocol papers to resume it, or another --out\n$/);
  });
});

describe('MAM\'s first step and --from, in the library', () => {
  before(async () => { await initBackend({ backend: 'wasm' }); });

  it('dropping the unselected connections changes no output on those windows (pruned as absent)', async () => {
    const config = tinyConfig({ seed: 3, decoder: [24], mamLayers: 'dec1', epochs: 3 });
    const trained = await startTraining({ ...config, spec: { ...config.spec, prunedAs: 'absent' } }, join(dir, 'drop'), { log: () => {} });
    const { model } = trained;
    const data = await prepareFromSource(config.source, config.pipeline);
    const before = reconstruct(model, data.train);
    const layers = model.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
    const removed = dropUnselected(model, layers, data.train);
    const mamLayer = layers.find((l) => l instanceof MamDense)!;
    assert.ok(removed > 0, 'some connections are never selected');
    assert.equal(sparsityOf([mamLayer]).nonzeros, 6 * 24 - removed);
    assert.equal(sparsityOf(layers.filter((l) => l !== mamLayer)).sparsity, 0, 'MAC layers untouched');
    const after = reconstruct(model, data.train);
    assert.ok(sameFloats(after, before).equal, 'the same outputs, bit for bit');
    model.dispose();
  });

  it('a MAC model copied into a MAM model (beta = 1) computes exactly what it did', () => {
    const mac = buildAutoencoder(specFromPreset('small', { kind: 'mac', encoder: [16], latent: 6, decoder: [24], seed: 4 }));
    const mamModel = buildAutoencoder(specFromPreset('small', { kind: 'mam', encoder: [16], latent: 6, decoder: [24], mamLayers: 'dec1,out', seed: 9 }));
    copyTrainedWeights(mac, mamModel);
    const x = tf.randomNormal([5, 128], 0, 1, 'float32', 7);
    const a = (mac.predict(x) as tf.Tensor).dataSync();
    const b = (mamModel.predict(x) as tf.Tensor).dataSync();
    assert.ok(sameFloats(a, b).equal);
    const other = buildAutoencoder(specFromPreset('small', { kind: 'mam', encoder: [16], latent: 6, decoder: [32], seed: 4 }));
    assert.throws(() => copyTrainedWeights(mac, other), /has layers 128x16, 16x6, 6x24, 24x128, this network 128x16, 16x6, 6x32, 32x128: give the same preset and sizes$/);
    tf.dispose([x, mac, mamModel, other] as unknown as tf.Tensor[]);
  });

  it('the paper-wide preset\'s dense MAC tail does not fit the STM32F767ZI\'s flash, as the C export stores it', () => {
    const spec = specFromPreset(PAPER_PRESET, { kind: 'mac' });
    assert.deepEqual([spec.window, ...spec.encoder, spec.latent, ...spec.decoder], [256, 256, 32, 512, 1024, 256]);
    const model = buildAutoencoder(spec);
    const net = exportNetwork(model, { fs: 256, window: 256, hop: 256, baseline: 'none', normalization: { method: 'window' }, split: DEFAULT_SPLIT, seed: 1 }, 4);
    const fp = footprint(net, TARGETS.stm32f767zi!);
    // Dense kernels and biases, float32: (32x512 + 512x1024 + 1024x256 + 256x256) + (512 + 1024 + 256 + 256).
    assert.equal(fp.flash_bytes, 4 * (868352 + 2048));
    assert.ok(fp.flash_bytes > 2 * 1024 * 1024);
    assert.equal(fp.fits, false);
    assert.deepEqual(fp.layers.map((l) => l.storage.chosen), ['dense', 'dense', 'dense', 'dense']);
    // The C export's own arrays (kernels and biases, the golden vectors left out) add up to it.
    const c = exportC(net, { goldenIn: new Float32Array(0), goldenOut: new Float32Array(0) });
    const bytes = { float: 4, uint8_t: 1, uint16_t: 2, uint32_t: 4, int32_t: 4 } as Record<string, number>;
    let declared = 0;
    for (const m of c.source.matchAll(/const (float|uint8_t|uint16_t|uint32_t|int32_t) (l\d+_\w+)\[(\d+)\]/g)) declared += bytes[m[1]!]! * Number(m[3]);
    assert.equal(declared, fp.flash_bytes);
    model.dispose();
  });
});

describe('mam train --from', () => {
  it('starts from a MAC model of the same shape (its preset and sizes by default) and records it', () => {
    const mac = join(dir, 'from-mac');
    const a = mam(['train', ...TINY_TRAIN, '--kind', 'mac', '--out', mac]);
    assert.equal(a.code, 0, a.stderr);
    const converted = join(dir, 'from-mam');
    const b = mam(['train', '--from', mac, '--mam-layers', 'dec2', '--epochs', '3', '--vcon-epochs', '1', '--synth-records', '6', '--synth-seconds', '12', '--out', converted]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /starting from the weights of .*from-mac \(a MAC model\); MAM layers dec2 start as MAC on these weights \(beta 1\)/);
    const meta = JSON.parse(readFileSync(join(converted, 'mam.json'), 'utf8'));
    assert.equal(meta.training.from.kind, 'mac');
    assert.deepEqual(meta.spec.decoder, [24, 24]);
    assert.deepEqual(meta.spec.mamLayers, ['dec2']);
    const bad = mam(['train', '--from', mac, '--decoder', '24', '--epochs', '2', '--out', join(dir, 'nope')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from .* is a 128-16-6-24-24-128 network, the options give 128-16-6-24-128/);
    assert.ok(!existsSync(join(dir, 'nope')));
  });
});

describe('mam paper', () => {
  it('trains both kinds once, sweeps both protocols, and tabulates each kind\'s point at the target', () => {
    const out = join(dir, 'paper');
    const r = mam(['paper', '--mam-start', 'mac', '--preset', 'small', ...TINY_TRAIN, '--steps', '1', '--fine-tune-epochs', '1', '--papers-grid', '0,0.5', '--finetune-grid', '0,0.5',
      '--target', '-100', '--no-mcu', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const table = JSON.parse(r.stdout) as PaperTable;
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'paper.json'), 'utf8')), table);
    assert.deepEqual(table.tail_layers, ['dec1', 'dec2', 'out']);
    assert.deepEqual(table.mam_layers, ['dec2']);
    assert.deepEqual(table.rows.map((x) => `${x.protocol} ${x.kind} ${x.pruned_layers.join('+')}`), ['papers mac dec2', 'papers mam dec2', 'finetune mac dec1+dec2+out', 'finetune mam dec1+dec2+out']);
    // One pair of dense models for both sweeps: MAC, then MAM from its weights.
    assert.match(r.stderr, /training the dense MAC model, then the MAM model from its weights \(lr 0\.0003\)/);
    assert.equal(table.mam_start, 'mac');
    assert.equal(table.drop_unselected, true);
    const mamMeta = JSON.parse(readFileSync(join(out, 'models', 'mam', 'mam.json'), 'utf8'));
    assert.equal(mamMeta.training.from.dir, join(out, 'models', 'mac'));
    assert.equal(mamMeta.training.options.learningRate, 3e-4);
    for (const row of table.rows) {
      const sweep = JSON.parse(readFileSync(join(out, row.protocol, 'sweep.json'), 'utf8')) as SweepFile;
      assert.equal(row.dense_asnr_db, sweep.points.find((p) => p.kind === row.kind && p.sparsity === 0)!.asnr_db);
      // At -100 dB every point reaches the target: the sparsest one is chosen.
      assert.equal(row.point!.sparsity, 0.5);
      // dense tail: 6x24 + 24x24 + 24x128 weights, each float32, plus the biases.
      assert.equal(row.dense.weights, 6 * 24 + 24 * 24 + 24 * 128);
      assert.equal(row.dense.flash_bytes, 4 * (row.dense.weights + 24 + 24 + 128));
      const pruned = row.protocol === 'papers' ? 24 * 24 : row.dense.weights;
      assert.equal(row.at_target!.nonzeros, row.dense.weights - Math.round(0.5 * pruned));
      assert.equal(row.dense.mcu, null);
    }
    assert.equal(table.mcu_note, 'not asked for (--no-mcu)');
    // The first step ran before each pruning of the MAM model (step 0 in its record).
    const pruned = JSON.parse(readFileSync(join(out, 'papers', 'mam', 's0.5', 'mam.json'), 'utf8'));
    assert.equal(pruned.pruning[0].steps[0].step, 0);
    // Run again: nothing is trained or pruned again, and the table is the same.
    const again = mam(['paper', '--mam-start', 'mac', '--preset', 'small', ...TINY_TRAIN, '--steps', '1', '--fine-tune-epochs', '1', '--papers-grid', '0,0.5', '--finetune-grid', '0,0.5',
      '--target', '-100', '--no-mcu', '--out', out, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /epoch \d+:|pruning to/);
    assert.deepEqual({ ...JSON.parse(again.stdout), seconds: 0 }, { ...table, seconds: 0 });
    // Other training options on the same directory: refused, nothing reused by mistake.
    const other = mam(['paper', '--mam-start', 'mac', '--preset', 'small', ...TINY_TRAIN.map((a) => (a === '3' ? '4' : a)), '--papers-grid', '0,0.5', '--finetune-grid', '0,0.5', '--no-mcu', '--out', out]);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /models\/mac holds a run with another training options: give the options it was made with, or remove it/);
    const md = readFileSync(join(out, 'paper.md'), 'utf8');
    assert.match(md, /\| papers \| MAM \| dec2 \|/);
    assert.match(md, /- papers: not reproduced: both tails fit at the target/);
  });
});
