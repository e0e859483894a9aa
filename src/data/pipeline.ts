// The one data pipeline: records -> resampled -> (baseline removed) -> split -> windows ->
// normalised -> (training windows shuffled). Its settings are stored with a model, so that
// training, evaluation, pruning and export all see the data the same way.
//
// Splits never leak: with three or more records, whole records go to train, validation or
// test; with fewer, each record is cut into contiguous time blocks first and windows are taken
// inside each block, so no window overlaps two splits. Records named as the test records
// (testRecords) are the test split whole, and the others are cut into a training and a
// validation block each: for a few patients, none of them spent on validation alone.
import { MamError, msg } from '../errors.js';
import { removeBaseline } from './filters.js';
import { seededRandom, shuffleInPlace } from './random.js';
import { recordName, type EcgRecord } from './record.js';
import { linearResample, resample } from './resample.js';
import { detectRPeaks } from './rpeaks.js';

/**
 * How windows are scaled. 'window' (default): each window minus its own mean, divided by its
 * own standard deviation (at least STD_FLOOR mV), so amplitude and offset differences between
 * recordings do not matter. 'dataset': minus the training windows' mean, divided by their
 * standard deviation (both stored). 'none': millivolts as read.
 */
export type Normalization =
  | { method: 'window' }
  | { method: 'dataset'; mean?: number; std?: number }
  | { method: 'none' };

export const STD_FLOOR = 1e-3;

/**
 * A window whose standard deviation is below this (mV, after resampling and baseline removal)
 * holds no ECG: a lead off, a disconnected channel, a stuck ADC (MIT-BIH's step is 5 uV; a real
 * ECG window, even without a beat, varies by tens of uV). Such windows are left out of training
 * and of every metric, and counted (WindowSet.flat): normalising one would blow its noise up to
 * unit variance, and a constant one has no SNR at all.
 */
export const FLAT_STD_MV = 0.01;

export interface PipelineSettings {
  /** The model's sampling rate (Hz): every record is resampled to it. */
  fs: number;
  /** Window length n, in samples. */
  window: number;
  /** Samples between window starts (default: window, no overlap). */
  hop: number;
  /** 'highpass': remove baseline wander (0.5 Hz zero-phase Butterworth, see filters.ts). */
  baseline: 'none' | 'highpass';
  normalization: Normalization;
  /** Fractions of the data for train, validation and test (they sum to 1). */
  split: { train: number; val: number; test: number };
  /** Seeds the record assignment and the shuffle of the training windows. */
  seed: number;
  /**
   * The records that form the test split, whole, by name (see recordMatches); the others go to
   * training and validation in time blocks, in the proportion of split.train to split.val.
   */
  testRecords?: string[];
  /**
   * The records that form the validation split, whole, by name: validation on patients training
   * never saw, so that early stopping and the learning-rate schedule follow what carries over to
   * a new patient. With testRecords too, the other records train whole; without, they are cut
   * into training and test blocks (split.train to split.test).
   */
  valRecords?: string[];
  /**
   * 'fixed' (default): a window every `hop` samples. 'beats': a window per R peak (the
   * project's detector, rpeaks.ts), the peak at its middle sample, so that every window holds
   * one beat in the same place; the signal between beats further apart than a window is in none.
   * 'rr': every beat-to-beat segment (from the midpoint between an R peak and the one before to
   * the midpoint with the one after) resampled to the window length, so that the windows tile
   * the signal and each holds one beat, period-normalised: P, QRS and T line up whatever the
   * heart rate. Its quality is measured on the segment as it was (WindowSet.segments).
   */
  windows?: 'fixed' | 'beats' | 'rr';
  /**
   * Time-shift augmentation: every training window also shifted by -jitter and +jitter samples
   * (where the shifted window stays inside its record's training block). Validation and test
   * windows are not shifted.
   */
  jitter?: number;
  /**
   * Time-scale augmentation: every training window also taken with time stretched by 1 - stretch
   * and 1 + stretch about its middle sample (linear interpolation), as a slower or faster heart
   * would draw the same beat: narrower and wider QRS, shorter and longer QT. Where the stretched
   * window stays inside its record's training block. Validation and test windows are not stretched.
   */
  stretch?: number;
}

