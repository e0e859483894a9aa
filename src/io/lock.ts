// One run per output: a run that writes a model, a sweep or an export holds `.NAME.lock` beside
// its target for as long as it works on it, so a second run on the same output is refused at
// once instead of racing the first one's renames (and one of the two results being lost).
//
// The lock file holds the owner's PID, host, boot and a token. A lock whose process is gone (a
// crashed or killed run), or that was taken in an earlier boot, is stale and taken over; one
// held by a process on another host cannot be checked, and is reported with the way to remove it.
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { MamError } from '../errors.js';
import { writeFailure } from './atomic.js';
import { bootId, heldLocks, isRunning } from './owner.js';

interface LockOwner { pid: number; host: string; started: string; boot?: string | null; token?: string }

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

/**
 * Takes the lock on `target`; returns the function that releases it. The lock file appears
 * complete or not at all (written aside, then hard-linked into place, which fails if one
 * exists), and a stale one is taken over by renaming it away first and checking that what was
 * renamed is the stale lock read before, so two runs taking over the same stale lock cannot
 * both win.
 */
export async function lockOutput(target: string, kind: 'dir' | 'file' = 'dir'): Promise<() => Promise<void>> {
  const key = resolve(target);
  const mine = heldLocks.get(key);
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
  const token = randomBytes(8).toString('hex');
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), boot: bootId(), token };
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(file, me)) break;
    if (attempt > 4) throw new MamError(`${target}: could not take its lock ${file} (other runs keep taking it): try again`, { file: target });
    const owner = await readOwner(file);
    if (owner === null) continue; // gone in the meantime: try again
    if (owner !== undefined && owner.host !== me.host) {
      throw new MamError(`${target} is locked by a mam run on host ${owner.host} (pid ${owner.pid}, since ${owner.started}): wait for it, or remove ${file} if no run is using ${target}`, { file: target });
    }
    if (owner !== undefined && !isStale(owner)) {
      throw new MamError(`${target} is being written by another mam run (pid ${owner.pid}, since ${owner.started}): wait for it to finish, or choose another output (or, if no mam run is using it, remove ${file})`, { file: target });
    }
    await takeOver(file, owner);
  }
  heldLocks.set(key, { file, count: 1, token });
  return releaser(key);
}

/** A lock whose run is gone: its process has exited, the machine has rebooted since, or its PID is ours (reused). */
function isStale(owner: LockOwner): boolean {
  const boot = bootId();
  if (owner.boot && boot && owner.boot !== boot) return true;
  if (owner.pid === process.pid) return true; // not in `heldLocks`: an earlier process's, with our PID
  return !isRunning(owner.pid);
}

/** Writes the owner aside and links it into place: false if a lock is there already. */
async function tryCreate(file: string, me: LockOwner): Promise<boolean> {
  const aside = `${file}.${process.pid}-${me.token}`;
  await fs.writeFile(aside, `${JSON.stringify(me)}\n`);
  try {
    await fs.link(aside, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw writeFailure(file, e);
  } finally {
    await fs.rm(aside, { force: true });
  }
}

/** Removes the stale lock `seen`, unless another run replaced it meanwhile (then it is put back). */
async function takeOver(file: string, seen: LockOwner | undefined): Promise<void> {
  const away = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(file, away);
  } catch {
    return; // someone else moved it: look again
  }
  const moved = await readOwner(away);
  const same = seen === undefined ? moved === undefined : moved !== undefined && moved !== null && moved.pid === seen.pid && moved.token === seen.token && moved.started === seen.started;
  if (!same) await fs.link(away, file).catch(() => {}); // a fresh lock: back where it was
  await fs.rm(away, { force: true });
}

/** Whether a live run (of this host) other than this process holds the lock on `target`. */
export async function lockedByAnotherRun(target: string): Promise<boolean> {
  const key = resolve(target);
  if (heldLocks.has(key)) return false;
  const owner = await readOwner(lockFileOf(key));
  return owner !== null && owner !== undefined && (owner.host !== hostname() || !isStale(owner));
}

function releaser(key: string): () => Promise<void> {
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    const lock = heldLocks.get(key);
    if (!lock || --lock.count > 0) return;
    heldLocks.delete(key);
    if ((await readOwner(lock.file))?.token === lock.token) await fs.rm(lock.file, { force: true });
  };
}

/** The lock's owner; null when there is no lock file, undefined when it cannot be read (junk: stale). */
async function readOwner(file: string): Promise<LockOwner | null | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? owner as LockOwner : undefined;
  } catch {
    return undefined;
  }
}

// process.exit() (a second Ctrl-C, say) skips the releases: drop this process's locks on the way out.
process.on('exit', () => {
  for (const { file, token } of heldLocks.values()) {
    try {
      const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
      if (owner.token === token) unlinkSync(file);
    } catch {
      // already gone
    }
  }
});
