import type { Command } from 'commander';
import { expandCsvPaths } from '../../data/csv.js';
import { DEFAULT_SPLIT, type Normalization, type PipelineSettings } from '../../data/pipeline.js';
import { csvSource, type DataSource } from '../../data/source.js';
import { MamError } from '../../errors.js';
import { PRESETS, specFromPreset, type ModelKind } from '../../model/autoencoder.js';
import { createProgress, type Progress } from '../../report/progress.js';
import { resumeTraining, startTraining, type SessionUi, type TrainOutcome } from '../../train/session.js';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../train/trainer.js';
import {
  addCsvOptions, choiceOption, csvOptions, intOption, numberOption, optionalNumber, sizesOption, type CsvFlags,
} from '../options.js';
import { action, printJson } from '../run.js';

interface TrainFlags extends CsvFlags {
  out?: string;
  resume?: string;
  preset: string;
  kind: string;
  mamLayers?: string;
  splits?: string;
  prunedAs: string;
  encoder?: string;
  latent?: string;
  decoder?: string;
  epochs?: string;
  batchSize: string;
  lr: string;
  vconEpochs?: string;
  vconShape: string;
  patience: string;
  plateauPatience: string;
  plateauFactor: string;
  seed: string;
  normalization: string;
  baseline: string;
  hop?: string;
  synthRecords: string;
  synthSeconds: string;
  noiseSnr?: string;
  json?: boolean;
}

const d = DEFAULT_TRAIN_OPTIONS;

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train an ECG autoencoder (MAM tail by default) on CSV recordings, or on synthetic ECG when none are given')
    .argument('[csv...]', 'CSV files or directories (default: synthetic ECG)')
    .option('--out <dir>', 'model directory to write (default: models/<preset>-<kind>)')
    .option('--resume <dir>', 'continue the run saved in this directory (other model and data options are taken from it)')
    .option('--preset <name>', `network and data preset: ${Object.entries(PRESETS).map(([k, p]) => `${k} (${p.description})`).join('; ')}`, 'small')
    .option('--kind <kind>', 'mam: MAM layers as --mam-layers says; mac: every layer dense (the baseline)', 'mam')
    .option('--mam-layers <k|names>', 'which layers are MAM: the last K, or names (enc1.., latent, dec1.., out) separated by commas (default: the preset\'s)')
    .option('--splits <s>', 'input slices of each MAM layer, one max and one min each (default: the preset\'s)')
    .option('--pruned-as <mode>', 'pruned MAM connections: zero (a 0 product stays in the max/min) or absent', 'zero')
    .option('--encoder <sizes>', 'hidden layer sizes of the encoder, e.g. 256 (default: the preset\'s)')
    .option('--latent <m>', 'latent size (default: the preset\'s)')
    .option('--decoder <sizes>', 'hidden layer sizes of the decoder, e.g. 512,512,256 (default: the preset\'s)')
    .option('--epochs <n>', `epochs (default ${d.epochs}; with --resume: the total to reach)`)
    .option('--batch-size <n>', 'windows per optimizer step', String(d.batchSize))
    .option('--lr <rate>', 'Adam learning rate', String(d.learningRate))
    .option('--vcon-epochs <n>', 'epochs over which training goes from MAC to MAM (vanishing contributions; default: half of --epochs, 0 for none)')
    .option('--vcon-shape <shape>', 'linear or exponential', d.vconShape)
    .option('--patience <n>', 'early stopping: stop after this many epochs without a better validation loss (0: never)', String(d.earlyStopPatience))
    .option('--plateau-patience <n>', 'reduce the learning rate after this many epochs without improvement', String(d.plateauPatience))
    .option('--plateau-factor <f>', 'factor the learning rate is reduced by', String(d.plateauFactor))
    .option('--seed <n>', 'seeds the data, the initial weights and the batch order', String(d.seed))
    .option('--normalization <how>', 'window (each window to mean 0, std 1), dataset (training mean and std) or none', 'window')
    .option('--baseline <how>', 'none, or highpass (remove baseline wander below 0.5 Hz)', 'none')
    .option('--hop <samples>', 'samples between window starts (default: the window length, no overlap)')
    .option('--synth-records <n>', 'synthetic ECG: number of traces, each with its own heart rate', '100')
    .option('--synth-seconds <s>', 'synthetic ECG: seconds per trace', '60')
    .option('--noise-snr <dB>', 'synthetic ECG: white noise at this input SNR (default: none)')
    .option('--json', 'print the final summary as one JSON object on stdout');
  addCsvOptions(cmd).action(action(async (csv: string[], flags: TrainFlags, command: Command) => {
    if (flags.resume) checkResumeOptions(csv, command);
    const ui = cliUi();
    const outcome = flags.resume
      ? await resumeTraining(flags.resume, ui.session, flags.epochs === undefined ? undefined : intOption('--epochs', flags.epochs, '60', 1))
      : await startTraining(await trainConfig(csv, flags), flags.out ?? `models/${flags.preset}-${flags.kind}`, ui.session);
    ui.finish(outcome, flags.json === true);
  }));
}

