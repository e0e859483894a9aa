// The training loop: Adam on the mean squared reconstruction error, one optimizer step per
// batch, with the vanishing-contributions beta stepped every batch, reduce-on-plateau and early
// stopping on the validation loss, and everything a resumed run needs kept in TrainState.
//
// Resuming gives the same result as not stopping: each epoch's batch order is drawn from
// (seed, epoch) alone, beta from the step count alone, and the Adam moments and bias
// corrections are saved and restored exactly.
import * as tf from '@tensorflow/tfjs';
import type { WindowSet } from '../data/pipeline.js';
import type { BestEpoch } from './best.js';
import { MamError, msg } from '../errors.js';
import { seededRandom, shuffleInPlace } from '../data/random.js';
import { readAccBeta, type AdamInternals } from './adam-state.js';
import { setModelBeta } from './beta.js';
import { makeStepper, type RunSettings } from './steppers.js';
import { vconBeta, type VconShape } from './vcon.js';

/** What tfjs optimizers' getWeights/setWeights exchange. */
export type NamedTensor = { name: string; tensor: tf.Tensor };

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Epochs over which beta goes from 1 (MAC) to 0 (MAM); 0 = pure MAM from the start. */
  vconEpochs: number;
  vconShape: VconShape;
  /** Reduce the learning rate by this factor after `plateauPatience` epochs without improvement. */
  plateauFactor: number;
  plateauPatience: number;
  minLearningRate: number;
  /** Stop after this many epochs without improvement (0: never). Counted after vcon ends. */
  earlyStopPatience: number;
  seed: number;
  /**
   * Denoising: white noise of this standard deviation (in the normalised units of the windows)
   * added to each training window's input, the output still compared with the clean window: a
   * regulariser. Unset or 0: none.
   */
  inputNoise?: number;
  /** The starting weights: unset, from the spec's seed; 'pca': the PCA baseline exactly (model/pca-start.ts), random spare units. */
  init?: 'pca';
  /** End on the weights of the best validation epoch (train/best.ts), not on the last one. */
  restoreBest?: boolean;
}

// 120 epochs (vcon over the first 60) on 600 synthetic traces: what the engine's speed buys in
// about two minutes on 2 cores (README, "Quality"); MAM gains most from the epochs.
export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  epochs: 120,
  batchSize: 64,
  learningRate: 3e-3,
  vconEpochs: 60,
  vconShape: 'linear',
  plateauFactor: 0.3,
  plateauPatience: 3,
  minLearningRate: 1e-6,
  earlyStopPatience: 8,
  seed: 1,
};

export interface EpochRecord {
  epoch: number;
  loss: number;
  valLoss: number;
  valAsnrDb: number;
  beta: number;
  learningRate: number;
  seconds: number;
}

/** Where training is; saved with every checkpoint. */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Batches completed inside the current epoch (non-zero only after an interruption). */
  batchInEpoch: number;
  /** Optimizer steps taken. */
  step: number;
  learningRate: number;
  /** Best validation loss once pure MAM; null until then (JSON has no Infinity). */
  bestValLoss: number | null;
  epochsWithoutImprovement: number;
  /** Training loss summed over the current epoch's batches so far (for an interrupted epoch). */
  epochLossSum: number;
  history: EpochRecord[];
  finished: boolean;
  stopReason?: string;
  /** Why `finished`: the epoch count was reached, or early stopping fired. */
  stopKind?: 'epochs' | 'early';
  /** Adam's bias corrections beta1^t, beta2^t as float32 (tfjs would recompute them with pow). */
  adamAccBeta?: [number, number];
  /** With options.restoreBest: the best validation epoch so far (its weights in BEST_WEIGHTS_FILE); 0 is the start. */
  best?: BestEpoch;
  /** With options.restoreBest, once finished: the epoch whose weights the run ended on. */
  restoredEpoch?: number;
}

/** The validation ASNR and epoch of the weights a run holds: the restored epoch's (restoreBest), else the last one's. */
export function heldValidation(state: TrainState): { epoch: number; valAsnrDb: number; restored: boolean } | undefined {
  if (state.restoredEpoch !== undefined && state.best) return { epoch: state.best.epoch, valAsnrDb: state.best.valAsnrDb, restored: true };
  const last = state.history.at(-1);
  return last && { epoch: last.epoch, valAsnrDb: last.valAsnrDb, restored: false };
}

