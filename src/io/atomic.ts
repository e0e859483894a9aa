// Writing outputs so that neither a reader nor a crash ever sees half of one: a file, or a whole
// directory (a model, a C export, a firmware build), is written in full under a temporary name
// beside its target, flushed to disk (fsync), and renamed into place in one step.
//
// Temporaries are named `.NAME.tmp-PID-XXXXXX` (and a directory being replaced is moved aside
// as `.NAME.old-PID-XXXXXX`): the PID says which process made them, so a later write to the
// same target can tell the leftovers of a crashed run (its process is gone) from the work of a
// running one, and clean only the first.
import { existsSync, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MamError } from '../errors.js';
import { holdsLock, isRunning } from './owner.js';

type Content = string | Uint8Array;

/** Writes `chunks` to `file` atomically: the old file, or the new one, never a mix. */
export async function writeFileAtomically(file: string, chunks: Iterable<Content>): Promise<void> {
  await cleanStaleTemporaries(file);
  const tmp = await temporaryName(file, 'tmp');
  const handle = await fs.open(tmp, 'wx');
  try {
    try {
      for (const c of chunks) await handle.write(typeof c === 'string' ? Buffer.from(c, 'utf8') : c);
      await handle.sync();
    } finally {
      await handle.close();
    }
    crashPoint('file-written');
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  } finally {
    made.delete(tmp);
  }
  await syncDirectory(dirname(file));
}

/**
 * Writes a directory atomically: `files` (name -> content), or whatever `fill` writes into the
 * fresh directory it is given, then swaps it in for `target`. rename() cannot replace a
 * non-empty directory, so an existing `target` is first moved aside as `.NAME.old-*`; a crash
 * between the two renames leaves it there, and the next write to `target` (or the next load,
 * see `restoreInterruptedSwap`) puts it back.
 */
export async function writeDirAtomically(
  target: string, files: Record<string, Content> | ((dir: string) => Promise<void>),
): Promise<void> {
  await fs.mkdir(dirname(target), { recursive: true });
  await cleanStaleTemporaries(target);
  const tmp = await temporaryName(target, 'tmp');
  await fs.mkdir(tmp);
  const old = tmp.replace(/\.tmp-([^/]*)$/, '.old-$1');
  made.add(old);
  try {
    if (typeof files === 'function') await files(tmp);
    else for (const [name, data] of Object.entries(files)) await fs.writeFile(join(tmp, name), data, { flag: 'wx' });
    await syncTree(tmp);
    const hadOld = existsSync(target);
    if (hadOld) {
      await fs.rename(target, old);
      crashPoint('dir-moved-aside');
    }
    await fs.rename(tmp, target);
    await syncDirectory(dirname(target));
    if (hadOld) {
      crashPoint('dir-published');
      await fs.rm(old, { recursive: true, force: true });
    }
  } catch (e) {
    if (!existsSync(target) && existsSync(old)) await fs.rename(old, target); // put the old one back
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    made.delete(tmp);
    made.delete(old);
  }
}

/**
 * What writeDirAtomically would replace at `dir`: null when nothing is there, 'file' when a file
 * is, else the entries, for the caller to check that they are all its own.
 */
export async function entriesToReplace(dir: string): Promise<string[] | 'file' | null> {
  try {
    return await fs.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') return 'file';
    throw e;
  }
}

/** Up to three names, for a one-line message: "a, b, c, ...". */
export function someNames(names: readonly string[]): string {
  return `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`;
}

/**
 * A file-system failure while writing `out`, as a one-line MamError with the fix; `what` names
 * the output in the fix ('--out' in the CLI).
 */
