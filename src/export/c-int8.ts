// The int8 kernels of the C export: the integer reference (src/quantize/infer.ts) spelled out in
// C99, so that the same int8 inputs give the same int8 outputs on any C compiler and core.
// Weights int8 ([out][in] dense, or CSR over output neurons), biases int32, one fixed-point
// multiplier and shift per output neuron; activations int8 in the arena. A MAC neuron's input
// zero point is folded into its bias (b_q - z_x * sum_j w_q, the same integer), so its inner
// loop is a plain int8 multiply-accumulate; a MAM neuron compares (x_q - z_x) * w_q products.
import { neuronMajor } from '../layers/mam-math.js';
import type { QuantizedLayer, QuantizedNetwork } from '../quantize/quantize.js';
import { cArray, cFloat } from './c-syntax.js';
import { toCsr } from './network.js';
import type { LayerStorage } from './storage.js';

/** The C of requantisation and of the float <-> int8 conversions at the network's edges. */
export function int8Helpers(net: QuantizedNetwork, P: string): string {
  const input = net.layers[0]!.input, output = net.layers.at(-1)!.output;
  return `/* A MAM neuron's running max and min of integer products (exact: integers have no signed zero). */
#define MAXMIN_INT(p, mx, mn) ((mx) = (p) > (mx) ? (p) : (mx), (mn) = (p) < (mn) ? (p) : (mn))

/* On a core with the DSP extension (Cortex-M4, M7, M33...; not with -D${P}_NO_SIMD): four int8
 * a word, two 16-bit lanes a register. The same integers as the plain loops, in another order
 * (sums and max/min of integers do not depend on it). */
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32 && defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(${P}_NO_SIMD)
#include <arm_acle.h>
#include <string.h>
#define INT8_SIMD 1
static inline uint32_t load4(const int8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint32_t ror8(uint32_t v) { return (v >> 8) | (v << 24); }
static inline int32_t low16(int16x2_t v) { return (int16_t)((uint32_t)v & 0xFFFFu); }
static inline int32_t high16(int16x2_t v) { return (int16_t)((uint32_t)v >> 16); }
/* acc + x[0..3] . w[0..3]: SXTB16 splits bytes 0,2 and 1,3 into lanes, SMLAD takes two products a lane pair. */
static inline int32_t dot4(uint32_t xs, uint32_t ws, int32_t acc) {
  acc = __smlad(__sxtb16(xs), __sxtb16(ws), acc);
  return __smlad(__sxtb16(ror8(xs)), __sxtb16(ror8(ws)), acc);
}
/* The four products (x - z) * w, packed two a word as int16 (they fit: |p| <= 255 * 127), into
 * running lane-wise max and min: SSUB16 sets each lane's GE flag from the full difference, SEL
 * keeps the larger (smaller). zz holds z in both lanes. */
static inline void maxmin4(uint32_t xs, uint32_t ws, int16x2_t zz, int16x2_t *mx, int16x2_t *mn) {
  const int16x2_t x02 = __ssub16(__sxtb16(xs), zz), x13 = __ssub16(__sxtb16(ror8(xs)), zz);
  const int16x2_t w02 = __sxtb16(ws), w13 = __sxtb16(ror8(ws));
  const int16x2_t a = (int16x2_t)(((uint32_t)(low16(x02) * low16(w02)) & 0xFFFFu) | ((uint32_t)(low16(x13) * low16(w13)) << 16));
  const int16x2_t b = (int16x2_t)(((uint32_t)(high16(x02) * high16(w02)) & 0xFFFFu) | ((uint32_t)(high16(x13) * high16(w13)) << 16));
  (void)__ssub16(a, *mx); *mx = __sel(a, *mx);
  (void)__ssub16(*mn, a); *mn = __sel(a, *mn);
  (void)__ssub16(b, *mx); *mx = __sel(b, *mx);
  (void)__ssub16(*mn, b); *mn = __sel(b, *mn);
}
#endif

/* acc * M rounded once (ties upward), plus the zero point, saturated to [lo, 127]: one
 * 64-bit multiply-add and an arithmetic shift (TFLite's single-rounding requantisation). */
static int8_t requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point, int32_t lo) {
  const int total = 31 - shift; /* 1..62 */
  int64_t r = ((int64_t)acc * multiplier + ((int64_t)1 << (total - 1))) >> total;
  r += zero_point;
  return (int8_t)(r < lo ? lo : r > 127 ? 127 : r);
}

/* A float to the input's int8: x / scale in float32 (times the float32 inverse), clamped to
 * +-256 (NaN to -256), rounded half away from zero, plus the zero point, saturated. */
static int8_t quantize_input(float x) {
  float v = x * ${cFloat(Math.fround(1 / input.scale))};
  if (!(v >= -256.0f)) v = -256.0f;
  if (!(v <= 256.0f)) v = 256.0f;
  const int32_t r = (int32_t)(v + (v >= 0.0f ? 0.5f : -0.5f)) + ${P}_INPUT_ZERO_POINT;
  return (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
}
`;
}

