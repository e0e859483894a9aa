// The integer reference: what an int8 network computes, defined here and nowhere else (the C
// export must give the same int8 outputs, and so the same floats). Per layer and neuron k:
//   MAC: acc = b_q[k] + sum_j (x_q[j] - z_x) * w_q[j,k]
//   MAM: acc = b_q[k] + sum over slices of (max_j p_j + min_j p_j), p_j = (x_q[j] - z_x) * w_q[j,k]
// (pruned connections: a 0 product when pruned as 'zero', left out when 'absent', and a slice
// with none kept adds 0), then y_q = z_y + acc * M (fixed point), saturated to int8 (to z_y..127
// with ReLU). Plain integers: the products fit in 16 bits, the sums in 32.
import { neuronMajor, sliceStart } from '../layers/mam-math.js';
import { clamp, dequantizeOutput, INT8_MAX, INT8_MIN, multiplyByQuantizedMultiplier, quantizeInput } from './fixed-point.js';
import type { QuantizedLayer, QuantizedNetwork } from './quantize.js';

/** One layer over `count` input vectors (int8, inputSize each). */
export function layerInt8(layer: QuantizedLayer, x: Int8Array, count: number): Int8Array {
  const { inputSize: n, outputSize: m, splits } = layer;
  const zx = layer.input.zeroPoint, zy = layer.output.zeroPoint;
  const low = layer.activation === 'relu' ? Math.max(zy, INT8_MIN) : INT8_MIN;
  const w = neuronMajor(layer.weights, n, m);
  const absent = layer.kind === 'mam' && layer.prunedAs === 'absent';
  const mask = absent ? neuronMajor(layer.mask, n, m) : null;
  const y = new Int8Array(count * m);
  const xz = new Int32Array(n);
  for (let r = 0; r < count; r++) {
    for (let j = 0; j < n; j++) xz[j] = x[r * n + j]! - zx;
    for (let k = 0; k < m; k++) {
      const row = k * n;
      let acc = layer.bias[k]!;
      if (layer.kind === 'mac') {
        for (let j = 0; j < n; j++) acc += xz[j]! * w[row + j]!;
      } else {
        for (let s = 0; s < splits; s++) {
          const j0 = sliceStart(s, n, splits), j1 = sliceStart(s + 1, n, splits);
          let mx = 0, mn = 0, any = false;
          for (let j = j0; j < j1; j++) {
            if (mask && !mask[row + j]) continue;
            const p = xz[j]! * w[row + j]!;
            if (!any) { mx = mn = p; any = true; } else if (p > mx) mx = p; else if (p < mn) mn = p;
          }
          acc += mx + mn; // an empty slice ('absent', none kept) adds 0
        }
      }
      const v = zy + multiplyByQuantizedMultiplier(acc, { multiplier: layer.multipliers[k]!, shift: layer.shifts[k]! });
      y[r * m + k] = clamp(v, low, INT8_MAX);
    }
  }
  return y;
}

/** The int8 network on int8 inputs (`count` vectors of the first layer's inputSize). */
export function inferInt8(net: QuantizedNetwork, input: Int8Array, count: number): Int8Array {
  let h = input;
  for (const layer of net.layers) h = layerInt8(layer, h, count);
  return h;
}

/** Float inputs quantised as the C export's <prefix>_quantize does. */
export function quantizeInputs(net: QuantizedNetwork, input: Float32Array): Int8Array {
  const { scale, zeroPoint } = net.layers[0]!.input;
  const inverse = Math.fround(1 / scale);
  return Int8Array.from(input, (v) => quantizeInput(v, inverse, zeroPoint));
}

export function dequantizeOutputs(net: QuantizedNetwork, output: Int8Array): Float32Array {
  const { scale, zeroPoint } = net.layers.at(-1)!.output;
  return Float32Array.from(output, (q) => dequantizeOutput(q, scale, zeroPoint));
}

/** Float in, float out, as <prefix>_infer of an int8 export: quantise, run in integers, dequantise. */
export function inferQuantized(net: QuantizedNetwork, input: Float32Array, count: number): Float32Array {
  return dequantizeOutputs(net, inferInt8(net, quantizeInputs(net, input), count));
}
