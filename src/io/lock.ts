// One run per output: a run that writes a model, a sweep or an export holds `.NAME.lock` beside
// its target for as long as it works on it, so a second run on the same output is refused at
// once instead of racing the first one's renames (and one of the two results being lost).
//
// The lock file holds the owner's PID and host. A lock whose process is gone (a crashed or
// killed run) is stale and taken over; one held by a process on another host cannot be
// checked, and is reported with the way to remove it.
import { readFileSync, unlinkSync, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { MamError } from '../errors.js';
import { isRunning, writeFailure } from './atomic.js';

interface LockOwner { pid: number; host: string; started: string }

/** Locks held by this process, by target, with how many callers hold each (a run may lock what it already holds). */
const held = new Map<string, { file: string; count: number }>();

export function lockFileOf(target: string): string {
  const abs = resolve(target);
  return join(dirname(abs), `.${basename(abs)}.lock`);
}

/**
 * Runs `work` holding the lock on `target`; a MamError (naming the other run) when another run
 * holds it. A directory output's missing parent folders are made; a file's folder must exist.
 */
export async function withOutputLock<T>(target: string, work: () => Promise<T>, kind: 'dir' | 'file' = 'dir'): Promise<T> {
  const release = await lockOutput(target, kind);
  try {
    return await work();
  } finally {
    await release();
  }
}

/** Takes the lock on `target`; returns the function that releases it. */
export async function lockOutput(target: string, kind: 'dir' | 'file' = 'dir'): Promise<() => Promise<void>> {
  const key = resolve(target);
  const mine = held.get(key);
  if (mine) {
    mine.count++;
    return releaser(key);
  }
  const file = lockFileOf(key);
  try {
    if (kind === 'dir') await fs.mkdir(dirname(file), { recursive: true });
    await fs.access(dirname(file));
  } catch (e) {
    throw writeFailure(target, e);
  }
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(file, `${JSON.stringify(me)}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw e;
    }
    const owner = await readOwner(file);
    if (owner && owner.host !== me.host) {
      throw new MamError(`${target} is locked by a mam run on host ${owner.host} (pid ${owner.pid}, since ${owner.started}): wait for it, or remove ${file} if no run is using ${target}`, { file: target });
    }
    if (owner && isRunning(owner.pid)) {
      throw new MamError(`${target} is being written by another mam run (pid ${owner.pid}, since ${owner.started}): wait for it to finish, or choose another output`, { file: target });
    }
    await fs.rm(file, { force: true }); // stale: its run is gone (or the file is unreadable half of a lock)
  }
  held.set(key, { file, count: 1 });
  return releaser(key);
}

function releaser(key: string): () => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    const lock = held.get(key);
    if (!lock || --lock.count > 0) return;
    held.delete(key);
    await fs.rm(lock.file, { force: true });
  };
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? owner as LockOwner : undefined;
  } catch {
    return undefined;
  }
}

// process.exit() (a second Ctrl-C, say) skips the releases: drop this process's locks on the way out.
process.on('exit', () => {
  for (const { file } of held.values()) {
    try {
      const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
      if (owner.pid === process.pid) unlinkSync(file);
    } catch {
      // already gone
    }
  }
});
