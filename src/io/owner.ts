// Who made a lock or a temporary, and whether that process is still at work: a PID alone can
// be reused (after a reboot, or in a container where every run is PID 1), so a lock also records
// the boot it was taken in, and a process knows the temporaries it made itself.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Whether a process with this PID exists (EPERM: it does, but is someone else's). */
export function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let boot: string | null | undefined;

/** This boot of the machine (Linux's boot_id), or null where there is none to read. */
export function bootId(): string | null {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      boot = null;
    }
  }
  return boot;
}

/**
 * The output locks this process holds, by resolved target: the lock file, how many callers hold
 * it (a run may lock what it already holds) and the token that marks the file as ours. Kept by
 * lock.ts; read by the writers in atomic.ts through holdsLock.
 */
export const heldLocks = new Map<string, { file: string; count: number; token: string }>();

/** Whether this process holds the output lock of `target`: then no other mam run writes it. */
export function holdsLock(target: string): boolean {
  return heldLocks.has(resolve(target));
}
