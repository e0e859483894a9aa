// Where everything a training step touches lives in the engine's shared memory: per layer its
// weights, mask, gradients, Adam moments, activations, backward deltas and MAM selections; the
// batch; one scratch for W^T. Plain data (no tfjs, no functions), so that it can be posted to
// worker threads as it is.
import { HEAP_BASE } from '../../wasm/kernels.js';

export interface LayerShape {
  name: string;
  kind: 'mac' | 'mam';
  inputs: number;
  outputs: number;
  relu: boolean;
  useBias: boolean;
  /** MAM only (1 for MAC). */
  splits: number;
  /** MAM 'absent': pruned connections take no part in the max/min. */
  absent: boolean;
  /** The mask has zeros: gradients and updates are masked. */
  pruned: boolean;
}

/** Byte offsets of one layer's arrays (0 = not allocated). */
export interface LayerPlan extends LayerShape {
  w: number; mask: number; b: number;
  gw: number; gb: number;
  mw: number; vw: number; mb: number; vb: number;
  /** Output activations [rows, outputs]. */
  act: number;
  /** dLoss/d(pre-activation) [rows, outputs]. */
  dz: number;
  /** MAM: max + min part [rows, outputs], the plain sum for the blend, selections [rows, S, outputs], connections per slice [S, outputs] (int32). */
  mam: number; dense: number; imax: number; imin: number; counts: number;
}

export interface EnginePlan {
  layers: LayerPlan[];
  /** Rows the buffers hold (the largest batch). */
  rows: number;
  /** The input batch [rows, window]. */
  input: number;
  /** What the output is compared with [rows, window]: the input, or the clean windows when the input is noisy. */
  target: number;
  /** Per output column, the sum of squared errors of the last step [window]. */
  squares: number;
  /** W^T of the layer being back-propagated (largest inputs x outputs). */
  transposed: number;
  /** Per thread, a scratch for the matrix product's packed column panels (packBytes each). */
  packs: number;
  packBytes: number;
  /** Bytes past HEAP_BASE in all. */
  bytes: number;
}

/** Lays out the arrays of a network of these layers for batches of up to `rows` windows, on `threads` threads. */
export function planLayout(shapes: LayerShape[], rows: number, threads: number): EnginePlan {
  let offset = HEAP_BASE;
  // 64-byte alignment: every array starts on its own cache line (and on a 16-byte SIMD boundary).
  const alloc = (floats: number): number => {
    const at = offset;
    offset += Math.ceil((4 * floats) / 64) * 64;
    return at;
  };
  const window = shapes[0]!.inputs;
  const input = alloc(rows * window);
  const target = alloc(rows * window);
  const layers = shapes.map((s): LayerPlan => {
    const weights = s.inputs * s.outputs;
    const mam = s.kind === 'mam';
    return {
      ...s,
      w: alloc(weights), mask: alloc(weights), b: s.useBias ? alloc(s.outputs) : 0,
      gw: alloc(weights), gb: s.useBias ? alloc(s.outputs) : 0,
      mw: alloc(weights), vw: alloc(weights),
      mb: s.useBias ? alloc(s.outputs) : 0, vb: s.useBias ? alloc(s.outputs) : 0,
      act: alloc(rows * s.outputs), dz: alloc(rows * s.outputs),
      mam: mam ? alloc(rows * s.outputs) : 0,
      dense: mam ? alloc(rows * s.outputs) : 0,
      imax: mam ? alloc(rows * s.splits * s.outputs) : 0,
      imin: mam ? alloc(rows * s.splits * s.outputs) : 0,
      counts: mam ? alloc(s.splits * s.outputs) : 0,
    };
  });
  const squares = alloc(shapes.at(-1)!.outputs);
  const transposed = alloc(Math.max(...shapes.map((s) => s.inputs * s.outputs)));
  // A panel is (summed length) x 8 floats: the summed length is a layer's inputs, outputs or rows.
  const packBytes = 32 * Math.max(rows, ...shapes.map((s) => Math.max(s.inputs, s.outputs)));
  const packs = alloc((threads * packBytes) / 4);
  return { layers, rows, input, target, squares, transposed, packs, packBytes, bytes: offset - HEAP_BASE };
}

/**
 * A thread's share [from, to) of `count` items cut into groups of `align` (the SIMD tiles):
 * thread t of T takes groups floor(G t / T) to floor(G (t + 1) / T).
 */
export function share(count: number, thread: number, threads: number, align: number): [number, number] {
  const groups = Math.ceil(count / align);
  const from = Math.floor((groups * thread) / threads) * align;
  const to = Math.floor((groups * (thread + 1)) / threads) * align;
  return [Math.min(count, from), Math.min(count, to)];
}