export const DEFAULT_SPLIT = { train: 0.8, val: 0.1, test: 0.1 };

/** Windows laid end to end: window w is data[w * length, (w + 1) * length). */
export interface WindowSet {
  data: Float32Array;
  count: number;
  length: number;
  /** Where each window came from: record index and first sample (at the model's rate); see Origin. */
  origin: Origin[];
  /** The windows left out as flat (FLAT_STD_MV), by the same kind of origin (none when absent). */
  flat?: Array<{ record: number; start: number }>;
  /** Per window, what normaliseWindows took away: conditioned mV = value * std + mean. */
  norm?: { mean: Float64Array; std: Float64Array };
  /**
   * Windows resampled from segments of other lengths ('rr'): the segments as they were, in the
   * window's normalised units, laid end to end (segment w is data[offsets[w], offsets[w + 1])).
   * A reconstruction is scored on them, resampled back (metrics setMetrics).
   */
  segments?: { data: Float32Array; offsets: Int32Array };
}

export interface PreparedData {
  train: WindowSet;
  val: WindowSet;
  test: WindowSet;
  /** The settings with what was measured filled in (dataset mean and std). */
  settings: PipelineSettings;
  splitBy: 'record' | 'time' | 'named';
  /** Which split each record went to (by record, or 'test' when named), or 'all' (cut by time). */
  assignment: Array<'train' | 'val' | 'test' | 'all'>;
  /** The readers' notes on the records (EcgRecord.notes), for the user. */
  notes?: string[];
}

type SplitName = 'train' | 'val' | 'test';
const SPLITS: SplitName[] = ['train', 'val', 'test'];

/** Checks settings and fills defaults; throws MamError naming the bad setting. */
export function checkSettings(s: PipelineSettings): PipelineSettings {
  const bad = (what: string) => { throw new MamError(`data settings: ${what}`); };
  if (!(s.fs > 0 && Number.isFinite(s.fs))) bad(`sampling rate must be a positive number of Hz, got ${s.fs}`);
  if (!Number.isInteger(s.window) || s.window < 2) bad(`window must be a whole number of samples >= 2, got ${s.window}`);
  if (!Number.isInteger(s.hop) || s.hop < 1) bad(`hop must be a whole number of samples >= 1, got ${s.hop}`);
  const { train, val, test } = s.split;
  if (![train, val, test].every((v) => v >= 0 && v < 1) || train <= 0 || Math.abs(train + val + test - 1) > 1e-9) {
    bad(`split fractions must be >= 0, train > 0, and sum to 1; got ${train}/${val}/${test}`);
  }
  if (!['none', 'highpass'].includes(s.baseline)) bad(`baseline must be 'none' or 'highpass', got '${s.baseline}'`);
  if (!['window', 'dataset', 'none'].includes(s.normalization.method)) {
    bad(`normalization must be 'window', 'dataset' or 'none', got '${s.normalization.method}'`);
  }
  if (!Number.isInteger(s.seed)) bad(`seed must be a whole number, got ${s.seed}`);
  if (s.windows !== undefined && !['fixed', 'beats', 'rr'].includes(s.windows)) bad(`windows must be 'fixed', 'beats' or 'rr', got '${s.windows}'`);
  if (s.windows === 'rr' && (s.jitter || s.stretch)) bad('jitter and stretch shift and scale fixed and beat windows; rr windows are period-normalised already: leave them out');
  if (s.stretch !== undefined && !(s.stretch > 0 && s.stretch < 0.5)) bad(`stretch must be a fraction above 0 and below 0.5, got ${s.stretch}`);
  if (s.jitter !== undefined && !(Number.isInteger(s.jitter) && s.jitter >= 0 && s.jitter < s.window)) bad(`jitter must be a whole number of samples from 0 to below the window, got ${s.jitter}`);
  for (const [list, what] of [[s.testRecords, 'test'], [s.valRecords, 'validation']] as const) {
    if (list !== undefined && !(Array.isArray(list) && list.length > 0 && list.every((n) => typeof n === 'string' && n !== ''))) bad(`${what} records must be a list of record names`);
  }
  return s;
}

