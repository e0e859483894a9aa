// Ctrl-C, a job scheduler's SIGTERM and a closed terminal's SIGHUP all stop a long command the
// same way: at the end of the current step, with a save, so that it can be resumed. A second
// Ctrl-C or SIGTERM quits at once. Either way the exit code is 128 + the signal's number (130 for Ctrl-C).
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface Interrupt {
  /** Aborted at the first signal. */
  signal: AbortSignal;
  /** Whether a signal asked the command to stop. */
  readonly requested: boolean;
  /** Sets the exit code a stopped command ends with (call when it has saved and is about to return). */
  setExitCode(): void;
}

/** Installs the handlers; `say` tells the user what happens now. */
export function onInterrupt(say: (text: string) => void, what = 'after the current step'): Interrupt {
  const controller = new AbortController();
  let received: (typeof SIGNALS)[number] | undefined;
  const code = () => 128 + constants.signals[received ?? 'SIGINT'];
  for (const name of SIGNALS) {
    process.on(name, () => {
      // A second Ctrl-C or SIGTERM: stop now. A closing terminal may send SIGHUP twice: not that.
      if (received && name !== 'SIGHUP') process.exit(code());
      if (received) return;
      received = name;
      controller.abort();
      say(`${name === 'SIGINT' ? '' : `${name}: `}stopping ${what} (Ctrl-C again to quit at once)...`);
    });
  }
  return {
    signal: controller.signal,
    get requested() { return received !== undefined; },
    setExitCode() { if (received) process.exitCode = code(); },
  };
}
