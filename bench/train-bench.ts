// Training speed of the autoencoder presets, MAC and MAM, in windows per second of optimizer
// steps (batch 64, Adam, pure MAM: beta 0, as after vcon): the training engine on 1 thread and
// on every core, tfjs's autograd on the backend in use (what `mam` trained with before the
// engine), and PyTorch training the same networks in the same run when it is installed
// (bench/torch_reference.py; apt-get install python3-torch). Ratios are taken within this run.
// Run with `npm run bench` (or `node dist/bench/train-bench.js [seconds]`).
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { buildAutoencoder, specFromPreset, type ModelKind } from '../src/model/autoencoder.js';
import { setModelBeta } from '../src/train/beta.js';
import { closeEnginePool, TrainingEngine } from '../src/train/engine/engine.js';
import { trainableVariables } from '../src/train/steppers.js';
import { DEFAULT_TRAIN_OPTIONS } from '../src/train/trainer.js';
import { bestTorch, runTorchReference } from './torch-reference.js';

const SECONDS = Number(process.argv[2] ?? 3);
const BATCH = DEFAULT_TRAIN_OPTIONS.batchSize;
const PRESETS = ['small', 'paper'] as const;
const KINDS: ModelKind[] = ['mac', 'mam'];
const GOALS = { small: { windows: 25_000, torch: 2 }, paper: { windows: 3_000, torch: 2.5 } } as const;
const MAM_OVER_MAC_GOAL = 1.1;

/** Steps per second of `step` over at least SECONDS, after a warm-up (best of three thirds). */
function stepsPerSecond(step: () => void): number {
  for (let i = 0; i < 5; i++) step();
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let steps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < (SECONDS * 1000) / 3) { step(); steps++; }
    best = Math.max(best, steps / ((performance.now() - t0) / 1000));
  }
  return best;
}

function batchOf(window: number): Float32Array {
  return tf.tidy(() => tf.randomNormal([BATCH, window], 0, 1, 'float32', 1).dataSync() as Float32Array);
}

async function engineSpeed(preset: string, kind: ModelKind, threads: number): Promise<number> {
  const spec = specFromPreset(preset, { kind });
  const model = buildAutoencoder(spec);
  const engine = await TrainingEngine.create(model, BATCH, threads);
  const x = batchOf(spec.window);
  const speed = stepsPerSecond(() => engine.step(x, BATCH, 0, 1e-3)) * BATCH;
  model.dispose();
  return speed;
}

function tfjsSpeed(preset: string, kind: ModelKind): number {
  const spec = specFromPreset(preset, { kind });
  const model = buildAutoencoder(spec);
  setModelBeta(model, 0);
  const x = tf.tensor2d(batchOf(spec.window), [BATCH, spec.window]);
  const optimizer = tf.train.adam(1e-3);
  const variables = trainableVariables(model);
  const speed = stepsPerSecond(() => tf.tidy(() => {
    optimizer.minimize(() => tf.losses.meanSquaredError(x, model.apply(x) as tf.Tensor) as tf.Scalar, false, variables);
  })) * BATCH;
  optimizer.dispose();
  x.dispose();
  model.dispose();
  return speed;
}

const info = await initBackend();
const cores = availableParallelism();
const threadCounts = [...new Set([1, cores])];
console.log(`training speed: batch ${BATCH}, Adam, beta 0 (pure MAM after vcon), ${SECONDS} s per figure (best third); ${cores} cores; tfjs backend ${info.name}`);

const torch = runTorchReference({ presets: [...PRESETS], kinds: KINDS, threads: threadCounts, seconds: SECONDS });
if (!torch.available) console.log(`PyTorch comparison skipped: ${torch.reason}`);

/**
 * MAM step time over its MAC twin's, both on one thread, timed in alternating short rounds
 * (the median of the rounds' ratios): load from elsewhere on the machine hits both alike.
 */
async function interleavedRatio(preset: string): Promise<number> {
  const engines = await Promise.all(KINDS.map(async (kind) => {
    const spec = specFromPreset(preset, { kind });
    return { engine: await TrainingEngine.create(buildAutoencoder(spec), BATCH, 1), x: batchOf(spec.window) };
  }));
  const ms = (e: (typeof engines)[number]): number => {
    let steps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 250) { e.engine.step(e.x, BATCH, 0, 1e-3); steps++; }
    return (performance.now() - t0) / steps;
  };
  for (const e of engines) ms(e); // warm-up
  const ratios: number[] = [];
  for (let round = 0; round < 9; round++) {
    const mac = ms(engines[0]!);
    ratios.push(ms(engines[1]!) / mac);
  }
  ratios.sort((a, b) => a - b);
  return ratios[4]!;
}

const rows: string[] = [];
for (const preset of PRESETS) {
  const best: Record<string, number> = {};
  for (const kind of KINDS) {
    const engine = await Promise.all(threadCounts.map((t) => engineSpeed(preset, kind, t)));
    const tfjs = tfjsSpeed(preset, kind);
    const top = Math.max(...engine);
    best[kind] = top;
    const ref = torch.available ? bestTorch(torch, preset, kind) : undefined;
    const goal = GOALS[preset];
    const parts = threadCounts.map((t, i) => `${engine[i]!.toFixed(0)} (${t} thread${t > 1 ? 's' : ''})`);
    let line = `${preset} ${kind}: engine ${parts.join(', ')} windows/s; tfjs autograd ${tfjs.toFixed(0)} (engine/tfjs ${(top / tfjs).toFixed(1)}x)`;
    if (ref) line += `; PyTorch ${torch.available ? torch.version : ''} ${ref.windowsPerSecond.toFixed(0)} (${ref.threads} thread${ref.threads > 1 ? 's' : ''}), engine/PyTorch ${(top / ref.windowsPerSecond).toFixed(2)}x (goal >= ${goal.torch}: ${top / ref.windowsPerSecond >= goal.torch ? 'met' : 'NOT met'})`;
    line += `; goal >= ${goal.windows}: ${top >= goal.windows ? 'met' : 'NOT met'}`;
    console.log(line);
  }
  const ratio = best.mac! / best.mam!;
  const interleaved = await interleavedRatio(preset);
  rows.push(`${preset}: MAM step / MAC step ${interleaved.toFixed(2)} on one thread, interleaved rounds (goal <= ${MAM_OVER_MAC_GOAL}: ${interleaved <= MAM_OVER_MAC_GOAL ? 'met' : 'NOT met'}); ${ratio.toFixed(2)} from the best figures above`);
}
for (const r of rows) console.log(r);
await closeEnginePool();
