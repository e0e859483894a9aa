// The file system side of the CSV reader: which files a list of paths names, what is refused
// before opening, and reads at a position. Every failure becomes a MamError naming the path.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { MamError } from '../../errors.js';

/** Files as given, directories replaced by their *.csv files (sorted by name). */
export async function expandCsvPaths(paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) throw new MamError('no CSV files given: name one or more files or directories');
  const out: string[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = (await fsp.stat(p)).isDirectory();
    } catch (e) {
      throw fileError(p, e);
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    let names: string[];
    try {
      names = (await fsp.readdir(p, { withFileTypes: true }))
        .filter((d) => !d.isDirectory() && /\.csv$/i.test(d.name))
        .map((d) => d.name)
        .sort();
    } catch (e) {
      throw fileError(p, e);
    }
    if (names.length === 0) throw new MamError(`${p}: no *.csv files in this directory: give CSV files or a directory holding some`, { file: p });
    out.push(...names.map((n) => join(p, n)));
  }
  return out;
}

/** What went wrong with stat, open or readdir, said as the fix. */
export function fileError(path: string, e: unknown): MamError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file: check the path'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied: make it readable'
    : code === 'ENOTDIR' ? 'a folder in the path is a file: check the path'
    : `cannot be read (${(e as Error).message}): check the path`;
  return new MamError(`${path}: ${why}`, { file: path, cause: e });
}

export async function regularFileSize(path: string): Promise<number> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (e) {
    throw fileError(path, e);
  }
  // Opening a FIFO would block until someone writes to it: refuse anything but a plain file.
  if (st.isDirectory()) throw new MamError(`${path}: a directory, not a CSV file: give a file (mam data info takes directories)`, { file: path });
  if (!st.isFile()) throw new MamError(`${path}: not a regular file: give a CSV file (it is read twice, so not a pipe)`, { file: path });
  return st.size;
}

/**
 * `read` on the file opened for reading, closed after. An I/O failure (EIO, ...) while reading
 * is the file's, a MamError naming it; anything else is a bug and must show as one.
 */
export async function withOpenFile<T>(path: string, read: (fh: FileHandle) => Promise<T>): Promise<T> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    return await read(fh);
  } catch (e) {
    if (e instanceof MamError || typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
    throw new MamError(`${path}: cannot be read (${(e as Error).message}): check the file`, { file: path, cause: e });
  } finally {
    await fh.close();
  }
}

/** Reads `length` bytes at `position` into buf[offset...], fewer only at the end of the file. */
export async function readAt(fh: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, offset + got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
