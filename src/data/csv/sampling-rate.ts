// The sampling rate: given (options.fs) or inferred from a time column. Rules:
//
// - A time column in seconds or milliseconds gives fs = (rows - 1) / (t_last - t_0), rounded
//   to a whole number of Hz when that is within the error the written decimals allow (so time_s
//   rounded to 4 decimals still gives 360 Hz exactly); it must go forward in even steps
//   (within that rounding). A sample number gives no rate: fs must be given, and the numbers
//   must go up by the same step.
// - options.fs (--fs) wins over a time column: the column is then only checked to go forward,
//   and fsSource says when it disagrees. Without a time column in s or ms, fs is required.
import { MamError, msg, type Message } from '../../errors.js';
import type { TimeColumn, TimeUnit } from './types.js';

/** Time cells may have been written from float32 (2^-24 relative error each): allow twice that per step. */
const TIME_REL = 2 ** -22;
/** An inferred rate less certain than this (relative) is refused: the user must give --fs. */
const MAX_FS_UNCERTAINTY = 1e-3;
/** Inferred rates outside this range are unit mix-ups, not ECG (given ones are taken as they are). */
const MIN_FS = 10;
const MAX_FS = 100_000;

/** Before the rows are read: refuses a file from which nothing would give the rate. */
export function requireRateSource(path: string, fsGiven: number | undefined, timeColumn: TimeColumn | null): void {
  if (fsGiven === undefined && timeColumn?.unit !== 'seconds' && timeColumn?.unit !== 'milliseconds') {
    throw new MamError(timeColumn
      ? msg`${path}: the first column '${timeColumn.name}' numbers the samples but gives no rate: give {fs} HZ (MIT-BIH: 360)`
      : msg`${path}: no time column to infer the sampling rate from: give {fs} HZ`, { file: path });
  }
}

/** What follows a time column through the rows; null without one. */
export function timeStepsFor(timeColumn: TimeColumn | null, fsGiven: number | undefined): TimeSteps | null {
  if (timeColumn === null) return null;
  return new TimeSteps(timeColumn.unit, fsGiven === undefined || timeColumn.unit === 'samples');
}

/**
 * A time column's values, row after row: checked to go forward (and in even steps where they
 * matter), with just enough kept to tell the rate at the end. Values are in the column's unit.
 */
export class TimeSteps {
  readonly unit: TimeUnit;
  /** Steps must be even and nonzero: the times give the rate, or the column numbers samples. */
  private readonly strict: boolean;
  private maxDec = 0;
  /** Half the last written decimal: how far a written value may be from the true time. */
  private quantum = 0.5;
  private n = 0;
  private t0 = 0;
  private tPrev = 0;
  private tMaxAbs = 0;
  private step1 = 0;
  /** Every step so far equal to the first (to float noise): the times are exact, not rounded. */
  private exactSteps = true;

  constructor(unit: TimeUnit, strict: boolean) {
    this.unit = unit;
    this.strict = strict;
  }

  /** The most decimals a value was written with. */
  get decimals(): number {
    return this.maxDec;
  }

  /** The next row's time, written with `decimals` decimals: null if fine, else what is wrong (the caller says where). */
  add(t: number, decimals: number): string | Message | null {
    const i = this.n++;
    if (decimals > this.maxDec) {
      this.maxDec = Math.min(decimals, 20);
      this.quantum = 0.5 * 10 ** -this.maxDec;
    }
    const abs = Math.abs(t);
    if (abs > this.tMaxAbs) this.tMaxAbs = abs;
    if (i === 0) {
      this.t0 = this.tPrev = t;
      return null;
    }
    const unit = this.unit;
    const s = t - this.tPrev;
    if (s < 0 || (s === 0 && this.strict)) {
      return `the ${unit === 'samples' ? 'sample number' : 'time'} ${s < 0 ? 'goes back' : 'stays'} from ${this.tPrev} to ${t}${this.unitSuffix()}: rows must be in time order, one per sample; fix the file`;
    }
    if (i === 1) this.step1 = s;
    else if (this.exactSteps && Math.abs(s - this.step1) > 1e-12 * Math.max(abs, 1)) this.exactSteps = false;
    if (unit === 'samples') {
      if (i > 1 && s !== this.step1) {
        return `the sample number steps by ${s} here but by ${this.step1} before: missing or repeated rows? fix the file`;
      }
    } else if (this.strict && i >= 2) {
      // Each value may be off by half its last written decimal: a step by two of those, the
      // running mean step (ref) by much less.
      const ref = (this.tPrev - this.t0) / (i - 1);
      const tol = 4 * this.quantum + TIME_REL * abs;
      if (Math.abs(s - ref) > tol) {
        const u = this.unitSuffix();
        return msg`the time steps by ${+s.toPrecision(6)}${u} here but by ${+ref.toPrecision(6)}${u} on average before: missing or repeated rows? fix the file, or give {fs} to take the rows as they are`;
      }
    }
    this.tPrev = t;
    return null;
  }

