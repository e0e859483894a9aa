// How much each connection matters, three ways (lower = pruned first):
//   magnitude  |w|
//   gradient   |w * dL/dw|, the gradient of the reconstruction loss summed over a data set
//   selection  MAM's own: how often the data select the connection as a slice's argmax or
//              argmin (a connection never selected can go at no cost on that data); MAC
//              layers, which select nothing, fall back to magnitude.
// Every score comes with |w| as its tie-break. The network must be pure MAM (beta = 0).
import * as tf from '@tensorflow/tfjs';
import type { WindowSet } from '../data/pipeline.js';
import { mamSelect } from '../layers/mam-op.js';
import { MamDense } from '../layers/mam-dense.js';
import { PrunableDense } from '../layers/prunable-dense.js';
import type { LayerScores } from './masks.js';

export type ScoreKind = 'magnitude' | 'gradient' | 'selection';
export const SCORE_KINDS: readonly ScoreKind[] = ['magnitude', 'gradient', 'selection'];

const BATCH = 256;

function magnitudes(w: Float32Array): Float32Array {
  return w.map(Math.abs);
}

/** Scores of `layers` (layers of `model`) on `data`. */
export function scoreLayers(model: tf.LayersModel, layers: PrunableDense[], kind: ScoreKind, data: WindowSet): LayerScores[] {
  const kernels = layers.map((l) => l.effectiveKernel());
  const masks = layers.map((l) => tf.tidy(() => l.getMask().dataSync() as Float32Array).slice());
  let scores: ArrayLike<number>[];
  if (kind === 'magnitude') {
    scores = kernels.map(magnitudes);
  } else if (kind === 'gradient') {
    const grads = summedKernelGradients(model, layers, data);
    scores = kernels.map((w, l) => w.map((v, i) => Math.abs(v * grads[l]![i]!)));
  } else {
    const counts = selectionCounts(model, layers, data);
    scores = layers.map((l, i) => (l instanceof MamDense ? counts[i]! : magnitudes(kernels[i]!)));
  }
  return layers.map((l, i) => {
    const [inputs, outputs] = l.kernelShape();
    return { inputs, outputs, score: scores[i]!, tieBreak: magnitudes(kernels[i]!), mask: masks[i]! };
  });
}

/** The windows of `data` in batches of at most BATCH rows, as [rows, length] tensors (the caller tidies). */
function* batches(data: WindowSet): Generator<tf.Tensor2D> {
  for (let w = 0; w < data.count; w += BATCH) {
    const rows = Math.min(BATCH, data.count - w);
    yield tf.tensor2d(data.data.subarray(w * data.length, (w + rows) * data.length), [rows, data.length]);
  }
}

/** d(sum over windows of the mean squared error of each window)/d(kernel) for each layer. */
export function summedKernelGradients(model: tf.LayersModel, layers: PrunableDense[], data: WindowSet): Float32Array[] {
  const variables = layers.map((l) => l.kernelVariable());
  const sums = layers.map((l) => new Float32Array(l.kernelShape()[0] * l.kernelShape()[1]));
  for (const x of batches(data)) {
    const grads = tf.tidy(() => {
      const rows = x.shape[0];
      const { grads: g } = tf.variableGrads(() => tf.mul(tf.losses.meanSquaredError(x, model.apply(x) as tf.Tensor), rows) as tf.Scalar, variables);
      return variables.map((v) => g[v.name]!.dataSync() as Float32Array);
    });
    x.dispose();
    grads.forEach((g, l) => { for (let i = 0; i < g.length; i++) sums[l]![i]! += g[i]!; });
  }
  return sums;
}

/**
 * For each layer, how many times each connection [in, out] was selected as a slice's argmax or
 * argmin over the windows of `data` (twice when it is both). All zeros for MAC layers.
 */
export function selectionCounts(model: tf.LayersModel, layers: PrunableDense[], data: WindowSet): Float64Array[] {
  const counts = layers.map((l) => new Float64Array(l.kernelShape()[0] * l.kernelShape()[1]));
  const wanted = new Map(layers.map((l, i) => [l, i]));
  // The kernels (and masks) do not change while counting: one tensor each, not one per batch.
  const kernels = layers.map((l) => (l instanceof MamDense ? tf.tensor2d(l.effectiveKernel(), l.kernelShape()) : null));
  const keeps = layers.map((l) => (l instanceof MamDense && l.prunedAs === 'absent' ? l.getMask() : null));
  for (const x of batches(data)) {
    tf.tidy(() => {
      let h: tf.Tensor2D = x;
      for (const layer of model.layers) {
        const i = wanted.get(layer as PrunableDense);
        if (i !== undefined && layer instanceof MamDense) {
          const [, outputs] = layer.kernelShape();
          const { argmax, argmin } = mamSelect(h, kernels[i]!, keeps[i]!, layer.splits);
          const c = counts[i]!;
          for (const picks of [argmax.dataSync(), argmin.dataSync()]) {
            // picks is [rows, splits, outputs]: the input index j, -1 when nothing was selected.
            for (let p = 0; p < picks.length; p++) {
              const j = picks[p]!;
              if (j >= 0) c[j * outputs + (p % outputs)]! += 1;
            }
          }
        }
        h = layer.apply(h) as tf.Tensor2D;
      }
    });
    x.dispose();
  }
  tf.dispose([...kernels, ...keeps].filter((t): t is tf.Tensor2D => t !== null));
  return counts;
}
