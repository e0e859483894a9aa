// Training and evaluation end to end on a tiny autoencoder: loss goes down, a seed repeats a
// run bit for bit, a resumed run equals an uninterrupted one, evaluation of the saved model
// equals evaluation in memory, and the saved reconstructions recompute to the reported ASNR.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { initBackend } from '../src/backend.js';
import { tinyConfig } from './fixtures.js';
import { evaluate, evaluationData } from '../src/eval/evaluate.js';
import { snrDb } from '../src/metrics/reconstruction.js';
import { loadAutoencoder } from '../src/model/metadata.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';
import { reconstruct } from '../src/model/infer.js';
import { mse } from '../src/train/trainer.js';
import { prepareFromSource } from '../src/data/source.js';
import { resumeTraining, startTraining, type TrainConfig } from '../src/train/session.js';
import { setRunDefaults } from '../src/train/steppers.js';
import { mam, startMam, tempDir } from './cli-helpers.js';

const dir = tempDir('mam-train-test-');
const quiet = { log: () => {} };

function config(seed = 3): TrainConfig {
  return tinyConfig({ seed, decoder: [16], mamLayers: 1, splits: 2, epochs: 4, vconEpochs: 2, batchSize: 8 });
}

describe('training', () => {
  before(async () => { await initBackend({ backend: 'wasm' }); });

  it('lowers the loss, beats nothing by luck: the same seed gives the same weights bit for bit', async () => {
    const a = await startTraining(config(), join(dir, 'a'), quiet);
    const b = await startTraining(config(), join(dir, 'b'), quiet);
    const h = a.state.history;
    assert.equal(h.length, 4);
    assert.ok(h.at(-1)!.loss < h[0]!.loss * 0.8, `loss ${h[0]!.loss} -> ${h.at(-1)!.loss}`);
    assert.deepEqual(h.map((r) => r.beta), [0.5, 0, 0, 0]);
    assert.ok(readFileSync(join(dir, 'a', 'weights.bin')).equals(readFileSync(join(dir, 'b', 'weights.bin'))));
    const c = await startTraining(config(4), join(dir, 'c'), quiet);
    assert.ok(!readFileSync(join(dir, 'a', 'weights.bin')).equals(readFileSync(join(dir, 'c', 'weights.bin'))));
    void b; void c;
  });

  it('a run stopped mid-epoch and resumed ends exactly where an uninterrupted run does', async () => {
    let steps = 0;
    const stopped = await startTraining(config(), join(dir, 'r'), { ...quiet, shouldStop: () => ++steps > 11 });
    assert.equal(stopped.state.finished, false);
    assert.ok(stopped.state.batchInEpoch > 0, 'stopped inside an epoch');
    const resumed = await resumeTraining(join(dir, 'r'), quiet);
    assert.equal(resumed.state.finished, true);
    assert.ok(readFileSync(join(dir, 'a', 'weights.bin')).equals(readFileSync(join(dir, 'r', 'weights.bin'))), 'weights differ');
    assert.ok(readFileSync(join(dir, 'a', 'optimizer.bin')).equals(readFileSync(join(dir, 'r', 'optimizer.bin'))), 'optimizer state differs');
    const loss = (d: string) => (JSON.parse(readFileSync(join(dir, d, 'history.json'), 'utf8')) as Array<{ loss: number }>).map((r) => r.loss);
    assert.deepEqual(loss('r'), loss('a'));
  });

  it('restoreBest: the run ends on the weights of its best validation epoch, the start included, and a resumed run on the same ones', async () => {
    const cfg = () => {
      const c = tinyConfig({ seed: 4, kind: 'mac', epochs: 6, batchSize: 8 });
      // A learning rate high enough that the validation loss does not fall every epoch.
      c.options = { ...c.options, learningRate: 0.05, plateauPatience: 10, earlyStopPatience: 0, restoreBest: true };
      return c;
    };
    const lines: string[] = [];
    const run = await startTraining(cfg(), join(dir, 'best'), { log: (t) => lines.push(t) });
    const { state } = run;
    const { val } = await prepareFromSource(run.metadata.data.source, run.metadata.data.pipeline);
    const start = buildAutoencoder(run.metadata.spec);
    const losses = [mse(val.data, reconstruct(start, val)), ...state.history.map((r) => r.valLoss)];
    start.dispose();
    const bestEpoch = losses.indexOf(Math.min(...losses));
    assert.equal(state.best!.epoch, bestEpoch, `validation losses ${losses.join(', ')}`);
    assert.equal(state.restoredEpoch, bestEpoch);
    assert.ok(lines.some((l) => l.startsWith('restored the weights of')), lines.join('\n'));
    // The model holds that epoch's weights: it validates at that epoch's loss (the engine's figure, recomputed by tfjs).
    const now = mse(val.data, reconstruct(run.model, val));
    assert.ok(Math.abs(now - state.best!.valLoss) <= 1e-5 * state.best!.valLoss, `${now} against ${state.best!.valLoss}`);
    assert.notEqual(bestEpoch, state.history.length, 'this case should end on an earlier epoch than the last');
    // Stopped inside epoch 3 and resumed: the snapshot travelled with the checkpoint.
    let steps = 0;
    await startTraining(cfg(), join(dir, 'best-r'), { ...quiet, shouldStop: () => ++steps > 2.5 * 9 });
    const resumed = await resumeTraining(join(dir, 'best-r'), quiet);
    assert.equal(resumed.state.restoredEpoch, bestEpoch);
    assert.ok(readFileSync(join(dir, 'best', 'weights.bin')).equals(readFileSync(join(dir, 'best-r', 'weights.bin'))), 'weights differ');
  });

  it('restoreBest with vcon: only epochs of the finished (pure MAM) network count, not the start or the blend', async () => {
    const c = tinyConfig({ seed: 4, kind: 'mam', epochs: 5, vconEpochs: 2, batchSize: 8 });
    c.options = { ...c.options, earlyStopPatience: 0, restoreBest: true };
    const run = await startTraining(c, join(dir, 'best-mam'), quiet);
    run.model.dispose();
    const pure = run.state.history.filter((r) => r.beta === 0);
    assert.ok(pure.length >= 2 && pure.length < run.state.history.length, `betas ${run.state.history.map((r) => r.beta)}`);
    const best = pure.reduce((a, r) => (r.valLoss < a.valLoss ? r : a));
    assert.equal(run.state.restoredEpoch, best.epoch);
  });

  it('a resume during vcon keeps reduce-on-plateau and early stopping where they were', async () => {
    const cfg = () => {
      const c = config();
      c.options = { ...c.options, epochs: 7, vconEpochs: 2, plateauPatience: 1, plateauFactor: 0.5, earlyStopPatience: 4 };
      return c;
    };
    const whole = await startTraining(cfg(), join(dir, 'p1'), quiet);
    let steps = 0;
    await startTraining(cfg(), join(dir, 'p2'), { ...quiet, shouldStop: () => ++steps > 5 }); // inside epoch 1
    const resumed = await resumeTraining(join(dir, 'p2'), quiet);
    const lr = (h: typeof whole.state.history) => h.map((r) => r.learningRate);
    assert.deepEqual(lr(resumed.state.history), lr(whole.state.history));
    assert.deepEqual([resumed.state.stopKind, resumed.state.epoch], [whole.state.stopKind, whole.state.epoch]);
    assert.ok(readFileSync(join(dir, 'p1', 'weights.bin')).equals(readFileSync(join(dir, 'p2', 'weights.bin'))), 'weights differ');
  });

  it('neither the thread count nor the tfjs backend changes the model: 1 and 2 threads, wasm and cpu, bit for bit', async () => {
    const weights = async (name: string, threads: number, backend: string) => {
      await initBackend({ backend });
      setRunDefaults({ threads });
      const lines: string[] = [];
      await startTraining(config(), join(dir, name), { log: (t) => lines.push(t) });
      assert.ok(lines.includes(`training: engine, ${threads} thread${threads > 1 ? 's' : ''}`), lines.join('\n'));
      return readFileSync(join(dir, name, 'weights.bin'));
    };
    try {
      const reference = await weights('t1', 1, 'wasm');
      assert.ok((await weights('t2', 2, 'wasm')).equals(reference), '2 threads');
      assert.ok((await weights('t3', 3, 'cpu')).equals(reference), '3 threads, cpu backend (which makes the initial weights)');
      assert.ok(readFileSync(join(dir, 'a', 'weights.bin')).equals(reference), 'the default threads');
    } finally {
      setRunDefaults({ threads: undefined });
      await initBackend({ backend: 'wasm' });
    }
  });

  it('trains through tfjs autograd too (MAM_TRAIN_ENGINE=tfjs), to about the same loss', async () => {
    setRunDefaults({ engine: 'tfjs' });
    const lines: string[] = [];
    try {
      const viaTfjs = await startTraining(config(), join(dir, 'tfjs'), { log: (t) => lines.push(t) });
      assert.ok(lines.includes('training: tfjs autograd'));
      const viaEngine = JSON.parse(readFileSync(join(dir, 'a', 'history.json'), 'utf8')) as Array<{ loss: number; valLoss: number }>;
      const h = viaTfjs.state.history;
      assert.ok(h.at(-1)!.loss < h[0]!.loss * 0.8);
      // Different summation orders, the same mathematics: the curves agree to a few percent.
      for (const [i, r] of h.entries()) assert.ok(Math.abs(r.loss / viaEngine[i]!.loss - 1) < 0.05, `epoch ${i + 1}: ${r.loss} vs ${viaEngine[i]!.loss}`);
    } finally {
      setRunDefaults({ engine: undefined });
    }
  });

  it('evaluating the saved model equals evaluating the one in memory', async () => {
    const run = await startTraining(config(), join(dir, 'e'), quiet);
    const data = await evaluationData(run.metadata);
    const inMemory = evaluate(run.model, data);
    const { model, metadata } = await loadAutoencoder(join(dir, 'e'));
    const saved = evaluate(model, await evaluationData(metadata));
    assert.equal(saved.overall.asnr_db, inMemory.overall.asnr_db);
    assert.deepEqual(saved.reconstruction, inMemory.reconstruction);
    assert.equal(data.split, 'test');
    assert.ok(Number.isFinite(inMemory.overall.asnr_db));
  });
});

