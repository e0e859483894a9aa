// Which CSV files a list of paths names (the file system helpers every reader shares are in
// ../files.ts).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { MamError } from '../../errors.js';
import { fileError } from '../files.js';

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
