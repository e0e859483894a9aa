// Reconstruction quality by beat class: is a model as good on ventricular beats as on normal
// ones? Pure arithmetic, no tfjs: the evaluated windows, the model's output, their per-window SNR
// and the beats of each record (at the model's rate) are handed in.
//
// For each AAMI class (N, S, V, F, Q) and each beat symbol (N, A, V, ...):
//   windows, asnr_db   the evaluated windows holding at least one beat of it (sample in
//                      [start, start + length)) and the mean of their SNR, each clamped to
//                      +-SNR_CAP_DB as the summaries do. A window holding an N and a V beat
//                      counts for both N and V.
//   beats, prd, prdn   per beat, PRD and PRDN (%) of the segment [sample - half, sample + half]
//                      in mV (value * std + mean of the window it comes from), then the mean over
//                      the beats. Each sample comes from the first evaluated window (in window
//                      order) covering it, so a segment may span two windows, each with its own
//                      denormalisation. Infinite values (an all-zero or constant segment with an
//                      error) are left out of the mean and counted in prd_skipped, prdn_skipped.
//   beats_uncovered    beats in an evaluated window whose segment is not wholly inside evaluated
//                      windows (at the edge of the evaluated part, or beside a window left out):
//                      not in prd. Beats in no evaluated window are not this evaluation's (the
//                      part of a record split by time that another split holds) and count nowhere.
// Only records with evaluated windows are reported, and only they add to the overall figures.
// Symbols without an AAMI class (say '+', if the caller passes it) count only per symbol.
import type { WindowSet } from '../data/pipeline.js';
// Types only: data/ sits above metrics/ in the layout; the caller hands in aamiClass.
import type { AamiClass } from '../data/wfdb/annotations.js';
import { prd, prdn, SNR_CAP_DB } from './reconstruction.js';

/** One beat, its sample at the model's rate. */
export interface BeatMark {
  sample: number;
  symbol: string;
}

export interface BeatQualityInput {
  /** The evaluated windows (the reference), as the pipeline lays them out. */
  windows: Pick<WindowSet, 'data' | 'length' | 'count' | 'origin'>;
  /** The model's output for them, in the same layout. */
  reconstruction: Float32Array;
  /** SNR of each window in dB (windowMetrics). */
  snr: Float64Array;
  /** Per window, the denormalisation back to mV: mV = value * std + mean. */
  mean: ArrayLike<number>;
  std: ArrayLike<number>;
  /** beats[record]: that record's beats (missing or empty: none). */
  beats: ReadonlyArray<readonly BeatMark[] | undefined>;
  /** Half the segment a beat's PRD is taken over, in samples (callers give round(0.3 fs)). */
  halfWidth: number;
  /** A beat symbol's AAMI class (aamiClass from data/wfdb/annotations.ts). */
  classOf: (symbol: string) => AamiClass | undefined;
}

export interface BeatQuality {
  windows: number;
  asnr_db: number;
  beats: number;
  beats_uncovered: number;
  prd: number;
  prdn: number;
  prd_skipped: number;
  prdn_skipped: number;
}

export interface BeatQualityReport {
  /** By AAMI class, in the order N S V F Q; only classes with beats. */
  classes: Partial<Record<AamiClass, BeatQuality>>;
  /** By beat symbol, most beats first. */
  symbols: Record<string, BeatQuality>;
}

export interface RecordBeatQuality extends BeatQualityReport {
  record: number;
}

const CLASS_ORDER: readonly AamiClass[] = ['N', 'S', 'V', 'F', 'Q'];

/** Running sums for one class or symbol. */
class Tally {
  windows = 0;
  snrSum = 0;
  beats = 0;
  uncovered = 0;
  prdSum = 0;
  prdSkipped = 0;
  prdnSum = 0;
  prdnSkipped = 0;

  add(other: Tally): void {
    this.windows += other.windows;
    this.snrSum += other.snrSum;
    this.beats += other.beats;
    this.uncovered += other.uncovered;
    this.prdSum += other.prdSum;
    this.prdSkipped += other.prdSkipped;
    this.prdnSum += other.prdnSum;
    this.prdnSkipped += other.prdnSkipped;
  }

  result(): BeatQuality {
    const mean = (sum: number, used: number) => (used === 0 ? NaN : sum / used);
    return {
      windows: this.windows,
      asnr_db: mean(this.snrSum, this.windows),
      beats: this.beats,
      beats_uncovered: this.uncovered,
      prd: mean(this.prdSum, this.beats - this.prdSkipped),
      prdn: mean(this.prdnSum, this.beats - this.prdnSkipped),
      prd_skipped: this.prdSkipped,
      prdn_skipped: this.prdnSkipped,
    };
  }
}

/** Tallies by AAMI class and by symbol. */
class Tallies {
  constructor(private readonly classOf: (symbol: string) => AamiClass | undefined) {}

  readonly classes = new Map<AamiClass, Tally>();
  readonly symbols = new Map<string, Tally>();

  /** The tallies a beat symbol adds to: its symbol's and its class's, if it has one. */
  of(symbol: string): Tally[] {
    const out = [get(this.symbols, symbol)];
    const cls = this.classOf(symbol);
    if (cls) out.push(get(this.classes, cls));
    return out;
  }

  add(other: Tallies): void {
    for (const [k, t] of other.classes) get(this.classes, k).add(t);
    for (const [k, t] of other.symbols) get(this.symbols, k).add(t);
  }