  private unitSuffix(): string {
    const unit = this.unit;
    return unit === 'seconds' ? ' s' : unit === 'milliseconds' ? ' ms' : '';
  }

  /** The rate the times (s or ms) imply, rounded to what their decimals can tell; null if they cannot. */
  rate(): { fs: number; uncertainty: number } | null {
    const unit = this.unit;
    if ((unit !== 'seconds' && unit !== 'milliseconds') || this.n < 2) return null;
    const span = this.tPrev - this.t0;
    if (!(span > 0)) return null;
    const est = ((this.n - 1) / span) * (unit === 'milliseconds' ? 1000 : 1);
    // Both ends may be off by half a written decimal (or by float32 rounding), unless every step
    // was the same: then the times were written exactly (0.002, 0.004, ...), not rounded.
    const rel = this.exactSteps ? 1e-12 * Math.max(this.tMaxAbs, 1) / span
      : (2 * this.quantum + 2 * TIME_REL * this.tMaxAbs) / span;
    if (rel > MAX_FS_UNCERTAINTY) return null;
    const u = Math.max(est * rel, 1e-9 * est);
    const whole = Math.round(est);
    if (Math.abs(est - whole) <= u) return { fs: whole, uncertainty: u };
    const decimals = Math.max(0, -Math.floor(Math.log10(u)));
    return { fs: Number(est.toFixed(Math.min(decimals, 12))), uncertainty: u };
  }
}

export interface SamplingRate {
  fs: number;
  /** Where fs came from, as CsvRecord.fsSource says it. */
  fsSource: string;
  /** The rate the time column implies, whether or not it was used. */
  timeColumnFs: number | null;
}

/** After the rows: the rate, from options.fs or else the time column, checked to be an ECG's. */
export function chooseRate(path: string, fsGiven: number | undefined, timeColumn: TimeColumn | null, rows: number, steps: TimeSteps | null): SamplingRate {
  const timeFs = steps?.rate() ?? null;
  const timeColumnFs = timeFs?.fs ?? null;
  if (fsGiven !== undefined) {
    const disagrees = timeFs !== null && Math.abs(timeFs.fs - fsGiven) > Math.max(timeFs.uncertainty, 1e-9 * fsGiven);
    return { fs: fsGiven, fsSource: disagrees ? `--fs (the time column says ${timeFs.fs} Hz)` : '--fs', timeColumnFs };
  }
  // requireRateSource saw to it: without --fs, a time column in s or ms.
  const col = timeColumn!;
  if (rows < 2) throw new MamError(msg`${path}: one data row: a time column needs two to give the rate: give {fs} HZ`, { file: path });
  if (timeFs === null) {
    throw new MamError(msg`${path}: column 1 (${col.name}): ${rows} rows written to ${steps!.decimals} decimals do not pin the rate down to 0.1%: give {fs} HZ, or write the time with more decimals`, { file: path });
  }
  const fs = timeFs.fs;
  // A rate no ECG has means a unit mix-up (ms in a column named time, say), not a record.
  if (fs < MIN_FS || fs > MAX_FS) {
    throw new MamError(msg`${path}: column 1 (${col.name}) in ${col.unit} gives ${fs} Hz, not an ECG sampling rate: if it holds another unit, name it time_ms (milliseconds) or sample (sample numbers), or give {fs} HZ`, { file: path });
  }
  return { fs, fsSource: `time column (${col.unit})`, timeColumnFs };
}
