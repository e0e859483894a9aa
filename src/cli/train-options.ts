// The options of a training run (network, data, optimisation), shared by `mam train` and
// `mam sweep`, which trains a MAC and a MAM model with them.
import { Command } from 'commander';
import { DEFAULT_SPLIT, type Normalization, type PipelineSettings } from '../data/pipeline.js';
import { expandRecordingPaths } from '../data/recordings.js';
import { csvSource, type DataSource } from '../data/source.js';
import { UsageError } from '../errors.js';
import { PRESETS, shapeOf, specFromPreset, type ModelKind } from '../model/autoencoder.js';
import { loadAutoencoder } from '../model/metadata.js';
import { pcaStartProblem } from '../model/pca-start.js';
import type { DenseSource } from '../sweep/sweep.js';
import type { TrainConfig } from '../train/session.js';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../train/trainer.js';
import type { FlagNames } from './run.js';
import { addCsvOptions, choiceOption, csvOptions, givenOnCommandLine, intOption, numberOption, optionalNumber, positiveOption as positive, seedOption, sizesOption, type CsvFlags } from './options.js';

export interface TrainFlags extends CsvFlags {
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
  baseline?: string;
  hop?: string;
  split?: string;
  testRecords?: string;
  valRecords?: string;
  windows?: string;
  inputNoise?: string;
  init?: string;
  restoreBest?: boolean;
  latentActivation?: string;
  jitter?: string;
  stretch?: string;
  synthRecords: string;
  synthSeconds: string;
  noiseSnr?: string;
}

const d = DEFAULT_TRAIN_OPTIONS;

/** The settings of a training run whose flags are not their --kebab-case (see FlagNames). */
export const TRAIN_FLAGS: FlagNames = {
  learningRate: '--lr',
  'source.records': '--synth-records',
  'source.generator.seconds': '--synth-seconds',
};

/** Those of `mam sweep` and `mam paper`'s given models; their kind is given when they are trained. */
export const GIVEN_MODEL_FLAGS: FlagNames = {
  'models.mac': '--mac-model',
  'models.mam': '--mam-model',
  kind: 'mam train --kind',
};

/**
 * The data and training half of a preset's recipe: what its flags default to (a flag given on
 * the command line wins). 'real' is the recipe measured on real patients (README, "Real
 * recordings"): beat-to-beat windows (period-normalised, tiling the signal) without baseline
 * wander, the network started as PCA (so no MAC-to-MAM blend is needed: the start already is
 * MAM), and the weights of the best validation epoch kept.
 */
export const PRESET_RECIPES: Readonly<Record<string, Readonly<Partial<Pick<TrainFlags, 'windows' | 'baseline' | 'init' | 'restoreBest' | 'vconEpochs'>>>>> = {
  real: { windows: 'rr', baseline: 'highpass', init: 'pca', restoreBest: true, vconEpochs: '0' },
};

/** The flags with a preset's recipe filling those not given. */
function withRecipe(flags: TrainFlags): TrainFlags {
  const recipe = PRESET_RECIPES[flags.preset] ?? {};
  const out = { ...flags };
  for (const [key, value] of Object.entries(recipe) as Array<[keyof typeof recipe, string | boolean]>) {
    if (out[key] === undefined) (out as Record<string, unknown>)[key] = value;
  }
  // No blend from MAC to MAM is needed only because a PCA start already is MAM: from other weights it is.
  if (out.init !== 'pca' && flags.vconEpochs === undefined) delete out.vconEpochs;
  return out;
}

