// Runs the fused MAM forward of the project's WebAssembly SIMD module (assembly/mam.ts, loaded
// by src/wasm/kernels.ts) on typed arrays. Falls back to the JavaScript reference (mam-math.ts)
// when the module or WebAssembly SIMD is unavailable: same results, slower.
import { checkForwardArgs, mamForwardJs, type MamDims, type MamForwardResult } from './mam-math.js';
import { createMemory, ensureMemory, HEAP_BASE, instantiateKernels, KERNELS_FILE, kernelModule, kernelsUnavailable, type Kernels } from '../wasm/kernels.js';

// This thread's instance, on a memory of its own that grows with the largest call (to 1 GiB).
let kernel: Kernels | null = null;
let memory: WebAssembly.Memory | null = null;
const module = kernelModule();
if (module) {
  memory = createMemory(0, 1 << 30);
  kernel = instantiateKernels(module, memory);
}

/** Which implementation runs the MAM forward: 'wasm-simd', or 'js' with the reason. */
export function mamKernelInfo(): { impl: 'wasm-simd' | 'js'; reason: string } {
  return kernel ? { impl: 'wasm-simd', reason: KERNELS_FILE } : { impl: 'js', reason: kernelsUnavailable() };
}

const align16 = (v: number): number => (v + 15) & ~15;

/**
 * The fused MAM forward (see mam-math.ts for the semantics). `keep` is the pruning mask
 * (non-zero = kept), used only when prunedAs is 'absent'; pass null for 'zero'.
 */
export function mamForward(
  x: Float32Array, w: Float32Array, keep: ArrayLike<number> | null, d: MamDims,
): MamForwardResult {
  const r = mamForwardViews(x, w, keep, d);
  return { y: r.y.slice(), argmax: r.argmax.slice(), argmin: r.argmin.slice() };
}

/**
 * mamForward whose results may be views on the kernel's memory, valid only until the next
 * call: for callers that copy them straight into tensors (a fresh allocation per call costs
 * page faults, up to a quarter of the forward's time at 512 -> 512).
 */
export function mamForwardViews(
  x: Float32Array, w: Float32Array, keep: ArrayLike<number> | null, d: MamDims,
): MamForwardResult {
  checkForwardArgs(x, w, keep, d);
  const { batch: B, inputs: n, outputs: m, splits: S } = d;
  if (!kernel) return mamForwardJs(x, w, keep, d);
  if (B === 0) return { y: new Float32Array(0), argmax: new Int32Array(0), argmin: new Int32Array(0) };
  const k = kernel;
  // Layout: x | w | mask | y | imax | imin, each 16-byte aligned.
  const xOff = HEAP_BASE;
  const wOff = xOff + align16(4 * B * n);
  const maskOff = wOff + align16(4 * n * m);
  const yOff = maskOff + (keep ? align16(4 * n * m) : 0);
  const imaxOff = yOff + align16(4 * B * m);
  const iminOff = imaxOff + align16(4 * B * S * m);
  ensureMemory(memory!, iminOff + 4 * B * S * m - HEAP_BASE);
  const buf = memory!.buffer;
  new Float32Array(buf, xOff, B * n).set(x);
  new Float32Array(buf, wOff, n * m).set(w);
  // NaN and infinities take the JavaScript path, which propagates NaN like tf.max does.
  if (!k.allFinite(xOff, B * n) || !k.allFinite(wOff, n * m)) return mamForwardJs(x, w, keep, d);
  if (keep) {
    new Float32Array(buf, maskOff, n * m).set(keep);
    k.forwardAbsent(xOff, wOff, maskOff, B, n, m, S, yOff, imaxOff, iminOff);
  } else {
    k.forwardZero(xOff, wOff, B, n, m, S, yOff, imaxOff, iminOff);
  }
  return {
    y: new Float32Array(buf, yOff, B * m),
    argmax: new Int32Array(buf, imaxOff, B * S * m),
    argmin: new Int32Array(buf, iminOff, B * S * m),
  };
}
