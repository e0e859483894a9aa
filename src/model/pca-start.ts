// Starting weights under which the autoencoder computes PCA exactly: training then starts from
// the linear baseline's reconstruction instead of from noise, and can only add to it what the
// data pay for. The construction rests on a = relu(a) - relu(-a): each hidden layer carries the
// m principal coordinates as 2m units, their positive and negative parts; the latent (linear)
// recombines them, the output layer maps them back through the components. Units beyond those
// 2m keep their random incoming weights and start with no say in the next layer (zero outgoing
// weights), so they join in as training finds a use for them.
//
// MAM layers fit where the construction needs one product per unit (a copy, or the latent's
// recombination, where one of the two products is 0): max + min of {v, 0, ...} is v. The first
// layer (projection onto the components) and the output (their sum) are true sums, so they must
// be MAC. Pure: plain arrays in, plain arrays out; startFromPca applies them to a tfjs model.
import * as tf from '@tensorflow/tfjs';
import { msg, RequestError } from '../errors.js';
import { PrunableDense } from '../layers/prunable-dense.js';
import type { PcaModel } from '../metrics/pca.js';
import { layerNames, type AutoencoderSpec } from './autoencoder.js';

/** One layer's weights: kernel [inputs x units] row-major (input i, unit j at i * units + j). */
export interface DenseWeights {
  inputs: number;
  units: number;
  kernel: Float32Array;
  bias: Float32Array;
}

/** Why `spec` cannot start from PCA, or null when it can. */
export function pcaStartProblem(spec: AutoencoderSpec): string | null {
  if (spec.latentActivation !== 'linear') return 'it needs a signed latent (--latent-activation linear), as PCA\'s coordinates are';
  const m = spec.latent;
  const narrow = [...spec.encoder, ...spec.decoder].filter((u) => u < 2 * m);
  if (narrow.length > 0) return `every hidden layer needs at least 2 x latent = ${2 * m} units (both signs of each coordinate), and this network has ${narrow.join(', ')}`;
  const names = layerNames(spec);
  const sums = new Set([names[0]!, names[names.length - 1]!]);
  const mamSums = spec.kind === 'mam' ? spec.mamLayers.filter((l) => sums.has(l)) : [];
  if (mamSums.length > 0) return `layer ${mamSums.join(' and ')} must sum over its inputs (project onto or back from the components), so it cannot be MAM: choose other --mam-layers`;
  return null;
}

/**
 * The weights of `initial` (one per layer, as built: encoder.., latent, decoder.., out) changed
 * so that the network reconstructs x as mean + C^T C (x - mean), C the PCA components. Throws a
 * RequestError naming the option when the network cannot (pcaStartProblem).
 */
export function pcaStartWeights(spec: AutoencoderSpec, pca: PcaModel, initial: DenseWeights[]): DenseWeights[] {
  const problem = pcaStartProblem(spec);
  if (problem !== null) throw new RequestError(msg`{init} pca: ${problem}`);
  const n = spec.window;
  const m = spec.latent;
  if (pca.mean.length !== n || pca.components.length !== m * n) {
    throw new RangeError(`PCA start: the PCA model has ${pca.components.length / pca.mean.length} components of ${pca.mean.length}, the network needs ${m} of ${n}`);
  }
  const layers = initial.map((w) => ({ ...w, kernel: w.kernel.slice(), bias: w.bias.slice() }));
  const latentAt = spec.encoder.length;
  const C = pca.components;
  // The principal coordinates of the input, c = C (x - mean): a kernel column per component and its bias.
  const project = (layer: DenseWeights, unit: number, k: number, sign: number) => {
    let shift = 0;
    for (let i = 0; i < n; i++) {
      const w = sign * C[k * n + i]!;
      layer.kernel[i * layer.units + unit] = w;
      shift += w * pca.mean[i]!;
    }
    layer.bias[unit] = -shift;
  };
  // Only the given inputs feed `unit`, with these weights: a spare unit below has no say in it.
  const feed = (layer: DenseWeights, unit: number, from: Array<[input: number, weight: number]>) => {
    for (let i = 0; i < layer.inputs; i++) layer.kernel[i * layer.units + unit] = 0;
    for (const [i, w] of from) layer.kernel[i * layer.units + unit] = w;
    layer.bias[unit] = 0;
  };
  layers.forEach((layer, l) => {
    const isLast = l === layers.length - 1;
    const fromInput = l === 0;
    if (l < latentAt) {
      // Encoder: coordinate k as units k (positive part) and m + k (negative part).
      for (let k = 0; k < m; k++) {
        if (fromInput) {
          project(layer, k, k, 1);
          project(layer, m + k, k, -1);
        } else {
          feed(layer, k, [[k, 1]]);
          feed(layer, m + k, [[m + k, 1]]);
        }
      }
    } else if (l === latentAt) {
      for (let k = 0; k < m; k++) {
        if (fromInput) project(layer, k, k, 1);
        else feed(layer, k, [[k, 1], [m + k, -1]]);
      }
    } else if (!isLast) {
      // Decoder: the coordinates (from the latent) or their two parts (from a decoder layer) again as two parts.
      const fromLatent = l === latentAt + 1;
      for (let k = 0; k < m; k++) {
        feed(layer, k, [[k, 1]]);
        feed(layer, m + k, [[fromLatent ? k : m + k, fromLatent ? -1 : 1]]);
      }
    } else {
      // Output: mean + sum_k c_k C_k, from the coordinates or their two parts.
      const parts = latentAt !== l - 1;
      for (let j = 0; j < n; j++) {
        const from: Array<[number, number]> = [];
        for (let k = 0; k < m; k++) {
          from.push([k, C[k * n + j]!]);
          if (parts) from.push([m + k, -C[k * n + j]!]);
        }
        feed(layer, j, from);
        layer.bias[j] = pca.mean[j]!;
      }
    }
  });
  return layers;
}

/** Sets `model` (built from `spec`, unpruned) to compute `pca`'s reconstruction; see pcaStartWeights. */
export function startFromPca(model: tf.LayersModel, spec: AutoencoderSpec, pca: PcaModel): void {
  const dense = model.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
  const initial = dense.map((layer) => {
    const [kernel, bias] = layer.getWeights();
    const [inputs, units] = kernel!.shape as [number, number];
    return { inputs, units, kernel: kernel!.dataSync() as Float32Array, bias: bias!.dataSync() as Float32Array };
  });
  const weights = pcaStartWeights(spec, pca, initial);
  dense.forEach((layer, i) => {
    const w = weights[i]!;
    const mask = layer.getMask();
    const tensors = [tf.tensor2d(w.kernel, [w.inputs, w.units]), tf.tensor1d(w.bias), mask];
    layer.setWeights(tensors);
    tensors.forEach((t) => t.dispose());
  });
}
