// The native C reference for the dense kernel's three training products (forward, grad W,
// grad X): compiles bench/native/dense_ref.c twice and runs both builds.
//
//   exact: cc -O3 -march=native -ffp-contract=off  no FMA contraction, the same roundings as
//          our wasm kernel, so its checksums must match ours bit for bit
//   fma:   cc -O3 -march=native                    gcc's default contraction into FMA (GNU C
//          mode; -std=c99 would turn it off): different bits, and on Zen 3 barely faster,
//          since these loops are bound by loads and stores rather than arithmetic
//
// The inputs are rebuilt here (denseLcgInputs; the checksum is native-common.ts's fnv1a)
// exactly as the C program makes them, for computing our kernel's checksum on the same data.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lcgFloats } from './native-common.js';

const C_SOURCE = fileURLToPath(new URL('../../bench/native/dense_ref.c', import.meta.url));
const DEFAULT_DIMS = { batch: 64, inputs: 512, outputs: 512 };

export interface DenseDims { batch: number; inputs: number; outputs: number }

/** GFLOP/s per product (2*B*n*m flops each), the transpose's ms, and FNV-1a checksums. */
export interface DenseFigures {
  forward: number;
  gradW: number;
  gradX: number;
  transposeMs: number;
  checksums: { forward: string; gradW: string; gradX: string };
}

export type NativeDense =
  | { available: true; exact: DenseFigures; fma: DenseFigures }
  | { available: false; reason: string };

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

/** Compiles and runs both builds of dense_ref.c for dims (default B=64, 512 -> 512). */
export function runNativeDense(dims: DenseDims = DEFAULT_DIMS): NativeDense {
  const args = [dims.batch, dims.inputs, dims.outputs].map(String);
  const dir = mkdtempSync(join(tmpdir(), 'mam-dense-'));
  try {
    const exact = buildAndRun(join(dir, 'dense_ref_exact'), ['-ffp-contract=off'], args);
    if (typeof exact === 'string') return { available: false, reason: exact };
    const fma = buildAndRun(join(dir, 'dense_ref_fma'), [], args);
    if (typeof fma === 'string') return { available: false, reason: fma };
    return { available: true, exact, fma };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compiles dense_ref.c to exe with the extra flags and runs it: its figures, or why not. */
function buildAndRun(exe: string, flags: string[], args: string[]): DenseFigures | string {
  try {
    execFileSync('cc', ['-O3', '-march=native', ...flags, '-o', exe, C_SOURCE, '-lm'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') return 'cc not found';
    return `cc failed: ${firstLine(err.stderr?.toString() ?? '') || firstLine(err.message)}`;
  }
  let out: string;
  try {
    out = execFileSync(exe, args, { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    return `dense_ref failed: ${firstLine(err.stderr ?? '') || firstLine(err.message)}`;
  }
  return parseOutput(out);
}

/** The figures in dense_ref's output, or a one-line reason why they are not all there. */
function parseOutput(out: string): DenseFigures | string {
  const product = (name: string): { gflops: number; checksum: string } | null => {
    const m = new RegExp(`^${name} gflops=(\\S+) checksum=([0-9a-f]{8})$`, 'm').exec(out);
    return m && Number.isFinite(Number(m[1])) ? { gflops: Number(m[1]), checksum: m[2]! } : null;
  };
  const forward = product('forward'), gradW = product('gradw'), gradX = product('gradx');
  const transpose = /^transpose ms=(\S+)$/m.exec(out);
  if (!forward || !gradW || !gradX || !transpose) return `dense_ref printed unexpected output: ${firstLine(out)}`;
  return {
    forward: forward.gflops,
    gradW: gradW.gflops,
    gradX: gradX.gflops,
    transposeMs: Number(transpose[1]),
    checksums: { forward: forward.checksum, gradW: gradW.checksum, gradX: gradX.checksum },
  };
}

/**
 * The same inputs as dense_ref.c makes (X, W, D), for computing our kernel's checksum in
 * TypeScript: one 32-bit LCG stream seeded 12345, mapped exactly to float32 in [-1, 1),
 * filling X [B][n], then W [n][m], then D [B][m], row-major.
 */
export function denseLcgInputs(dims: DenseDims = DEFAULT_DIMS): { x: Float32Array; w: Float32Array; d: Float32Array } {
  const next = lcgFloats();
  const fill = (a: Float32Array): Float32Array => {
    for (let i = 0; i < a.length; i++) a[i] = next();
    return a;
  };
  const { batch: b, inputs: n, outputs: m } = dims;
  const x = fill(new Float32Array(b * n));
  const w = fill(new Float32Array(n * m));
  const d = fill(new Float32Array(b * m));
  return { x, w, d };
}
