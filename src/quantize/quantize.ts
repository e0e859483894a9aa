// Post-training int8 quantisation of an exported network (TFLite's int8 scheme, reference
// MAM.md section 10): real = scale * (q - zeroPoint). Weights symmetric int8 (-127..127, zero
// point 0), one scale per output neuron ('channel') or one per layer; activations asymmetric
// int8, one scale and zero point per tensor, from the ranges seen on calibration windows; biases
// int32 at the scale s_x * s_w[k]; each neuron's requantisation M = s_x * s_w[k] / s_y as a
// fixed-point multiplier and shift. A MAM neuron needs one weight scale per neuron (never per
// input): its max and min compare products of one neuron, and commute only with one positive
// scale. Pure: the ranges come in (calibrate.ts measures them with tfjs).
import { RequestError } from '../errors.js';
import type { PipelineSettings } from '../data/pipeline.js';
import type { ExportNetwork, LayerShape } from '../export/network.js';
import { clamp, INT8_MAX, INT8_MIN, quantizeMultiplier, WEIGHT_MAX } from './fixed-point.js';

/** |(x_q - z_x) * w_q| at most: 255 * 127. */
export const LARGEST_PRODUCT = (INT8_MAX - INT8_MIN) * WEIGHT_MAX;

export type WeightScales = 'channel' | 'layer';
export const WEIGHT_SCALES: readonly WeightScales[] = ['channel', 'layer'];

/** Values seen in one activation tensor on the calibration windows. */
export interface ActivationRange { min: number; max: number }

export interface TensorQuantization {
  /** float32 */
  scale: number;
  zeroPoint: number;
}

/** A layer in int8: its shape and mask as the float layer's, integer weights and constants. */
export interface QuantizedLayer extends LayerShape {
  input: TensorQuantization;
  output: TensorQuantization;
  /** int8 kernel [inputSize][outputSize] row-major (the ExportLayer layout), 0 where pruned. */
  weights: Int8Array;
  /** float32 scale of each output neuron's weights (all equal with 'layer' scales). */
  weightScales: Float32Array;
  /** int32, at the scale input.scale * weightScales[k]. */
  bias: Int32Array;
  /** Per output neuron: M = input.scale * weightScales[k] / output.scale as multiplier * 2^(shift - 31). */
  multipliers: Int32Array;
  shifts: Int8Array;
}

export interface QuantizedNetwork {
  weightScales: WeightScales;
  preprocessing: PipelineSettings;
  skipped: number;
  layers: QuantizedLayer[];
}

/** Round half away from zero (the rounding of every quantised constant). */
export function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/**
 * Scale and zero point covering [min, max] widened to hold 0 (so that 0, a ReLU's floor and a
 * pruned product, is exact: the zero point itself), over the 256 int8 levels.
 */
export function activationQuantization({ min, max }: ActivationRange): TensorQuantization {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new RangeError(`activation range [${min}, ${max}]: not a finite range`);
  const lo = Math.min(0, min), hi = Math.max(0, max);
  if (hi === lo) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / (INT8_MAX - INT8_MIN));
  const zeroPoint = clamp(roundHalfAway(INT8_MIN - lo / scale), INT8_MIN, INT8_MAX);
  return { scale, zeroPoint };
}

/** Symmetric weight scales: the largest |w| of each neuron (or of the layer) maps to 127. */
export function weightScalesOf(kernel: Float32Array, inputSize: number, outputSize: number, granularity: WeightScales): Float32Array {
  const largest = new Float64Array(outputSize);
  for (let j = 0; j < inputSize; j++) {
    for (let k = 0; k < outputSize; k++) largest[k] = Math.max(largest[k]!, Math.abs(kernel[j * outputSize + k]!));
  }
  if (granularity === 'layer') largest.fill(Math.max(0, ...largest));
  // A neuron with no weight left gets scale 1: its weights are 0 at any scale.
  return Float32Array.from(largest, (a) => (a > 0 ? Math.fround(a / WEIGHT_MAX) : 1));
}

/**
 * The int8 network for `net`, given the range of each activation tensor on calibration windows:
 * ranges[0] the input of the first exported layer, ranges[i + 1] the output of layer i.
 */
export function quantizeNetwork(net: ExportNetwork, ranges: readonly ActivationRange[], granularity: WeightScales = 'channel'): QuantizedNetwork {
  if (ranges.length !== net.layers.length + 1) throw new RangeError(`${ranges.length} activation ranges for ${net.layers.length} layers (need one more than layers)`);
  if (!WEIGHT_SCALES.includes(granularity)) throw new RequestError(`weight scales '${granularity}': choose ${WEIGHT_SCALES.join(' or ')}`);
  const tensors = ranges.map(activationQuantization);
  const layers = net.layers.map((l, i): QuantizedLayer => {
    const input = tensors[i]!, output = tensors[i + 1]!;
    const n = l.inputSize, m = l.outputSize;
    const weightScales = weightScalesOf(l.kernel, n, m, granularity);
    const weights = new Int8Array(n * m);
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < m; k++) {
        const e = j * m + k;
        if (l.mask[e]) weights[e] = clamp(roundHalfAway(l.kernel[e]! / weightScales[k]!), -WEIGHT_MAX, WEIGHT_MAX);
      }
    }
    // The most the products can add to the accumulator: one per input (MAC), a max and a min per slice (MAM).
    const productsBound = (l.kind === 'mam' ? 2 * l.splits : n) * LARGEST_PRODUCT;
    const bias = new Int32Array(m);
    const multipliers = new Int32Array(m);
    const shifts = new Int8Array(m);
    for (let k = 0; k < m; k++) {
      const accScale = input.scale * weightScales[k]!;
      const b = roundHalfAway(l.bias[k]! / accScale);
      // The accumulator is int32 in C: the bias plus every product must fit, with no wrap.
      if (!(Math.abs(b) + productsBound <= 2147483647)) {
        throw new RequestError(`layer ${l.name}, neuron ${k}: its bias (${l.bias[k]}) is too large for an int32 accumulator at its weights' scale (${weightScales[k]}); quantise with layer weight scales, or retrain with weight decay`);
      }
      bias[k] = b;
      const q = quantizeMultiplier(accScale / output.scale);
      multipliers[k] = q.multiplier;
      shifts[k] = q.shift;
    }
    return {
      name: l.name, kind: l.kind, inputSize: n, outputSize: m, activation: l.activation, splits: l.splits, prunedAs: l.prunedAs,
      input, output, weights, mask: l.mask, weightScales, bias, multipliers, shifts,
    };
  });
  return { weightScales: granularity, preprocessing: net.preprocessing, skipped: net.skipped, layers };
}
