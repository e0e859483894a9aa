// Progress for long work (training epochs of many steps, pruning, sweeps), written to stderr so
// that stdout stays clean for results and JSON.
//
// On a terminal: one line redrawn in place, at most ~10 times a second (redrawing on every step
// of a fast loop would cost more than the step). Anywhere else (CI logs, files, pipes): plain
// lines with no carriage returns or escape codes, at most one per ~10% or per 30 s, so a log of
// a long run stays short but still shows that it is alive.

import { formatDuration, stripAnsi } from './text.js';

/** What progress writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  /** Terminal width in characters (TTY streams have it). */
  columns?: number;
}

export interface ProgressOptions {
  /** Units of work in all (steps, layers, sweep points); must be a finite number >= 0. */
  total: number;
  /** Printed first on every line, e.g. "epoch 3/20". */
  label?: string;
  stream?: ProgressStream;
  /** Redraw one line in place (default: whether the stream is a terminal). */
  isTTY?: boolean;
  /** Milliseconds, monotonic (default: performance.now). */
  now?: () => number;
}

export interface Progress {
  /** n more units done; `status` (e.g. "loss 0.0123") is kept until the next one given. */
  tick(n?: number, status?: string): void;
  /** Finishes: one last line with the count, the time taken and `summary`. Later calls do nothing. */
  done(summary?: string): void;
  /** Prints a line of text without breaking the progress line (which is redrawn under it). */
  line(text: string): void;
}

/** Terminal redraws at most this often (ms). */
export const TTY_INTERVAL_MS = 100;
/** Plain output: a line at least every this many ms while work goes on... */
export const PLAIN_INTERVAL_MS = 30_000;
/** ...or whenever progress enters a new tenth, whichever comes first. */
export const PLAIN_STEPS = 10;

const BAR_WIDTH = 20;
const DEFAULT_COLUMNS = 80;
// Carriage return, then erase to the end of the line (CSI K): works on every ANSI terminal and
// Windows 10+ consoles.
const CLEAR_LINE = '\r\x1b[K';

export function createProgress(options: ProgressOptions): Progress {
  const { total, label = '', stream = process.stderr, now = () => performance.now() } = options;
  const isTTY = options.isTTY ?? stream.isTTY === true;
  if (!(Number.isFinite(total) && total >= 0)) throw new RangeError(`progress total must be a finite number >= 0, got ${total}`);

  const start = now();
  let count = 0;
  let status = '';
  let finished = false;
  // Terminal: whether our line is on screen, and when it was last drawn.
  let shown = false;
  let lastDraw = -Infinity;
  // Plain: when and at which tenth the last line was printed.
  let lastPlain = start;
  let lastStep = 0;

  const fraction = () => (total > 0 ? Math.min(count / total, 1) : 1);
  // Multiply before dividing, so whole counts give exact parts (0.7 * 10 is 7.000000000000001).
  const parts = (of: number) => (total > 0 ? Math.floor((Math.min(count, total) * of) / total) : of);
  // Floor, so that 99.96% does not read as 100% before the work is done.
  const percent = () => `${parts(100)}%`;
  const counts = () => `${count}/${total}`;
  const eta = (t: number) => {
    const elapsed = (t - start) / 1000;
    if (count >= total) return formatDuration(0);
    // The average rate so far: steadier than the last few steps, and epochs are uniform work.
    return count > 0 && elapsed > 0 ? formatDuration(((total - count) * elapsed) / count) : formatDuration(NaN);
  };
  const join = (...parts: string[]) => parts.filter((p) => p !== '').join(' ');

  function ttyLine(t: number): string {
    const filled = Math.round(fraction() * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
    const head = join(label, bar, percent(), counts(), `ETA ${eta(t)}`);
    // One column spare: writing into the last column makes some terminals wrap.
    const room = (stream.columns ?? DEFAULT_COLUMNS) - 1;
    if (head.length >= room) return head.slice(0, Math.max(room, 0));
    const space = room - head.length - 1;
    // No room for even one character and the ellipsis: the status goes, the numbers stay.
    if (status === '' || space < 2) return head;
    return `${head} ${status.length <= space ? status : `${status.slice(0, Math.max(space - 1, 0))}…`}`;
  }

  function draw(t: number): void {
    stream.write(`${CLEAR_LINE}${ttyLine(t)}`);
    shown = true;
    lastDraw = t;
  }

  function clear(): void {
    if (shown) stream.write(CLEAR_LINE);
    shown = false;
  }

  // Something on screen at once: the first step of a run can be slow (compilation, warm-up).
  if (isTTY) draw(start);

  return {
    tick(n = 1, newStatus?: string) {
      if (finished) return;
      count += n;
      if (newStatus !== undefined) status = stripAnsi(newStatus).replace(/[\r\n]+/g, ' ');
      const t = now();
      if (isTTY) {
        if (t - lastDraw >= TTY_INTERVAL_MS) draw(t);
        return;
      }
      // The line at 100% is left to done(), which says the same and more.
      if (count >= total) return;
      const step = parts(PLAIN_STEPS);
      if (step > lastStep || t - lastPlain >= PLAIN_INTERVAL_MS) {
        stream.write(`${join(label, percent(), counts(), `ETA ${eta(t)}`, status)}\n`);
        lastStep = step;
        lastPlain = t;
      }
    },

    done(summary = '') {
      if (finished) return;
      finished = true;
      const t = now();
      clear();
      const clean = stripAnsi(summary);
      stream.write(`${join(label, 'done', counts(), `in ${formatDuration((t - start) / 1000)}`, isTTY ? summary : clean)}\n`);
    },

    line(text: string) {
      const wasShown = shown;
      clear();
      stream.write(`${isTTY ? text : stripAnsi(text)}\n`);
      if (wasShown && !finished) draw(now());
    },
  };
}
