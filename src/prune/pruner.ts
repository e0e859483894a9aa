// Progressive pruning of a trained autoencoder in memory: at each step, score the connections
// of the chosen layers, prune the lowest to the schedule's sparsity, fine-tune a few epochs
// (masked weights stay exactly zero: the trainer re-masks after every optimizer step), and
// measure the validation ASNR. MAM layers stay pure MAM (beta = 0) throughout.
import * as tf from '@tensorflow/tfjs';
import type { WindowSet } from '../data/pipeline.js';
import { msg, RequestError, setting } from '../errors.js';
import type { PrunedAs } from '../layers/mam-math.js';
import { MamDense } from '../layers/mam-dense.js';
import { PrunableDense, type LayerKind } from '../layers/prunable-dense.js';
import { reconstruct } from '../model/infer.js';
import { setModelBeta } from '../train/beta.js';
import { DEFAULT_TRAIN_OPTIONS, initialTrainState, trainAutoencoder, type TrainOptions } from '../train/trainer.js';
import { globalCounts, layerCounts, maskWithCount, mostPrunable, pruneOrder } from './masks.js';
import { sparsitySchedule, type ScheduleKind } from './schedule.js';
import { scoreLayers, type ScoreKind } from './scores.js';

export type PruneScope = 'global' | 'layer';

export interface PruneOptions {
  /** Fraction of the chosen layers' kernel entries to prune, in [0, 1). */
  sparsity: number;
  schedule: ScheduleKind;
  /** Pruning steps (ignored by 'oneshot'). */
  steps: number;
  /** Fine-tuning epochs after each step (0: none, as the MAM papers' one-shot pruning). */
  fineTuneEpochs: number;
  scope: PruneScope;
  score: ScoreKind;
  /** Names of the layers to prune; empty = every MAM and MAC layer. */
  layers: string[];
  /** Names of layers to leave dense. */
  exclude: string[];
  /** How pruned MAM connections take part in the max/min; undefined: as the model has it. */
  prunedAs?: PrunedAs;
  /**
   * MAM's free first step: before the schedule, prune every connection of the chosen MAM
   * layers that no training window selects as its slice's argmax or argmin.
   */
  dropUnselected?: boolean;
  learningRate: number;
  batchSize: number;
  seed: number;
}

export const DEFAULT_PRUNE_OPTIONS: Omit<PruneOptions, 'sparsity'> = {
  schedule: 'agp',
  steps: 4,
  fineTuneEpochs: 4,
  scope: 'global',
  score: 'magnitude',
  layers: [],
  exclude: [],
  learningRate: 3e-3,
  batchSize: 64,
  seed: 1,
};

/** Prune options where the batch size and seed default to the model's training run's. */
export type PruneRequest = Omit<PruneOptions, 'batchSize' | 'seed'> & Partial<Pick<PruneOptions, 'batchSize' | 'seed'>>;

/** The options of `request`, with the batch size and seed it leaves out taken from the model's training options. */
export function withModelDefaults(request: PruneRequest, trainedWith: Pick<TrainOptions, 'batchSize' | 'seed'>): PruneOptions {
  const { batchSize, seed } = trainedWith;
  return { batchSize, seed, ...request };
}

export interface PruneStepRecord {
  /** 1, 2, ...; 0 is the first step of dropUnselected (no fine-tuning). */
  step: number;
  /** The schedule's sparsity for this step, and what the masks reached. */
  target: number;
  sparsity: number;
  valAsnrDb: number;
  fineTuneEpochs: number;
  seconds: number;
}

export interface LayerRow {
  name: string;
  kind: LayerKind;
  inputs: number;
  outputs: number;
  weights: number;
  nonzeros: number;
  sparsity: number;
  /** Whether the layer is among those pruned. */
  pruned: boolean;
  prunedAs?: PrunedAs;
}

export interface PruneHooks {
  log?(text: string): void;
  onStep?(record: PruneStepRecord): void;
  /** After each fine-tuning epoch. */
  onEpoch?(): void;
}

/**
 * The layers to prune, in network order: those named in `include` (all MAM and MAC layers when
 * it is empty) but not in `exclude`. Unknown names, or nothing left, are RequestErrors.
 */
export function layersToPrune(model: tf.LayersModel, include: string[], exclude: string[] = []): PrunableDense[] {
  const all = model.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
  const names = all.map((l) => l.name).join(', ');
  checkLayerNames(all.map((l) => l.name), include, exclude, "this model's");
  const chosen = all.filter((l) => (include.length === 0 || include.includes(l.name)) && !exclude.includes(l.name));
  if (chosen.length === 0) throw new RequestError(msg`{layers}/{exclude} leave no layer to prune; this model's layers are ${names}`);
  return chosen;
}

