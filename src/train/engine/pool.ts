// Worker threads for the training engine: each runs its share of every command (program.ts)
// on the engine's shared memory, the main thread being thread 0. Commands and barriers go
// through a small shared Int32Array with Atomics: a thread spins briefly (phases of a step are
// tens of microseconds apart), then sleeps in Atomics.wait.
//
// One engine at a time owns the pool (attach); an engine that lost it to another (or whose pool
// was closed) runs its commands on the main thread alone, which gives the same bits.
import { Worker } from 'node:worker_threads';
import type { EnginePlan } from './plan.js';

// Slots of the control array.
export const C_GENERATION = 0; // bumped by the main thread to start a command
export const C_BARRIER = 1; // arrivals at barriers within the command
export const C_DONE = 2; // workers that finished the command
export const C_FAILED = 3; // set when a thread threw: every wait gives up
export const C_DETACH = 4; // 1: leave the command loop (new plan, or closing)
export const CONTROL_SLOTS = 8;

const SPINS = 1 << 15;
/** A wait this long with nothing moving means a thread is gone (a phase takes milliseconds). */
const STALL_MS = 120_000;

export class PoolFailure extends Error {}

/**
 * Waits until control[slot] >= target: spins, then sleeps in Atomics.wait. Returns false if a
 * thread failed meanwhile (C_FAILED), throws PoolFailure if nothing moved for STALL_MS.
 */
export function waitFor(control: Int32Array, slot: number, target: number): boolean {
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(control, slot) >= target) return true;
    if (Atomics.load(control, C_FAILED)) return false;
  }
  let last = Atomics.load(control, slot);
  let since = Date.now();
  for (;;) {
    const v = Atomics.load(control, slot);
    if (v >= target) return true;
    if (Atomics.load(control, C_FAILED)) return false;
    if (v !== last) { last = v; since = Date.now(); }
    else if (Date.now() - since > STALL_MS) throw new PoolFailure(`a training thread stopped responding (nothing moved for ${STALL_MS / 1000} s)`);
    Atomics.wait(control, slot, v, 1000);
  }
}

/** Marks the command failed and wakes every waiting thread. */
export function signalFailure(control: Int32Array): void {
  Atomics.store(control, C_FAILED, 1);
  for (const slot of [C_BARRIER, C_DONE, C_GENERATION]) Atomics.notify(control, slot);
}

/** A barrier for one command: the n-th call returns once every thread has made its n-th call. */
export function makeBarrier(control: Int32Array, threads: number): () => void {
  let passed = 0;
  return () => {
    const target = ++passed * threads;
    if (Atomics.add(control, C_BARRIER, 1) + 1 >= target) Atomics.notify(control, C_BARRIER);
    else if (!waitFor(control, C_BARRIER, target)) throw new PoolFailure('another training thread failed');
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
  /** The engine the workers run for (null: none, or the pool is closed or broken). */
  private owner: object | null = null;
  private inLoop = false;
  private closed = false;
  private lastError: string | null = null;
  /** attach() calls, one after another. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(readonly threads: number) {}

  /** A pool of `threads` threads in all: the caller's and threads - 1 workers. */
  static start(threads: number): ThreadPool {
    const pool = new ThreadPool(threads);
    for (let t = 1; t < threads; t++) {
      const worker = new Worker(WORKER_FILE);
      // Kept for the pool's life: a worker's error reaches the next command's message.
      worker.on('message', (m: WorkerReply) => { if (m.type === 'error') pool.lastError = m.message; });
      worker.on('error', (e) => { pool.lastError = e.message; pool.broken(); });
      worker.on('exit', (code) => { pool.lastError ??= `a training thread exited (code ${code})`; pool.broken(); });
      // An idle pool never keeps the process alive. After the first 'message' listener, which
      // would otherwise ref the worker again.
      worker.unref();
      pool.workers.push(worker);
    }
    return pool;
  }

  /** Whether commands of `engine` run on this pool now. */
  ownedBy(engine: object): boolean {
    return this.owner === engine && !this.closed;
  }

  get usable(): boolean {
    return !this.closed;
  }

  private broken(): void {
    this.closed = true;
    this.owner = null;
    signalFailure(this.control);
  }

  /** Waits for a worker's `reply` (after posting `message`, if any). */
  private request(worker: Worker, message: object | null, reply: WorkerReply['type']): Promise<void> {
    // Ref'd while a reply is awaited (else an otherwise idle process would exit under the await).
    worker.ref();
    return new Promise<void>((resolve, reject) => {
      const done = () => { worker.off('message', onMessage); worker.off('exit', onExit); worker.unref(); };
      const onMessage = (m: WorkerReply) => {
        if (m.type === 'error') { done(); reject(new PoolFailure(`training thread: ${m.message}`)); }
        else if (m.type === reply) { done(); resolve(); }
      };
      const onExit = () => { done(); reject(new PoolFailure(this.lastError ?? 'a training thread exited')); };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      if (message) worker.postMessage(message);
    });
  }

  /** Gives every worker an engine's memory, plan and parameter block; the engine owns the pool then. */
  attach(engine: object, module: WebAssembly.Module, memory: WebAssembly.Memory, plan: EnginePlan, params: SharedArrayBuffer): Promise<void> {
    const next = this.queue.then(async () => {
      if (this.closed) throw new PoolFailure('the training threads were closed');
      await this.leaveLoop();
      this.owner = null;
      Atomics.store(this.control, C_DETACH, 0);
      Atomics.store(this.control, C_FAILED, 0);
      await Promise.all(this.workers.map((w, i) => this.request(w, {
        type: 'attach', module, memory, plan, control: this.control.buffer, params, thread: i + 1, threads: this.threads,
      } satisfies WorkerAttach, 'attached')));
      this.inLoop = true;
      this.owner = engine;
    });
    this.queue = next.catch(() => {});
    return next;
  }

  /** Runs a command on every thread; `own(barrier)` is the main thread's share. Synchronous. */
  run(own: (barrier: () => void) => void): void {
    const c = this.control;
    Atomics.store(c, C_BARRIER, 0);
    Atomics.store(c, C_DONE, 0);
    Atomics.add(c, C_GENERATION, 1);
    Atomics.notify(c, C_GENERATION);
    let failure: unknown = null;
    try {
      own(makeBarrier(c, this.threads));
    } catch (e) {
      failure = e;
      signalFailure(c);
    }
    const finished = failure === null && waitFor(c, C_DONE, this.workers.length);
    if (!finished) {
      // The pool's state is unknown now: it is not used again (a later engine starts a new one).
      this.broken();
      void this.terminate();
      if (failure && !(failure instanceof PoolFailure)) throw failure;
      throw new PoolFailure(`a training thread failed: ${this.lastError ?? (failure as Error | null)?.message ?? 'no message'}`);
    }
  }

  /** Takes the workers out of their command loop (they wait for the next attach). */
  private async leaveLoop(): Promise<void> {
    if (!this.inLoop) return;
    this.inLoop = false;
    const left = Promise.all(this.workers.map((w) => this.request(w, null, 'detached').catch(() => {})));
    Atomics.store(this.control, C_DETACH, 1);
    Atomics.add(this.control, C_GENERATION, 1);
    Atomics.notify(this.control, C_GENERATION);
    await left;
  }

  private async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Ends the workers; engines that had the pool go on on the main thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    this.owner = null;
    await this.leaveLoop();
    await this.terminate();
  }
}
