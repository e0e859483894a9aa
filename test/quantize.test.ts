// The int8 reference against cases worked by hand: the fixed-point multiplier and its one rounding,
// the float <-> int8 conversions (ties, saturation, NaN), scales and zero points, a MAC neuron
// and a MAM neuron with slices and a pruned connection (as a 0 product and as absent), ReLU's
// clamp at the zero point; and a random network whose int8 outputs stay near its float ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExportLayer, ExportNetwork } from '../src/export/network.js';
import {
  dequantizeOutput, multiplyByQuantizedMultiplier, quantizeInput, quantizeMultiplier,
} from '../src/quantize/fixed-point.js';
import { inferInt8, inferQuantized, quantizeInputs } from '../src/quantize/infer.js';
import { activationQuantization, quantizeNetwork, weightScalesOf } from '../src/quantize/quantize.js';
import { randomArray, rng } from './helpers.js';

const PIPELINE = { fs: 256, window: 4, hop: 4, baseline: 'none', normalization: { method: 'window' }, split: [0.7, 0.15, 0.15], seed: 1 } as unknown as ExportNetwork['preprocessing'];

function layer(o: Partial<ExportLayer> & Pick<ExportLayer, 'inputSize' | 'outputSize' | 'kernel'>): ExportLayer {
  return {
    name: 'l', kind: 'mac', activation: 'linear', splits: 1, prunedAs: 'zero',
    bias: new Float32Array(o.outputSize), mask: Uint8Array.from(o.kernel, (v) => (v !== 0 ? 1 : 0)), ...o,
  };
}

function net(...layers: ExportLayer[]): ExportNetwork {
  return { preprocessing: PIPELINE, skipped: 0, layers };
}

describe('fixed-point requantisation', () => {
  it('represents M as a Q31 multiplier and a shift', () => {
    assert.deepEqual(quantizeMultiplier(0.5), { multiplier: 2 ** 30, shift: 0 });
    assert.deepEqual(quantizeMultiplier(1), { multiplier: 2 ** 30, shift: 1 });
    assert.deepEqual(quantizeMultiplier(0.75), { multiplier: 1610612736, shift: 0 });
    // 0.1 = 0.8 * 2^-3; 0.8 * 2^31 = 1717986918.4
    assert.deepEqual(quantizeMultiplier(0.1), { multiplier: 1717986918, shift: -3 });
    assert.deepEqual(quantizeMultiplier(0), { multiplier: 0, shift: 0 });
    assert.deepEqual(quantizeMultiplier(2 ** -40), { multiplier: 0, shift: 0 });
    // Just below 1: q rounds up to 2^31, which becomes 2^30 with one more shift.
    assert.deepEqual(quantizeMultiplier(1 - 2 ** -40), { multiplier: 2 ** 30, shift: 1 });
    assert.throws(() => quantizeMultiplier(-1), RangeError);
  });

  it('multiplies an accumulator by M to the nearest integer', () => {
    const half = quantizeMultiplier(0.5), quarter = quantizeMultiplier(0.25);
    assert.equal(multiplyByQuantizedMultiplier(100, half), 50);
    assert.equal(multiplyByQuantizedMultiplier(3, half), 2); // ties upward
    assert.equal(multiplyByQuantizedMultiplier(-3, half), -1);
    assert.equal(multiplyByQuantizedMultiplier(-7, quarter), -2); // -1.75
    // One rounding: 1.25 -> 1 (rounding twice, at 2.5 then 1.5, would give 2).
    assert.equal(multiplyByQuantizedMultiplier(5, quarter), 1);
    assert.equal(multiplyByQuantizedMultiplier(7, quarter), 2);
    assert.equal(multiplyByQuantizedMultiplier(123456, quantizeMultiplier(0)), 0);
    // M > 1; a result beyond int32 saturates.
    assert.equal(multiplyByQuantizedMultiplier(10, quantizeMultiplier(3)), 30);
    assert.equal(multiplyByQuantizedMultiplier(2 ** 30, quantizeMultiplier(4)), 2147483647);
    // Against round(acc * M) wherever acc * M is not within 1e-6 of a tie.
    const rand = rng(3);
    for (let i = 0; i < 2000; i++) {
      const m = 10 ** (-6 + 6 * rand());
      const acc = Math.round((rand() - 0.5) * 2 ** 24);
      const exact = acc * m;
      if (Math.abs(Math.abs(exact % 1) - 0.5) < 1e-6) continue;
      assert.equal(multiplyByQuantizedMultiplier(acc, quantizeMultiplier(m)), Math.round(exact) + 0, `acc ${acc}, M ${m}`);
    }
  });
});

