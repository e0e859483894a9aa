// Reconstruction quality per window and summaries of it (MAM.md section 5). Pure arithmetic,
// no tfjs: evaluation hands in the windows and the model's output as flat Float32Arrays.
//
// Per window, with x the reference, x^ the reconstruction and e = x - x^ (all sums in float64):
//   SNR  = 20 log10(||x|| / ||e||)          dB
//   PRD  = 100 ||e|| / ||x||                %
//   PRDN = 100 ||e|| / ||x - mean(x)||      %
// so SNR = -20 log10(PRD / 100). The degenerate cases follow from that identity:
//   e = 0 (exact, even when x = 0):            SNR +Infinity, PRD 0, PRDN 0
//   x = 0 and e != 0:                           SNR -Infinity, PRD +Infinity
//   x constant (x - mean(x) = 0) and e != 0:    PRDN +Infinity
// NaN anywhere in a window makes that window's metrics NaN, and then the summaries NaN: a
// diverged model must not look good.
import type { WindowSet } from '../data/pipeline.js';
import { linearResample } from '../data/resample.js';

/**
 * Summaries clamp per-window SNR to [-SNR_CAP_DB, +SNR_CAP_DB] before averaging, so one exact
 * (or all-zero) window cannot turn the ASNR into +-Infinity. 200 dB is far above what float32
 * output can show (one rounding step of a float32 is about -140 dB), so the cap only ever
 * touches windows that are exact or degenerate; `snr_capped` counts them.
 */
export const SNR_CAP_DB = 200;

export interface WindowMetrics {
  /** SNR of each window in dB (may be +-Infinity, see above). */
  snr: Float64Array;
  /** PRD of each window in % (may be +Infinity). */
  prd: Float64Array;
  /** PRDN of each window in % (may be +Infinity). */
  prdn: Float64Array;
}

export interface MetricSummary {
  /** Mean of the per-window SNR in dB, each clamped to +-SNR_CAP_DB. */
  asnr_db: number;
  /** Mean per-window PRD in %, over the windows where it is finite (see prd_skipped). */
  prd: number;
  /** Mean per-window PRDN in %, over the windows where it is finite (see prdn_skipped). */
  prdn: number;
  /** Median of the clamped per-window SNR (numpy 'linear' percentile 50). */
  snr_median_db: number;
  /** 5th percentile of the clamped per-window SNR (numpy 'linear'): the bad tail. */
  snr_p5_db: number;
  windows: number;
  /** Windows whose SNR was +-Infinity and was clamped for the mean and percentiles. */
  snr_capped: number;
  /** Windows left out of the PRD mean (all-zero reference with an error: PRD is infinite). */
  prd_skipped: number;
  /** Windows left out of the PRDN mean (constant reference with an error). */
  prdn_skipped: number;
}

export interface RecordSummary {
  record: number;
  name: string;
  summary: MetricSummary;
}

/** One window: the three norms every metric is made of, in float64. */
function norms(x: ArrayLike<number>, xhat: ArrayLike<number>, from: number, length: number): { signal: number; error: number; centred: number } {
  let sx = 0, sxx = 0, see = 0;
  for (let i = from; i < from + length; i++) {
    const v = x[i]!;
    const e = v - xhat[i]!;
    sx += v;
    sxx += v * v;
    see += e * e;
  }
  // Two passes for the centred norm: sxx - n mean^2 cancels badly with a large DC offset.
  const mean = sx / length;
  let scc = 0;
  for (let i = from; i < from + length; i++) scc += (x[i]! - mean) ** 2;
  return { signal: Math.sqrt(sxx), error: Math.sqrt(see), centred: Math.sqrt(scc) };
}

/** 100 * error / reference, with error 0 giving 0 (also when the reference is 0). */
function ratioPercent(error: number, reference: number): number {
  if (error === 0) return 0;
  return (100 * error) / reference; // reference 0 -> +Infinity; NaN stays NaN
}

function snrFromNorms(signal: number, error: number): number {
  if (error === 0) return Infinity; // exact, even for an all-zero window
  return 20 * Math.log10(signal / error); // signal 0 -> -Infinity
}

function checkPair(x: ArrayLike<number>, xhat: ArrayLike<number>): void {
  if (x.length !== xhat.length) throw new RangeError(`reference has ${x.length} samples but reconstruction has ${xhat.length}`);
  if (x.length === 0) throw new RangeError('empty window: metrics need at least one sample');
}

