// The training engine: a network of PrunableDense layers trained step by step in the
// project's WebAssembly SIMD kernels, on as many threads as it is given, instead of through
// tfjs's autograd (whose per-op overhead and transposed matMul on wasm cost more than the
// arithmetic). The tfjs model stays the record: the engine copies its weights in, trains, and
// copies them back (plus the Adam moments into a tfjs Adam optimizer) whenever the caller
// needs the model (validation aside, which the engine also runs).
//
// It computes what the tfjs graph computes (src/layers: kernel x mask, the MAM tie rule and
// gradient, the vcon blend, bias, ReLU; mean squared error; tfjs's Adam to the bit), in its own
// summation order, the same for any number of threads.
import * as tf from '@tensorflow/tfjs';
import { MamDense } from '../../layers/mam-dense.js';
import { sliceConnections } from '../../layers/mam-math.js';
import { PrunableDense } from '../../layers/prunable-dense.js';
import { instantiateKernels, createMemory, kernelModule, kernelsUnavailable, type Kernels } from '../../wasm/kernels.js';
import { planLayout, type EnginePlan, type LayerShape } from './plan.js';
import { ThreadPool } from './pool.js';
import {
  ADAM, COMMAND_FORWARD, COMMAND_TRAIN, P_COMMAND, P_LOSS_SCALE, P_NEG_LR, P_ONE_MINUS_ACC1, P_ONE_MINUS_ACC2, P_ROWS,
  pBeta, paramSlots, runCommand,
} from './program.js';

/** Adam's state as the engine keeps it: moments per trainable variable (kernel, bias per layer). */
export interface AdamMoments {
  m: Float32Array[];
  v: Float32Array[];
  /** beta1^t and beta2^t as float32 (tfjs's accBeta1, accBeta2). */
  accBeta: [number, number];
  iterations: number;
}

/**
 * Why the engine cannot train this model (null if it can): it takes a chain of trainable
 * PrunableDense layers with ReLU or linear activations whose output is as wide as its input.
 */
export function engineUnsupported(model: tf.LayersModel): string | null {
  if (!kernelModule()) return `the WebAssembly kernels are unavailable (${kernelsUnavailable()})`;
  if (model.layers.length === 0) return 'the model has no layers';
  let width: number | null = null;
  for (const layer of model.layers) {
    if (!(layer instanceof PrunableDense)) return `layer ${layer.name} is a ${layer.getClassName()}, not a MaskedDense or MamDense`;
    const activation = String(layer.getConfig().activation);
    if (activation !== 'relu' && activation !== 'linear') return `layer ${layer.name} has activation ${activation} (the engine has relu and linear)`;
    if (!layer.trainable) return `layer ${layer.name} is frozen (not trainable)`;
    const [inputs, outputs] = layer.kernelShape();
    if (width !== null && inputs !== width) return `layer ${layer.name} takes ${inputs} inputs after a layer of ${width} outputs (not a chain)`;
    width = outputs;
  }
  const first = (model.layers[0] as PrunableDense).kernelShape()[0];
  if (width !== first) return `the output (${width}) is not as wide as the input (${first}): not an autoencoder`;
  return null;
}

let sharedPool: ThreadPool | null = null;

/**
 * One pool per process, kept between engines (starting workers costs tens of milliseconds);
 * the engine attached last owns it, and one that lost it goes on on the main thread alone.
 */
function poolOf(threads: number): ThreadPool | null {
  if (threads <= 1) return null;
  if (sharedPool?.threads !== threads || !sharedPool.usable) {
    void sharedPool?.close();
    sharedPool = ThreadPool.start(threads);
  }
  return sharedPool;
}

export class TrainingEngine {
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;
  private readonly params: Float64Array;
  private readonly layers: PrunableDense[];
  /** Adam's bias corrections and step count, advanced by every step. */
  accBeta: [number, number] = [ADAM.b1, ADAM.b2];
  iterations = 0;

  private pool: ThreadPool | null = null;

  private constructor(
    private readonly model: tf.LayersModel, readonly plan: EnginePlan, private readonly kernels: Kernels,
    params: SharedArrayBuffer, memory: WebAssembly.Memory,
  ) {
    this.f32 = new Float32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.params = new Float64Array(params);
    this.layers = model.layers as PrunableDense[];
  }