export function writeFailure(out: string, e: unknown, what = 'output'): Error {
  if (e instanceof MamError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? `folder ${dirname(out)} does not exist; create it or choose another ${what}` :
    code === 'EISDIR' ? `it is a folder; give a file name to ${what}` :
    code === 'ENOTDIR' ? `a folder above it is a file; choose another ${what}` :
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? `permission denied; choose a writable place for ${what}` :
    code === 'ENOSPC' ? `the disk is full; free some space or choose another ${what}` :
    `${(e as Error).message.split('\n')[0]}; check ${what}`;
  return new MamError(`cannot write ${out}: ${why}`, { file: out, cause: e });
}

/**
 * Removes the temporaries that crashed runs left beside `target` (ours by their name, and no
 * longer in use because the process that made them is gone); a directory moved aside by a swap
 * that never finished is put back when `target` is missing, else removed. Returns the names
 * it cleaned.
 */
export async function cleanStaleTemporaries(target: string): Promise<string[]> {
  const parent = dirname(target);
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return [];
  }
  const cleaned: string[] = [];
  const restored = await restoreInterruptedSwap(target, names);
  if (restored) cleaned.push(restored);
  for (const name of names) {
    const leftover = parseTemporary(basename(target), name);
    if (!leftover || name === restored || inUse(join(parent, name), leftover.pid, target)) continue;
    await fs.rm(join(parent, name), { recursive: true, force: true });
    cleaned.push(name);
  }
  return cleaned;
}

/**
 * When `target` is missing but a crashed swap left the previous version aside (`.NAME.old-*`
 * of a process that is gone), renames it back and returns its name.
 */
export async function restoreInterruptedSwap(target: string, names?: string[]): Promise<string | undefined> {
  if (existsSync(target)) return undefined;
  const parent = dirname(target);
  const all = names ?? (existsSync(parent) ? await fs.readdir(parent) : []);
  const aside = all.filter((n) => {
    const t = parseTemporary(basename(target), n);
    return t?.kind === 'old' && !inUse(join(parent, n), t.pid, target);
  });
  if (aside.length === 0) return undefined;
  // Several would mean several crashed swaps: the newest is the last complete version.
  const times = await Promise.all(aside.map(async (n) => (await fs.stat(join(parent, n))).mtimeMs));
  const newest = aside[times.indexOf(Math.max(...times))]!;
  await fs.rename(join(parent, newest), target);
  return newest;
}

/** `.NAME.tmp-PID-XXXXXX` / `.NAME.old-PID-XXXXXX` for `name`, or undefined. */
export function parseTemporary(name: string, entry: string): { kind: 'tmp' | 'old'; pid: number } | undefined {
  const prefix = `.${name}.`;
  if (!entry.startsWith(prefix)) return undefined;
  const m = /^(tmp|old)-(\d+)-[A-Za-z0-9]{6}$/.exec(entry.slice(prefix.length));
  return m ? { kind: m[1] as 'tmp' | 'old', pid: Number(m[2]) } : undefined;
}

/** The temporaries this process made (and has not finished with). */
const made = new Set<string>();

/**
 * Whether a temporary may still be some run's work in progress: yes if this process made it
 * and is still writing it; no if its PID is ours without our having made it (a reused PID), or
 * this process holds the target's output lock (no other run writes it), or its process is gone.
 */
function inUse(path: string, pid: number, target: string): boolean {
  if (made.has(path)) return true;
  if (pid === process.pid || holdsLock(target)) return false;
  return isRunning(pid);
}

/** A name beside `target` that nobody holds: mkdtemp's six random characters, then removed (we only want the name). */
async function temporaryName(target: string, kind: 'tmp' | 'old'): Promise<string> {
  const name = await fs.mkdtemp(join(dirname(target), `.${basename(target)}.${kind}-${process.pid}-`));
  await fs.rmdir(name);
  made.add(name);
  return name;
}

/** fsync of every file (and folder) below `dir`, so that the rename publishes data already on disk. */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) {
      const handle = await fs.open(path, 'r');
      try { await handle.sync(); } finally { await handle.close(); }
    }
  }
  await syncDirectory(dir);
}

/** fsync of a directory makes its renames durable (POSIX); some platforms refuse it, which then changes nothing. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM/EINVAL on platforms without directory fsync.
  } finally {
    await handle?.close();
  }
}

/**
 * Fault injection for the crash tests: with MAM_TEST_CRASH_AT=<point>, the process kills itself
 * (SIGKILL: no handler, no cleanup) when it reaches that point, as a power cut would.
 */
function crashPoint(point: string): void {
  if (process.env.MAM_TEST_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
