/**
 * A user-facing error: the message is one line that names the file or place
 * at fault and the fix. The CLI prints it as `mam: <message>` (exit 1) with no
 * stack; anything that is not a MamError is treated as a bug (exit 2).
 */
export class MamError extends Error {
  override name = 'MamError';
  /** The file the error is about, when there is one. */
  readonly file?: string;

  constructor(message: string, options?: { file?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.file !== undefined) this.file = options.file;
  }
}

/** First line of an error's message: require() errors append a multi-line "Require stack". */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n', 1)[0]!.trim();
}

/**
 * A command line that cannot work as given (a bad option value, options that exclude each
 * other): the CLI exits with 2, the usage-error convention, instead of 1.
 */
export class UsageError extends MamError {
  override name = 'UsageError';
}
