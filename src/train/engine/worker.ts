// A training-engine worker thread (pool.ts): attached to an engine's memory and plan, it runs
// its share of each command the main thread starts, until told to detach.
import { parentPort } from 'node:worker_threads';
import { instantiateKernels, type Kernels } from '../../wasm/kernels.js';
import { C_DETACH, C_DONE, C_GENERATION, makeBarrier, PoolFailure, signalFailure, waitFor, type WorkerAttach, type WorkerReply } from './pool.js';
import { runCommand } from './program.js';

const port = parentPort!;
const reply = (m: WorkerReply) => port.postMessage(m);

port.on('message', (m: WorkerAttach) => {
  if (m.type !== 'attach') return;
  let kernels: Kernels;
  try {
    kernels = instantiateKernels(m.module, m.memory);
  } catch (e) {
    reply({ type: 'error', message: (e as Error).message });
    return;
  }
  const control = new Int32Array(m.control);
  const params = new Float64Array(m.params);
  let seen = Atomics.load(control, C_GENERATION);
  reply({ type: 'attached' });
  // The command loop blocks this thread's event loop; it returns (to take the next attach
  // message) when the main thread sets C_DETACH, and for good after a failure (the pool is
  // then terminated).
  for (;;) {
    if (!waitFor(control, C_GENERATION, seen + 1)) return;
    seen = Atomics.load(control, C_GENERATION);
    if (Atomics.load(control, C_DETACH)) break;
    try {
      runCommand(kernels, m.plan, params, m.thread, m.threads, makeBarrier(control, m.threads));
    } catch (e) {
      if (!(e instanceof PoolFailure)) reply({ type: 'error', message: (e as Error).message });
      signalFailure(control);
      return;
    }
    Atomics.add(control, C_DONE, 1);
    Atomics.notify(control, C_DONE);
  }
  reply({ type: 'detached' });
});