/** SNR of one window in dB: 20 log10(||x|| / ||x - x^||). Exact -> +Infinity; x = 0 with an error -> -Infinity. */
export function snrDb(x: ArrayLike<number>, xhat: ArrayLike<number>): number {
  checkPair(x, xhat);
  const n = norms(x, xhat, 0, x.length);
  return snrFromNorms(n.signal, n.error);
}

/** PRD of one window in %: 100 ||x - x^|| / ||x||. Exact -> 0; x = 0 with an error -> +Infinity. */
export function prd(x: ArrayLike<number>, xhat: ArrayLike<number>): number {
  checkPair(x, xhat);
  const n = norms(x, xhat, 0, x.length);
  return ratioPercent(n.error, n.signal);
}

/** PRDN of one window in %: 100 ||x - x^|| / ||x - mean(x)||. Exact -> 0; constant x with an error -> +Infinity. */
export function prdn(x: ArrayLike<number>, xhat: ArrayLike<number>): number {
  checkPair(x, xhat);
  const n = norms(x, xhat, 0, x.length);
  return ratioPercent(n.error, n.centred);
}

/** SNR, PRD and PRDN of every window of windows laid end to end (as in WindowSet.data). */
export function windowMetrics(original: Float32Array, reconstruction: Float32Array, length: number): WindowMetrics {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`window length must be a whole number >= 1, got ${length}`);
  if (original.length !== reconstruction.length) {
    throw new RangeError(`original has ${original.length} samples but reconstruction has ${reconstruction.length}`);
  }
  if (original.length % length !== 0) {
    throw new RangeError(`${original.length} samples are not a whole number of windows of ${length}`);
  }
  const count = original.length / length;
  const out: WindowMetrics = { snr: new Float64Array(count), prd: new Float64Array(count), prdn: new Float64Array(count) };
  for (let w = 0; w < count; w++) {
    const n = norms(original, reconstruction, w * length, length);
    out.snr[w] = snrFromNorms(n.signal, n.error);
    out.prd[w] = ratioPercent(n.error, n.signal);
    out.prdn[w] = ratioPercent(n.error, n.centred);
  }
  return out;
}

/**
 * SNR, PRD and PRDN of windows resampled from segments of other lengths, scored on the segments
 * as they were: each reconstructed window is resampled back to its segment's length (linear, as
 * the window was made), so that what the resampling loses counts too.
 */
export function segmentMetrics(segments: NonNullable<WindowSet['segments']>, reconstruction: Float32Array, length: number): WindowMetrics {
  const count = segments.offsets.length - 1;
  if (reconstruction.length !== count * length) throw new RangeError(`${count} segments need ${count * length} reconstructed samples, got ${reconstruction.length}`);
  const out: WindowMetrics = { snr: new Float64Array(count), prd: new Float64Array(count), prdn: new Float64Array(count) };
  for (let w = 0; w < count; w++) {
    const { segment, back } = segmentReconstruction(segments, reconstruction, length, w);
    const n = norms(segment, back, 0, segment.length);
    out.snr[w] = snrFromNorms(n.signal, n.error);
    out.prd[w] = ratioPercent(n.error, n.signal);
    out.prdn[w] = ratioPercent(n.error, n.centred);
  }
  return out;
}

/** Segment w as it was, and window w of `reconstruction` resampled back to its length: what segmentMetrics compares. */
export function segmentReconstruction(segments: NonNullable<WindowSet['segments']>, reconstruction: Float32Array, length: number, w: number): { segment: Float32Array; back: Float32Array } {
  const segment = segments.data.subarray(segments.offsets[w]!, segments.offsets[w + 1]!);
  return { segment, back: linearResample(reconstruction.subarray(w * length, (w + 1) * length), segment.length) };
}

/** A window set's metrics: on its segments when it has them (segmentMetrics), else on the windows. */
export function setMetrics(set: Pick<WindowSet, 'data' | 'length' | 'segments'>, reconstruction: Float32Array): WindowMetrics {
  return set.segments ? segmentMetrics(set.segments, reconstruction, set.length) : windowMetrics(set.data, reconstruction, set.length);
}

/**
 * Samples in per value out: the window length per latent value, or with windows resampled from
 * segments ('rr'), the mean segment length per latent value plus the one that gives its length.
 */
export function compressionRatio(windows: Pick<WindowSet, 'length' | 'segments'>, latent: number): number {
  if (!windows.segments) return windows.length / latent;
  const { offsets } = windows.segments;
  const count = offsets.length - 1;
  return count > 0 ? offsets[count]! / count / (latent + 1) : Number.NaN;
}