export function initialTrainState(options: TrainOptions): TrainState {
  return {
    epoch: 0, batchInEpoch: 0, step: 0, learningRate: options.learningRate, bestValLoss: null,
    epochsWithoutImprovement: 0, epochLossSum: 0, history: [], finished: false,
  };
}

export interface TrainHooks {
  /** After each optimizer step; `totalSteps` is the run's (epochs x steps per epoch). */
  onStep?(state: TrainState, loss: number, totalSteps: number): void;
  /** After each epoch (a good time to save a checkpoint). */
  onEpoch?(state: TrainState, record: EpochRecord): Promise<void> | void;
  /** Once, before the first step: how the steps run (the engine and its threads, or tfjs). */
  onStart?(stepper: string): void;
  /** Asked after each step: true stops training there (Ctrl-C). */
  shouldStop?(): boolean;
  /** Validation ASNR of reconstructions (the metrics live elsewhere). */
  asnr(set: WindowSet, reconstruction: Float32Array): number;
}


/** Adam with the learning rate the state says; the caller owns (and disposes) it. */
export function makeOptimizer(state: TrainState): tf.Optimizer {
  return tf.train.adam(state.learningRate);
}

/** The mean squared error of b against a: the loss. */
export function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

/** batch[0, length) plus white noise of `std`, seeded by the epoch and the step (so a resumed run adds the same), into `out`. */
function noisy(batch: Float32Array, length: number, std: number, seed: number, epoch: number, step: number, out: Float32Array): Float32Array {
  const random = seededRandom((seed * 7919 + epoch * 104729 + (step + 1) * 15485863) | 0);
  for (let i = 0; i < length; i++) out[i] = batch[i]! + std * random.normal();
  return out;
}

/** The order of the training windows in an epoch: a function of (seed, epoch) only. */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  shuffleInPlace(order, seededRandom((seed * 7919 + epoch * 104729) | 0));
  return order;
}

/**
 * Trains `model` in place from `state` (fresh or loaded from a checkpoint) until the epochs
 * are done, early stopping fires, or hooks.shouldStop() says so. Returns the final state.
 * The model and optimizer are up to date when onEpoch runs and when this returns (onStep and
 * shouldStop may see them as of the last epoch: the engine holds the weights in between).
 */
