// Processes for the crash and lock tests: a PID that is certainly gone, and the CLI run with a
// fault injected (see crashPoint in src/io/atomic.ts).
import { spawnSync } from 'node:child_process';

/** The PID of a process that has exited (what a crashed run leaves in its temporaries' names). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (r.pid === undefined) throw new Error('could not start a process');
  return r.pid;
}
