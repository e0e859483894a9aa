// What each thread runs for one command of the training engine: a training step (forward,
// mean squared error, backward, Adam) or a forward pass. Every phase splits its outputs over
// the threads (columns of a layer's output, of its weight gradient, of its input gradient, rows
// of a MAM layer's input gradient, or elements for Adam), never a sum, so each value is computed
// by one thread in one order: the results are the same bits for any number of threads. A
// barrier separates phases that read what another thread wrote.
import { RELU_FLAG, type Kernels } from '../../wasm/kernels.js';
import { share, type EnginePlan, type LayerPlan } from './plan.js';

export const COMMAND_TRAIN = 1;
export const COMMAND_FORWARD = 2;

// Slots of the float64 parameter block that the main thread fills per command.
export const P_COMMAND = 0;
export const P_ROWS = 1;
export const P_NEG_LR = 2;
export const P_ONE_MINUS_ACC1 = 3;
export const P_ONE_MINUS_ACC2 = 4;
export const P_LOSS_SCALE = 5;
const PARAM_SLOTS_FIXED = 8;
/** Slot of layer l's vcon beta (MAM layers; 1 means the layer runs as plain MAC). */
export const pBeta = (l: number): number => PARAM_SLOTS_FIXED + l;
/** Slots a network of `layers` layers needs. */
export const paramSlots = (layers: number): number => PARAM_SLOTS_FIXED + layers;

// Adam's constants as float32, as tfjs makes its scalars (tf.train.adam defaults).
const f = Math.fround;
export const ADAM = { b1: f(0.9), oneMinusB1: f(1 - 0.9), b2: f(0.999), oneMinusB2: f(1 - 0.999), eps: f(1e-7) };

/** Runs this thread's part of the command in `params`; barrier() waits for every thread. */
export function runCommand(k: Kernels, plan: EnginePlan, params: Float64Array, thread: number, threads: number, barrier: () => void): void {
  const train = params[P_COMMAND] === COMMAND_TRAIN;
  const rows = params[P_ROWS]!;
  const count = plan.layers.length;
  for (let l = 0; l < count; l++) {
    forwardLayer(k, plan, l, rows, params[pBeta(l)]!, thread, threads, train && l === count - 1 ? params[P_LOSS_SCALE]! : 0);
    if (l < count - 1 || train) barrier();
  }
  if (!train) return;
  for (let l = count - 1; l >= 0; l--) {
    backwardLayer(k, plan, l, rows, params[pBeta(l)]!, thread, threads, barrier);
    barrier();
  }
  for (const layer of plan.layers) adamLayer(k, layer, params, thread, threads);
}

const input = (plan: EnginePlan, l: number): number => (l === 0 ? plan.input : plan.layers[l - 1]!.act);
/** This thread's scratch for the matrix product's packed panels. */
const pack = (plan: EnginePlan, thread: number): number => plan.packs + thread * plan.packBytes;
const isMam = (layer: LayerPlan, beta: number): boolean => layer.kind === 'mam' && beta < 1;
const flags = (relu: boolean): number => (relu ? RELU_FLAG : 0);

function forwardLayer(k: Kernels, plan: EnginePlan, l: number, rows: number, beta: number, thread: number, threads: number, lossScale: number): void {
  const L = plan.layers[l]!;
  const x = input(plan, l);
  const n = L.inputs, m = L.outputs;
  const [k0, k1] = share(m, thread, threads, 8);
  if (k0 >= k1) return;
  if (isMam(L, beta)) {
    const dense = beta > 0 ? L.dense : 0;
    k.mamForward(x, L.w, L.absent ? L.mask : 0, rows, n, m, L.splits, k0, k1, L.mam, L.imax, L.imin, dense);
    k.mamCombine(L.mam, dense, L.b, L.act, rows, m, k0, k1, f(beta), f(1 - beta), flags(L.relu));
  } else {
    k.gemm(x, n, 1, L.w, m, L.act, m, rows, n, k0, k1, 1, L.b, flags(L.relu), 0, 0, 0, 0, pack(plan, thread));
  }
  if (lossScale) k.mseGradient(L.act, plan.target, rows, m, k0, k1, f(lossScale), flags(L.relu), L.dz, plan.squares);
}