export async function trainAutoencoder(
  model: tf.LayersModel, train: WindowSet, val: WindowSet, options: TrainOptions,
  state: TrainState, optimizer: tf.Optimizer, hooks: TrainHooks, settings: RunSettings = {},
): Promise<TrainState> {
  const n = train.length;
  if (train.count === 0 || val.count === 0) {
    throw new MamError(msg`no ${train.count === 0 ? 'training' : 'validation'} windows: give more data (more or longer recordings, or {source.records} / {source.generator.seconds})`);
  }
  const stepsPerEpoch = Math.ceil(train.count / options.batchSize);
  const vcon = { steps: options.vconEpochs * stepsPerEpoch, shape: options.vconShape };
  const adam = optimizer as unknown as AdamInternals;
  adam.learningRate = state.learningRate;
  const rows = Math.min(options.batchSize, train.count);
  const batch = new Float32Array(rows * n);
  let noiseBuffer: Float32Array | undefined;
  const stepper = await makeStepper(model, optimizer, rows, settings);
  hooks.onStart?.(stepper.name);
  const stop = async () => {
    setModelBeta(model, vconBeta(state.step, vcon)); // a model saved mid-vcon says where the blend is
    await stepper.sync();
    state.adamAccBeta = readAccBeta(optimizer);
    return state;
  };

  while (!state.finished && state.epoch < options.epochs) {
    const started = performance.now();
    const order = epochOrder(train.count, options.seed, state.epoch);
    for (let b = state.batchInEpoch; b < stepsPerEpoch; b++) {
      if (hooks.shouldStop?.()) return stop();
      const batchRows = order.subarray(b * options.batchSize, Math.min((b + 1) * options.batchSize, train.count));
      batchRows.forEach((w, r) => batch.set(train.data.subarray(w * n, (w + 1) * n), r * n));
      const input = options.inputNoise ? noisy(batch, batchRows.length * n, options.inputNoise, options.seed, state.epoch, b, noiseBuffer ??= new Float32Array(batch.length)) : batch;
      const loss = stepper.step(input, batchRows.length, vconBeta(state.step, vcon), state.learningRate, batch);
      if (!Number.isFinite(loss)) {
        // The last checkpoint (end of the previous epoch) stays as it was: nothing diverged is saved.
        throw new MamError(msg`training diverged at epoch ${state.epoch + 1}, step ${b + 1} (loss ${loss}): lower {learningRate} (now ${state.learningRate}) and train again`);
      }
      state.step++;
      state.batchInEpoch = b + 1;
      state.epochLossSum += loss;
      hooks.onStep?.(state, loss, options.epochs * stepsPerEpoch);
      // Let signals (Ctrl-C, SIGTERM) and timers through now and then: the steps are synchronous.
      if (performance.now() - lastYield > YIELD_MS) await yieldToEventLoop();
    }

    // End of the epoch: validate at the beta the next step will use (0 once vcon is over).
    const beta = vconBeta(state.step, vcon);
    if (!stepper.finite()) {
      throw new MamError(msg`training diverged in epoch ${state.epoch + 1} (a weight is no longer finite): lower {learningRate} (now ${state.learningRate}) and train again`);
    }
    const recon = stepper.reconstruct(val, beta);
    setModelBeta(model, beta);
    const valLoss = mse(val.data, recon);
    const record: EpochRecord = {
      epoch: state.epoch + 1,
      loss: state.epochLossSum / stepsPerEpoch,
      valLoss,
      valAsnrDb: hooks.asnr(val, recon),
      beta,
      learningRate: state.learningRate,
      seconds: (performance.now() - started) / 1000,
    };
    state.history.push(record);
    state.epoch++;
    state.batchInEpoch = 0;
    state.epochLossSum = 0;
    updateSchedules(state, options, record, beta, adam);
    await stepper.sync();
    state.adamAccBeta = readAccBeta(optimizer);
    if (state.epoch >= options.epochs) {
      state.finished = true;
      if (!state.stopKind) {
        state.stopKind = 'epochs';
        state.stopReason = `${options.epochs} epochs`;
      }
    }
    await hooks.onEpoch?.(state, record);
  }
  return state; // synced at the end of the last epoch
}

const YIELD_MS = 100;
let lastYield = performance.now();
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => { lastYield = performance.now(); resolve(); }));
}

/**
 * Reduce-on-plateau and early stopping on the validation loss, counted only once the network
 * is pure MAM (beta = 0): while beta falls the loss is not comparable from epoch to epoch.
 */
function updateSchedules(state: TrainState, options: TrainOptions, record: EpochRecord, beta: number, adam: AdamInternals): void {
  if (beta > 0 || !Number.isFinite(record.valLoss)) return;
  if (state.bestValLoss === null || record.valLoss < state.bestValLoss * (1 - 1e-4)) {
    state.bestValLoss = record.valLoss;
    state.epochsWithoutImprovement = 0;
    return;
  }
  state.epochsWithoutImprovement++;
  if (options.earlyStopPatience > 0 && state.epochsWithoutImprovement >= options.earlyStopPatience) {
    state.finished = true;
    state.stopKind = 'early';
    state.stopReason = `early stop: no improvement in ${options.earlyStopPatience} epochs`;
  }
  if (state.epochsWithoutImprovement % options.plateauPatience === 0) {
    state.learningRate = Math.max(options.minLearningRate, state.learningRate * options.plateauFactor);
    adam.learningRate = state.learningRate;
  }
}

/** Restores a checkpoint's optimizer state, including the exact bias corrections. */
export async function restoreOptimizer(optimizer: tf.Optimizer, weights: NamedTensor[], state: TrainState): Promise<void> {
  await optimizer.setWeights(weights); // copies them into the optimizer's own variables
  tf.dispose(weights.map((w) => w.tensor));
  const adam = optimizer as unknown as AdamInternals;
  const acc = state.adamAccBeta;
  if (acc) tf.tidy(() => { adam.accBeta1.assign(tf.scalar(acc[0])); adam.accBeta2.assign(tf.scalar(acc[1])); });
  adam.learningRate = state.learningRate;
}