/** The layers and exclude options must name layers of `available`; `whose` says whose ("this model's"). */
export function checkLayerNames(available: string[], include: string[], exclude: string[], whose: string): void {
  for (const [field, list] of [['layers', include], ['exclude', exclude]] as const) {
    const unknown = list.filter((n) => !available.includes(n));
    if (unknown.length > 0) throw new RequestError(msg`${setting(field)}: no layer named ${unknown.join(', ')}; ${whose} layers are ${available.join(', ')}`);
  }
}

/** Kernel entries and non-zeros (kept connections) over `layers`. */
export function sparsityOf(layers: PrunableDense[]): { weights: number; nonzeros: number; sparsity: number } {
  let weights = 0, nonzeros = 0;
  for (const l of layers) {
    const { total, kept } = l.maskCounts();
    weights += total;
    nonzeros += kept;
  }
  return { weights, nonzeros, sparsity: weights ? 1 - nonzeros / weights : 0 };
}

/** One row per MAM or MAC layer of the model, as the pruning report prints it. */
export function layerTable(model: tf.LayersModel, pruned: string[]): LayerRow[] {
  return model.layers.filter((l): l is PrunableDense => l instanceof PrunableDense).map((l) => {
    const [inputs, outputs] = l.kernelShape();
    const { total, kept } = l.maskCounts();
    return {
      name: l.name, kind: l.kind, inputs, outputs, weights: total, nonzeros: kept, sparsity: 1 - kept / total,
      pruned: pruned.includes(l.name),
      ...(l instanceof MamDense ? { prunedAs: l.prunedAs } : {}),
    };
  });
}

/**
 * What pruning computes with: pure MAM (beta = 0), and options.prunedAs on every MAM layer (a
 * model-wide setting: the spec has one). Before the first score, and before measuring "before".
 */
export function setPruningMode(model: tf.LayersModel, options: Pick<PruneOptions, 'prunedAs'>): void {
  if (options.prunedAs) for (const l of model.layers) if (l instanceof MamDense) l.setPrunedAs(options.prunedAs);
  setModelBeta(model, 0);
}

/** A target must be in [0, 1) and no lower than the layers' sparsity now (masks only grow). */
export function checkSparsity(target: number, now: { sparsity: number; weights: number }): void {
  if (!(target >= 0 && target < 1)) {
    throw new RequestError(msg`{sparsity} ${target}: give a fraction in [0, 1), e.g. {sparsity} 0.9 to keep 10% of the weights`);
  }
  if (target < now.sparsity - 0.5 / now.weights) {
    throw new RequestError(msg`{sparsity} ${target}: these layers are already ${now.sparsity.toFixed(4)} sparse and pruned weights do not come back; give at least that`);
  }
}

export function validationAsnr(model: tf.LayersModel, val: WindowSet, asnr: AsnrFn): number {
  return asnr(val, reconstruct(model, val));
}

type AsnrFn = (set: WindowSet, reconstruction: Float32Array) => number;

/**
 * Prunes `model` in place to options.sparsity over the chosen layers, step by step. `train` is
 * fine-tuned on and scored on (selection counts); `val` gives the gradient scores and the ASNR
 * after each step. Returns one record per step.
 */
export async function pruneModel(
  model: tf.LayersModel, train: WindowSet, val: WindowSet, options: PruneOptions, asnr: AsnrFn, hooks: PruneHooks = {},
): Promise<PruneStepRecord[]> {
  const layers = layersToPrune(model, options.layers, options.exclude);
  const start = sparsityOf(layers);
  checkSparsity(options.sparsity, start);
  setPruningMode(model, options);
  const records: PruneStepRecord[] = [];
  let from = start.sparsity;
  // A MAC model has nothing to drop: its pruning runs exactly as without the option.
  if (options.dropUnselected && layers.some((l) => l instanceof MamDense)) {
    const started = performance.now();
    const removed = dropUnselected(model, layers, train);
    from = sparsityOf(layers).sparsity;
    const record: PruneStepRecord = { step: 0, target: from, sparsity: from, valAsnrDb: validationAsnr(model, val, asnr), fineTuneEpochs: 0, seconds: (performance.now() - started) / 1000 };
    hooks.log?.(`first step: ${removed} connections of the MAM layers never selected on the ${train.count} training windows pruned (sparsity ${from.toFixed(4)}), validation ASNR ${record.valAsnrDb.toFixed(2)} dB`);
    records.push(record);
    hooks.onStep?.(record);
    if (from >= options.sparsity) {
      if (from > options.sparsity) hooks.log?.(`note: the first step alone went past the target sparsity ${options.sparsity}: no further pruning`);
      return records;
    }
  }
  const targets = sparsitySchedule(options.schedule, from, options.sparsity, options.steps);
  const optimizer = tf.train.adam(options.learningRate); // its moments carry over from step to step
  try {
    for (const [i, target] of targets.entries()) {
      const started = performance.now();
      setMasks(model, layers, target, options, train, val, hooks);
      const fine = await fineTune(model, train, val, options, i, optimizer, asnr, hooks);
      const record: PruneStepRecord = {
        step: i + 1,
        target,
        sparsity: sparsityOf(layers).sparsity,
        valAsnrDb: fine ?? validationAsnr(model, val, asnr),
        fineTuneEpochs: options.fineTuneEpochs,
        seconds: (performance.now() - started) / 1000,
      };
      records.push(record);
      hooks.onStep?.(record);
    }
  } finally {
    optimizer.dispose();
  }
  return records;
}