/** The scales and zero points of the int8 entry's input and output, for the header. */
export function int8Macros(net: QuantizedNetwork, P: string): string[] {
  const input = net.layers[0]!.input, output = net.layers.at(-1)!.output;
  return [
    `/* int8: real = scale * (q - zero_point) for ${P.toLowerCase()}_infer_int8's input and output. */`,
    `#define ${P}_INT8 1`,
    `#define ${P}_INPUT_SCALE ${cFloat(input.scale)}`,
    `#define ${P}_INPUT_ZERO_POINT ${input.zeroPoint}`,
    `#define ${P}_OUTPUT_SCALE ${cFloat(output.scale)}`,
    `#define ${P}_OUTPUT_ZERO_POINT ${output.zeroPoint}`,
  ];
}

/** b_q[k] - z_x * sum_j w_q[j,k]: a MAC neuron's bias with the input's zero point folded in. */
function foldedBias(layer: QuantizedLayer): Int32Array {
  const { inputSize: n, outputSize: m, weights } = layer;
  const folded = Int32Array.from(layer.bias);
  for (let j = 0; j < n; j++) for (let k = 0; k < m; k++) folded[k] -= layer.input.zeroPoint * weights[j * m + k]!;
  return folded;
}

/** One int8 layer as a static C function y = f(x) over int8 vectors. */
export function int8LayerFunction(layer: QuantizedLayer, id: string, st: LayerStorage): string {
  const n = layer.inputSize, m = layer.outputSize;
  const mac = layer.kind === 'mac';
  const zx = layer.input.zeroPoint;
  const lo = layer.activation === 'relu' ? Math.max(layer.output.zeroPoint, -128) : -128;
  const out: string[] = [];
  out.push(cArray('int32_t', `${id}_bias`, mac ? foldedBias(layer) : layer.bias, String));
  out.push(cArray('int32_t', `${id}_mult`, layer.multipliers, String));
  out.push(cArray('int8_t', `${id}_shift`, layer.shifts, String));
  const finish = `    y[k] = requantize(acc, ${id}_mult[k], ${id}_shift[k], ${layer.output.zeroPoint}, ${lo});`;
  if (st.storage === 'csr') {
    const csr = toCsr({ ...layer, kernel: layer.weights });
    out.push(cArray('int8_t', `${id}_values`, csr.values, String));
    out.push(cArray(st.indexBytes === 1 ? 'uint8_t' : 'uint16_t', `${id}_cols`, csr.colIndices, String));
    out.push(cArray(st.pointerBytes === 2 ? 'uint16_t' : 'uint32_t', `${id}_rows`, csr.rowPointers, String));
    out.push(`static void ${id}(const int8_t *x, int8_t *y) {`);
    out.push(`  for (int k = 0; k < ${m}; k++) {`);
    out.push(`    uint32_t e = ${id}_rows[k], end = ${id}_rows[k + 1];`);
    out.push(`    int32_t acc = ${id}_bias[k];`);
    if (mac) {
      out.push(`    for (; e < end; e++) acc += (int32_t)x[${id}_cols[e]] * ${id}_values[e];`);
    } else {
      const zero = layer.prunedAs === 'zero';
      out.push(`    for (int s = 0; s < ${layer.splits}; s++) {`);
      out.push(`      const uint32_t j1 = (uint32_t)(((s + 1) * ${n}) / ${layer.splits});`);
      if (zero) out.push(`      const uint32_t size = j1 - (uint32_t)((s * ${n}) / ${layer.splits});`);
      out.push(`      int32_t mx = 0, mn = 0;${zero ? ' uint32_t count = 0;' : ''} int any = 0;`);
      out.push(`      if (e < end && ${id}_cols[e] < j1) {`);
      out.push(`        mx = mn = ((int32_t)x[${id}_cols[e]] - (${zx})) * ${id}_values[e];`);
      out.push(`        any = 1;${zero ? ' count = 1;' : ''}`);
      out.push(`        for (e++; e < end && ${id}_cols[e] < j1; e++${zero ? ', count++' : ''}) {`);
      out.push(`          const int32_t p = ((int32_t)x[${id}_cols[e]] - (${zx})) * ${id}_values[e];`);
      out.push('          MAXMIN_INT(p, mx, mn);');
      out.push('        }');
      out.push('      }');
      if (zero) {
        out.push('      /* pruned connections of this slice offer a 0 product to the max and min */');
        out.push('      if (count < size) { if (!any || 0 > mx) mx = 0; if (!any || 0 < mn) mn = 0; }');
      } else {
        out.push('      /* pruned connections are absent; a slice with none kept adds 0 (mx = mn = 0) */');
        out.push('      (void)any;');
      }
      out.push('      acc += mx + mn;');
      out.push('    }');
    }
  } else {
    out.push(cArray('int8_t', `${id}_w`, neuronMajor(layer.weights, n, m), String));
    out.push(`static void ${id}(const int8_t *x, int8_t *y) {`);
    out.push(`  for (int k = 0; k < ${m}; k++) {`);
    out.push(`    const int8_t *w = ${id}_w + k * ${n};`);
    out.push(`    int32_t acc = ${id}_bias[k];`);
    if (mac) {
      // Four products a turn (integer sums are exact in any order): a quarter of the loop overhead.
      out.push('    int j = 0;');
      out.push('#ifdef INT8_SIMD');
      out.push(`    for (; j + 4 <= ${n}; j += 4) acc = dot4(load4(x + j), load4(w + j), acc);`);
      out.push('#else');
      out.push(`    for (; j + 4 <= ${n}; j += 4) acc += (int32_t)x[j] * w[j] + (int32_t)x[j + 1] * w[j + 1] + (int32_t)x[j + 2] * w[j + 2] + (int32_t)x[j + 3] * w[j + 3];`);
      out.push('#endif');
      out.push(`    for (; j < ${n}; j++) acc += (int32_t)x[j] * w[j];`);
    } else {
      out.push(`    for (int s = 0; s < ${layer.splits}; s++) {`);
      out.push(`      const int j0 = (s * ${n}) / ${layer.splits}, j1 = ((s + 1) * ${n}) / ${layer.splits};`);
      out.push(`      int32_t mx = ((int32_t)x[j0] - (${zx})) * w[j0], mn = mx;`);
      out.push('      int j = j0 + 1;');
      out.push('#ifdef INT8_SIMD');
      out.push('      if (j + 4 <= j1) {');
      out.push('        /* both lanes start from the first product (a max and min it belongs to anyway) */');
      out.push('        int16x2_t mx2 = (int16x2_t)(((uint32_t)mx & 0xFFFFu) | ((uint32_t)mx << 16)), mn2 = mx2;');
      out.push(`        const int16x2_t zz = (int16x2_t)(((uint32_t)(${zx}) & 0xFFFFu) | ((uint32_t)(${zx}) << 16));`);
      out.push('        for (; j + 4 <= j1; j += 4) maxmin4(load4(x + j), load4(w + j), zz, &mx2, &mn2);');
      out.push('        mx = low16(mx2) > high16(mx2) ? low16(mx2) : high16(mx2);');
      out.push('        mn = low16(mn2) < high16(mn2) ? low16(mn2) : high16(mn2);');
      out.push('      }');
      out.push('#endif');
      out.push('      for (; j + 4 <= j1; j += 4) {');
      out.push(`        const int32_t p0 = ((int32_t)x[j] - (${zx})) * w[j], p1 = ((int32_t)x[j + 1] - (${zx})) * w[j + 1];`);
      out.push(`        const int32_t p2 = ((int32_t)x[j + 2] - (${zx})) * w[j + 2], p3 = ((int32_t)x[j + 3] - (${zx})) * w[j + 3];`);
      out.push('        MAXMIN_INT(p0, mx, mn); MAXMIN_INT(p1, mx, mn); MAXMIN_INT(p2, mx, mn); MAXMIN_INT(p3, mx, mn);');
      out.push('      }');
      out.push('      for (; j < j1; j++) {');
      out.push(`        const int32_t p = ((int32_t)x[j] - (${zx})) * w[j];`);
      out.push('        MAXMIN_INT(p, mx, mn);');
      out.push('      }');
      out.push('      acc += mx + mn;');
      out.push('    }');
    }
  }
  out.push(finish);
  out.push('  }');
  out.push('}\n');
  return out.join('\n');
}

/** <prefix>_infer on floats around <prefix>_infer_int8: quantise in, run, dequantise out. */
export function int8FloatEntry(p: string, P: string): string {
  return `void ${p}_infer(const float *in, float *out) {
  static int8_t q_in[${P}_INPUT_SIZE], q_out[${P}_OUTPUT_SIZE];
  for (int i = 0; i < ${P}_INPUT_SIZE; i++) q_in[i] = quantize_input(in[i]);
  ${p}_infer_int8(q_in, q_out);
  for (int k = 0; k < ${P}_OUTPUT_SIZE; k++) out[k] = (float)(q_out[k] - ${P}_OUTPUT_ZERO_POINT) * ${P}_OUTPUT_SCALE;
}
`;
}
