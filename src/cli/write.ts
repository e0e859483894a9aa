// Writing a command's output file: into a fresh temporary directory beside it, then renamed
// into place, so an interrupted run never leaves a half-written file; '-' means stdout.
import { dirname } from 'node:path';
import { writeFileAtomically } from '../atomic.js';
import { MamError } from '../errors.js';

/** Writes `chunks` to `file` atomically (or to stdout for '-'); `flag` names the option in errors. */
export async function writeOutput(file: string, chunks: Iterable<string>, flag: string): Promise<void> {
  if (file === '-') {
    for (const c of chunks) {
      if (!process.stdout.write(c)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
    }
    return;
  }
  try {
    await writeFileAtomically(file, chunks);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? `folder ${dirname(file)} does not exist; create it or choose another ${flag}` :
      code === 'EISDIR' ? `it is a folder; give a file name to ${flag}` :
      code === 'EACCES' || code === 'EPERM' ? `permission denied; choose a writable place for ${flag}` :
      `${(err as Error).message}; check ${flag}`;
    throw new MamError(`cannot write ${file}: ${why}`, { file, cause: err });
  }
}