  report(): BeatQualityReport {
    const classes: Partial<Record<AamiClass, BeatQuality>> = {};
    for (const cls of CLASS_ORDER) {
      const t = this.classes.get(cls);
      if (t) classes[cls] = t.result();
    }
    const symbols: Record<string, BeatQuality> = {};
    const bySize = [...this.symbols].sort(([a, ta], [b, tb]) => tb.beats + tb.uncovered - (ta.beats + ta.uncovered) || (a < b ? -1 : a > b ? 1 : 0));
    for (const [symbol, t] of bySize) symbols[symbol] = t.result();
    return { classes, symbols };
  }
}

function get<K>(map: Map<K, Tally>, key: K): Tally {
  let t = map.get(key);
  if (!t) map.set(key, (t = new Tally()));
  return t;
}

function check(input: BeatQualityInput): void {
  const { windows: set, reconstruction, snr, mean, std, halfWidth } = input;
  const { length, count } = set;
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`window length must be a whole number >= 1, got ${length}`);
  if (set.data.length !== count * length) throw new RangeError(`${set.data.length} samples are not ${count} windows of ${length}`);
  if (reconstruction.length !== set.data.length) {
    throw new RangeError(`reference has ${set.data.length} samples but reconstruction has ${reconstruction.length}`);
  }
  for (const [what, n] of [['window origins', set.origin.length], ['SNR values', snr.length], ['means', mean.length], ['stds', std.length]] as const) {
    if (n !== count) throw new RangeError(`${count} windows but ${n} ${what}`);
  }
  if (!Number.isInteger(halfWidth) || halfWidth < 0) throw new RangeError(`half width must be a whole number of samples >= 0, got ${halfWidth}`);
}

/** Quality per beat class and symbol, per record (in record order) and over all records. */
export function beatQuality(input: BeatQualityInput): { records: RecordBeatQuality[]; overall: BeatQualityReport } {
  check(input);
  const byRecord = new Map<number, number[]>();
  input.windows.origin.forEach(({ record }, w) => {
    let list = byRecord.get(record);
    if (!list) byRecord.set(record, (list = []));
    list.push(w);
  });
  const overall = new Tallies(input.classOf);
  const records: RecordBeatQuality[] = [];
  for (const record of [...byRecord.keys()].sort((a, b) => a - b)) {
    const tallies = recordTallies(input, byRecord.get(record)!, input.beats[record] ?? []);
    overall.add(tallies);
    records.push({ record, ...tallies.report() });
  }
  return { records, overall: overall.report() };
}

/** The tallies of one record, from its windows (indices, in window order) and its beats. */
function recordTallies(input: BeatQualityInput, windowIndices: number[], beats: readonly BeatMark[]): Tallies {
  const { windows: set, reconstruction, snr, mean, std, halfWidth } = input;
  const { length, origin } = set;
  const tallies = new Tallies(input.classOf);
  const sorted = [...beats].sort((a, b) => a.sample - b.sample);

  // Windows: the symbols each one holds, each counted once per window.
  for (const w of windowIndices) {
    const start = origin[w]!.start;
    const held = new Set<Tally>();
    for (let i = lowerBound(sorted, start); i < sorted.length && sorted[i]!.sample < start + length; i++) {
      for (const t of tallies.of(sorted[i]!.symbol)) held.add(t);
    }
    const clamped = Math.min(SNR_CAP_DB, Math.max(-SNR_CAP_DB, snr[w]!)); // NaN stays NaN
    for (const t of held) {
      t.windows++;
      t.snrSum += clamped;
    }
  }

  // Which window each sample of the record comes from: the first one covering it, -1 for none.
  let from = Infinity, to = -Infinity;
  for (const w of windowIndices) {
    from = Math.min(from, origin[w]!.start);
    to = Math.max(to, origin[w]!.start + length);
  }
  const cover = new Int32Array(to - from).fill(-1);
  for (const w of windowIndices) {
    const at = origin[w]!.start - from;
    for (let i = 0; i < length; i++) if (cover[at + i] === -1) cover[at + i] = w;
  }

  // Beats: PRD and PRDN of each wholly covered segment, in mV.
  const span = 2 * halfWidth + 1;
  const x = new Float64Array(span), xhat = new Float64Array(span);
  for (const beat of sorted) {
    if (beat.sample < from || beat.sample >= to || cover[beat.sample - from]! < 0) continue; // in no evaluated window
    const counted = tallies.of(beat.symbol);
    let covered = beat.sample - halfWidth >= from && beat.sample + halfWidth < to;
    for (let i = 0; covered && i < span; i++) {
      const t = beat.sample - halfWidth + i - from;
      const w = cover[t]!;
      if (w < 0) { covered = false; break; }
      const at = w * length + (t + from - origin[w]!.start);
      x[i] = set.data[at]! * std[w]! + mean[w]!;
      xhat[i] = reconstruction[at]! * std[w]! + mean[w]!;
    }
    if (!covered) {
      for (const t of counted) t.uncovered++;
      continue;
    }
    const beatPrd = prd(x, xhat), beatPrdn = prdn(x, xhat);
    for (const t of counted) {
      t.beats++;
      if (beatPrd === Infinity) t.prdSkipped++;
      else t.prdSum += beatPrd;
      if (beatPrdn === Infinity) t.prdnSkipped++;
      else t.prdnSum += beatPrdn;
    }
  }
  return tallies;
}

/** The first index whose beat is at or after `sample` (beats sorted by sample). */
function lowerBound(beats: readonly BeatMark[], sample: number): number {
  let lo = 0, hi = beats.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (beats[mid]!.sample < sample) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
