import type { Command } from 'commander';
import { initBackend } from '../backend.js';
import { MamError, RequestError } from '../errors.js';
import { snakeKeys } from '../report/json-keys.js';

/**
 * The exit codes (README, "Exit codes"): 0 done; 1 a data or runtime error (a MamError: bad
 * file, too little data); 2 a usage error (bad option, missing argument, or a RequestError: a
 * setting the library cannot carry out); 70 an internal error, i.e. a bug (EX_SOFTWARE of
 * sysexits.h); 128 + the signal's number when a signal stopped the command (130 for Ctrl-C;
 * see interrupt.ts).
 */
export const EXIT = { ok: 0, error: 1, usage: 2, internal: 70 } as const;

/**
 * How a command's user gives the library's settings that its errors name: field -> flag, for
 * the fields whose flag is not the default --kebab-case of the field (mamLayers: --mam-layers).
 * Only fields that a library message can name in that command need an entry.
 */
export type FlagNames = Readonly<Record<string, string>>;

/** A field's flag: `flags`' entry, else camelCase (and dotted paths) as --kebab-case. */
export function flagOf(field: string, flags: FlagNames = {}): string {
  return flags[field] ?? `--${field.replace(/\./g, '-').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Wrap a commander action: initialise the tfjs backend from the global
 * --backend option (or $MAM_BACKEND) unless `tfjs: false`, run the action, and turn errors
 * into the CLI's exit convention, the settings they name spelled by `flags`. Commander passes
 * the Command as the last argument.
 */
export function action<Args extends unknown[]>(
  fn: (...args: Args) => void | Promise<void>,
  options: { tfjs?: boolean; flags?: FlagNames } = {},
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      const cmd = args[args.length - 1] as Command;
      // Commands that do no tfjs work (synth, data info) skip the backend, and so cannot fail on it.
      if (options.tfjs !== false) await initBackend({ backend: cmd.optsWithGlobals<{ backend?: string }>().backend });
      await fn(...args);
    } catch (err) {
      reportError(err, options.flags);
    }
  };
}

/**
 * A MamError: `mam: <message>` on stderr, each setting it names as the command's flag, exit 1
 * (2 for a RequestError, which a UsageError is). Anything else is a bug: `mam: internal error:
 * <message>`, exit 70. Stacks only with MAM_DEBUG=1. exitCode (not process.exit) so pending
 * stdout writes still flush.
 */
export function reportError(err: unknown, flags: FlagNames = {}): void {
  const debug = process.env.MAM_DEBUG === '1';
  if (err instanceof MamError) {
    process.stderr.write(`mam: ${err.text.render((field) => flagOf(field, flags))}\n`);
    process.exitCode = err instanceof RequestError ? EXIT.usage : EXIT.error;
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

/** The errors of writing to a reader that went away: a closed pipe, a terminal that hung up. */
const GONE = new Set(['EPIPE', 'EIO', 'ERR_STREAM_DESTROYED']);

/**
 * A reader of stdout that goes away (`mam synth --out - | head -1`) closes the pipe: stop
 * quietly, as command-line tools do, instead of dying on EPIPE with a stack trace, keeping any
 * exit code already set. Losing stderr (`2>&1 | less`, then q; a closed terminal) only loses
 * the messages: the command goes on, so that a training run still saves.
 */
export function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (GONE.has(err.code ?? '')) process.exit(process.exitCode ?? EXIT.ok);
    throw err;
  });
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    if (!GONE.has(err.code ?? '')) throw err;
  });
}
