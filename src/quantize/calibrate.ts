// Calibration: the range of every activation tensor of the exported layers on representative
// windows (the model's training windows), measured with the float model in tfjs, and the int8
// network those ranges give. The smallest and largest value seen, as TFLite's converter takes
// them: an ECG autoencoder's activations have no rare outliers worth clipping (measured: see
// the README's int8 table).
import * as tf from '@tensorflow/tfjs';
import type { WindowSet } from '../data/pipeline.js';
import { MamError } from '../errors.js';
import type { ExportNetwork } from '../export/network.js';
import { quantizeNetwork, type ActivationRange, type QuantizedNetwork, type WeightScales } from './quantize.js';

/** At most this many calibration windows, spread evenly over the set (ranges settle well before). */
export const CALIBRATION_WINDOWS = 2048;

/** Rows of `set` to calibrate on: all of them, or CALIBRATION_WINDOWS spread evenly. */
export function calibrationRows(set: WindowSet, most = CALIBRATION_WINDOWS): Float32Array {
  if (set.count <= most) return set.data.subarray(0, set.count * set.length);
  const rows = new Float32Array(most * set.length);
  for (let i = 0; i < most; i++) {
    const w = Math.floor((i * set.count) / most);
    rows.set(set.data.subarray(w * set.length, (w + 1) * set.length), i * set.length);
  }
  return rows;
}

/**
 * The range of the input of each exported layer and of the last one's output, on `windows`
 * (model inputs, `window` values each), pushed through the layers the export skips first.
 */
export function activationRanges(model: tf.LayersModel, net: ExportNetwork, windows: Float32Array, window: number, batchSize = 256): ActivationRange[] {
  const count = windows.length / window;
  if (count === 0) throw new MamError('no windows to calibrate the int8 quantisation on: the model\'s data have no training windows');
  const ranges: ActivationRange[] = Array.from({ length: net.layers.length + 1 }, () => ({ min: Infinity, max: -Infinity }));
  for (let w = 0; w < count; w += batchSize) {
    const rows = Math.min(batchSize, count - w);
    const seen = tf.tidy(() => {
      let h: tf.Tensor = tf.tensor2d(windows.subarray(w * window, (w + rows) * window), [rows, window]);
      const out: Array<[number, number]> = [];
      model.layers.forEach((layer, i) => {
        if (i >= net.skipped) out.push([h.min().dataSync()[0]!, h.max().dataSync()[0]!]);
        h = layer.apply(h) as tf.Tensor;
      });
      out.push([h.min().dataSync()[0]!, h.max().dataSync()[0]!]);
      return out;
    });
    seen.forEach(([lo, hi], i) => { ranges[i]!.min = Math.min(ranges[i]!.min, lo); ranges[i]!.max = Math.max(ranges[i]!.max, hi); });
  }
  return ranges;
}

/** The int8 network of `net`, calibrated on the model's training windows. */
export function calibrateInt8(model: tf.LayersModel, net: ExportNetwork, train: WindowSet, weightScales: WeightScales = 'channel'): QuantizedNetwork {
  return quantizeNetwork(net, activationRanges(model, net, calibrationRows(train), train.length), weightScales);
}