function backwardLayer(
  k: Kernels, plan: EnginePlan, l: number, rows: number, beta: number, thread: number, threads: number, barrier: () => void,
): void {
  const L = plan.layers[l]!;
  const x = input(plan, l);
  const n = L.inputs, m = L.outputs, S = L.splits;
  const mam = isMam(L, beta);
  const dense = L.kind === 'mac' || beta > 0;
  const alpha = L.kind === 'mac' ? 1 : f(beta);
  const scale = f(1 - beta);
  // This thread's columns of the weight and bias gradients.
  const [k0, k1] = share(m, thread, threads, 8);
  if (k0 < k1) {
    if (L.b) k.columnSums(L.dz, rows, m, k0, k1, L.gb);
    if (dense) k.gemm(x, 1, n, L.dz, m, L.gw, m, n, rows, k0, k1, alpha, 0, 0, 0, 0, L.pruned && !mam ? L.mask : 0, m, pack(plan, thread));
    else k.zeroColumns(L.gw, n, m, k0, k1);
    if (mam) {
      k.mamBackwardW(L.dz, x, L.imax, L.imin, L.counts, rows, n, m, S, k0, k1, scale, L.gw);
      if (L.pruned) k.applyGate(L.gw, L.mask, n, m, k0, k1); // a pruned connection learns nothing
    }
  }
  if (l === 0) return; // nothing below the first layer needs a gradient
  // The input gradient, which is the layer below's delta.
  const P = plan.layers[l - 1]!;
  if (dense) {
    // This thread's columns of it, from its columns of W^T.
    const [j0, j1] = share(n, thread, threads, 8);
    if (j0 < j1) {
      k.transpose(L.w, n, m, j0, j1, plan.transposed);
      k.gemm(L.dz, m, 1, plan.transposed, n, P.dz, n, rows, m, j0, j1, alpha, 0, 0, P.relu && !mam ? P.act : 0, n, 0, 0, pack(plan, thread));
    }
  }
  if (!mam) return;
  // The MAM part is a scatter along each row's selections: this thread's rows (a scan of every
  // selection per thread would not divide the work), after the dense part's columns are done.
  if (dense) barrier();
  const [b0, b1] = share(rows, thread, threads, 1);
  if (b0 >= b1) return;
  const dx = P.dz + 4 * b0 * n;
  if (!dense) k.zeroColumns(dx, b1 - b0, n, 0, n);
  k.mamBackwardX(L.dz + 4 * b0 * m, L.w, L.imax + 4 * b0 * S * m, L.imin + 4 * b0 * S * m, L.counts, b1 - b0, n, m, S, 0, n, scale, dx);
  if (P.relu) k.applyGate(dx, P.act + 4 * b0 * n, b1 - b0, n, 0, n);
}

function adamLayer(k: Kernels, L: LayerPlan, params: Float64Array, thread: number, threads: number): void {
  const a1 = params[P_ONE_MINUS_ACC1]!, a2 = params[P_ONE_MINUS_ACC2]!, lr = params[P_NEG_LR]!;
  const [i0, i1] = share(L.inputs * L.outputs, thread, threads, 16);
  if (i0 < i1) k.adam(L.w, L.gw, L.mw, L.vw, L.pruned ? L.mask : 0, i0, i1, ADAM.b1, ADAM.oneMinusB1, ADAM.b2, ADAM.oneMinusB2, a1, a2, ADAM.eps, lr);
  if (!L.b) return;
  const [b0, b1] = share(L.outputs, thread, threads, 16);
  if (b0 < b1) k.adam(L.b, L.gb, L.mb, L.vb, 0, b0, b1, ADAM.b1, ADAM.oneMinusB1, ADAM.b2, ADAM.oneMinusB2, a1, a2, ADAM.eps, lr);
}