/**
 * Whether a record (its name: a path, or 'synthetic #3') is the one `wanted` names: the same
 * path, or the same file name with or without its extension ('100', '100.hea', 'mitdb/100').
 */
export function recordMatches(name: string, wanted: string): boolean {
  const strip = (p: string) => p.replace(/\.(hea|csv)$/i, '');
  return strip(name) === strip(wanted) || strip(name).endsWith(`/${strip(wanted)}`) || (!wanted.includes('/') && recordName(name) === recordName(wanted));
}

/** For each record, whether it is a named test record; a name that matches none is an error listing the records. */
/** Each record's named split ('test', 'val') or null; throws naming the setting when a name matches no record, or none is left to train on. */
function namedSplits(records: EcgRecord[], s: PipelineSettings): Array<'test' | 'val' | null> {
  const list = records.map((r) => r.name.split('/').at(-1)!).join(', ');
  const unknown = (names: string[] | undefined) => (names ?? []).find((wanted) => !records.some((r) => recordMatches(r.name, wanted)));
  const test = unknown(s.testRecords), val = unknown(s.valRecords);
  if (test !== undefined) throw new MamError(msg`{testRecords}: '${test}' is none of the records (${list}): name test records among them`);
  if (val !== undefined) throw new MamError(msg`{valRecords}: '${val}' is none of the records (${list}): name validation records among them`);
  const isIn = (names: string[] | undefined, r: EcgRecord) => (names ?? []).some((w) => recordMatches(r.name, w));
  const out = records.map((r) => (isIn(s.testRecords, r) ? 'test' : isIn(s.valRecords, r) ? 'val' : null));
  const both = records.find((r) => isIn(s.testRecords, r) && isIn(s.valRecords, r));
  if (both) throw new MamError(msg`{valRecords}: ${both.name.split('/').at(-1)!} is a test record too: name each record in one of them`);
  if (out.every((o) => o !== null)) {
    throw s.valRecords
      ? new MamError(msg`{valRecords}: every record is a test or validation record: leave at least one to train on`)
      : new MamError(msg`{testRecords}: every record is a test record: leave at least one to train on`);
  }
  return out;
}

/** A record at the model's rate, baseline removed if asked: what windows are cut from. */
export function conditionRecord(record: EcgRecord, s: PipelineSettings): Float32Array {
  let x: Float32Array;
  try {
    x = resample(record.signal, record.fs, s.fs);
  } catch (e) {
    throw new MamError(msg`${record.name}: ${(e as Error).message}: check its sampling rate ({fs})`);
  }
  if (s.baseline === 'highpass') x = removeBaseline(x, s.fs);
  if (x.length < s.window) {
    throw new MamError(`${record.name}: ${x.length} samples at ${s.fs} Hz, fewer than one window of ${s.window}: give a longer recording or a shorter window`);
  }
  return x;
}

/** Start offsets of the windows that fit in [from, to). */
function windowStarts(from: number, to: number, window: number, hop: number): number[] {
  const starts: number[] = [];
  for (let t = from; t + window <= to; t += hop) starts.push(t);
  return starts;
}

/** The starts, and with a jitter also each start - jitter and + jitter that fit in [from, to). */
function jittered(starts: number[], from: number, to: number, s: PipelineSettings): number[] {
  const j = s.jitter ?? 0;
  if (j === 0) return starts;
  return starts.flatMap((t) => [t - j, t, t + j].filter((u) => u >= from && u + s.window <= to));
}

/**
 * Record r's windows at these starts as stretched copies (scale 1 - stretch and 1 + stretch
 * about the window's middle) whose samples all fall in [from, to).
 */