describe('mam train and mam eval', () => {
  it('--preset real: its recipe is printed and stored, a flag given wins, and the run ends on its best epoch', async () => {
    const record = fileURLToPath(new URL('../../data/wfdb/mitdb_100_60s', import.meta.url));
    const out = join(dir, 'real');
    const r = mam(['train', record, '--preset', 'real', '--kind', 'mac', '--epochs', '2', '--split', '0.7,0.15,0.15', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /preset real: --latent-activation linear --windows rr --baseline highpass --init pca --restore-best --vcon-epochs 0/);
    assert.match(r.stderr, /starting from PCA/);
    const { model, metadata } = await loadAutoencoder(out);
    model.dispose();
    assert.equal(metadata.spec.latentActivation, 'linear');
    const p = metadata.data.pipeline;
    assert.deepEqual([p.windows, p.baseline, metadata.spec.window, metadata.spec.latent], ['rr', 'highpass', 256, 28]);
    const o = metadata.training!.options;
    assert.deepEqual([o.init, o.restoreBest], ['pca', true]);
    const state = metadata.training!.state;
    const summary = JSON.parse(r.stdout) as { restored_epoch: number; val_asnr_db: number };
    assert.equal(summary.restored_epoch, state.best!.epoch);
    assert.equal(summary.val_asnr_db, state.best!.valAsnrDb);
    // A flag given on the command line wins over the recipe.
    const fixed = mam(['train', record, '--preset', 'real', '--kind', 'mac', '--epochs', '1', '--windows', 'fixed', '--init', 'random', '--out', join(dir, 'real-fixed')]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.doesNotMatch(fixed.stderr, /starting from PCA/);
    const f = await loadAutoencoder(join(dir, 'real-fixed'));
    f.model.dispose();
    assert.deepEqual([f.metadata.data.pipeline.windows, f.metadata.data.pipeline.baseline, f.metadata.training!.options.init], [undefined, 'highpass', undefined]);
    // Its rr windows are scored on the segments as they were: the saved reconstruction recomputes to the reported ASNR, with rows of each segment's length.
    const csv = join(dir, 'real-rec.csv');
    const e = mam(['eval', '--model', out, '--json', '--save-reconstruction', csv]);
    assert.equal(e.code, 0, e.stderr);
    const report = JSON.parse(e.stdout) as { asnr_db: number; windows: number; compression_ratio: number };
    const rows = new Map<number, { x: number[]; y: number[] }>();
    for (const line of readFileSync(csv, 'utf8').trim().split('\n').slice(1)) {
      const [w, , x, y] = line.split(',').slice(-4).map(Number) as [number, number, number, number];
      if (!rows.has(w)) rows.set(w, { x: [], y: [] });
      rows.get(w)!.x.push(x);
      rows.get(w)!.y.push(y);
    }
    assert.equal(rows.size, report.windows);
    assert.ok([...rows.values()].some(({ x }) => x.length !== 256), 'segments keep their own lengths');
    const asnr = [...rows.values()].reduce((s, { x, y }) => s + snrDb(x, y), 0) / rows.size;
    assert.ok(Math.abs(asnr - report.asnr_db) < 1e-9, `recomputed ${asnr}, reported ${report.asnr_db}`);
    // Samples in per value out: the mean segment length over 28 latent values and the length.
    const samples = [...rows.values()].reduce((s, { x }) => s + x.length, 0);
    assert.ok(Math.abs(report.compression_ratio - samples / rows.size / 29) < 1e-9, `${report.compression_ratio}`);
    assert.match(mam(['eval', '--model', out, '--annotations', 'atr']).stderr, /rr windows are resampled segments: evaluate it without --annotations/);
    assert.match(mam(['eval', '--model', out, '--lowpass', '40']).stderr, /rr windows are resampled segments: evaluate without --lowpass/);
    // --from such a model takes its preset, and so its recipe, but its weights instead of a PCA start.
    const from = mam(['train', record, '--from', out, '--kind', 'mac', '--epochs', '1', '--out', join(dir, 'real-from')]);
    assert.equal(from.code, 0, from.stderr);
    assert.match(from.stderr, /preset real: /);
    assert.doesNotMatch(from.stderr, /small preset|starting from PCA/);
    // Recordings with the preset made for ECGSYN: a note names the one for them.
    const small = mam(['train', record, '--epochs', '1', '--out', join(dir, 'small-real')]);
    assert.match(small.stderr, /note: the small preset is made for ECGSYN; for real recordings --preset real/);
  });

  it('eval --save-reconstruction recomputes to the reported ASNR', () => {
    const model = join(dir, 'cli');
    const t = mam(['train', '--out', model, '--epochs', '2', '--vcon-epochs', '1', '--synth-records', '6', '--synth-seconds', '8', '--json']);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(JSON.parse(t.stdout).epochs, 2);
    assert.match(t.stderr, /baseline: PCA with 16 components/);
    const csv = join(dir, 'rec.csv');
    const e = mam(['eval', '--model', model, '--json', '--save-reconstruction', csv]);
    assert.equal(e.code, 0, e.stderr);
    const report = JSON.parse(e.stdout) as { asnr_db: number; windows: number; records: unknown[]; compression_ratio: number };
    assert.equal(report.compression_ratio, 8); // windows of 128, latent 16
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'record,window,sample,original,reconstruction');
    const windows = new Map<number, { x: number[]; y: number[] }>();
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      const [w, , x, y] = cells.slice(-4).map(Number) as [number, number, number, number];
      if (!windows.has(w)) windows.set(w, { x: [], y: [] });
      windows.get(w)!.x.push(x);
      windows.get(w)!.y.push(y);
    }
    assert.equal(windows.size, report.windows);
    const asnr = [...windows.values()].reduce((s, { x, y }) => s + snrDb(x, y), 0) / windows.size;
    assert.ok(Math.abs(asnr - report.asnr_db) < 1e-9, `recomputed ${asnr}, reported ${report.asnr_db}`);
  });

  it('Ctrl-C stops at the end of a step, leaves a checkpoint, and --resume finishes the run', async () => {
    const model = join(dir, 'sigint');
    const child = startMam(['train', '--out', model, '--epochs', '50', '--vcon-epochs', '1', '--synth-records', '6', '--synth-seconds', '8']);
    let stderr = '';
    let signalled = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!signalled && /epoch 2: loss/.test(stderr)) { signalled = true; child.kill('SIGINT'); }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr); // 128 + SIGINT: stopped, saved
    assert.match(stderr, /stopping after this step/);
    assert.match(stderr, /stopped: .* after \d+ epochs .*continue with: mam train --resume/);
    const state = JSON.parse(readFileSync(join(model, 'mam.json'), 'utf8')).training.state as { finished: boolean; epoch: number };
    assert.equal(state.finished, false);
    assert.ok(state.epoch >= 2 && state.epoch < 50);
    const r = mam(['train', '--resume', model, '--epochs', String(state.epoch + 1), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).epochs, state.epoch + 1);
    assert.equal(JSON.parse(r.stdout).finished, true);
  });

  it('bad options and inputs: one line, exit 2 for a bad setting, else 1', () => {
    for (const [args, pattern, code] of [
      [['train', '--kind', 'bogus'], /^mam: --kind must be one of mam, mac, got "bogus"$/, 2],
      [['train', '--mam-layers', 'dec9'], /^mam: --mam-layers dec9: no layer named dec9; the layers are enc1, latent, dec1, out$/, 2],
      [['train', '--splits', '8'], /^mam: --splits 8: MAM layer dec1 has 16 inputs, and slices of fewer than 3 make it plain MAC; give at most 5$/, 2],
      [['train', '--epochs', '10', '--vcon-epochs', '10'], /^mam: --vcon-epochs 10 must be fewer than --epochs 10: the network has to end as pure MAM$/, 2],
      [['train', '--synth-records', '2', '--synth-seconds', '4', '--out', join(dir, 'tiny')], /^mam: no validation windows \(12 training windows in all\): give more data \(more or longer recordings, or --synth-records \/ --synth-seconds\)$/, 1],
      [['train', '--latent', '200'], /^mam: --latent 200: an autoencoder's latent must be smaller than its window \(128\)/, 2],
      [['train', '--plateau-factor', '5'], /^mam: --plateau-factor must be between 0 and 1/, 2],
      [['train', '--resume', join(dir, 'cli'), '--lr', '0.1'], /^mam: --resume continues with the settings saved in the model directory; only --epochs \(and --threads, which does not change the result\) can change \(remove --lr\)$/, 2],
      [['train', '--threads', '0'], /^mam: --threads must be a whole number >= 1, got "0"; e.g. --threads 2$/, 2],
      [['train', '--resume', join(dir, 'cli'), '--epochs', '1'], /^mam: --epochs 1: .* has trained 2 epochs and its vcon lasts 1; give a whole number of at least 2$/, 2],
      [['train', '--resume', join(dir, 'nowhere')], /^mam: model directory .*nowhere not found: give the --out directory of a 'mam train' run$/, 1],
      [['eval', '--model', join(dir, 'nowhere')], /^mam: model directory .*nowhere not found/, 1],
      [['eval', '--model', join(dir, 'cli'), '--fs', '360', '--adc-gain', '200'], /^mam: --fs, --adc-gain only apply to recordings given to mam eval; .* remove --fs, --adc-gain or give recordings$/, 2],
    ] as Array<[string[], RegExp, number]>) {
      const r = mam(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, pattern);
    }
  });
});