/** The ASNR of a reconstruction of a window set (setMetrics). */
export function setAsnr(set: Parameters<typeof setMetrics>[0], reconstruction: Float32Array): number {
  return summarize(setMetrics(set, reconstruction)).asnr_db;
}

/**
 * The p-th percentile (p in [0, 100]) by numpy's default method 'linear' (Hyndman and Fan
 * type 7): sort, h = (N - 1) p / 100, then interpolate between order statistics floor(h) and
 * floor(h) + 1. Empty input or any NaN gives NaN.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  const sorted = Float64Array.from(values);
  if (sorted.length === 0 || sorted.some(Number.isNaN)) return NaN;
  sorted.sort();
  const h = ((sorted.length - 1) * p) / 100;
  const lo = Math.floor(h);
  const frac = h - lo;
  const a = sorted[lo]!;
  if (frac === 0 || lo + 1 >= sorted.length) return a;
  const b = sorted[lo + 1]!;
  return a === b ? a : a + frac * (b - a); // a === b: no Infinity - Infinity
}

/** Means, median and 5th percentile over all windows (definitions on MetricSummary). */
export function summarize(m: WindowMetrics): MetricSummary {
  const count = m.snr.length;
  if (m.prd.length !== count || m.prdn.length !== count) {
    throw new RangeError(`per-window metrics differ in length: snr ${count}, prd ${m.prd.length}, prdn ${m.prdn.length}`);
  }
  const clamped = new Float64Array(count);
  let snrSum = 0, capped = 0;
  for (let w = 0; w < count; w++) {
    const s = m.snr[w]!;
    if (s === Infinity || s === -Infinity) capped++;
    clamped[w] = Math.min(SNR_CAP_DB, Math.max(-SNR_CAP_DB, s)); // NaN stays NaN
    snrSum += clamped[w]!;
  }
  const prdMean = finiteMean(m.prd);
  const prdnMean = finiteMean(m.prdn);
  return {
    asnr_db: count === 0 ? NaN : snrSum / count,
    prd: prdMean.mean,
    prdn: prdnMean.mean,
    snr_median_db: percentile(clamped, 50),
    snr_p5_db: percentile(clamped, 5),
    windows: count,
    snr_capped: capped,
    prd_skipped: prdMean.skipped,
    prdn_skipped: prdnMean.skipped,
  };
}

/** ASNR (dB) of reconstructions of windows laid end to end. */
export function asnrOf(original: Float32Array, reconstruction: Float32Array, length: number): number {
  return summarize(windowMetrics(original, reconstruction, length)).asnr_db;
}

/** Mean over values that are not +Infinity (NaN is kept so it shows); NaN when none are left. */
function finiteMean(v: Float64Array): { mean: number; skipped: number } {
  let sum = 0, used = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === Infinity) continue;
    sum += v[i]!;
    used++;
  }
  return { mean: used === 0 ? NaN : sum / used, skipped: v.length - used };
}

/**
 * Summaries per record (in record order, only records that have windows) and over all windows,
 * for reports. origin[w] says which record window w came from (WindowSet.origin);
 * recordNames[r] names record r.
 */
export function summarizeByRecord(
  perWindow: WindowMetrics,
  origin: WindowSet['origin'],
  recordNames: readonly string[],
): { records: RecordSummary[]; overall: MetricSummary } {
  const count = perWindow.snr.length;
  if (origin.length !== count) throw new RangeError(`${count} windows of metrics but ${origin.length} window origins`);
  const byRecord = new Map<number, number[]>();
  origin.forEach(({ record }, w) => {
    if (!Number.isInteger(record) || record < 0 || record >= recordNames.length) {
      throw new RangeError(`window ${w} comes from record ${record}, but only ${recordNames.length} record names were given`);
    }
    let list = byRecord.get(record);
    if (!list) byRecord.set(record, (list = []));
    list.push(w);
  });
  const pick = (a: Float64Array, idx: number[]) => Float64Array.from(idx, (w) => a[w]!);
  const records = [...byRecord.keys()].sort((a, b) => a - b).map((record): RecordSummary => {
    const idx = byRecord.get(record)!;
    const summary = summarize({ snr: pick(perWindow.snr, idx), prd: pick(perWindow.prd, idx), prdn: pick(perWindow.prdn, idx) });
    return { record, name: recordNames[record]!, summary };
  });
  return { records, overall: summarize(perWindow) };
}
