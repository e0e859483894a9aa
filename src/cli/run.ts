import type { Command } from 'commander';
import { initBackend } from '../backend.js';
import { MamError } from '../errors.js';

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
 * MamError: `mam: <message>` on stderr, exit 1. Anything else is a bug:
 * `mam: internal error: <message>`, exit 2. Stacks only with MAM_DEBUG=1.
 * exitCode (not process.exit) so pending stdout writes still flush.
 */
export function reportError(err: unknown): void {
  const debug = process.env.MAM_DEBUG === '1';
  if (err instanceof MamError) {
    process.stderr.write(`mam: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mam: internal error: ${msg}\n`);
    process.exitCode = 2;
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/** Machine-readable output: one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