function stretched(r: number, starts: number[], from: number, to: number, s: PipelineSettings): Origin[] {
  const f = s.stretch ?? 0;
  if (f === 0) return [];
  const half = s.window / 2;
  return starts.flatMap((start) => [1 - f, 1 + f]
    .filter((scale) => start + half - half * scale >= from && start + half + (half - 1) * scale <= to - 1)
    .map((scale) => ({ record: r, start, scale })));
}

/** The windows of record r inside [from, to), as settings.windows says (beats, rr: R peaks found once per record). */
function windowPlacer(signals: Float32Array[], s: PipelineSettings): (r: number, from: number, to: number) => Origin[] {
  const how = s.windows ?? 'fixed';
  if (how === 'fixed') return (record, from, to) => windowStarts(from, to, s.window, s.hop).map((start) => ({ record, start }));
  const peaks = signals.map((x) => detectRPeaks(x, s.fs));
  if (how === 'rr') {
    return (record, from, to) => {
      const p = peaks[record]!;
      const out: Origin[] = [];
      for (let k = 1; k + 1 < p.length; k++) {
        const start = Math.round((p[k - 1]! + p[k]!) / 2);
        const end = Math.round((p[k]! + p[k + 1]!) / 2);
        if (start >= from && end <= to && end - start >= 2) out.push({ record, start, span: end - start });
      }
      return out;
    };
  }
  const before = Math.floor(s.window / 2);
  return (record, from, to) => Array.from(peaks[record]!, (p) => p - before).filter((t) => t >= from && t + s.window <= to).map((start) => ({ record, start }));
}

/** Runs the pipeline on records (in mV at any rate) and returns the three window sets. */
export function prepareData(records: EcgRecord[], settings: PipelineSettings): PreparedData {
  const s = checkSettings({ ...settings, normalization: { ...settings.normalization } });
  if (records.length === 0) throw new MamError('no records to prepare: give at least one CSV file or use the synthetic generator');
  const signals = records.map((r) => conditionRecord(r, s));
  const windowsIn = windowPlacer(signals, s);
  const random = seededRandom(s.seed);
  const parts: Record<SplitName, Origin[]> = { train: [], val: [], test: [] };
  // Record r's windows in [from, to) go to split `name` (training ones with their shifted and stretched copies).
  const place = (r: number, name: SplitName, from: number, to: number) => {
    const windows = windowsIn(r, from, to);
    if (name !== 'train' || s.windows === 'rr') return void parts[name].push(...windows);
    const starts = windows.map((o) => o.start);
    for (const start of jittered(starts, from, to, s)) parts.train.push({ record: r, start });
    parts.train.push(...stretched(r, starts, from, to, s));
  };
  let splitBy: PreparedData['splitBy'];
  let assignment: PreparedData['assignment'];

  if (s.testRecords || s.valRecords) {
    splitBy = 'named';
    const named = namedSplits(records, s);
    assignment = named.map((t) => t ?? (s.testRecords && s.valRecords ? 'train' : 'all'));
    // The unnamed records: all training when both other splits are named, else a training block and then a block of the split that is not.
    const rest: SplitName | null = s.testRecords && s.valRecords ? null : s.testRecords ? 'val' : 'test';
    const trainShare = rest === null ? 1 : s.split.train / (s.split.train + s.split[rest]);
    signals.forEach((x, r) => {
      if (named[r]) return place(r, named[r]!, 0, x.length);
      const cut = Math.round(x.length * trainShare);
      place(r, 'train', 0, cut);
      if (rest !== null) place(r, rest, cut, x.length);
    });
  } else if (records.length >= 3) {
    splitBy = 'record';
    assignment = assignRecords(signals.map((x) => x.length), s.split, random);
    signals.forEach((x, r) => place(r, assignment[r] as SplitName, 0, x.length));
  } else {
    splitBy = 'time';
    assignment = records.map(() => 'all');
    signals.forEach((x, r) => {
      let from = 0;
      SPLITS.forEach((name, i) => {
        const to = i === 2 ? x.length : from + Math.round(x.length * s.split[name]);
        place(r, name, from, to);
        from = to;
      });
    });
  }
  const flat = Object.fromEntries(SPLITS.map((name) => {
    const [kept, left] = partitionFlat(signals, parts[name], s.window);
    parts[name] = kept;
    return [name, left];
  })) as Record<SplitName, Origin[]>;
  if (parts.train.length === 0) {
    const why = flat.train.length > 0 ? ` (its ${flat.train.length} windows are all flat, below ${FLAT_STD_MV} mV: no signal, or a lead off)` : '';
    throw new MamError(`the training split has no window of ${s.window} samples${why}: give more data, a shorter window or a larger training fraction`);
  }

  const order = Int32Array.from(parts.train.keys());
  shuffleInPlace(order, random);
  parts.train = Array.from(order, (i) => parts.train[i]!);

  const sets = Object.fromEntries(SPLITS.map((name) => [name, cutWindows(signals, parts[name], s.window, flat[name])])) as Record<SplitName, WindowSet>;
  if (s.normalization.method === 'dataset') {
    const { mean, std } = s.normalization.mean !== undefined && s.normalization.std !== undefined
      ? s.normalization as { mean: number; std: number }
      : meanStd(sets.train.data);
    s.normalization = { method: 'dataset', mean, std };
  }
  for (const name of SPLITS) normalizeWindows(sets[name], s.normalization);
  return { ...sets, settings: s, splitBy, assignment, notes: records.flatMap((r) => r.notes ?? []) };
}

