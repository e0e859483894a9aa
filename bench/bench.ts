// Benchmarks the MAM forward kernel and MAM layers against a native C loop and against the
// ordinary dense (MAC) layer, at the size that matters for the ECG models: B=64, 512 -> 512.
// Prints one labelled line per figure and a short summary; run with `npm run bench`.
//
// Timing: performance.now(), a warm-up, then the median over several samples, each sample
// long enough (>= MIN_SAMPLE_MS) that timer resolution and one-off pauses don't matter.
// Both tfjs backends used here (wasm, cpu) run kernels synchronously, so a call has finished
// its work when it returns and needs no dataSync() to be timed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { MamDense } from '../src/layers/mam-dense.js';
import { mamForward, mamKernelInfo } from '../src/layers/mam-wasm.js';
import { createMemory, HEAP_BASE, instantiateKernels, kernelModule } from '../src/wasm/kernels.js';
import { fnv1a, FNV_BASIS, hex8, lcgFloats } from './native-common.js';
import { denseLcgInputs, runNativeDense, type DenseFigures } from './native-dense.js';
import { MaskedDense } from '../src/layers/masked-dense.js';
import type { PrunableDense } from '../src/layers/prunable-dense.js';

const B = 64;
const N = 512;
const M = 512;
const PRODUCTS = B * N * M;
const SHAPE = `B=${B} ${N}->${M}`;

const WARMUP_MS = 200;
const MIN_SAMPLE_MS = 40;
const SAMPLES = 7;
// The native program and the wasm kernel are each timed this many times (median of rounds),
// so that a burst of load from elsewhere on the machine cannot set the ratio on its own.
// The kernel goes first: after a child process is spawned (cc, the native program), its
// per-call output allocations were seen to page-fault afresh (~100 faults, +1.3 ms a call)
// for a second or more, a cost a training process, which spawns nothing, does not pay.
const ROUNDS = 5;

const RATIO_GOAL_KERNEL = 0.5; // typed-array kernel vs native, at least
const RATIO_GOAL_TRAIN = 1.2; // MAM vs MAC training step, at most
const RATIO_GOAL_DENSE = 0.5; // the engine's dense products vs native, at least

