// The ECG autoencoder: dense (MAC) layers down to a latent of m values, then back up to the
// window length n; ReLU after every layer but the last. Any of its layers can be MAM: the
// default is the decoder's tail, the part the paper runs on the microcontroller.
import * as tf from '@tensorflow/tfjs';
import { msg, RequestError } from '../errors.js';
import type { PrunedAs } from '../layers/mam-math.js';
import { MamDense } from '../layers/mam-dense.js';
import { MaskedDense } from '../layers/masked-dense.js';
import { PrunableDense } from '../layers/prunable-dense.js';

export type ModelKind = 'mam' | 'mac';

/** Everything needed to build the network again; stored in the model's metadata. */
export interface AutoencoderSpec {
  preset: string;
  /** Window length n (input and output size). */
  window: number;
  /** Sampling rate the windows are taken at (Hz). */
  fs: number;
  /** Hidden layer sizes between the input and the latent. */
  encoder: number[];
  /** Latent size m. */
  latent: number;
  /** Hidden layer sizes between the latent and the output. */
  decoder: number[];
  /** 'mac': every layer dense. 'mam': the layers named in mamLayers are MAM. */
  kind: ModelKind;
  /** Names of the MAM layers (kind 'mam'); see layerNames(). */
  mamLayers: string[];
  /** Input slices of each MAM layer (1 = plain MAM). */
  splits: number;
  prunedAs: PrunedAs;
  /** Seeds the initializers. */
  seed: number;
  /** The latent layer's activation: 'relu' (unset: the default, as every hidden layer) or 'linear' (signed codes, as PCA's). */
  latentActivation?: 'relu' | 'linear';
}

export interface Preset {
  description: string;
  fs: number;
  window: number;
  encoder: number[];
  latent: number;
  decoder: number[];
  /** The MAM layers by default: names separated by commas, or a number K for the last K. */
  mamLayers: string | number;
  splits: number;
  /** The latent's activation when not 'relu' (AutoencoderSpec.latentActivation). */
  latentActivation?: 'linear';
}

export const PRESETS: Record<string, Preset> = {
  // The first decoder layer is MAM by default: measured best (README, "Choosing the default").
  small: {
    description: 'windows of 128 at 256 Hz, 128-64-16-256-128, MAM in dec1: trains in about two minutes on 2 cores (the defaults: 600 traces, 120 epochs)',
    fs: 256, window: 128, encoder: [64], latent: 16, decoder: [256], mamLayers: 'dec1', splits: 1,
  },
  paper: {
    description: 'windows of 256 at 256 Hz, encoder 256-256-32, the MAM group\'s decoder 32-512-512-256-256, MAM in dec1',
    fs: 256, window: 256, encoder: [256], latent: 32, decoder: [512, 512, 256], mamLayers: 'dec1', splits: 1,
  },
  // The recipe for real recordings (README, "Real recordings"): beat-to-beat segments resampled
  // to 256 samples (a segment is about 230 samples at 256 Hz: upsampled, it loses nothing), a
  // signed latent of 28, about 8 samples per value with the segment's length, so that the
  // network can start as PCA (model/pca-start.ts); the data and training half of the recipe is
  // in cli/train-options.ts (PRESET_RECIPES).
  real: {
    description: 'for real recordings: every beat-to-beat segment resampled to 256 samples, 256-64-28-256-256 with a linear latent started from PCA (about 8 samples per latent value), the baseline removed, ending on its best validation epoch (README, "Real recordings")',
    fs: 256, window: 256, encoder: [64], latent: 28, decoder: [256], mamLayers: 'dec1', splits: 1, latentActivation: 'linear',
  },
  // The scale at which the paper's claim can be tested: the MAM group's decoder with dec2
  // widened to 1024, so that the dense MAC tail (3.5 MB as the C export stores it) does not fit
  // the STM32F767ZI's 2 MB flash; MAM in its largest layer, by the pruned result (README,
  // "The paper's claim").
  'paper-wide': {
    description: 'the paper preset with dec2 widened to 1024 (decoder 32-512-1024-256-256, a 3.5 MB dense tail), MAM in dec2: `mam paper` tests the claim on it',
    fs: 256, window: 256, encoder: [256], latent: 32, decoder: [512, 1024, 256], mamLayers: 'dec2', splits: 1,
  },
};

/** The preset `mam paper` runs by default. */
export const PAPER_PRESET = 'paper-wide';

/** Layer names in order: enc1.., latent, dec1.., out. */
export function layerNames(spec: Pick<AutoencoderSpec, 'encoder' | 'decoder'>): string[] {
  return [
    ...spec.encoder.map((_, i) => `enc${i + 1}`),
    'latent',
    ...spec.decoder.map((_, i) => `dec${i + 1}`),
    'out',
  ];
}

/**
 * Which layers are MAM, from an option: a number K (the last K layers) or names separated by
 * commas. Throws a RequestError naming the option (mamLayers) when it does not fit the network.
 */
export function resolveMamLayers(option: string | number, spec: Pick<AutoencoderSpec, 'encoder' | 'decoder'>): string[] {
  const names = layerNames(spec);
  const text = String(option).trim();
  if (/^\d+$/.test(text)) {
    const k = Number(text);
    if (k < 1 || k > names.length) {
      throw new RequestError(msg`{mamLayers} ${text}: this network has ${names.length} layers (${names.join(', ')}): give 1 to ${names.length}, or layer names`);
    }
    return names.slice(names.length - k);
  }
  const wanted = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !names.includes(w));
  if (wanted.length === 0 || unknown.length > 0) {
    throw new RequestError(msg`{mamLayers} ${text}: no layer named ${unknown.join(', ') || '(none)'}; the layers are ${names.join(', ')}`);
  }
  return names.filter((n) => wanted.includes(n)); // network order
}