describe('int8 conversions', () => {
  it('quantises in float32 steps, ties away from zero, saturated; NaN to the lowest level', () => {
    assert.equal(quantizeInput(2.5, 1, 0), 3);
    assert.equal(quantizeInput(-2.5, 1, 0), -3);
    assert.equal(quantizeInput(2.49, 1, 0), 2);
    assert.equal(quantizeInput(0, 0.5, -7), -7);
    assert.equal(quantizeInput(1000, 1, 0), 127);
    assert.equal(quantizeInput(-1000, 1, 0), -128);
    assert.equal(quantizeInput(Infinity, 1, 0), 127);
    assert.equal(quantizeInput(NaN, 1, 10), -128);
    assert.equal(quantizeInput(100, 1, 100), 127);
    // float32: 0.49999997 + 0.5 rounds to 1 in float32, as it does in C.
    assert.equal(quantizeInput(0.49999997, 1, 0), 1);
    assert.equal(dequantizeOutput(-6, 0.5, -26), 10);
  });

  it('covers the calibrated range widened to 0, with 0 exactly on the zero point', () => {
    assert.deepEqual(activationQuantization({ min: 0, max: 2.55 }), { scale: Math.fround(0.01), zeroPoint: -128 });
    // [-1, 1]: zero point -128 + 127.5 = -0.5, away from zero: -1.
    assert.deepEqual(activationQuantization({ min: -1, max: 1 }), { scale: Math.fround(2 / 255), zeroPoint: -1 });
    assert.deepEqual(activationQuantization({ min: 1, max: 2 }), activationQuantization({ min: 0, max: 2 }));
    assert.deepEqual(activationQuantization({ min: -3, max: -1 }), { scale: Math.fround(3 / 255), zeroPoint: 127 });
    assert.deepEqual(activationQuantization({ min: 0, max: 0 }), { scale: 1, zeroPoint: 0 });
  });

  it('scales weights symmetrically per output neuron or per layer; a neuron with no weight gets scale 1', () => {
    // [in 2][out 3]: neuron 0 has |w| up to 0.5, neuron 1 up to 2, neuron 2 nothing.
    const kernel = Float32Array.of(0.5, -2, 0, -0.25, 1, 0);
    assert.deepEqual(Array.from(weightScalesOf(kernel, 2, 3, 'channel')), [0.5, 2, 127].map((a) => Math.fround(a / 127)));
    assert.deepEqual(Array.from(weightScalesOf(kernel, 2, 3, 'layer')), [2, 2, 2].map((a) => Math.fround(a / 127)));
  });
});