/**
 * Prunes the connections of the MAM layers among `layers` that no window of `data` selects as
 * its slice's argmax or argmin (each neuron keeps its best one). With prunedAs 'absent' the
 * outputs on `data` do not change at all; with 'zero' only where a 0 product would become a
 * slice's max or min. Returns the number of connections pruned.
 */
export function dropUnselected(model: tf.LayersModel, layers: PrunableDense[], data: WindowSet): number {
  const mam = layers.filter((l): l is MamDense => l instanceof MamDense);
  if (mam.length === 0) return 0;
  const scores = scoreLayers(model, mam, 'selection', data);
  let removed = 0;
  mam.forEach((layer, i) => {
    const sc = scores[i]!;
    const order = pruneOrder(sc); // ascending selection counts: the unselected come first
    let unselected = 0;
    while (unselected < order.length && sc.score[order[unselected]!] === 0) unselected++;
    const already = sc.mask.length - layer.maskCounts().kept;
    layer.setMask(maskWithCount(sc, already + unselected));
    removed += unselected;
  });
  return removed;
}

function setMasks(
  model: tf.LayersModel, layers: PrunableDense[], target: number, options: PruneOptions,
  train: WindowSet, val: WindowSet, hooks: PruneHooks,
): void {
  const data = options.score === 'gradient' ? val : train;
  const scores = scoreLayers(model, layers, options.score, data);
  // Every output neuron keeps one connection: say so when that stops a layer (or all) short.
  const groups = options.scope === 'layer' ? scores.map((sc, i) => ({ name: `layer ${layers[i]!.name}`, scores: [sc] })) : [{ name: 'these layers', scores }];
  for (const g of groups) {
    const total = g.scores.reduce((sum, sc) => sum + sc.inputs * sc.outputs, 0);
    const most = mostPrunable(g.scores);
    if (Math.round(target * total) > most) {
      hooks.log?.(`note: sparsity ${target.toFixed(4)} is out of reach: every output neuron keeps one connection, so ${g.name} stop${g.scores.length === 1 ? 's' : ''} at ${(most / total).toFixed(4)}`);
    }
  }
  let counts: number[];
  if (options.scope === 'layer') {
    counts = layerCounts(scores, target);
  } else if (options.score === 'selection') {
    // Selection counts of a MAM layer and magnitudes of a MAC layer are not on one scale: the
    // global magnitude threshold decides how many each layer loses, selection decides which.
    counts = globalCounts(scores.map((sc) => ({ ...sc, score: sc.tieBreak })), target); // tie-breaks are |w|
  } else {
    counts = globalCounts(scores, target);
  }
  layers.forEach((l, i) => l.setMask(maskWithCount(scores[i]!, counts[i]!)));
}

/**
 * Fine-tunes for options.fineTuneEpochs, the learning rate falling geometrically from
 * options.learningRate to a tenth of it at the last epoch (a trained network sits in a minimum
 * that only a small learning rate finds again; a large one first repairs what pruning broke).
 * Returns the last validation ASNR, or null for 0 epochs.
 */
async function fineTune(
  model: tf.LayersModel, train: WindowSet, val: WindowSet, options: PruneOptions, step: number,
  optimizer: tf.Optimizer, asnr: AsnrFn, hooks: PruneHooks,
): Promise<number | null> {
  const epochs = options.fineTuneEpochs;
  let last: number | null = null;
  for (let e = 0; e < epochs; e++) {
    const trainOptions: TrainOptions = {
      ...DEFAULT_TRAIN_OPTIONS,
      epochs: 1,
      batchSize: options.batchSize,
      learningRate: options.learningRate * (epochs > 1 ? 0.1 ** (e / (epochs - 1)) : 1),
      vconEpochs: 0, // the blend is over: pruned MAM layers train as pure MAM
      earlyStopPatience: 0,
      // Every epoch of every step has its own batch order, all from the seed.
      seed: (options.seed * 1009 + step * 101 + e + 1) >>> 0,
    };
    const state = await trainAutoencoder(model, train, val, trainOptions, initialTrainState(trainOptions), optimizer, { asnr });
    last = state.history.at(-1)!.valAsnrDb;
    hooks.onEpoch?.();
  }
  return last;
}
