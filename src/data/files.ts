// The file system side of every reader (CSV files, WFDB headers, signal and annotation files):
// what is refused before opening, an open file read and closed, reads at a position. Every
// failure becomes a MamError naming the path.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { MamError } from '../errors.js';

/** What went wrong with stat, open or readdir, said as the fix. */
export function fileError(path: string, e: unknown): MamError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file: check the path'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied: make it readable'
    : code === 'ENOTDIR' ? 'a folder in the path is a file: check the path'
    : `cannot be read (${(e as Error).message}): check the path`;
  return new MamError(`${path}: ${why}`, { file: path, cause: e });
}

/**
 * The size of a plain file; anything else is refused before it is opened. `kind` names what the
 * file should be in the messages, `why` says why a pipe will not do.
 */
export async function regularFileSize(path: string, kind = 'CSV file', why = 'it is read twice'): Promise<number> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (e) {
    throw fileError(path, e);
  }
  // Opening a FIFO would block until someone writes to it: refuse anything but a plain file.
  if (st.isDirectory()) throw new MamError(`${path}: a directory, not a ${kind}: give a file (mam data info takes directories)`, { file: path });
  if (!st.isFile()) throw new MamError(`${path}: not a regular file: give a ${kind} (${why}, so not a pipe)`, { file: path });
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
