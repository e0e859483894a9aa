// Writing a file so that a reader (or a crash) never sees half of it: the content goes to a
// fresh temporary directory beside the file, then is renamed into place in one step.
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomically(file: string, chunks: Iterable<string>): Promise<void> {
  const tmp = await fs.mkdtemp(join(dirname(file), `.${basename(file)}.tmp-`));
  try {
    const part = join(tmp, basename(file));
    const handle = await fs.open(part, 'w');
    try {
      for (const c of chunks) await handle.write(c);
    } finally {
      await handle.close();
    }
    await fs.rename(part, file);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
