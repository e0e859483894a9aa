// Worker threads for the training engine: each runs its share of every command (program.ts)
// on the engine's shared memory, the main thread being thread 0. Commands and barriers go
// through a small shared Int32Array with Atomics: a thread spins briefly (phases of a step are
// tens of microseconds apart), then sleeps in Atomics.wait.
import { Worker } from 'node:worker_threads';
import type { EnginePlan } from './plan.js';

// Slots of the control array.
export const C_GENERATION = 0; // bumped by the main thread to start a command
export const C_BARRIER = 1; // arrivals at barriers within the command
export const C_DONE = 2; // workers that finished the command
export const C_FAILED = 3; // 1 when a worker threw
export const C_DETACH = 4; // 1: leave the command loop (new plan, or closing)
export const CONTROL_SLOTS = 8;

/** Releases every barrier at once (a thread failed: nobody may wait for it). */
export const RELEASE_ALL = 1 << 28;
const SPINS = 1 << 15;

/** Waits until control[slot] >= target: spins, then sleeps in Atomics.wait. */
export function waitFor(control: Int32Array, slot: number, target: number): void {
  for (let i = 0; i < SPINS; i++) if (Atomics.load(control, slot) >= target) return;
  for (;;) {
    const v = Atomics.load(control, slot);
    if (v >= target) return;
    Atomics.wait(control, slot, v, 1000);
  }
}

/** A barrier for one command: the n-th call returns once every thread has made its n-th call. */
export function makeBarrier(control: Int32Array, threads: number): () => void {
  let passed = 0;
  return () => {
    const target = ++passed * threads;
    if (Atomics.add(control, C_BARRIER, 1) + 1 >= target) Atomics.notify(control, C_BARRIER);
    else waitFor(control, C_BARRIER, target);
  };
}

/** What a worker is given to work on: posted once per plan. */
export interface WorkerAttach {
  type: 'attach';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  plan: EnginePlan;
  control: SharedArrayBuffer;
  params: SharedArrayBuffer;
  thread: number;
  threads: number;
}

export type WorkerReply = { type: 'attached' } | { type: 'detached' } | { type: 'error'; message: string };

const WORKER_FILE = new URL('./worker.js', import.meta.url);

export class ThreadPool {
  private readonly workers: Worker[] = [];
  readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_SLOTS));
  private attached = false;
  private error: string | null = null;

  private constructor(readonly threads: number) {}

  /** A pool of `threads` threads in all: the caller's and threads - 1 workers. */
  static async start(threads: number): Promise<ThreadPool> {
    const pool = new ThreadPool(threads);
    for (let t = 1; t < threads; t++) {
      const worker = new Worker(WORKER_FILE);
      worker.unref(); // an idle pool never keeps the process alive
      worker.on('error', (e) => { pool.error = e.message; });
      pool.workers.push(worker);
    }
    return pool;
  }

  private async request(worker: Worker, message: object, reply: WorkerReply['type']): Promise<void> {
    const answer = new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'error') { worker.off('message', onMessage); reject(new Error(`training thread: ${m.message}`)); }
        else if (m.type === reply) { worker.off('message', onMessage); resolve(); }
      };
      worker.on('message', onMessage);
    });
    worker.postMessage(message);
    await answer;
  }

  /** Gives every worker the memory, plan and parameter block of an engine. */
  async attach(module: WebAssembly.Module, memory: WebAssembly.Memory, plan: EnginePlan, params: SharedArrayBuffer): Promise<void> {
    await this.detach();
    Atomics.store(this.control, C_DETACH, 0);
    await Promise.all(this.workers.map((w, i) => this.request(w, {
      type: 'attach', module, memory, plan, control: this.control.buffer, params, thread: i + 1, threads: this.threads,
    } satisfies WorkerAttach, 'attached')));
    this.attached = true;
  }

  /** Runs a command on every thread; `own(barrier)` is the main thread's share. Synchronous. */
  run(own: (barrier: () => void) => void): void {
    const c = this.control;
    if (this.error) throw new Error(`training thread failed: ${this.error}`);
    Atomics.store(c, C_BARRIER, 0);
    Atomics.store(c, C_DONE, 0);
    Atomics.add(c, C_GENERATION, 1);
    Atomics.notify(c, C_GENERATION);
    try {
      own(makeBarrier(c, this.threads));
    } catch (e) {
      Atomics.add(c, C_BARRIER, RELEASE_ALL);
      Atomics.notify(c, C_BARRIER);
      waitFor(c, C_DONE, this.workers.length);
      throw e;
    }
    waitFor(c, C_DONE, this.workers.length);
    if (Atomics.load(c, C_FAILED)) throw new Error(`training thread failed: ${this.error ?? 'see the message above'}`);
  }

  private async detach(): Promise<void> {
    if (!this.attached) return;
    this.attached = false;
    const detached = Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      const onMessage = (m: WorkerReply) => { if (m.type === 'detached') { w.off('message', onMessage); resolve(); } };
      w.on('message', onMessage);
    })));
    Atomics.store(this.control, C_DETACH, 1);
    Atomics.add(this.control, C_GENERATION, 1);
    Atomics.notify(this.control, C_GENERATION);
    await detached;
  }

  async close(): Promise<void> {
    await this.detach();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