/** What the user should know about prepared data before training on it: flat windows left out, a lopsided split. */
export function dataWarnings(data: PreparedData): string[] {
  const notes = [...(data.notes ?? [])];
  const flat = { train: data.train.flat?.length ?? 0, val: data.val.flat?.length ?? 0, test: data.test.flat?.length ?? 0 };
  if (flat.train + flat.val + flat.test > 0) {
    notes.push(`note: ${flat.train + flat.val + flat.test} flat windows left out (standard deviation below ${FLAT_STD_MV} mV: no signal, or a lead off): ${flat.train} training, ${flat.val} validation, ${flat.test} test`);
  }
  const [train, val, test] = [data.train.count, data.val.count, data.test.count];
  if (train < val || train < test) {
    const fix = data.splitBy === 'record'
      ? `whole records go to each split, and the training one got the least data; give more records (or records of more equal length), or at most 2 records to split each by time`
      : 'give a larger training fraction';
    notes.push(`warning: the split by ${data.splitBy} left ${train} training windows against ${val} validation and ${test} test: ${fix}`);
  }
  return notes;
}

/**
 * Every window of the records, in order, normalised with the stored settings: for evaluating
 * a trained model on recordings it has not seen (no split, no shuffle). 'dataset'
 * normalisation needs its stored mean and std.
 */
export function windowAll(records: EcgRecord[], settings: PipelineSettings): WindowSet {
  const s = checkSettings(settings);
  if (records.length === 0) throw new MamError('no records to evaluate: give at least one CSV file');
  if (s.normalization.method === 'dataset' && (s.normalization.mean === undefined || s.normalization.std === undefined)) {
    throw new MamError("data settings: 'dataset' normalisation without its stored mean and std: the model's mam.json is incomplete; train the model again");
  }
  const signals = records.map((r) => conditionRecord(r, s));
  const windowsIn = windowPlacer(signals, s);
  const all = signals.flatMap((x, record) => windowsIn(record, 0, x.length));
  const [origin, flat] = partitionFlat(signals, all, s.window);
  const set = cutWindows(signals, origin, s.window, flat);
  normalizeWindows(set, s.normalization);
  return set;
}

/**
 * Whole records to splits: records in seeded random order fill test, then validation, up to
 * their fractions of all samples (at least one record each when the fraction is > 0), and the
 * rest (at least one) train.
 */
