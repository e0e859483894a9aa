// How a training run takes its steps: through the training engine (src/train/engine/, the
// default: fast, on --threads threads, the same bits for any count) or through tfjs's autograd
// (any model and optimizer), behind one Stepper interface that the loop (trainer.ts) drives.
// Also the trainable variables in the order the optimizer keeps them.
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { WindowSet } from '../data/pipeline.js';
import { PrunableDense } from '../layers/prunable-dense.js';
import { reconstruct } from '../model/infer.js';
import { readAccBeta, readAdamState, writeAdamState, type AdamInternals } from './adam-state.js';
import { setModelBeta } from './beta.js';
import { engineUnsupported, TrainingEngine } from './engine/engine.js';
import { ADAM } from './engine/program.js';

/** Trainable variables in a fixed order: Adam keeps its moments by position, not by name. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** How a run is executed; none of it changes the result. */
export interface RunSettings {
  /** Threads of the training engine (default: the cores available). The same bits for any count. */
  threads?: number;
  /** 'tfjs' trains through tfjs's autograd instead of the engine (slower; for comparisons). Default: $MAM_TRAIN_ENGINE, else the engine. */
  engine?: 'engine' | 'tfjs';
}

const runDefaults: RunSettings = {};

/**
 * Sets how runs that are not told otherwise execute (the CLI's --threads): every training in
 * this process, including pruning's fine-tuning, then uses it. Results do not depend on it.
 */
export function setRunDefaults(settings: RunSettings): void {
  Object.assign(runDefaults, settings);
}

/** Threads a run uses when not told: --threads, else one per core available. */
export function defaultThreads(): number {
  return runDefaults.threads ?? availableParallelism();
}

/** One optimizer step and a forward pass over a window set: by the engine, or by tfjs's autograd. */
export interface Stepper {
  readonly name: string;
  /** Trains on `rows` windows of `batch` at the MAM layers' `beta`, towards `target` (default: the batch); the loss before the step. */
  step(batch: Float32Array, rows: number, beta: number, learningRate: number, target?: Float32Array): number;
  reconstruct(set: WindowSet, beta: number): Float32Array;
  /** Whether the weights are all finite. */
  finite(): boolean;
  /** Brings the tfjs model and optimizer up to date with the training so far. */
  sync(): Promise<void>;
}

export async function makeStepper(model: tf.LayersModel, optimizer: tf.Optimizer, rows: number, settings: RunSettings): Promise<Stepper> {
  const choice = settings.engine ?? runDefaults.engine ?? (process.env.MAM_TRAIN_ENGINE === 'tfjs' ? 'tfjs' : 'engine');
  const variables = trainableVariables(model);
  if (choice === 'engine' && engineUnsupported(model) === null && isDefaultAdam(optimizer)) {
    const engine = await TrainingEngine.create(model, Math.max(rows, EVAL_ROWS), settings.threads ?? defaultThreads());
    const moments = readAdamState(optimizer, variables);
    if (moments) {
      engine.setMoments(moments);
    } else { // no step taken yet: the engine's moments are zero, as tfjs would make them
      engine.accBeta = readAccBeta(optimizer);
      engine.iterations = optimizer.iterations;
    }
    return {
      name: `engine, ${engine.threads} thread${engine.threads > 1 ? 's' : ''}`,
      step: (batch, n, beta, lr, target) => engine.step(batch, n, beta, lr, target),
      reconstruct: (set, beta) => engine.predict(set.data, set.count, beta),
      finite: () => engine.weightsFinite(),
      sync: async () => {
        engine.writeModel();
        await writeAdamState(optimizer, variables, engine.moments());
      },
    };
  }
  const pruned = model.layers.filter((l): l is PrunableDense => {
    if (!(l instanceof PrunableDense)) return false;
    const { kept, total } = l.maskCounts();
    return kept < total;
  });
  const adam = optimizer as unknown as AdamInternals;
  return {
    name: 'tfjs autograd',
    step(batch, n, beta, lr, target = batch) {
      const length = batch.length / rows;
      setModelBeta(model, beta);
      adam.learningRate = lr;
      const loss = tf.tidy(() => {
        const x = tf.tensor2d(batch.subarray(0, n * length), [n, length]);
        const y = target === batch ? x : tf.tensor2d(target.subarray(0, n * length), [n, length]);
        const cost = optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar, true, variables);
        return cost!.dataSync()[0]!;
      });
      // Adam's momentum would move pruned weights; the forward never sees them, but keep them 0.
      for (const layer of pruned) layer.applyMask();
      return loss;
    },
    reconstruct(set, beta) {
      setModelBeta(model, beta);
      return reconstruct(model, set);
    },
    finite: () => true, // a non-finite weight shows in the loss, which tfjs computes with it
    sync: async () => {},
  };
}

/** The engine's update is tfjs's Adam with its default constants (tf.train.adam(lr)). */
function isDefaultAdam(optimizer: tf.Optimizer): boolean {
  const c = optimizer.getConfig() as { beta1?: number; beta2?: number; epsilon?: number };
  return optimizer.getClassName() === 'Adam' && c.beta1 === 0.9 && c.beta2 === 0.999 && Math.fround(c.epsilon ?? NaN) === ADAM.eps;
}

/** Windows the engine's buffers hold for a forward pass (validation). */
const EVAL_ROWS = 256;
