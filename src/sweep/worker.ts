// The process one kind's chain runs in (forked by sweep.ts), so that the MAC and the MAM model
// use a core each. It takes one task, streams log lines, progress and points to the parent,
// and ends. Ctrl-C (SIGINT reaches the whole process group; the parent passes on its SIGTERM as
// SIGINT), SIGTERM or SIGHUP stops it after the current
// training step or sweep point; if the parent goes away, it ends at once.
import { initBackend } from '../backend.js';
import { MamError, RequestError, type Setting } from '../errors.js';
import { setRunDefaults } from '../train/steppers.js';
import { runChain, type ChainMessage, type ChainTask } from './chain.js';

export interface WorkerRequest {
  task: ChainTask;
  backend: string;
  /** Training threads in this process. */
  threads: number;
}

/** An error: its message, and for a MamError its text with the settings it names (and whether it is a RequestError). */
export type WorkerMessage = ChainMessage | { type: 'done' } | { type: 'error'; message: string; text?: ReadonlyArray<string | Setting>; request?: boolean };

let stopRequested = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => { stopRequested = true; });
process.on('disconnect', () => process.exit(1));

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => { process.send!(message, undefined, {}, () => resolve()); });
}

process.once('message', (request: WorkerRequest) => {
  void (async () => {
    try {
      await initBackend({ backend: request.backend });
      setRunDefaults({ threads: request.threads });
      await runChain(request.task, { send: (m) => void send(m), shouldStop: () => stopRequested });
      await send({ type: 'done' });
    } catch (e) {
      await send({ type: 'error', message: (e as Error).message, ...(e instanceof MamError ? { text: e.text.parts, request: e instanceof RequestError } : {}) });
    }
    process.exit(0);
  })();
});
