// The project's WebAssembly SIMD module (assembly/, built by scripts/build-wasm.mjs into
// dist/wasm/kernels.wasm): compiled once per thread, instantiated on a shared memory that the
// caller lays out. The MAM op (src/layers/mam-wasm.ts) and the training engine
// (src/train/engine/) both run on it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The module's exports. Pointers are byte offsets into the memory; see assembly/ for each. */
export interface Kernels {
  forwardZero(x: number, w: number, B: number, n: number, m: number, S: number, y: number, imax: number, imin: number): void;
  forwardAbsent(x: number, w: number, mask: number, B: number, n: number, m: number, S: number, y: number, imax: number, imin: number): void;
  allFinite(ptr: number, count: number): number;
  mamForward(x: number, w: number, mask: number, B: number, n: number, m: number, S: number,
    k0: number, k1: number, y: number, imax: number, imin: number, dense: number): void;
  mamCombine(y: number, dense: number, bias: number, out: number, B: number, m: number, k0: number, k1: number,
    beta: number, oneMinusBeta: number, flags: number): void;
  mamBackwardW(dz: number, x: number, imax: number, imin: number, counts: number, B: number, n: number, m: number, S: number,
    k0: number, k1: number, scale: number, dw: number): void;
  mamBackwardX(dz: number, w: number, imax: number, imin: number, counts: number, B: number, n: number, m: number, S: number,
    j0: number, j1: number, scale: number, dx: number): void;
  gemm(a: number, ars: number, ats: number, b: number, ldb: number, c: number, ldc: number,
    R: number, T: number, c0: number, c1: number,
    alpha: number, bias: number, flags: number, gate: number, ldg: number, mask: number, ldm: number, pack: number): void;
  transpose(src: number, R: number, C: number, r0: number, r1: number, dst: number): void;
  columnSums(m: number, R: number, ld: number, c0: number, c1: number, out: number): void;
  mseGradient(y: number, x: number, R: number, C: number, c0: number, c1: number, scale: number, flags: number, dy: number, sq: number): void;
  applyGate(m: number, gate: number, R: number, ld: number, c0: number, c1: number): void;
  zeroColumns(m: number, R: number, ld: number, c0: number, c1: number): void;
  adam(w: number, g: number, m: number, v: number, mask: number, i0: number, i1: number,
    b1: number, oneMinusB1: number, b2: number, oneMinusB2: number, oneMinusAcc1: number, oneMinusAcc2: number,
    eps: number, negLr: number): void;
}

/** Flag bit of gemm, mamCombine and mseGradient: apply a ReLU (or its derivative). */
export const RELU_FLAG = 1;

/** The first page belongs to the module (its globals); callers lay out their arrays past it. */
export const HEAP_BASE = 65536;
const PAGE = 65536;
/** The module declares this many pages at most (4 GiB, all of wasm32). */
const MAX_PAGES = 65536;

// dist/src/wasm/kernels.js -> dist/wasm/kernels.wasm
export const KERNELS_FILE = fileURLToPath(new URL('../../wasm/kernels.wasm', import.meta.url));

let compiled: WebAssembly.Module | null = null;
let unavailable = '';

/** The compiled module, or null with kernelsUnavailable() saying why (MAM_KERNEL=js forces it). */
export function kernelModule(): WebAssembly.Module | null {
  if (compiled || unavailable) return compiled;
  try {
    if (process.env.MAM_KERNEL === 'js') throw new Error('MAM_KERNEL=js');
    compiled = new WebAssembly.Module(readFileSync(KERNELS_FILE));
  } catch (e) {
    unavailable = (e as Error).message;
  }
  return compiled;
}

export function kernelsUnavailable(): string {
  kernelModule();
  return unavailable;
}

/** A shared memory of at least `bytes` bytes (past HEAP_BASE), growable to `maxBytes`. */
export function createMemory(bytes: number, maxBytes = bytes): WebAssembly.Memory {
  const pages = (b: number) => Math.min(MAX_PAGES, Math.ceil((HEAP_BASE + b) / PAGE));
  return new WebAssembly.Memory({ initial: pages(bytes), maximum: Math.max(pages(bytes), pages(maxBytes)), shared: true });
}

/** Grows a memory so that `bytes` bytes fit past HEAP_BASE. */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (HEAP_BASE + bytes > have) memory.grow(Math.ceil((HEAP_BASE + bytes - have) / PAGE));
}

/** The module instantiated on `memory` (each thread has its own instance: the globals are per thread). */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