/** A resumed run keeps its own settings: refuse options that would be silently ignored. */
function checkResumeOptions(csv: string[], command: Command): void {
  const given = command.options
    .filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli' && !['resume', 'epochs', 'json'].includes(o.attributeName()))
    .map((o) => o.long);
  if (csv.length > 0) given.unshift('CSV files');
  if (given.length > 0) {
    throw new MamError(`--resume continues with the settings saved in the model directory; only --epochs can change (remove ${given.join(', ')})`);
  }
}

async function trainConfig(csv: string[], flags: TrainFlags) {
  const kind = choiceOption<ModelKind>('--kind', flags.kind, ['mam', 'mac']);
  const seed = intOption('--seed', flags.seed, '1');
  if (seed > 0xffffffff) throw new MamError(`--seed must be a whole number from 0 to 4294967295, got "${flags.seed}"; e.g. --seed 1`);
  const spec = specFromPreset(flags.preset, {
    kind,
    seed,
    prunedAs: choiceOption('--pruned-as', flags.prunedAs, ['zero', 'absent'] as const),
    ...(flags.mamLayers !== undefined ? { mamLayers: flags.mamLayers } : {}),
    ...(flags.splits !== undefined ? { splits: intOption('--splits', flags.splits, '4', 1) } : {}),
    ...(flags.encoder !== undefined ? { encoder: sizesOption('--encoder', flags.encoder, '256') } : {}),
    ...(flags.latent !== undefined ? { latent: intOption('--latent', flags.latent, '32', 1) } : {}),
    ...(flags.decoder !== undefined ? { decoder: sizesOption('--decoder', flags.decoder, '512,512,256') } : {}),
  });
  const epochs = intOption('--epochs', flags.epochs ?? String(d.epochs), '60', 1);
  const options: TrainOptions = {
    epochs,
    batchSize: intOption('--batch-size', flags.batchSize, '64', 1),
    learningRate: positive('--lr', flags.lr, '0.001'),
    vconEpochs: kind === 'mac' ? 0 : intOption('--vcon-epochs', flags.vconEpochs ?? String(Math.floor(epochs / 2)), '30'),
    vconShape: choiceOption('--vcon-shape', flags.vconShape, ['linear', 'exponential'] as const),
    plateauFactor: fraction('--plateau-factor', flags.plateauFactor, '0.3'),
    plateauPatience: intOption('--plateau-patience', flags.plateauPatience, '3', 1),
    minLearningRate: d.minLearningRate,
    earlyStopPatience: intOption('--patience', flags.patience, '8'),
    seed,
  };
  if (options.vconEpochs >= epochs) {
    throw new MamError(`--vcon-epochs ${options.vconEpochs} must be fewer than --epochs ${epochs}: the network has to end as pure MAM`);
  }
  const normalization: Normalization = { method: choiceOption('--normalization', flags.normalization, ['window', 'dataset', 'none'] as const) };
  const pipeline: PipelineSettings = {
    fs: spec.fs,
    window: spec.window,
    hop: flags.hop !== undefined ? intOption('--hop', flags.hop, String(spec.window), 1) : spec.window,
    baseline: choiceOption('--baseline', flags.baseline, ['none', 'highpass'] as const),
    normalization,
    split: DEFAULT_SPLIT,
    seed,
  };
  let source: DataSource;
  if (csv.length > 0) {
    source = csvSource(await expandCsvPaths(csv), csvOptions(flags));
  } else {
    const noise = optionalNumber('--noise-snr', flags.noiseSnr, '35');
    source = {
      kind: 'synthetic',
      records: intOption('--synth-records', flags.synthRecords, '100', 1),
      generator: { seconds: positive('--synth-seconds', flags.synthSeconds, '60'), seed, fs: spec.fs, ...(noise !== undefined ? { noiseSnrDb: noise } : {}) },
    };
  }
  return { spec, source, pipeline, options };
}

