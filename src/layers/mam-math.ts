// The MAM product y[k] = max_j w[j,k] x[j] + min_j w[j,k] x[j] on plain typed arrays: the
// reference semantics that the WebAssembly kernel reproduces bit for bit, and its gradient.
// No tfjs here, so this file is the place to read (and test) what a MAM neuron computes.

/**
 * A kernel stored [inputs][outputs] (tfjs's layout) as [outputs][inputs]: each neuron's weights
 * contiguous, as CMSIS-NN and TFLM store them and as the C kernels and the int8 reference walk them.
 */
export function neuronMajor<T extends Float32Array | Int8Array | Uint8Array>(kernel: T, inputs: number, outputs: number): T {
  const t = new (kernel.constructor as new (length: number) => T)(kernel.length);
  for (let j = 0; j < inputs; j++) for (let k = 0; k < outputs; k++) t[k * inputs + j] = kernel[j * outputs + k]!;
  return t;
}

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
  /** [batch, splits, outputs]: the input index of each slice's max, -1 if none was selected */
  argmax: Int32Array;
  /** [batch, splits, outputs]: the input index of each slice's min, -1 if none was selected */
  argmin: Int32Array;
}

/** First input of slice s when n inputs are cut into S contiguous slices (sizes differ by <= 1). */
export function sliceStart(s: number, n: number, S: number): number {
  return Math.floor((s * n) / S);
}

export function checkDims(d: MamDims): void {
  const { inputs, outputs, splits } = d;
  for (const [k, v] of Object.entries(d)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`MAM ${k} must be a whole number >= 0, got ${v}`);
  }
  if (inputs < 1 || outputs < 1) throw new RangeError(`MAM needs at least one input and one output (got ${inputs} -> ${outputs})`);
  if (splits < 1 || splits > inputs) {
    throw new RangeError(`MAM splits must be between 1 and the number of inputs (${inputs}), got ${splits}`);
  }
}

/**
 * Fused MAM forward in plain JavaScript. x is [batch, n], w is the effective kernel [n, m]
 * (pruned entries already 0). `keep` (same layout as w, non-zero = kept) is used only for
 * prunedAs 'absent', where a pruned connection is left out of the max and min; pass null
 * for 'zero'. Products and sums are rounded to float32 exactly as the WebAssembly kernel does.
 * A NaN product makes its slice, and so the output, NaN (as tf.max would); the WebAssembly
 * kernel hands inputs with NaN or infinities to this function.
 */
export function mamForwardJs(
  x: Float32Array, w: Float32Array, keep: ArrayLike<number> | null, d: MamDims,
): MamForwardResult {
  checkForwardArgs(x, w, keep, d);
  const { batch: B, inputs: n, outputs: m, splits: S } = d;
  const y = new Float32Array(B * m);
  const argmax = new Int32Array(B * S * m);
  const argmin = new Int32Array(B * S * m);
  const f = Math.fround;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < m; k++) {
      let acc = 0;
      for (let s = 0; s < S; s++) {
        const j0 = sliceStart(s, n, S), j1 = sliceStart(s + 1, n, S);
        // 'zero': the first input is selected unless a later one is strictly larger (smaller),
        // which also holds when every product overflowed to -inf (+inf).
        let mx = -Infinity, mn = Infinity, ix = keep ? -1 : j0, iy = ix, nan = false;
        for (let j = j0; j < j1; j++) {
          if (keep !== null && keep[j * m + k] === 0) continue;
          const p = f(x[b * n + j]! * w[j * m + k]!);
          if (p > mx) { mx = p; ix = j; }
          if (p < mn) { mn = p; iy = j; }
          if (p !== p) nan = true;
        }
        // A slice with no kept connection contributes 0 (a neuron with none left outputs b).
        if (nan) acc = Number.NaN;
        else if (ix !== -1 || iy !== -1) acc = f(acc + f(mx + mn));
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
 * When a == i and the slice has a single connection (n / S = 1, or one kept in 'absent'
 * mode), the output holds that product twice (max + min) and it gets the gradient twice.
 * When a == i because all of a slice's products are equal, moving the selected one either
 * way changes only the max or only the min, so it gets the gradient once.
 * `keep` is the mask in 'absent' mode (to count a slice's connections), null in 'zero'.
 */
export function mamBackwardJs(
  dy: Float32Array, x: Float32Array, w: Float32Array,
  argmax: Int32Array, argmin: Int32Array, keep: ArrayLike<number> | null, d: MamDims,
): { dx: Float32Array; dw: Float32Array } {
  checkForwardArgs(x, w, keep, d);
  const { batch: B, inputs: n, outputs: m, splits: S } = d;
  checkLength('dy', dy, B * m);
  checkLength('argmax', argmax, B * S * m);
  checkLength('argmin', argmin, B * S * m);
  const dx = new Float32Array(B * n);
  const dw = new Float32Array(n * m);
  // Each term is rounded to float32 before it is added (as the WebAssembly kernels of the
  // training engine do): acc + fround(g w) on a Float32Array is the float32 sum.
  const f = Math.fround;
  const add = (b: number, j: number, k: number, g: number) => {
    dx[b * n + j] += f(g * w[j * m + k]!);
    dw[j * m + k] += f(g * x[b * n + j]!);
  };
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      const row = (b * S + s) * m;
      for (let k = 0; k < m; k++) {
        const g = dy[b * m + k]!;
        const a = argmax[row + k]!, i = argmin[row + k]!;
        if (a >= 0) add(b, a, k, g);
        if (i >= 0 && (i !== a || sliceConnections(s, k, keep, d) === 1)) add(b, i, k, g);
      }
    }
  }
  return { dx, dw };
}

/**
 * Connections of output k in slice s: its inputs, less the pruned ones in 'absent' mode (keep
 * is the mask then, null in 'zero' mode). The gradient rule needs it when max and min coincide.
 */
export function sliceConnections(s: number, k: number, keep: ArrayLike<number> | null, d: MamDims): number {
  const j0 = sliceStart(s, d.inputs, d.splits), j1 = sliceStart(s + 1, d.inputs, d.splits);
  if (!keep) return j1 - j0;
  let count = 0;
  for (let j = j0; j < j1; j++) if (keep[j * d.outputs + k] !== 0) count++;
  return count;
}

/** Dimensions and array lengths of a forward call; throws RangeError. */
export function checkForwardArgs(x: ArrayLike<number>, w: ArrayLike<number>, keep: ArrayLike<number> | null, d: MamDims): void {
  checkDims(d);
  checkLength('x', x, d.batch * d.inputs);
  checkLength('w', w, d.inputs * d.outputs);
  if (keep) checkLength('keep', keep, d.inputs * d.outputs);
}

function checkLength(name: string, a: ArrayLike<number>, want: number): void {
  if (a.length !== want) throw new RangeError(`MAM ${name} has ${a.length} values where the dimensions need ${want}`);
}