describe('the integer reference', () => {
  it('computes a MAC neuron as worked by hand', () => {
    // x in [0, 2.55]: scale 0.01, zero point -128. w = [0.5, -0.2]: scale 0.5/127, w_q = [127, -51].
    // b = 0.1: b_q = 0.1 / (0.01 * 0.5 / 127) = 2540. y in [-1, 1.5]: scale 2.5/255, zero point -26.
    const q = quantizeNetwork(net(layer({ inputSize: 2, outputSize: 1, kernel: Float32Array.of(0.5, -0.2), bias: Float32Array.of(0.1) })),
      [{ min: 0, max: 2.55 }, { min: -1, max: 1.5 }]);
    const l = q.layers[0]!;
    assert.deepEqual(Array.from(l.weights), [127, -51]);
    assert.deepEqual(Array.from(l.bias), [2540]);
    assert.equal(l.output.zeroPoint, -26);
    const x = quantizeInputs(q, Float32Array.of(1, 2));
    assert.deepEqual(Array.from(x), [-28, 72]);
    // acc = 2540 + 100 * 127 + 200 * -51 = 5040; 5040 * M = 5040 * (0.01 * 0.5/127) / (2.5/255) = 20.24 -> 20.
    assert.deepEqual(Array.from(inferInt8(q, x, 1)), [-26 + 20]);
    // 20 levels of 2.5/255 = 0.196 (the float neuron: 0.2).
    assert.equal(inferQuantized(q, Float32Array.of(1, 2), 1)[0], Math.fround(20 * Math.fround(2.5 / 255)));
  });

  it('computes a MAM neuron with two slices, a pruned connection as 0 or absent, and ReLU', () => {
    // w = [0.5, -0.5 | 0.3, pruned]: scale 0.5/127, w_q = [127, -127 | 76, 0]. b = 0.5: b_q = 12700.
    // x = [0.5, 0.2, -0.4, 0.9] in [-1, 1.55]: scale 0.01, zero point -28; x_q - z_x = [50, 20, -40, 90].
    // Slice 0: max 6350 + min -2540 = 3810. Slice 1: the product -3040, and 0 for the pruned one
    // when pruned as zero (770 in all), or alone when absent (-6080: 3810 - 6080 = -2270).
    // y in [0, 1.27] with ReLU: scale 1.27/255, zero point -128; M = 0.0079051.
    const kernel = Float32Array.of(0.5, -0.5, 0.3, 0);
    const mask = Uint8Array.of(1, 1, 1, 0);
    const ranges = [{ min: -1, max: 1.55 }, { min: 0, max: 1.27 }];
    const x = Float32Array.of(0.5, 0.2, -0.4, 0.9);
    const outputs: Record<string, number> = {};
    for (const prunedAs of ['zero', 'absent'] as const) {
      const q = quantizeNetwork(net(layer({ kind: 'mam', splits: 2, prunedAs, activation: 'relu', inputSize: 4, outputSize: 1, kernel, mask, bias: Float32Array.of(0.5) })), ranges);
      assert.deepEqual(Array.from(q.layers[0]!.weights), [127, -127, 76, 0]);
      assert.deepEqual(Array.from(q.layers[0]!.bias), [12700]);
      assert.deepEqual(Array.from(quantizeInputs(q, x)), [22, -8, -68, 62]);
      outputs[prunedAs] = inferInt8(q, quantizeInputs(q, x), 1)[0]!;
    }
    assert.equal(outputs.zero, -128 + 106); // (12700 + 770) * M = 106.48
    assert.equal(outputs.absent, -128 + 82); // (12700 - 2270) * M = 82.45
    // ReLU: a negative sum stops at the zero point.
    const neg = quantizeNetwork(net(layer({ kind: 'mam', splits: 2, activation: 'relu', inputSize: 4, outputSize: 1, kernel, mask, bias: Float32Array.of(-1) })), ranges);
    assert.equal(inferInt8(neg, quantizeInputs(neg, x), 1)[0], -128);
  });

  it('adds 0 for a slice with no connection kept when pruned connections are absent', () => {
    const kernel = Float32Array.of(0.5, 0, 0, 0); // one neuron; slice 1 (inputs 2, 3) keeps nothing
    const q = quantizeNetwork(net(layer({ kind: 'mam', splits: 2, prunedAs: 'absent', inputSize: 4, outputSize: 1, kernel, mask: Uint8Array.of(1, 0, 0, 0) })),
      [{ min: 0, max: 2.55 }, { min: -2.55, max: 2.55 }]);
    // Slice 0 has one product, 1 * 0.5 twice (max and min): 1.0.
    const y = inferQuantized(q, Float32Array.of(1, 0.3, 2, 2), 1)[0]!;
    assert.ok(Math.abs(y - 1) < 0.02, `${y}`);
  });

  it('keeps a random two-layer network (MAC then MAM with slices) within a few output levels of float', () => {
    const rand = rng(11);
    const n = 32, h = 16, m = 32, count = 64;
    const l1 = layer({ name: 'a', activation: 'relu', inputSize: n, outputSize: h, kernel: randomArray(rand, n * h, -0.3, 0.3), bias: randomArray(rand, h, -0.1, 0.1) });
    const l2 = layer({ name: 'b', kind: 'mam', splits: 3, inputSize: h, outputSize: m, kernel: randomArray(rand, h * m, -0.5, 0.5), bias: randomArray(rand, m, -0.1, 0.1) });
    const x = randomArray(rand, count * n, -2, 2);
    // Float reference and the ranges it shows.
    const a = new Float32Array(count * h), y = new Float32Array(count * m);
    for (let r = 0; r < count; r++) {
      for (let k = 0; k < h; k++) {
        let s = l1.bias[k]!;
        for (let j = 0; j < n; j++) s += x[r * n + j]! * l1.kernel[j * h + k]!;
        a[r * h + k] = Math.max(0, s);
      }
      for (let k = 0; k < m; k++) {
        let s = l2.bias[k]!;
        for (let sl = 0; sl < 3; sl++) {
          let mx = -Infinity, mn = Infinity;
          for (let j = Math.floor((sl * h) / 3); j < Math.floor(((sl + 1) * h) / 3); j++) {
            const p = a[r * h + j]! * l2.kernel[j * m + k]!;
            mx = Math.max(mx, p); mn = Math.min(mn, p);
          }
          s += mx + mn;
        }
        y[r * m + k] = s;
      }
    }
    const range = (v: Float32Array) => ({ min: Math.min(...v), max: Math.max(...v) });
    const q = quantizeNetwork(net(l1, l2), [range(x), range(a), range(y)]);
    const yq = inferQuantized(q, x, count);
    const step = q.layers[1]!.output.scale;
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(yq[i]! - y[i]!));
    assert.ok(worst < 4 * step, `worst error ${worst}, ${worst / step} output levels`);
    assert.ok(worst > 0, 'int8 is not float: some error is expected');
  });

  it('refuses a bias the int32 accumulator cannot hold at its scale', () => {
    const tiny = layer({ inputSize: 2, outputSize: 1, kernel: Float32Array.of(1e-9, 0), bias: Float32Array.of(1e3) });
    assert.throws(() => quantizeNetwork(net(tiny), [{ min: 0, max: 1 }, { min: 0, max: 1 }]), /too large for an int32 accumulator/);
  });
});
