// Small plain-text helpers of the human-readable output: durations as a clock (progress lines'
// elapsed time and ETA, a recording's length in `mam data info`), and the width of text that
// carries terminal colours.

/**
 * `seconds` as m:ss, or h:mm:ss from an hour on; "-:--" when unknown (NaN, infinite or negative:
 * no rate yet for an ETA). Rounded to the second, or to `decimals` places of a second, which are
 * shown only when they are not zero: 61.5 s with decimals 1 is 1:01.5, 60 s is 1:00.
 */
export function formatDuration(seconds: number, decimals = 0): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-:--';
  const unit = 10 ** decimals;
  // Round once, in units of the last place kept, so 59.96 s is 1:00.0, not 0:60.0.
  const all = Math.round(seconds * unit);
  const h = Math.floor(all / (3600 * unit));
  const m = Math.floor((all % (3600 * unit)) / (60 * unit));
  // A whole number of units over a power of ten prints as the short decimal (15 / 10 is "1.5").
  const s = (all % (60 * unit)) / unit;
  const ss = `${s < 10 ? '0' : ''}${s}`;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// SGR and other CSI sequences, as chalk writes them.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

/** `text` without terminal escape codes: what a log file should get, and what takes room on screen. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}