  /** An engine for `model` (see engineUnsupported) taking batches of up to `rows` windows, on `threads` threads. */
  static async create(model: tf.LayersModel, rows: number, threads: number): Promise<TrainingEngine> {
    const why = engineUnsupported(model);
    if (why) throw new Error(`the training engine cannot take this model: ${why}`);
    const shapes = (model.layers as PrunableDense[]).map((layer): LayerShape => {
      const [inputs, outputs] = layer.kernelShape();
      const { kept, total } = layer.maskCounts();
      return {
        name: layer.name, kind: layer.kind, inputs, outputs,
        relu: String(layer.getConfig().activation) === 'relu', useBias: layer.useBias,
        splits: layer instanceof MamDense ? layer.splits : 1,
        absent: layer instanceof MamDense && layer.prunedAs === 'absent',
        pruned: kept < total,
      };
    });
    const plan = planLayout(shapes, rows, Math.max(1, threads));
    const module = kernelModule()!;
    const memory = createMemory(plan.bytes);
    const params = new SharedArrayBuffer(8 * paramSlots(shapes.length));
    const engine = new TrainingEngine(model, plan, instantiateKernels(module, memory), params, memory);
    const pool = poolOf(threads);
    if (pool) {
      await pool.attach(engine, module, memory, plan, params);
      engine.pool = pool;
    }
    engine.readModel();
    return engine;
  }

  /** The threads a command runs on (1 once another engine has taken the pool). */
  get threads(): number {
    return this.pool?.ownedBy(this) ? this.pool.threads : 1;
  }

  private view(offset: number, floats: number): Float32Array {
    return this.f32.subarray(offset >> 2, (offset >> 2) + floats);
  }

  /** Copies weights and masks from the tfjs model (Adam moments start at zero). */
  readModel(): void {
    this.plan.layers.forEach((L, i) => {
      const layer = this.layers[i]!;
      const weights = L.inputs * L.outputs;
      this.view(L.w, weights).set(layer.effectiveKernel());
      const mask = layer.getMask();
      this.view(L.mask, weights).set(mask.dataSync());
      mask.dispose();
      if (L.b) this.view(L.b, L.outputs).set(layer.trainableWeights[1]!.read().dataSync());
      if (L.counts) this.countConnections(L);
    });
  }

  /** Connections per MAM slice and output (the kernels' gradient rule reads them). */
  private countConnections(L: EnginePlan['layers'][number]): void {
    const d = { batch: 0, inputs: L.inputs, outputs: L.outputs, splits: L.splits };
    const keep = L.absent ? this.view(L.mask, L.inputs * L.outputs) : null;
    const counts = this.i32.subarray(L.counts >> 2, (L.counts >> 2) + L.splits * L.outputs);
    for (let s = 0; s < L.splits; s++) {
      for (let k = 0; k < L.outputs; k++) counts[s * L.outputs + k] = sliceConnections(s, k, keep, d);
    }
  }

  /** Writes the weights back into the tfjs model's variables. */
  writeModel(): void {
    const views = this.perVariable('w', 'b');
    this.model.trainableWeights.forEach((variable, i) => {
      tf.tidy(() => { variable.write(tf.tensor(views[i]!.slice(), variable.shape as number[])); });
    });
  }

  /**
   * One array per trainable variable, in the model's order (kernel, then bias, per layer): views
   * on the arrays at the kernel's and the bias's offsets of the given kinds.
   */
  private perVariable(kernel: 'w' | 'gw' | 'mw' | 'vw', bias: 'b' | 'gb' | 'mb' | 'vb'): Float32Array[] {
    const views: Float32Array[] = [];
    for (const L of this.plan.layers) {
      views.push(this.view(L[kernel], L.inputs * L.outputs));
      if (L.b) views.push(this.view(L[bias], L.outputs));
    }
    return views;
  }

  /** Adam's moments, in the order of the model's trainable variables (copies). */
  moments(): AdamMoments {
    const copy = (views: Float32Array[]) => views.map((v) => v.slice());
    return { m: copy(this.perVariable('mw', 'mb')), v: copy(this.perVariable('vw', 'vb')), accBeta: [...this.accBeta], iterations: this.iterations };
  }

  /** The gradients of the last step, in the order of the trainable variables (copies; for tests and scores). */
  gradients(): Float32Array[] {
    return this.perVariable('gw', 'gb').map((v) => v.slice());
  }

