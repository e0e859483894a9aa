// What mam.json holds for an autoencoder trained by mam train (and pruned by mam prune or a
// sweep), checked field by field when a model directory is loaded: the one description of the
// run file that training, evaluation, pruning, the sweep and the exports all read.
//
// The training options and state and a pruning run's parts belong to the floors that write them
// (train/, prune/); they are imported here as types only, so this floor still loads, and is
// tested, without those above it.
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { RecordingReadOptions } from '../data/recordings.js';
import type { EcgsynOptions } from '../data/ecgsyn.js';
import type { Normalization, PipelineSettings, PreparedData } from '../data/pipeline.js';
import type { DataSource, FileFingerprint } from '../data/source.js';
import { MamError } from '../errors.js';
import {
  boolean, checkJson, is, listOf, number, numberPair, object, oneOf, optional, orNull, string, tagged, unread, wholeNumber,
} from '../json-check.js';
import type { PrunedAs } from '../layers/mam-math.js';
import type { MetricSummary } from '../metrics/reconstruction.js';
import type { LayerRow, PruneOptions, PruneStepRecord } from '../prune/pruner.js';
import type { EpochRecord, TrainOptions, TrainState } from '../train/trainer.js';
import type { AutoencoderSpec, ModelKind } from './autoencoder.js';
import { loadModel, METADATA_FILE, type ModelMetadata } from './files.js';

/** What a model directory's mam.json holds for a trained autoencoder (saveModel adds format and formatVersion). */
export interface AutoencoderMetadata {
  kind: 'autoencoder';
  spec: AutoencoderSpec;
  data: { source: DataSource; pipeline: PipelineSettings; splitBy: PreparedData['splitBy']; windows: { train: number; val: number; test: number } };
  /** PCA with as many components as the latent: what the numbers are compared with. testAsnrDb is NaN (null in the file) without test windows. */
  baseline: { method: 'pca'; components: number; valAsnrDb: number; testAsnrDb: number | null };
  training: { options: TrainOptions; state: TrainState; from?: { dir: string; kind: ModelKind } };
  /** The tensors of optimizer.bin, in order: a training checkpoint's (pruning drops them). */
  optimizer?: OptimizerSpec[];
  /** Every pruning run the model has been through, in order. */
  pruning?: PruneRun[];
}

export interface OptimizerSpec { name: string; shape: number[]; dtype: 'float32' | 'int32' }

/** One pruning run, as stored in the pruned model's mam.json (`pruning` holds them in order). */
export interface PruneRun {
  options: PruneOptions;
  /** Pruned layers: kernel entries, non-zeros and sparsity before the run. */
  before: { sparsity: number; nonzeros: number; weights: number; valAsnrDb: number };
  steps: PruneStepRecord[];
  after: { sparsity: number; nonzeros: number; weights: number; valAsnrDb: number; test: MetricSummary | null };
  layers: LayerRow[];
}

const FIX = 'restore the mam.json mam wrote, or train the model again';

/** The metadata of a model directory written by mam train, checked, or a MamError saying what is wrong. */
export function autoencoderMetadata(metadata: ModelMetadata, dir: string): AutoencoderMetadata {
  if (metadata.kind !== 'autoencoder' || !metadata.data || !metadata.spec) {
    throw new MamError(`${dir}: not an autoencoder trained by mam train (no data settings in mam.json): give a directory written by mam train`, { file: dir });
  }
  return checkJson(metadata, AUTOENCODER_METADATA, join(dir, METADATA_FILE), FIX);
}