const C_SOURCE = fileURLToPath(new URL('../../bench/native/mam_ref.c', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Helpers

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median milliseconds per call of fn, after a warm-up. */
function measure(fn: () => void): number {
  let calls = 0;
  const t0 = performance.now();
  // At least two calls: the first one also pays for lazy set-up (optimizer slots, kernel JIT).
  while (calls < 2 || performance.now() - t0 < WARMUP_MS) {
    fn();
    calls++;
  }
  const perCall = (performance.now() - t0) / calls;
  const iters = Math.max(1, Math.ceil(MIN_SAMPLE_MS / perCall));
  const samples: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const a = performance.now();
    for (let i = 0; i < iters; i++) fn();
    samples.push((performance.now() - a) / iters);
  }
  return median(samples);
}

/** G products per second for a given ms per call. */
const gps = (ms: number): number => PRODUCTS / (ms * 1e6);

const f2 = (v: number): string => v.toFixed(2);
const f3 = (v: number): string => v.toFixed(3);
const goal = (met: boolean): string => (met ? 'met' : 'NOT met');

/**
 * The checksum input, built exactly as fill_input() in mam_ref.c: a 32-bit LCG mapped to
 * float32 in [-1, 1) (the mapping is exact, so both sides get identical bits), every 10th
 * kernel entry 0 and row 1 of x all zeros, to exercise ties.
 */
function lcgInput(): { x: Float32Array; w: Float32Array } {
  const next = lcgFloats();
  const x = new Float32Array(B * N);
  const w = new Float32Array(N * M);
  for (let i = 0; i < x.length; i++) x[i] = next();
  for (let i = 0; i < w.length; i++) w[i] = next();
  for (let i = 3; i < w.length; i += 10) w[i] = 0;
  if (B > 1) x.fill(0, N, 2 * N);
  return { x, w };
}

// ---------------------------------------------------------------------------------------------
// 1. Native C reference

interface NativeResult { gps: number; checksum: string }

/** Compiles bench/native/mam_ref.c into dir; the executable, or null (reason printed) if it can't. */
function compileNative(dir: string): string | null {
  const exe = join(dir, 'mam_ref');
  try {
    execFileSync('cc', ['-O3', '-march=native', '-o', exe, C_SOURCE, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return exe;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    const why = err.code === 'ENOENT' ? 'cc not found' : `cc failed: ${err.stderr?.toString().trim() || err.message}`;
    console.log(`native C reference: skipped (${why})`);
    return null;
  }
}

/** One run of the native program (its own warm-up and median timing). */
function runNative(exe: string): NativeResult {
  const out = execFileSync(exe, [String(B), String(N), String(M)], { encoding: 'utf8', timeout: 60_000 });
  const field = (name: string): string => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(out);
    if (!match) throw new Error(`mam_ref printed no '${name}' line:\n${out}`);
    return match[1]!;
  };
  return { gps: Number(field('gprod_per_s')), checksum: field('checksum') };
}

// ---------------------------------------------------------------------------------------------
// 2. Typed-array kernel

function kernelChecksum(): string {
  const { x, w } = lcgInput();
  const r = mamForward(x, w, null, { batch: B, inputs: N, outputs: M, splits: 1 });
  let h = FNV_BASIS;
  h = fnv1a(h, r.y);
  h = fnv1a(h, r.argmax);
  h = fnv1a(h, r.argmin);
  return hex8(h);
}

/** ms per mamForward call, including its copies in and out of the module's memory. */
function timeKernel(): number {
  const { x, w } = lcgInput();
  const d = { batch: B, inputs: N, outputs: M, splits: 1 };
  return measure(() => { mamForward(x, w, null, d); });
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. tfjs, per backend

const SEED = 7;
const kernelInit = (): ReturnType<typeof tf.initializers.glorotUniform> => tf.initializers.glorotUniform({ seed: SEED });

/** A layer built by one call on x (not by build(): only a first apply() lets dispose() work). */
function makeLayer(x: tf.Tensor, kind: 'mam' | 'mac', beta = 0): PrunableDense {
  const args = { units: M, activation: 'linear' as const, kernelInitializer: kernelInit() };
  const layer = kind === 'mam' ? new MamDense({ ...args, beta }) : new MaskedDense(args);
  tf.tidy(() => { layer.apply(x); });
  return layer;
}

function trainableVariables(layer: PrunableDense): tf.Variable[] {
  return layer.trainableWeights.map((v) => v.read() as tf.Variable);
}

/** Runs fn under measure() and reports whether the live tensor count stayed put. */
function measureTensors(fn: () => void): { ms: number; before: number; after: number } {
  fn(); // creates whatever persists (optimizer slots) before counting
  const before = tf.memory().numTensors;
  const ms = measure(fn);
  return { ms, before, after: tf.memory().numTensors };
}

interface TensorCheck { label: string; before: number; after: number }
const tensorChecks: TensorCheck[] = [];

function tensorLine(label: string, r: { before: number; after: number }): void {
  tensorChecks.push({ label, ...r });
  const verdict = r.after === r.before ? 'stable' : `GREW by ${r.after - r.before}`;
  console.log(`  tf.memory().numTensors, ${label}: ${r.before} before timing, ${r.after} after (${verdict})`);
}

/** Forward + backward of sum(MamDense(x)) w.r.t. kernel and input; ms per step. */
function forwardBackward(backend: string): number {
  const x = tf.tidy(() => tf.variable(tf.randomUniform([B, N], -1, 1, 'float32', SEED), true, `bench_x_${backend}`));
  const layer = makeLayer(x, 'mam', 0);
  const kernel = trainableVariables(layer)[0]!;
  const r = measureTensors(() => {
    tf.tidy(() => { tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar, [kernel, x]); });
  });
  x.dispose();
  layer.dispose();
  console.log(`MAM forward+backward, tfjs ${backend}, MamDense(${M}, beta 0) on [${B},${N}], grads w.r.t. kernel and input: ` +
    `${f2(gps(r.ms))} G products/s (${f3(r.ms)} ms/step, B*n*m products per step)`);
  tensorLine(`${backend} forward+backward`, r);
  return r.ms;
}

/** One Adam step on mean(square(layer(x))); ms per step. */
function trainStep(backend: string, label: string, layer: PrunableDense, x: tf.Tensor2D, note = ''): number {
  const optimizer = tf.train.adam(1e-3);
  const vars = trainableVariables(layer);
  const r = measureTensors(() => {
    optimizer.minimize(() => tf.mean(tf.square(layer.apply(x) as tf.Tensor)) as tf.Scalar, false, vars);
  });
  optimizer.dispose();
  layer.dispose();
  console.log(`training step, tfjs ${backend}, ${label} on [${B},${N}], adam: ${f3(r.ms)} ms/step${note}`);
  tensorLine(`${backend} ${label} training`, r);
  return r.ms;
}

interface BackendResult { fwdBwdMs: number; mamMs: number; macMs: number; blendMs: number }

async function benchBackend(backend: 'wasm' | 'cpu'): Promise<BackendResult> {
  await initBackend({ backend });
  const start = tf.memory().numTensors;
  const fwdBwdMs = forwardBackward(backend);
  const x = tf.randomUniform([B, N], -1, 1, 'float32', SEED) as tf.Tensor2D;
  const mamMs = trainStep(backend, `MamDense(${M}, beta 0)`, makeLayer(x, 'mam', 0), x);
  const macMs = trainStep(backend, `MaskedDense(${M})`, makeLayer(x, 'mac'), x);
  const ratio = mamMs / macMs;
  console.log(`training step, tfjs ${backend}, MAM/MAC ratio: ${f2(ratio)} (goal <= ${RATIO_GOAL_TRAIN}: ${goal(ratio <= RATIO_GOAL_TRAIN)})`);
  const blendMs = trainStep(backend, `MamDense(${M}, beta 0.5)`, makeLayer(x, 'mam', 0.5), x,
    ' (info: blend, dense and MAM products both computed)');
  x.dispose();
  const end = tf.memory().numTensors;
  console.log(`  tf.memory().numTensors, ${backend} overall: ${start} at start, ${end} after disposing everything`);
  tensorChecks.push({ label: `${backend} overall`, before: start, after: end });
  return { fwdBwdMs, mamMs, macMs, blendMs };
}

// ---------------------------------------------------------------------------------------------
// 5. The training engine's dense products (src/wasm/kernels.ts gemm) against native C

interface DenseOurs { forward: number; gradW: number; gradX: number; transposeMs: number; checksums: DenseFigures['checksums'] }

/** GFLOP/s of the engine's gemm for the three products of a B x 512 -> 512 layer, one core. */
function denseOurs(): DenseOurs {
  const module = kernelModule();
  if (!module) throw new Error('the WebAssembly kernels are unavailable');
  const { x, w, d } = denseLcgInputs({ batch: B, inputs: N, outputs: M });
  const memory = createMemory(4 * (B * N + 3 * N * M + 2 * B * M + B * N + 8 * Math.max(B, N, M)) + 2048);
  const k = instantiateKernels(module, memory);
  let at = HEAP_BASE;
  const put = (a: Float32Array | number): number => {
    const p = at;
    const count = typeof a === 'number' ? a : a.length;
    if (typeof a !== 'number') new Float32Array(memory.buffer, p, count).set(a);
    at += Math.ceil((4 * count) / 64) * 64;
    return p;
  };
  const [px, pw, pd] = [put(x), put(w), put(d)];
  const [pz, pg, pe, pt, pp] = [put(B * M), put(N * M), put(B * N), put(N * M), put(8 * Math.max(B, N, M))];
  // As the engine calls it: with a scratch for packed column panels.
  const forward = () => k.gemm(px, N, 1, pw, M, pz, M, B, N, 0, M, 1, 0, 0, 0, 0, 0, 0, pp);
  const gradW = () => k.gemm(px, 1, N, pd, M, pg, M, N, B, 0, M, 1, 0, 0, 0, 0, 0, 0, pp);
  const transpose = () => k.transpose(pw, N, M, 0, N, pt);
  const gradX = () => k.gemm(pd, M, 1, pt, N, pe, N, B, M, 0, N, 1, 0, 0, 0, 0, 0, 0, pp);
  const gflops = (ms: number): number => (2 * B * N * M) / (ms * 1e6);
  const result = { forward: gflops(measure(forward)), gradW: gflops(measure(gradW)), transposeMs: measure(transpose), gradX: 0 };
  result.gradX = gflops(measure(gradX));
  const sum = (p: number, count: number): string => hex8(fnv1a(FNV_BASIS, new Float32Array(memory.buffer, p, count).slice()));
  return { ...result, checksums: { forward: sum(pz, B * M), gradW: sum(pg, N * M), gradX: sum(pe, B * N) } };
}

function benchDense(): { ours: DenseOurs; exactRatio: number | null; matches: boolean | null } {
  const ours = denseOurs();
  const native = runNativeDense({ batch: B, inputs: N, outputs: M });
  const products = ['forward', 'gradW', 'gradX'] as const;
  const label = { forward: 'forward x W', gradW: 'grad W = x^T dz', gradX: 'grad x = dz W^T' };
  if (!native.available) console.log(`native C dense reference: skipped (${native.reason})`);
  for (const p of products) {
    const n = native.available ? `; native C ${f2(native.exact[p])} (-ffp-contract=off, same bits), ${f2(native.fma[p])} (FMA); ratio ${f2(ours[p] / native.exact[p])} / ${f2(ours[p] / native.fma[p])}` : '';
    console.log(`dense ${label[p]}, engine gemm (WebAssembly SIMD, one core), ${SHAPE}: ${f2(ours[p])} GFLOP/s${n}`);
  }
  console.log(`dense W^T for grad x: engine ${f3(ours.transposeMs)} ms${native.available ? `, native ${f3(native.exact.transposeMs)} ms` : ''} (not in the GFLOP/s above, in neither)`);
  if (!native.available) return { ours, exactRatio: null, matches: null };
  const matches = products.every((p) => ours.checksums[p] === native.exact.checksums[p]);
  console.log(`dense outputs match native (-ffp-contract=off) bit for bit: ${matches ? 'yes' : 'NO'} (${products.map((p) => `${ours.checksums[p]}/${native.exact.checksums[p]}`).join(', ')})`);
  const exactRatio = Math.min(...products.map((p) => ours[p] / Math.max(native.exact[p], native.fma[p])));
  console.log(`dense engine / best native build, worst of the three products: ${f2(exactRatio)} (goal >= ${RATIO_GOAL_DENSE}: ${goal(exactRatio >= RATIO_GOAL_DENSE)})`);
  return { ours, exactRatio, matches };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = performance.now();
  const kernelInfo = mamKernelInfo();
  console.log(`mam-ecg bench: node ${process.versions.node}, ${cpus().length} x ${cpus()[0]?.model.trim() ?? '?'}, ` +
    `tfjs ${tf.version.tfjs}, MAM kernel ${kernelInfo.impl}${kernelInfo.impl === 'js' ? ` (${kernelInfo.reason})` : ''}`);
  console.log(`timing: median of ${SAMPLES} samples (each >= ${MIN_SAMPLE_MS} ms) after ${WARMUP_MS} ms warm-up; ` +
    `native and typed-array kernel: median of ${ROUNDS} rounds each`);

  // 1 and 2: the typed-array kernel, then the native loop (see ROUNDS); printed in figure order.
  const kernelRounds = Array.from({ length: ROUNDS }, () => timeKernel());
  const dir = mkdtempSync(join(tmpdir(), 'mam-bench-'));
  const nativeRounds: NativeResult[] = [];
  try {
    const exe = compileNative(dir);
    for (let r = 0; exe && r < ROUNDS; r++) nativeRounds.push(runNative(exe));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const spread = (v: number[]): string => `rounds ${v.map(f2).join('/')}`;
  const native = nativeRounds.length ? { gps: median(nativeRounds.map((r) => r.gps)), checksum: nativeRounds[0]!.checksum } : null;
  if (native) {
    console.log(`native C reference (cc -O3 -march=native), MAM forward ${SHAPE}: ${f2(native.gps)} G products/s ` +
      `(${f3(PRODUCTS / (native.gps * 1e6))} ms/forward; ${spread(nativeRounds.map((r) => r.gps))})`);
  }
  const ours = kernelChecksum();
  const match = native ? native.checksum === ours : null;
  console.log(match === null
    ? `native/wasm outputs match: n/a (no native run; ${kernelInfo.impl} checksum ${ours})`
    : `native/wasm outputs match: ${match ? 'yes' : 'no'} (checksum native ${native!.checksum}, ${kernelInfo.impl} ${ours})`);

  const kernelMs = median(kernelRounds);
  const kernelRatio = native ? gps(kernelMs) / native.gps : null;
  console.log(`MAM forward, typed-array kernel (mamForward, ${kernelInfo.impl}), ${SHAPE}: ${f2(gps(kernelMs))} G products/s ` +
    `(${f3(kernelMs)} ms/forward incl. copies in/out; ${spread(kernelRounds.map(gps))})`);
  console.log(kernelRatio === null
    ? `MAM forward, typed-array kernel / native: n/a (no native figure; goal >= ${RATIO_GOAL_KERNEL})`
    : `MAM forward, typed-array kernel / native: ${f2(kernelRatio)} (goal >= ${RATIO_GOAL_KERNEL}: ${goal(kernelRatio >= RATIO_GOAL_KERNEL)})`);

  const dense = benchDense();
  const results = { wasm: await benchBackend('wasm'), cpu: await benchBackend('cpu') };

  const stable = tensorChecks.every((c) => c.after === c.before);
  const seconds = (performance.now() - t0) / 1000;
  const train = (['wasm', 'cpu'] as const).map((b) => {
    const r = results[b];
    return `${b} ${f2(r.mamMs / r.macMs)} (${r.mamMs.toFixed(1)} / ${r.macMs.toFixed(1)} ms; blend ${r.blendMs.toFixed(1)} ms)`;
  }).join(', ');
  console.log('summary:');
  console.log(`  forward kernel: native ${native ? f2(native.gps) : 'n/a'}, ${kernelInfo.impl} ${f2(gps(kernelMs))} G products/s; ` +
    `ratio ${kernelRatio === null ? 'n/a' : f2(kernelRatio)} (goal >= ${RATIO_GOAL_KERNEL}); outputs match: ${match === null ? 'n/a' : match ? 'yes' : 'no'}`);
  console.log(`  tfjs forward+backward: wasm ${f2(gps(results.wasm.fwdBwdMs))}, cpu ${f2(gps(results.cpu.fwdBwdMs))} G products/s`);
  console.log(`  training step MAM/MAC (goal <= ${RATIO_GOAL_TRAIN}): ${train}`);
  console.log(`  engine dense products (forward, grad W, grad x): ${f2(dense.ours.forward)}, ${f2(dense.ours.gradW)}, ${f2(dense.ours.gradX)} GFLOP/s; ` +
    `worst ratio to native ${dense.exactRatio === null ? 'n/a' : f2(dense.exactRatio)} (goal >= ${RATIO_GOAL_DENSE}); outputs match: ${dense.matches === null ? 'n/a' : dense.matches ? 'yes' : 'no'}`);
  console.log(`  tensor counts stable: ${stable ? 'yes' : 'NO'}; total ${seconds.toFixed(1)} s`);
}

await main();