function assignRecords(lengths: number[], split: PipelineSettings['split'], random: ReturnType<typeof seededRandom>): SplitName[] {
  const order = Int32Array.from(lengths.keys());
  shuffleInPlace(order, random);
  const total = lengths.reduce((a, b) => a + b, 0);
  const out: SplitName[] = new Array(lengths.length).fill('train');
  let i = 0;
  for (const name of ['test', 'val'] as const) {
    let taken = 0;
    while (split[name] > 0 && i < order.length - 1 && (taken === 0 || taken + lengths[order[i]!]! / 2 <= split[name] * total)) {
      taken += lengths[order[i]!]!;
      out[order[i]!] = name;
      i++;
    }
  }
  return out;
}

/**
 * A window's place: record index and first sample at the model's rate. A stretched training
 * copy (PipelineSettings.stretch) has the start of the window it stretches and its time scale:
 * sample i is the record at start + n/2 + (i - n/2) * scale, interpolated. An 'rr' window has
 * the span of its segment, [start, start + span), resampled to the window length.
 */
export type Origin = { record: number; start: number; scale?: number; span?: number };

function cutWindows(signals: Float32Array[], origin: Origin[], length: number, flat: Origin[]): WindowSet {
  const data = new Float32Array(origin.length * length);
  const spans = origin.some((o) => o.span !== undefined);
  const offsets = new Int32Array(spans ? origin.length + 1 : 0);
  origin.forEach((o, w) => { if (spans) offsets[w + 1] = offsets[w]! + o.span!; });
  const segments = spans ? { data: new Float32Array(offsets[origin.length]!), offsets } : undefined;
  origin.forEach(({ record, start, scale, span }, w) => {
    const x = signals[record]!;
    if (span !== undefined) {
      const segment = x.subarray(start, start + span);
      segments!.data.set(segment, offsets[w]!);
      return void linearResample(segment, length, data.subarray(w * length, (w + 1) * length));
    }
    if (scale === undefined) return data.set(x.subarray(start, start + length), w * length);
    const middle = start + length / 2;
    for (let i = 0; i < length; i++) {
      const p = middle + (i - length / 2) * scale;
      const k = Math.floor(p);
      const frac = p - k;
      data[w * length + i] = frac === 0 ? x[k]! : x[k]! + frac * (x[k + 1]! - x[k]!);
    }
  });
  return { data, count: origin.length, length, origin, flat, ...(segments ? { segments } : {}) };
}

/** The windows with signal, and those left out as flat (in order). */
function partitionFlat(signals: Float32Array[], origins: Origin[], length: number): [Origin[], Origin[]] {
  const kept: Origin[] = [], flat: Origin[] = [];
  for (const o of origins) (isFlat(signals[o.record]!.subarray(o.start, o.start + (o.span ?? length))) ? flat : kept).push(o);
  return [kept, flat];
}

/** Standard deviation below FLAT_STD_MV (meanStd's floor, STD_FLOOR, is far below it). */
export function isFlat(window: Float32Array): boolean {
  return meanStd(window).std < FLAT_STD_MV;
}

function meanStd(x: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]!;
  const mean = sum / x.length;
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += (x[i]! - mean) ** 2;
  return { mean, std: Math.max(Math.sqrt(sq / x.length), STD_FLOOR) };
}

/** Applies the normalisation in place (for 'dataset', mean and std must be set), and keeps each window's in set.norm. */
export function normalizeWindows(set: WindowSet, n: Normalization): void {
  const norm = { mean: new Float64Array(set.count), std: new Float64Array(set.count).fill(1) };
  set.norm = norm;
  if (n.method === 'none') return;
  for (let w = 0; w < set.count; w++) {
    const win = set.data.subarray(w * set.length, (w + 1) * set.length);
    const { mean, std } = n.method === 'window' ? meanStd(win) : { mean: n.mean!, std: n.std! };
    norm.mean[w] = mean;
    norm.std[w] = std;
    for (let i = 0; i < win.length; i++) win[i] = (win[i]! - mean) / std;
    // The segment as it was, in the same units as its window.
    if (set.segments) {
      const seg = set.segments.data.subarray(set.segments.offsets[w]!, set.segments.offsets[w + 1]!);
      for (let i = 0; i < seg.length; i++) seg[i] = (seg[i]! - mean) / std;
    }
  }
}
