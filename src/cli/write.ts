// Writing a command's output file atomically (see io/atomic.ts); '-' means stdout.
import { writeFailure, writeFileAtomically } from '../io/atomic.js';

/** Writes `chunks` to `file` atomically (or to stdout for '-'); `flag` names the option in errors. */
export async function writeOutput(file: string, chunks: Iterable<string | Uint8Array>, flag: string): Promise<void> {
  if (file === '-') {
    for (const c of chunks) {
      if (!process.stdout.write(c)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
    }
    return;
  }
  await writeFileAtomically(file, chunks).catch((e) => { throw writeFailure(file, e, flag); });
}
