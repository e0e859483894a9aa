// A whole training run, as `mam train` does it: data from the source through the pipeline, a
// PCA baseline to give the numbers meaning, the network, the loop, a checkpoint after every
// epoch (model, optimizer, state, history JSON and SVG), and resuming from such a checkpoint.
import { resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { canonical } from '../canonical.js';
import type { PipelineSettings, PreparedData } from '../data/pipeline.js';
import { dataWarnings } from '../data/pipeline.js';
import { MamError, msg, RequestError } from '../errors.js';
import { fingerprintSource, prepareFromSource, withoutFingerprints, type DataSource } from '../data/source.js';
import { fitPca, pcaReconstruct } from '../metrics/pca.js';
import { compressionRatio, setAsnr } from '../metrics/reconstruction.js';
import { buildAutoencoder, copyTrainedWeights, type AutoencoderSpec } from '../model/autoencoder.js';
import { startFromPca } from '../model/pca-start.js';
import { checkReplaceable, loadModel, modelDirExists, readModelFile } from '../model/files.js';
import { withOutputLock } from '../io/lock.js';
import { autoencoderMetadata, type AutoencoderMetadata } from '../model/metadata.js';
import { lineChart } from '../report/svg.js';
import { setModelBeta } from './beta.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { reconstruct } from '../model/infer.js';
import { BEST_WEIGHTS_FILE, BestWeights } from './best.js';
import {
  initialTrainState, makeOptimizer, mse, restoreOptimizer, trainAutoencoder,
  type EpochRecord, type TrainOptions, type TrainState,
} from './trainer.js';

export interface TrainConfig {
  spec: AutoencoderSpec;
  source: DataSource;
  pipeline: PipelineSettings;
  options: TrainOptions;
  /** A trained model of the same shape to start from (its weights; MAM layers blend in from them). */
  from?: string;
}

export interface SessionUi {
  /** A line for the user (stderr in the CLI). */
  log(text: string): void;
  onStep?(state: TrainState, loss: number, totalSteps: number): void;
  onEpoch?(state: TrainState, record: EpochRecord): void;
  shouldStop?(): boolean;
}

export interface TrainOutcome {
  dir: string;
  state: TrainState;
  metadata: AutoencoderMetadata;
  model: tf.LayersModel;
}

export const HISTORY_JSON = 'history.json';
export const HISTORY_SVG = 'history.svg';

/**
 * Starts a new run into `dir`, holding its output lock throughout; `dir` is checked before the
 * data, the baseline and the first epoch, not after them.
 */
export function startTraining(config: TrainConfig, dir: string, ui: SessionUi): Promise<TrainOutcome> {
  return withOutputLock(dir, async () => {
    await checkReplaceable(resolve(dir));
    return startLocked(config, dir, ui);
  });
}

async function startLocked(config: TrainConfig, dir: string, ui: SessionUi): Promise<TrainOutcome> {
  // Fingerprinted before the data are read; read from the source as given, not checked again at once.
  const source = await fingerprintSource(config.source);
  const data = await prepareFromSource(config.source, config.pipeline);
  if (data.val.count === 0) {
    throw new MamError(msg`no validation windows (${data.train.count} training windows in all): give more data (more or longer recordings, or {source.records} / {source.generator.seconds})`);
  }
  const what = config.pipeline.windows === 'rr' ? `beat-to-beat segments (resampled to ${config.spec.window} samples; compression ratio ${+compressionRatio(data.train, config.spec.latent).toFixed(2)} on the training ones)` : `windows of ${config.spec.window} samples`;
  ui.log(`data: ${data.train.count} training, ${data.val.count} validation, ${data.test.count} test ${what} at ${config.pipeline.fs} Hz (split by ${data.splitBy})`);
  for (const note of dataWarnings(data)) ui.log(note);
  const pca = fitPca(data.train.data, data.train.length, config.spec.latent);
  const baseline = {
    method: 'pca' as const,
    components: config.spec.latent,
    valAsnrDb: data.val.count ? setAsnr(data.val, pcaReconstruct(pca, data.val.data, data.val.length)) : Number.NaN,
    testAsnrDb: data.test.count ? setAsnr(data.test, pcaReconstruct(pca, data.test.data, data.test.length)) : Number.NaN,
  };
  ui.log(`baseline: PCA with ${baseline.components} components (a linear autoencoder of the same latent size): validation ASNR ${baseline.valAsnrDb.toFixed(2)} dB, test ${baseline.testAsnrDb.toFixed(2)} dB`);
  const model = buildAutoencoder(config.spec);
  if (config.options.init === 'pca') {
    if (config.from !== undefined) throw new RequestError(msg`{init} pca and {from} both give the starting weights: choose one`);
    startFromPca(model, config.spec, pca);
    ui.log(`starting from PCA: the network computes the baseline's reconstruction exactly; its ${config.spec.encoder.concat(config.spec.decoder).reduce((a, u) => a + u - 2 * config.spec.latent, 0)} spare hidden units join in as training finds a use for them`);
  }
  let from: { dir: string; kind: AutoencoderSpec['kind'] } | undefined;
  if (config.from !== undefined) {
    const source = await loadModel(config.from);
    try {
      copyTrainedWeights(source.model, model);
    } catch (e) {
      if (e instanceof RequestError) throw new RequestError(msg`{from} ${config.from}: ${e.text}`, { file: config.from });
      throw e;
    } finally {
      source.model.dispose();
    }
    const kind = (source.metadata.spec as AutoencoderSpec | undefined)?.kind ?? 'mac';
    from = { dir: resolve(config.from), kind };
    const blend = config.spec.kind === 'mam' ? `; MAM layers ${config.spec.mamLayers.join(', ')} start as MAC on these weights (beta 1) and become MAM over ${config.options.vconEpochs} epochs` : '';
    ui.log(`starting from the weights of ${config.from} (a ${kind.toUpperCase()} model)${blend}`);
  }
  const metadata: AutoencoderMetadata = {
    kind: 'autoencoder',
    spec: config.spec,
    data: {
      source, pipeline: data.settings, splitBy: data.splitBy,
      windows: { train: data.train.count, val: data.val.count, test: data.test.count },
    },
    baseline,
    training: { options: config.options, state: initialTrainState(config.options), ...(from ? { from } : {}) },
  };
  return runTraining(model, data, metadata, undefined, dir, ui);
}

/**
 * What a long pipeline (a sweep, `mam paper`) calls so that running it again continues: trains
 * `config` into `dir`, or resumes the unfinished run there, or returns at once when it has
 * finished. `finished` is false when `ui.shouldStop` stopped it; `epochsBefore` is where it started.
 */
export async function trainOrResume(
  config: TrainConfig, dir: string, ui: SessionUi, resumed?: (epochsBefore: number) => void,
): Promise<{ finished: boolean; epochsBefore: number; outcome: TrainOutcome | null }> {
  if (await modelDirExists(dir)) {
    const { model, metadata } = await loadModel(dir);
    model.dispose();
    if (metadata.training === undefined) throw new MamError(`${dir} exists and is not a training run of mam train: remove it or choose another directory`, { file: dir });
    const stored = autoencoderMetadata(metadata, dir);
    const { state } = stored.training;
    // What decides the model must be what was asked for, or the run in `dir` is another one.
    const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
    const differs = [
      ...(same(stored.spec, config.spec) ? [] : [msg`network`]),
      ...(same(withoutFingerprints(stored.data.source), withoutFingerprints(config.source)) ? [] : [msg`data`]),
      ...(same(asRequested(stored.data.pipeline), asRequested(config.pipeline)) ? [] : [msg`preprocessing`]),
      ...(same(stored.training.options, config.options) ? [] : [msg`training options`]),
      ...(stored.training.from?.dir === (config.from === undefined ? undefined : resolve(config.from)) ? [] : [msg`starting weights ({from})`]),
    ];
    if (differs.length > 0) {
      const what = differs.reduce((list, d) => msg`${list}, ${d}`);
      throw new RequestError(msg`${dir} holds a run with another ${what}: give the options it was made with, or remove it (or choose another output directory) to train anew`, { file: dir });
    }
    resumed?.(state.epoch);
    if (state.finished) return { finished: true, epochsBefore: state.epoch, outcome: null };
    const outcome = await resumeTraining(dir, ui);
    outcome.model.dispose();
    return { finished: outcome.state.finished, epochsBefore: state.epoch, outcome };
  }
  const outcome = await startTraining(config, dir, ui);
  outcome.model.dispose();
  return { finished: outcome.state.finished, epochsBefore: 0, outcome };
}

/** Pipeline settings as asked for: without the dataset mean and std that training measures and stores. */
function asRequested(p: PipelineSettings): PipelineSettings {
  return p.normalization.method === 'dataset' ? { ...p, normalization: { method: 'dataset' } } : p;
}

/** Continues the run saved in `dir` (optionally with more epochs), holding its output lock. */
export function resumeTraining(dir: string, ui: SessionUi, epochs?: number): Promise<TrainOutcome> {
  return withOutputLock(dir, () => resumeLocked(dir, ui, epochs));
}

async function resumeLocked(dir: string, ui: SessionUi, epochs?: number): Promise<TrainOutcome> {
  const checkpoint = await loadCheckpoint(dir);
  const { metadata, state } = checkpoint;
  if (epochs !== undefined) {
    const { vconEpochs } = metadata.training.options;
    if (!Number.isInteger(epochs) || epochs <= vconEpochs || epochs < state.epoch) {
      throw new RequestError(msg`{epochs} ${epochs}: ${dir} has trained ${state.epoch} epochs and its vcon lasts ${vconEpochs}; give a whole number of at least ${Math.max(state.epoch, vconEpochs + 1)}`);
    }
    metadata.training.options.epochs = epochs;
    // A run that ended on its epoch count goes on; one that stopped early stays stopped.
    if (state.stopKind === 'epochs' && state.epoch < epochs) {
      state.finished = false;
      delete state.stopKind;
      delete state.stopReason;
    }
  }
  metadata.training.state = checkpoint.state;
  const data = await prepareFromSource(metadata.data.source, metadata.data.pipeline);
  // The data must be what the run started on; a model from before flat windows were left out may not be.
  const w = metadata.data.windows;
  if (w.train !== data.train.count || w.val !== data.val.count || w.test !== data.test.count) {
    ui.log(`warning: the data now give ${data.train.count}/${data.val.count}/${data.test.count} training/validation/test windows where the run started with ${w.train}/${w.val}/${w.test} (${data.train.flat?.length ?? 0} flat training windows are now left out): it goes on with these`);
  }
  ui.log(`resuming ${dir} at epoch ${checkpoint.state.epoch}${checkpoint.state.batchInEpoch ? `, batch ${checkpoint.state.batchInEpoch}` : ''} of ${metadata.training.options.epochs}`);
  const { best } = checkpoint.state;
  const kept = best === undefined ? undefined
    : BestWeights.fromBytes(best, await readModelFile(dir, BEST_WEIGHTS_FILE, 'the checkpoint is incomplete; train the model again from the start'), checkpoint.model, `${dir}/${BEST_WEIGHTS_FILE}`);
  return runTraining(checkpoint.model, data, metadata, checkpoint.optimizerWeights, dir, ui, kept);
}

async function runTraining(
  model: tf.LayersModel, data: PreparedData, metadata: AutoencoderMetadata,
  optimizerWeights: Array<{ name: string; tensor: tf.Tensor }> | undefined, dir: string, ui: SessionUi,
  kept?: BestWeights,
): Promise<TrainOutcome> {
  const { options, state } = metadata.training;
  const optimizer = makeOptimizer(state);
  if (optimizerWeights) await restoreOptimizer(optimizer, optimizerWeights, state);
  const best = options.restoreBest ? kept ?? BestWeights.empty() : undefined;
  const offer = (epoch: number, valLoss: number, valAsnrDb: number) => {
    if (best?.offer({ epoch, valLoss, valAsnrDb }, model)) state.best = best.best!;
  };
  const save = () => {
    const snapshot = best?.bytes();
    return saveCheckpoint(model, dir, metadata, optimizer, { ...historyFiles(metadata), ...(snapshot ? { [BEST_WEIGHTS_FILE]: snapshot } : {}) });
  };
  // The start is a candidate when it already is the finished network (no MAC-to-MAM blend to go through), as a PCA or --from start of MAC is.
  if (best && state.step === 0 && options.vconEpochs === 0) {
    setModelBeta(model, 0);
    const recon = reconstruct(model, data.val);
    offer(0, mse(data.val.data, recon), setAsnr(data.val, recon));
  }
  try {
    await trainAutoencoder(model, data.train, data.val, options, state, optimizer, {
      asnr: setAsnr,
      onStart: (how) => ui.log(`training: ${how}`),
      onStep: ui.onStep,
      shouldStop: ui.shouldStop,
      onEpoch: async (s, record) => {
        ui.onEpoch?.(s, record);
        if (record.beta === 0) offer(record.epoch, record.valLoss, record.valAsnrDb);
        await save();
      },
    });
    if (state.finished && best?.best) {
      best.restore(model);
      state.restoredEpoch = best.best.epoch;
      ui.log(`restored the weights of ${best.best.epoch === 0 ? 'the start (epoch 0)' : `epoch ${best.best.epoch}`}, the best validation loss: validation ASNR ${best.best.valAsnrDb.toFixed(2)} dB`);
    }
    if (state.finished) setModelBeta(model, 0);
    await save(); // also after a stop mid-epoch: the run can be resumed from there
  } finally {
    optimizer.dispose();
  }
  return { dir, state, metadata, model };
}

function historyFiles(metadata: AutoencoderMetadata): Record<string, string> {
  const h = metadata.training.state.history;
  const epochs = h.map((r) => r.epoch);
  const loss = lineChart({
    title: 'Training and validation loss (MSE, normalised units)', xLabel: 'epoch', yLabel: 'loss',
    series: [{ name: 'training', x: epochs, y: h.map((r) => r.loss) }, { name: 'validation', x: epochs, y: h.map((r) => r.valLoss) }],
    width: 640, height: 300,
  });
  const asnr = lineChart({
    title: 'Validation ASNR (dB)', xLabel: 'epoch', yLabel: 'ASNR (dB)',
    series: [{ name: 'validation ASNR', x: epochs, y: h.map((r) => r.valAsnrDb) }],
    hLines: [{ y: metadata.baseline.valAsnrDb, label: `PCA baseline ${metadata.baseline.valAsnrDb.toFixed(1)} dB` }],
    width: 640, height: 300,
  });
  return {
    [HISTORY_JSON]: `${JSON.stringify(h, null, 2)}\n`,
    [HISTORY_SVG]: stackSvgs([loss, asnr], 640, 300),
  };
}

/** Two charts one above the other in one SVG file. */
function stackSvgs(svgs: string[], width: number, height: number): string {
  const inner = svgs.map((svg, i) => svg.replace(/^<svg /, `<svg y="${i * height}" `)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height * svgs.length}" viewBox="0 0 ${width} ${height * svgs.length}">\n${inner}\n</svg>\n`;
}