export function checkSpec(spec: AutoencoderSpec): AutoencoderSpec {
  const sizes = [spec.window, ...spec.encoder, spec.latent, ...spec.decoder];
  if (!sizes.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new RequestError(`model sizes must be whole numbers >= 1, got window ${spec.window}, encoder [${spec.encoder}], latent ${spec.latent}, decoder [${spec.decoder}]`);
  }
  if (spec.latent >= spec.window) {
    throw new RequestError(msg`{latent} ${spec.latent}: an autoencoder's latent must be smaller than its window (${spec.window}); e.g. {latent} 16`);
  }
  if (spec.kind !== 'mam' && spec.kind !== 'mac') throw new RequestError(msg`{kind} must be mam or mac, got '${String(spec.kind)}'`);
  if (spec.kind === 'mam') resolveMamLayers(spec.mamLayers.join(','), spec);
  if (!Number.isInteger(spec.splits) || spec.splits < 1) throw new RequestError(msg`{splits} must be a whole number >= 1, got ${spec.splits}`);
  const names = layerNames(spec);
  const inputs = [spec.window, ...spec.encoder, spec.latent, ...spec.decoder];
  for (const name of spec.kind === 'mam' ? spec.mamLayers : []) {
    const n = inputs[names.indexOf(name)]!;
    // Slices of two products are plain MAC (max + min of two numbers is their sum), of one a
    // linear layer: such a "MAM" layer would spend its prunability for nothing.
    const most = Math.max(1, Math.floor(n / 3));
    if (spec.splits > most) {
      throw new RequestError(msg`{splits} ${spec.splits}: MAM layer ${name} has ${n} inputs, and slices of fewer than 3 make it plain MAC; give at most ${most}`);
    }
  }
  return spec;
}

/** Builds the (uncompiled) network a spec describes, initialised from spec.seed. */
export function buildAutoencoder(spec: AutoencoderSpec): tf.Sequential {
  checkSpec(spec);
  const names = layerNames(spec);
  const units = [...spec.encoder, spec.latent, ...spec.decoder, spec.window];
  const mam = new Set(spec.kind === 'mam' ? spec.mamLayers : []);
  const layers: PrunableDense[] = names.map((name, i) => {
    const args = {
      name,
      units: units[i]!,
      activation: (i === names.length - 1 || (name === 'latent' && spec.latentActivation === 'linear') ? 'linear' : 'relu') as 'linear' | 'relu',
      // One seed per layer: the same spec always starts from the same weights.
      kernelInitializer: tf.initializers.glorotUniform({ seed: spec.seed * 1000 + i }),
      ...(i === 0 ? { inputShape: [spec.window] } : {}),
    };
    return mam.has(name)
      ? new MamDense({ ...args, splits: spec.splits, prunedAs: spec.prunedAs, beta: 1 })
      : new MaskedDense(args);
  });
  return tf.sequential({ name: `autoencoder_${spec.kind}`, layers });
}

/** The spec of a preset with overrides (sizes, kind, MAM layers, splits, seed). */
export function specFromPreset(
  presetName: string,
  over: Partial<Omit<AutoencoderSpec, 'mamLayers'>> & { mamLayers?: string | number } = {},
): AutoencoderSpec {
  const preset = PRESETS[presetName];
  if (!preset) throw new RequestError(msg`{preset} ${presetName}: no such preset; choose ${Object.keys(PRESETS).join(', ')}`);
  const { mamLayers, ...rest } = over;
  const spec: AutoencoderSpec = {
    preset: presetName,
    window: preset.window,
    fs: preset.fs,
    encoder: preset.encoder,
    latent: preset.latent,
    decoder: preset.decoder,
    kind: 'mam',
    mamLayers: [],
    splits: preset.splits,
    prunedAs: 'zero',
    seed: 1,
    ...(preset.latentActivation ? { latentActivation: preset.latentActivation } : {}),
    ...rest,
  };
  spec.mamLayers = spec.kind === 'mam' ? resolveMamLayers(mamLayers ?? preset.mamLayers, spec) : [];
  return checkSpec(spec);
}

/** "window-enc..-latent-dec..-window": two models of one shape have the same layer sizes. */
export function shapeOf(spec: Pick<AutoencoderSpec, 'window' | 'encoder' | 'latent' | 'decoder'>): string {
  return [spec.window, ...spec.encoder, spec.latent, ...spec.decoder, spec.window].join('-');
}

/**
 * Starts `target` from the trained weights of `source`, a model of the same shape (any kinds):
 * kernels, biases and pruning masks, layer by layer. A MAM layer of `target` keeps its beta, so
 * a freshly built one (beta = 1) first computes exactly what the source's MAC layer did, and
 * vanishing contributions carry it over to MAM (the route the MAM papers take with pretrained
 * networks).
 */
export function copyTrainedWeights(source: tf.LayersModel, target: tf.LayersModel): void {
  const from = source.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
  const to = target.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
  const shapes = (ls: PrunableDense[]) => ls.map((l) => l.kernelShape().join('x')).join(', ');
  if (shapes(from) !== shapes(to)) {
    throw new RequestError(msg`the model to start from has layers ${shapes(from)}, this network ${shapes(to)}: give the same {preset} and sizes`);
  }
  to.forEach((layer, i) => {
    const weights = from[i]!.getWeights(); // kernel, bias, mask: the order build() adds them in
    layer.setWeights(weights);
    layer.applyMask();
  });
}