function fraction(flag: string, raw: string, example: string): number {
  const v = numberOption(flag, raw, example);
  if (!(v > 0 && v < 1)) throw new MamError(`${flag} must be between 0 and 1 (exclusive), got "${raw}"; e.g. ${flag} ${example}`);
  return v;
}

function positive(flag: string, raw: string, example: string): number {
  const v = numberOption(flag, raw, example);
  if (!(v > 0)) throw new MamError(`${flag} must be greater than 0, got "${raw}"; e.g. ${flag} ${example}`);
  return v;
}

/** Progress on stderr, one line per epoch, Ctrl-C to stop at the end of the current step. */
function cliUi(): { session: SessionUi; finish(outcome: TrainOutcome, json: boolean): void } {
  let stopRequested = false;
  let progress: Progress | undefined;
  const log = (text: string) => (progress ? progress.line(text) : process.stderr.write(`${text}\n`));
  process.on('SIGINT', () => {
    if (stopRequested) process.exit(130); // a second Ctrl-C: stop now
    stopRequested = true;
    log('stopping after this step (Ctrl-C again to quit at once)...');
  });
  return {
    session: {
      log,
      shouldStop: () => stopRequested,
      onStep(state, loss, totalSteps) {
        // One bar for the whole run (from where it starts, when resumed), epoch lines above it.
        progress ??= createProgress({ total: totalSteps - state.step + 1, label: 'training' });
        progress.tick(1, `epoch ${state.epoch + 1}, loss ${loss.toFixed(5)}`);
      },
      onEpoch(_state, r) {
        log(`epoch ${r.epoch}: loss ${r.loss.toFixed(5)}, val loss ${r.valLoss.toFixed(5)}, val ASNR ${r.valAsnrDb.toFixed(2)} dB, beta ${r.beta.toFixed(3)}, lr ${r.learningRate.toPrecision(2)}, ${r.seconds.toFixed(1)} s`);
      },
    },
    finish(outcome, json) {
      progress?.done();
      const { state, dir } = outcome;
      const last = state.history.at(-1);
      const summary = {
        model: dir,
        epochs: state.epoch,
        finished: state.finished,
        stop_reason: state.stopReason ?? 'stopped by the user',
        val_asnr_db: last?.valAsnrDb ?? null,
        train_seconds: state.history.reduce((sum, r) => sum + r.seconds, 0),
        pca_val_asnr_db: outcome.metadata.baseline.valAsnrDb,
      };
      const resume = state.finished ? '' : `; continue with: mam train --resume ${dir}`;
      process.stderr.write(`${state.finished ? 'done' : 'stopped'}: ${dir} after ${state.epoch} epochs (${summary.stop_reason}), validation ASNR ${last?.valAsnrDb.toFixed(2) ?? '-'} dB (PCA ${summary.pca_val_asnr_db.toFixed(2)} dB)${resume}\n`);
      if (json) printJson(summary);
    },
  };
}
