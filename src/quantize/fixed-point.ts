// The integer arithmetic of int8 inference, as TensorFlow Lite defines it (and CMSIS-NN and
// TFLite Micro implement it): a real multiplier M > 0 as a 31-bit fixed-point multiplier and a
// power-of-two shift, applied to an int32 accumulator with one rounding; and the float <-> int8 conversions at the edges of
// the network, written so that C float32 arithmetic gives the same integers. Pure: no tfjs.
// The C export spells every function here out in C; the two must agree bit for bit.

export const INT8_MIN = -128;
export const INT8_MAX = 127;
/** Symmetric weights use -127..127, so that negating a weight never saturates. */
export const WEIGHT_MAX = 127;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export interface QuantizedMultiplier {
  /** M = multiplier * 2^(shift - 31); multiplier in [2^30, 2^31), or 0 when M is 0 or too small. */
  multiplier: number;
  shift: number;
}

/**
 * M as a Q31 multiplier and a shift (TFLite's QuantizeMultiplier): M = q * 2^shift with q in
 * [0.5, 1), q rounded to 31 bits. A multiplier below 2^-31 becomes 0 (the output is then the
 * zero point); one of 2^31 or more cannot be represented and is refused.
 */
export function quantizeMultiplier(m: number): QuantizedMultiplier {
  if (!(m >= 0) || !Number.isFinite(m)) throw new RangeError(`requantisation multiplier ${m}: must be a finite number >= 0`);
  if (m === 0) return { multiplier: 0, shift: 0 };
  let shift = Math.floor(Math.log2(m)) + 1;
  // log2 may round across a power of two: bring q = m / 2^shift into [0.5, 1) exactly.
  while (m / 2 ** shift >= 1) shift++;
  while (m / 2 ** shift < 0.5) shift--;
  let q = Math.round((m / 2 ** shift) * 2 ** 31);
  if (q === 2 ** 31) { q /= 2; shift++; }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  if (shift > 30) throw new RangeError(`requantisation multiplier ${m}: too large for a 32-bit fixed-point multiplier`);
  return { multiplier: q, shift };
}

/**
 * acc * M in integers: acc * multiplier / 2^(31 - shift), rounded once to the nearest integer
 * (ties upward) and saturated to int32. This is TFLite's single-rounding form
 * (TFLITE_SINGLE_ROUNDING; CMSIS-NN's arm_nn_requantize with CMSIS_NN_USE_SINGLE_ROUNDING): one
 * 64-bit multiply-add and shift. The older double-rounding form (a rounding doubling high
 * multiply, then a rounding shift) rounds twice: 5 * 0.25 gives 2 there, 1 here.
 */
export function multiplyByQuantizedMultiplier(acc: number, { multiplier, shift }: QuantizedMultiplier): number {
  const total = BigInt(31 - shift); // 1..62: quantizeMultiplier keeps shift in -31..30
  const r = Number((BigInt(acc) * BigInt(multiplier) + (1n << (total - 1n))) >> total); // BigInt >> floors, as C's >> on int64
  return clamp(r, INT32_MIN, INT32_MAX);
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * A float32 value to int8 at (scale, zeroPoint), with the inverse scale a float32: the float32
 * product x * (1/scale), clamped to +-256 (NaN to -256), rounded half away from zero by adding
 * +-0.5 in float32 and truncating, plus the zero point, saturated. Every step is the one the C
 * export's quantize function takes in float32, so both give the same integer for every input.
 */
export function quantizeInput(x: number, inverseScale: number, zeroPoint: number): number {
  let v = Math.fround(Math.fround(x) * inverseScale);
  if (!(v >= -256)) v = -256;
  if (!(v <= 256)) v = 256;
  const r = Math.trunc(Math.fround(v + (v >= 0 ? 0.5 : -0.5)));
  return clamp(r + zeroPoint, INT8_MIN, INT8_MAX);
}

/** An int8 value back to float32: (q - zeroPoint) * scale, one float32 multiplication. */
export function dequantizeOutput(q: number, scale: number, zeroPoint: number): number {
  return Math.fround((q - zeroPoint) * scale);
}
