// Loads the WebAssembly SIMD build of the fused MAM forward (assembly/mam-kernel.ts, built by
// scripts/build-wasm.mjs) and runs it on typed arrays. Falls back to the JavaScript reference
// (mam-math.ts) when the module or WebAssembly SIMD is unavailable: same results, slower.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkForwardArgs, mamForwardJs, type MamDims, type MamForwardResult } from './mam-math.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  forwardZero(x: number, w: number, B: number, n: number, m: number, S: number,
    y: number, imax: number, imin: number): void;
  forwardAbsent(x: number, w: number, mask: number, B: number, n: number, m: number, S: number,
    y: number, imax: number, imin: number): void;
  allFinite(ptr: number, count: number): number;
}

// dist/src/layers/mam-wasm.js -> dist/wasm/mam-kernel.wasm
const WASM_FILE = fileURLToPath(new URL('../../wasm/mam-kernel.wasm', import.meta.url));

let kernel: KernelExports | null = null;
let unavailableReason = '';
try {
  if (process.env.MAM_KERNEL === 'js') throw new Error('MAM_KERNEL=js');
  const module = new WebAssembly.Module(readFileSync(WASM_FILE));
  kernel = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
} catch (e) {
  unavailableReason = (e as Error).message;
}
// Our buffers live past the module's own (static) memory.
const heapBase = kernel ? kernel.memory.buffer.byteLength : 0;

/** Which implementation runs the MAM forward: 'wasm-simd', or 'js' with the reason. */
export function mamKernelInfo(): { impl: 'wasm-simd' | 'js'; reason: string } {
  return kernel ? { impl: 'wasm-simd', reason: WASM_FILE } : { impl: 'js', reason: unavailableReason };
}

function ensureBytes(k: KernelExports, bytes: number): void {
  const have = k.memory.buffer.byteLength;
  if (heapBase + bytes > have) k.memory.grow(Math.ceil((heapBase + bytes - have) / 65536));
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
  const xOff = heapBase;
  const wOff = xOff + align16(4 * B * n);
  const maskOff = wOff + align16(4 * n * m);
  const yOff = maskOff + (keep ? align16(4 * n * m) : 0);
  const imaxOff = yOff + align16(4 * B * m);
  const iminOff = imaxOff + align16(4 * B * S * m);
  ensureBytes(k, iminOff + 4 * B * S * m - heapBase);
  const buf = k.memory.buffer;
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
