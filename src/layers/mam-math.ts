// The MAM product y[k] = max_j w[j,k] x[j] + min_j w[j,k] x[j] on plain typed arrays: the
// reference semantics that the WebAssembly kernel reproduces bit for bit, and its gradient.
// No tfjs here, so this file is the place to read (and test) what a MAM neuron computes.

/** How a pruned connection takes part in a MAM neuron's max and min. */
export type PrunedAs = 'zero' | 'absent';

export interface MamDims {
  /** rows of x (batch) */
  batch: number;
  /** n: inputs per row */
  inputs: number;
  /** m: output neurons */
  outputs: number;
  /** S: contiguous input slices, one max and one min each (1 = plain MAM) */
  splits: number;
}

export interface MamForwardResult {
  /** [batch, outputs]: sum over slices of (max + min), without bias */
  y: Float32Array;
  /** [batch, splits, outputs]: the input index of each slice's max, -1 if the slice is empty */
  argmax: Int32Array;
  /** [batch, splits, outputs]: the input index of each slice's min, -1 if the slice is empty */
  argmin: Int32Array;
}

/** First input of slice s when n inputs are cut into S contiguous slices (sizes differ by <= 1). */
export function sliceStart(s: number, n: number, S: number): number {
  return Math.floor((s * n) / S);
}

export function checkDims(d: MamDims): void {
  const { batch, inputs, outputs, splits } = d;
  for (const [k, v] of Object.entries(d)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`MAM ${k} must be a whole number >= 0, got ${v}`);
  }
  if (inputs < 1 || outputs < 1) throw new RangeError(`MAM needs at least one input and one output (got ${inputs} -> ${outputs})`);
  if (splits < 1 || splits > inputs) {
    throw new RangeError(`MAM splits must be between 1 and the number of inputs (${inputs}), got ${splits}`);
  }
  void batch;
}

/**
 * Fused MAM forward in plain JavaScript. x is [batch, n], w is the effective kernel [n, m]
 * (pruned entries already 0). `keep` (same layout as w, non-zero = kept) is used only for
 * prunedAs 'absent', where a pruned connection is left out of the max and min; pass null
 * for 'zero'. Products and sums are rounded to float32 exactly as the WebAssembly kernel does.
 */
export function mamForwardJs(
  x: Float32Array, w: Float32Array, keep: ArrayLike<number> | null, d: MamDims,
): MamForwardResult {
  checkDims(d);
  const { batch: B, inputs: n, outputs: m, splits: S } = d;
  const y = new Float32Array(B * m);
  const argmax = new Int32Array(B * S * m);
  const argmin = new Int32Array(B * S * m);
  const f = Math.fround;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < m; k++) {
      let acc = 0;
      for (let s = 0; s < S; s++) {
        const j1 = sliceStart(s + 1, n, S);
        let mx = -Infinity, mn = Infinity, ix = -1, iy = -1;
        for (let j = sliceStart(s, n, S); j < j1; j++) {
          if (keep !== null && keep[j * m + k] === 0) continue;
          const p = f(x[b * n + j] * w[j * m + k]);
          if (p > mx) { mx = p; ix = j; }
          if (p < mn) { mn = p; iy = j; }
        }
        // A slice that selected nothing contributes 0 (a neuron with no connection outputs b).
        if (ix !== -1) acc = f(acc + f(mx + mn));
        argmax[(b * S + s) * m + k] = ix;
        argmin[(b * S + s) * m + k] = iy;
      }
      y[b * m + k] = acc;
    }
  }
  return { y, argmax, argmin };
}

/**
 * Gradient of the MAM product: only the selected connections receive gradient.
 * With g = dL/dy[b,k] and a = argmax (likewise the argmin i):
 *   dL/dw[a,k] += g x[b,a],  dL/dx[b,a] += g w[a,k].
 * When a == i (one input in the slice, or all its products equal) the gradient is added
 * twice: y then holds that one product twice (max + min), and adding twice is what central
 * finite differences of y measure for n = 1.
 */
export function mamBackwardJs(
  dy: Float32Array, x: Float32Array, w: Float32Array,
  argmax: Int32Array, argmin: Int32Array, d: MamDims,
): { dx: Float32Array; dw: Float32Array } {
  const { batch: B, inputs: n, outputs: m, splits: S } = d;
  const dx = new Float32Array(B * n);
  const dw = new Float32Array(n * m);
  for (const selected of [argmax, argmin]) {
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const row = (b * S + s) * m;
        for (let k = 0; k < m; k++) {
          const j = selected[row + k];
          const g = dy[b * m + k];
          if (j < 0 || g === 0) continue;
          dx[b * n + j] += g * w[j * m + k];
          dw[j * m + k] += g * x[b * n + j];
        }
      }
    }
  }
  return { dx, dw };
}
