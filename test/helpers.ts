// Small seeded helpers shared by the tests (no Math.random: a failing case must repeat), and the
// float64 reference of a MAM or dense layer that gradients are checked against.
import type { MamDenseArgs } from '../src/layers/mam-dense.js';

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n float32 values uniform in [lo, hi), or whole numbers in [lo, hi] when `integers` (to force ties). */
export function randomArray(rand: () => number, n: number, lo = -1, hi = 1, integers = false): Float32Array {
  return Float32Array.from({ length: n }, () =>
    integers ? Math.floor(lo + rand() * (hi - lo + 1)) : lo + rand() * (hi - lo));
}

/** Largest |a - b| relative to max(1, |b|) over each window of `n` values (the C check's measure). */
export function worstRelative(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  let worst = 0;
  for (let r = 0; r < b.length / n; r++) {
    let scale = 1;
    for (let k = 0; k < n; k++) scale = Math.max(scale, Math.abs(b[r * n + k]!));
    for (let k = 0; k < n; k++) worst = Math.max(worst, Math.abs(a[r * n + k]! - b[r * n + k]!) / scale);
  }
  return worst;
}

/** Equality of two float arrays value for value (Object.is: -0 differs from +0, NaN equals NaN). */
export function sameFloats(a: ArrayLike<number>, b: ArrayLike<number>): { equal: boolean; at: number } {
  if (a.length !== b.length) return { equal: false, at: -1 };
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) return { equal: false, at: i };
  }
  return { equal: true, at: -1 };
}

/** The layer's output in float64: beta x W + (1 - beta) MAM(x; W) + b, linear activation. */
export function layerF64(x: Float64Array, w: Float64Array, bias: Float64Array, keep: Float32Array | null,
  args: MamDenseArgs, n: number): Float64Array {
  const { units: m, beta = 0, splits = 1, prunedAs = 'zero' } = args;
  const y = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    let dense = 0, mam = 0;
    for (let s = 0; s < splits; s++) {
      let mx = -Infinity, mn = Infinity;
      for (let j = Math.floor((s * n) / splits); j < Math.floor(((s + 1) * n) / splits); j++) {
        const kept = !keep || keep[j * m + k] !== 0;
        const p = x[j]! * w[j * m + k]! * (keep ? keep[j * m + k]! : 1);
        dense += p;
        if (!kept && prunedAs === 'absent') continue;
        mx = Math.max(mx, p);
        mn = Math.min(mn, p);
      }
      if (mx > -Infinity) mam += mx + mn;
    }
    y[k] = beta * dense + (1 - beta) * mam + bias[k]!;
  }
  return y;
}