/** A line saying what the preset's recipe set, or, for recordings trained with a preset made for ECGSYN, which preset is made for them. */
export function recipeLine(csv: string[], preset: string): string | undefined {
  const recipe = PRESET_RECIPES[preset];
  if (recipe) {
    const set = Object.entries(recipe).map(([k, v]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}${v === true ? '' : ` ${v}`}`);
    const linear = PRESETS[preset]?.latentActivation === 'linear' ? ' --latent-activation linear' : '';
    return `preset ${preset}:${linear} ${set.join(' ')} (options given on the command line win)`;
  }
  if (csv.length > 0 && preset === 'small') return 'note: the small preset is made for ECGSYN; for real recordings --preset real is the recipe measured on patients the model never saw (README, "Real recordings")';
  return undefined;
}

/** Synthetic traces of 60 s when no recordings are given (10 hours of ECG: README, "Quality"). */
export const DEFAULT_SYNTH_RECORDS = 600;

/** Declares the network, data and optimisation options on a command (--kind unless `kind` is false). */
export function addTrainOptions(cmd: Command, { kind = true, preset = 'small' } = {}): Command {
  cmd.option('--preset <name>', `network and data preset: ${Object.entries(PRESETS).map(([k, p]) => `${k} (${p.description})`).join('; ')}`, preset);
  if (kind) cmd.option('--kind <kind>', 'mam: MAM layers as --mam-layers says; mac: every layer dense (the baseline)', 'mam');
  return cmd
    .option('--mam-layers <k|names>', 'which layers are MAM: the last K, or names (enc1.., latent, dec1.., out) separated by commas (default: the preset\'s)')
    .option('--splits <s>', 'input slices of each MAM layer, one max and one min each (default: the preset\'s)')
    .option('--pruned-as <mode>', 'pruned MAM connections: zero (a 0 product stays in the max/min) or absent', 'zero')
    .option('--encoder <sizes>', 'hidden layer sizes of the encoder, e.g. 256 (default: the preset\'s)')
    .option('--latent <m>', 'latent size (default: the preset\'s)')
    .option('--latent-activation <f>', 'relu (default, as every hidden layer) or linear (signed latent values, as PCA\'s components)')
    .option('--decoder <sizes>', 'hidden layer sizes of the decoder, e.g. 512,512,256 (default: the preset\'s)')
    .option('--epochs <n>', `epochs (default ${d.epochs}; with --resume: the total to reach)`)
    .option('--batch-size <n>', 'windows per optimizer step', String(d.batchSize))
    .option('--lr <rate>', 'Adam learning rate', String(d.learningRate))
    .option('--vcon-epochs <n>', 'epochs over which training goes from MAC to MAM (vanishing contributions; default: half of --epochs, 0 for none)')
    .option('--vcon-shape <shape>', 'linear or exponential', d.vconShape)
    .option('--init <how>', 'starting weights: random (from --seed; the default) or pca (the network starts as the PCA baseline exactly and trains on from there; needs --latent-activation linear and hidden layers of at least 2 x --latent)')
    .option('--restore-best', 'end on the weights of the best validation epoch (the start counts too, without vcon), not on the last epoch\'s: with validation on other patients (--val-records), the epochs after the best fit the training patients only')
    .option('--input-noise <std>', 'denoising: white noise of this standard deviation (in normalised units, 0.1 is about 20 dB below a window) added to each training input, the output compared with the clean window (default: none)')
    .option('--patience <n>', 'early stopping: stop after this many epochs without a better validation loss (0: never)', String(d.earlyStopPatience))
    .option('--plateau-patience <n>', 'reduce the learning rate after this many epochs without improvement', String(d.plateauPatience))
    .option('--plateau-factor <f>', 'factor the learning rate is reduced by', String(d.plateauFactor))
    .option('--seed <n>', 'seeds the data, the initial weights and the batch order', String(d.seed))
    .option('--normalization <how>', 'window (each window to mean 0, std 1), dataset (training mean and std) or none', 'window')
    .option('--baseline <how>', 'none (the default), or highpass (remove baseline wander below 0.5 Hz)')
    .option('--hop <samples>', 'samples between window starts (default: the window length, no overlap)')
    .option('--split <train,val,test>', `fractions of the data for training, validation and test, summing to 1: whole records with 3 or more, else time blocks of each record in that order (default ${DEFAULT_SPLIT.train},${DEFAULT_SPLIT.val},${DEFAULT_SPLIT.test})`)
    .option('--windows <how>', 'fixed (a window every --hop samples; the default), beats (a window centred on each R peak the detector finds) or rr (every beat-to-beat segment resampled to the window length: the windows tile the signal, period-normalised, and are scored on the segments as they were)')
    .option('--jitter <samples>', 'time-shift augmentation: each training window also shifted by this many samples either way (default: none)')
    .option('--stretch <fraction>', 'time-scale augmentation: each training window also stretched by 1 - and 1 + this fraction about its middle, as a slower or faster heart draws a beat, e.g. 0.1 (default: none)')
    .option('--test-records <names>', 'recordings that form the test split, whole, by name (100, mitdb/100.hea, ...) separated by commas; the others are cut into a training and a validation block each (--split\'s train and val shares)')
    .option('--val-records <names>', 'recordings that form the validation split, whole, by name: early stopping then follows patients training never saw; with --test-records the others train whole, without it they are cut into a training and a test block each')
    .option('--synth-records <n>', 'synthetic ECG: number of traces, each with its own heart rate', String(DEFAULT_SYNTH_RECORDS))
    .option('--synth-seconds <s>', 'synthetic ECG: seconds per trace', '60')
    .option('--noise-snr <dB>', 'synthetic ECG: white noise at this input SNR (default: none)');
}

/** The training configuration (network, data, pipeline, options) from the flags. */
export async function trainConfig(csv: string[], given: TrainFlags): Promise<TrainConfig> {
  const flags = withRecipe(given);
  const kind = choiceOption<ModelKind>('--kind', flags.kind, ['mam', 'mac']);
  const seed = seedOption('--seed', flags.seed);
  const spec = specFromPreset(flags.preset, {
    kind,
    seed,
    prunedAs: choiceOption('--pruned-as', flags.prunedAs, ['zero', 'absent'] as const),
    ...(flags.mamLayers !== undefined ? { mamLayers: flags.mamLayers } : {}),
    ...(flags.splits !== undefined ? { splits: intOption('--splits', flags.splits, '4', 1) } : {}),
    ...(flags.encoder !== undefined ? { encoder: sizesOption('--encoder', flags.encoder, '256') } : {}),
    ...(flags.latent !== undefined ? { latent: intOption('--latent', flags.latent, '32', 1) } : {}),
    ...(flags.decoder !== undefined ? { decoder: sizesOption('--decoder', flags.decoder, '512,512,256') } : {}),
    ...(flags.latentActivation !== undefined ? { latentActivation: choiceOption('--latent-activation', flags.latentActivation, ['relu', 'linear'] as const) } : {}),
  });
  const epochs = intOption('--epochs', flags.epochs ?? String(d.epochs), String(d.epochs), 1);
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
    // Stored only when asked for, so that the options of runs without it stay as they were.
    ...(flags.inputNoise !== undefined ? { inputNoise: nonNegative('--input-noise', flags.inputNoise, '0.1') } : {}),
    ...(choiceOption('--init', flags.init ?? 'random', ['random', 'pca'] as const) === 'pca' ? { init: 'pca' as const } : {}),
    ...(flags.restoreBest ? { restoreBest: true } : {}),
  };
  const pcaProblem = options.init === 'pca' ? pcaStartProblem(spec) : null;
  if (pcaProblem !== null) throw new UsageError(`--init pca: ${pcaProblem}`);
  if (options.vconEpochs >= epochs) {
    throw new UsageError(`--vcon-epochs ${options.vconEpochs} must be fewer than --epochs ${epochs}: the network has to end as pure MAM`);
  }
  const normalization: Normalization = { method: choiceOption('--normalization', flags.normalization, ['window', 'dataset', 'none'] as const) };
  const pipeline: PipelineSettings = {
    fs: spec.fs,
    window: spec.window,
    hop: flags.hop !== undefined ? intOption('--hop', flags.hop, String(spec.window), 1) : spec.window,
    baseline: choiceOption('--baseline', flags.baseline ?? 'none', ['none', 'highpass'] as const),
    normalization,
    split: flags.split === undefined ? DEFAULT_SPLIT : splitOption(flags.split),
    seed,
    ...(flags.testRecords !== undefined ? { testRecords: namesOption('--test-records', flags.testRecords) } : {}),
    ...(flags.valRecords !== undefined ? { valRecords: namesOption('--val-records', flags.valRecords) } : {}),
    // Stored only when asked for, so that the settings of fixed-window models stay as they were.
    ...(flags.windows !== undefined && flags.windows !== 'fixed' ? { windows: choiceOption('--windows', flags.windows, ['fixed', 'beats', 'rr'] as const) } : {}),
    ...(flags.jitter !== undefined ? { jitter: intOption('--jitter', flags.jitter, '8', 0) } : {}),
    ...(flags.stretch !== undefined ? { stretch: stretchOption(flags.stretch) } : {}),
  };
  let source: DataSource;
  if (csv.length > 0) {
    source = csvSource(await expandRecordingPaths(csv), csvOptions(flags));
  } else {
    const noise = optionalNumber('--noise-snr', flags.noiseSnr, '35');
    source = {
      kind: 'synthetic',
      records: intOption('--synth-records', flags.synthRecords, String(DEFAULT_SYNTH_RECORDS), 1),
      generator: { seconds: positive('--synth-seconds', flags.synthSeconds, '60'), seed, fs: spec.fs, ...(noise !== undefined ? { noiseSnrDb: noise } : {}) },
    };
  }
  return { spec, source, pipeline, options };
}

function nonNegative(flag: string, raw: string, example: string): number {
  const v = numberOption(flag, raw, example);
  if (!(v >= 0)) throw new UsageError(`${flag} must be 0 or more, got "${raw}"; e.g. ${flag} ${example}`);
  return v;
}

function stretchOption(raw: string): number {
  const v = numberOption('--stretch', raw, '0.1');
  if (!(v > 0 && v < 0.5)) throw new UsageError(`--stretch must be a fraction above 0 and below 0.5, got "${raw}"; e.g. --stretch 0.1`);
  return v;
}

/** Names separated by commas, none empty. */
function namesOption(flag: string, raw: string): string[] {
  const names = raw.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) throw new UsageError(`${flag} must name recordings separated by commas, got "${raw}"; e.g. ${flag} 106,121`);
  return names;
}

/** Three fractions TRAIN,VAL,TEST: each in [0, 1), training above 0, summing to 1. */
function splitOption(raw: string): PipelineSettings['split'] {
  const example = '0.8,0.1,0.1';
  const parts = raw.split(',');
  if (parts.length !== 3) throw new UsageError(`--split must be three fractions TRAIN,VAL,TEST, got "${raw}"; e.g. --split ${example}`);
  const [train, val, test] = parts.map((p) => numberOption('--split', p, example)) as [number, number, number];
  if (![train, val, test].every((v) => v >= 0 && v < 1) || train <= 0 || Math.abs(train + val + test - 1) > 1e-9) {
    throw new UsageError(`--split fractions must each be from 0 to below 1, training above 0, and sum to 1, got "${raw}"; e.g. --split ${example}`);
  }
  return { train, val, test };
}

function fraction(flag: string, raw: string, example: string): number {
  const v = numberOption(flag, raw, example);
  if (!(v > 0 && v < 1)) throw new UsageError(`${flag} must be between 0 and 1 (exclusive), got "${raw}"; e.g. ${flag} ${example}`);
  return v;
}

/** With --from, the network's preset and sizes default to the source model's; they must match it. */
export async function fromConfig(csv: string[], dir: string, flags: TrainFlags, command: Command): Promise<TrainConfig> {
  if (flags.init === 'pca') throw new UsageError(`--init pca and --from ${dir} both give the starting weights: choose one`);
  const { model, metadata } = await loadAutoencoder(dir);
  model.dispose();
  const s = metadata.spec;
  const given = (name: string) => command.getOptionValueSource(name) === 'cli';
  const config = await trainConfig(csv, {
    ...flags,
    init: 'random', // the weights come from the model, whatever the preset's recipe says
    ...(given('preset') ? {} : { preset: s.preset }),
    ...(given('encoder') || given('preset') ? {} : { encoder: s.encoder.join(',') }),
    ...(given('latent') || given('preset') ? {} : { latent: String(s.latent) }),
    ...(given('decoder') || given('preset') ? {} : { decoder: s.decoder.join(',') }),
  });
  if (shapeOf(config.spec) !== shapeOf(s)) {
    throw new UsageError(`--from ${dir} is a ${shapeOf(s)} network, the options give ${shapeOf(config.spec)}: drop --preset and the sizes to take the model's, or give the same ones`, { file: dir });
  }
  return { ...config, from: dir };
}

/** The options of `mam sweep` and `mam paper` that give both models, trained before. */
export interface GivenModelFlags {
  macModel?: string;
  mamModel?: string;
}

/** The dense models of `mam sweep` and `mam paper`: given with --mac-model and --mam-model, or trained from the training options. */
export async function denseSources(csv: string[], flags: Omit<TrainFlags, 'kind'> & GivenModelFlags, command: Command): Promise<Record<'mac' | 'mam', DenseSource>> {
  if ((flags.macModel === undefined) !== (flags.mamModel === undefined)) {
    throw new UsageError('--mac-model and --mam-model go together: give both trained models, or neither to train them here');
  }
  if (flags.macModel !== undefined && flags.mamModel !== undefined) {
    // The training and data options would be ignored: refuse them (--pruned-as also prunes).
    const training = new Set(addCsvOptions(addTrainOptions(new Command(), { kind: false })).options.map((o) => o.attributeName()));
    training.delete('prunedAs');
    const given = givenOnCommandLine(command, (name) => training.has(name));
    if (csv.length > 0 || given.length > 0) {
      throw new UsageError(`with --mac-model and --mam-model the models and their data are given: remove ${[...(csv.length ? ['the CSV files'] : []), ...given].join(', ')}`);
    }
    return { mac: { dir: flags.macModel }, mam: { dir: flags.mamModel } };
  }
  return {
    mac: { train: await trainConfig(csv, { ...flags, kind: 'mac' }) },
    mam: { train: await trainConfig(csv, { ...flags, kind: 'mam' }) },
  };
}