  /** The weights as the engine holds them, in the order of the trainable variables (copies). */
  weights(): Float32Array[] {
    return this.perVariable('w', 'b').map((v) => v.slice());
  }

  /** Restores Adam's state (as moments() gives it, or read from a tfjs optimizer). */
  setMoments(state: AdamMoments): void {
    this.perVariable('mw', 'mb').forEach((view, i) => view.set(state.m[i]!));
    this.perVariable('vw', 'vb').forEach((view, i) => view.set(state.v[i]!));
    this.accBeta = [...state.accBeta];
    this.iterations = state.iterations;
  }

  private run(command: number, rows: number, betas: number[]): void {
    const p = this.params;
    p[P_COMMAND] = command;
    p[P_ROWS] = rows;
    betas.forEach((beta, l) => { p[pBeta(l)] = beta; });
    const pool = this.pool;
    if (pool?.ownedBy(this)) pool.run((barrier) => runCommand(this.kernels, this.plan, p, 0, pool.threads, barrier));
    else runCommand(this.kernels, this.plan, p, 0, 1, () => {});
  }

  /** The vcon beta of each layer (1 for MAC layers). */
  private betas(beta: number): number[] {
    return this.plan.layers.map((L) => (L.kind === 'mam' ? beta : 1));
  }

  /**
   * One Adam step on `rows` windows (laid end to end in batch) at the MAM layers' `beta`,
   * the output compared with `target` (default: the batch itself); returns the mean squared
   * error before the step.
   */
  step(batch: Float32Array, rows: number, beta: number, learningRate: number, target: Float32Array = batch): number {
    const window = this.plan.layers[0]!.inputs;
    this.checkRows(rows, batch.length, window);
    this.checkRows(rows, target.length, window);
    this.view(this.plan.input, rows * window).set(batch.subarray(0, rows * window));
    this.view(this.plan.target, rows * window).set(target.subarray(0, rows * window));
    const p = this.params;
    const f = Math.fround;
    p[P_NEG_LR] = f(-learningRate);
    p[P_ONE_MINUS_ACC1] = f(1 - this.accBeta[0]);
    p[P_ONE_MINUS_ACC2] = f(1 - this.accBeta[1]);
    const outputs = this.plan.layers.at(-1)!.outputs;
    p[P_LOSS_SCALE] = 2 / (rows * outputs);
    this.run(COMMAND_TRAIN, rows, this.betas(beta));
    this.accBeta = [f(this.accBeta[0] * ADAM.b1), f(this.accBeta[1] * ADAM.b2)];
    this.iterations++;
    const squares = this.view(this.plan.squares, outputs);
    let sum = 0;
    for (let c = 0; c < outputs; c++) sum += squares[c]!;
    return sum / (rows * outputs);
  }

  /** The network's output for `count` windows of `length` samples, at the MAM layers' `beta`. */
  predict(data: Float32Array, count: number, beta: number): Float32Array {
    const window = this.plan.layers[0]!.inputs;
    const last = this.plan.layers.at(-1)!;
    const out = new Float32Array(count * last.outputs);
    const betas = this.betas(beta);
    for (let w = 0; w < count; w += this.plan.rows) {
      const rows = Math.min(this.plan.rows, count - w);
      this.view(this.plan.input, rows * window).set(data.subarray(w * window, (w + rows) * window));
      this.run(COMMAND_FORWARD, rows, betas);
      out.set(this.view(last.act, rows * last.outputs), w * last.outputs);
    }
    return out;
  }

  /** Whether every weight and bias is finite (a diverged run is caught before it is saved). */
  weightsFinite(): boolean {
    return this.plan.layers.every((L) =>
      this.kernels.allFinite(L.w, L.inputs * L.outputs) === 1 && (!L.b || this.kernels.allFinite(L.b, L.outputs) === 1));
  }

  private checkRows(rows: number, length: number, window: number): void {
    if (!Number.isInteger(rows) || rows < 1 || rows > this.plan.rows || length < rows * window) {
      throw new RangeError(`engine step: ${rows} rows of ${window} (given ${length} values) for buffers of ${this.plan.rows} rows`);
    }
  }
}

/** Ends the worker threads (they never keep the process alive; this frees them sooner). */
export async function closeEnginePool(): Promise<void> {
  await sharedPool?.close();
  sharedPool = null;
}
