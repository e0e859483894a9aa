import type { Command } from 'commander';
import { initBackend } from '../backend.js';
import { MamError, UsageError } from '../errors.js';
import { snakeKeys } from '../report/json-keys.js';

/**
 * The exit codes (README, "Exit codes"): 0 done; 1 a data or runtime error (a MamError: bad
 * file, impossible request); 2 a usage error (bad option, missing argument); 70 an internal
 * error, i.e. a bug (EX_SOFTWARE of sysexits.h); 128 + the signal's number when a signal
 * stopped the command (130 for Ctrl-C; see interrupt.ts).
 */
export const EXIT = { ok: 0, error: 1, usage: 2, internal: 70 } as const;

/**
 * Wrap a commander action: initialise the tfjs backend from the global
 * --backend option (or $MAM_BACKEND) unless `tfjs: false`, run the action, and turn errors
 * into the CLI's exit convention. Commander passes the Command as the last argument.
 */
export function action<Args extends unknown[]>(
  fn: (...args: Args) => void | Promise<void>,
  options: { tfjs?: boolean } = {},
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      const cmd = args[args.length - 1] as Command;
      // Commands that do no tfjs work (synth, data info) skip the backend, and so cannot fail on it.
      if (options.tfjs !== false) await initBackend({ backend: cmd.optsWithGlobals<{ backend?: string }>().backend });
      await fn(...args);
    } catch (err) {
      reportError(err);
    }
  };
}

/**
 * A MamError: `mam: <message>` on stderr, exit 1 (2 for a UsageError). Anything else is a
 * bug: `mam: internal error: <message>`, exit 70. Stacks only with MAM_DEBUG=1. exitCode
 * (not process.exit) so pending stdout writes still flush.
 */
export function reportError(err: unknown): void {
  const debug = process.env.MAM_DEBUG === '1';
  if (err instanceof MamError) {
    process.stderr.write(`mam: ${err.message}\n`);
    process.exitCode = err instanceof UsageError ? EXIT.usage : EXIT.error;
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mam: internal error: ${msg} (please report it; MAM_DEBUG=1 shows where)\n`);
    process.exitCode = EXIT.internal;
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/**
 * Machine-readable output: one JSON document on stdout. Every command's JSON has snake_case
 * keys (README, "JSON output"): the library's camelCase names are converted here, at the door.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(snakeKeys(value), null, 2)}\n`);
}

/**
 * A reader that goes away (`mam synth --out - | head -1`) closes the pipe: stop quietly, as
 * command-line tools do, instead of dying on EPIPE with a stack trace.
 */
export function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT.ok);
      throw err;
    });
  }
}