/** Loads a model directory written by mam train (or prune, or a sweep) with its checked metadata. */
export async function loadAutoencoder(dir: string): Promise<{ model: tf.LayersModel; metadata: AutoencoderMetadata }> {
  const { model, metadata } = await loadModel(dir);
  try {
    return { model, metadata: autoencoderMetadata(metadata, dir) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

const modelKind = oneOf<ModelKind>({ mam: true, mac: true });

const spec = object<AutoencoderSpec>({
  preset: string, window: wholeNumber, fs: number, encoder: listOf(wholeNumber), latent: wholeNumber, decoder: listOf(wholeNumber),
  kind: modelKind, mamLayers: listOf(string), splits: wholeNumber, prunedAs: oneOf<PrunedAs>({ zero: true, absent: true }), seed: number,
  latentActivation: optional(oneOf({ relu: true, linear: true })),
});

const generator = object<EcgsynOptions>({
  fs: optional(number), seconds: optional(number), seed: optional(number), hrMean: optional(number), hrRange: optional(numberPair),
  hrStd: optional(number), lfHfRatio: optional(number), wanderMv: optional(number), noiseSnrDb: optional(number),
  fsInternal: optional(number), randomStart: optional(boolean),
});

const csvRead = object<RecordingReadOptions>({
  lead: optional(is<string | number>('a lead name or number', (v) => typeof v === 'string' || typeof v === 'number')),
  fs: optional(number), adcGain: optional(number), adcZero: optional(number), verify: optional(boolean),
});

const source = tagged<DataSource, 'kind'>('kind', {
  synthetic: object({ kind: oneOf({ synthetic: true }), records: wholeNumber, generator }),
  csv: object({
    kind: oneOf({ csv: true }), files: listOf(string), read: csvRead,
    fingerprints: optional(listOf(object<FileFingerprint>({ bytes: wholeNumber, sha256: string }))),
  }),
});

const normalization = tagged<Normalization, 'method'>('method', {
  window: object({ method: oneOf({ window: true }) }),
  dataset: object({ method: oneOf({ dataset: true }), mean: optional(number), std: optional(number) }),
  none: object({ method: oneOf({ none: true }) }),
});

const pipeline = object<PipelineSettings>({
  fs: number, window: wholeNumber, hop: wholeNumber, baseline: oneOf({ none: true, highpass: true }), normalization,
  split: object({ train: number, val: number, test: number }), seed: number, testRecords: optional(listOf(string)), valRecords: optional(listOf(string)),
  windows: optional(oneOf({ fixed: true, beats: true, rr: true })), jitter: optional(wholeNumber), stretch: optional(number),
});

const options = object<TrainOptions>({
  epochs: number, batchSize: number, learningRate: number, vconEpochs: number, vconShape: oneOf({ linear: true, exponential: true }),
  plateauFactor: number, plateauPatience: number, minLearningRate: number, earlyStopPatience: number, seed: number,
  inputNoise: optional(number), init: optional(oneOf({ pca: true })), restoreBest: optional(boolean),
});

const epochRecord = object<EpochRecord>({
  epoch: number, loss: number, valLoss: number, valAsnrDb: number, beta: number, learningRate: number, seconds: number,
});

const state = object<TrainState>({
  epoch: number, batchInEpoch: number, step: number, learningRate: number, bestValLoss: orNull(number),
  epochsWithoutImprovement: number, epochLossSum: number, history: listOf(epochRecord), finished: boolean,
  stopReason: optional(string), stopKind: optional(oneOf({ epochs: true, early: true })), adamAccBeta: optional(numberPair),
  best: optional(object({ epoch: wholeNumber, valLoss: number, valAsnrDb: number })), restoredEpoch: optional(wholeNumber),
});

const optimizerSpec = object<OptimizerSpec>({ name: string, shape: listOf(wholeNumber), dtype: oneOf({ float32: true, int32: true }) });

// Past pruning runs are appended to and shown, never read back to steer anything: their parts
// are checked to be there, not field by field, so that an older mam's record cannot refuse the model.
const pruneRun = object<PruneRun>({ options: unread(), before: unread(), steps: listOf(unread()), after: unread(), layers: listOf(unread()) });

const AUTOENCODER_METADATA = object<AutoencoderMetadata>({
  kind: oneOf({ autoencoder: true }),
  spec,
  data: object({
    source, pipeline, splitBy: oneOf({ record: true, time: true, named: true }),
    windows: object({ train: wholeNumber, val: wholeNumber, test: wholeNumber }),
  }),
  baseline: object({ method: oneOf({ pca: true }), components: wholeNumber, valAsnrDb: number, testAsnrDb: orNull(number) }),
  training: object({ options, state, from: optional(object({ dir: string, kind: modelKind })) }),
  optimizer: optional(listOf(optimizerSpec)),
  pruning: optional(listOf(pruneRun)),
});
