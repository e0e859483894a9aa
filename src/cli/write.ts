// Writing a command's output file: into a fresh temporary directory beside it, then renamed
// into place, so an interrupted run never leaves a half-written file; '-' means stdout.
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MamError } from '../errors.js';

/** Writes `chunks` to `file` atomically (or to stdout for '-'); `flag` names the option in errors. */
export async function writeOutput(file: string, chunks: Iterable<string>, flag: string): Promise<void> {
  if (file === '-') {
    for (const c of chunks) {
      if (!process.stdout.write(c)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
    }
    return;
  }
  let tmp: string | undefined;
  try {
    tmp = await fs.mkdtemp(join(dirname(file), `.${basename(file)}.tmp-`));
    const part = join(tmp, basename(file));
    const handle = await fs.open(part, 'w');
    try {
      for (const c of chunks) await handle.write(c);
    } finally {
      await handle.close();
    }
    await fs.rename(part, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? `folder ${dirname(file)} does not exist; create it or choose another ${flag}` :
      code === 'EISDIR' ? `it is a folder; give a file name to ${flag}` :
      code === 'EACCES' || code === 'EPERM' ? `permission denied; choose a writable place for ${flag}` :
      `${(err as Error).message}; check ${flag}`;
    throw new MamError(`cannot write ${file}: ${why}`, { file, cause: err });
  } finally {
    if (tmp !== undefined) await fs.rm(tmp, { recursive: true, force: true });
  }
}
