// A light Pan-Tompkins R-peak detector (Pan & Tompkins, IEEE TBME 32(3), 1985): band-pass by
// a central difference, square, moving-window integration, adaptive signal/noise thresholds
// with a 200 ms refractory period and a search-back for missed beats, then each detection
// refined to the signal's local maximum. Made for leads with an upright R wave (MLII, lead II,
// ECGSYN); good enough to count beats and measure RR, not a clinical detector.

export interface RPeakOptions {
  /** No two beats closer than this, s. Default 0.2 (the physiological refractory period). */
  refractorySeconds?: number;
  /** Moving-integration window, s. Default 0.15 (about one QRS). */
  windowSeconds?: number;
}

/** Sample indices of the R peaks of `signal` (sampled at fs Hz), ascending. */
export function detectRPeaks(signal: ArrayLike<number>, fs: number, options: RPeakOptions = {}): Int32Array {
  const n = signal.length;
  if (!(fs > 0)) throw new RangeError(`detectRPeaks: fs must be > 0, got ${fs}`);
  const refractory = Math.max(1, Math.round((options.refractorySeconds ?? 0.2) * fs));
  if (n < 3) return new Int32Array(0);

  // x[i + k] - x[i - k] with k = 20 ms: a band-pass peaking at 12.5 Hz, zero at DC (wander)
  // and at 25 Hz, 50 Hz, ... (much of the noise); centred, so nothing is delayed.
  const k = Math.max(1, Math.round(0.02 * fs));
  const at = (i: number) => signal[Math.min(n - 1, Math.max(0, i))]!;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = at(i + k) - at(i - k);
    sq[i] = d * d;
  }
  // Centred moving sum over the window, by a running sum.
  const half = Math.max(1, Math.round(((options.windowSeconds ?? 0.15) * fs) / 2));
  const mwi = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < Math.min(n, half); i++) acc += sq[i]!;
  for (let i = 0; i < n; i++) {
    if (i + half < n) acc += sq[i + half]!;
    if (i - half - 1 >= 0) acc -= sq[i - half - 1]!;
    mwi[i] = acc;
  }

  // Candidates: points that are the largest within +-refractory (first of a plateau wins).
  const cand: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = mwi[i]!;
    if (v <= 0 || (i > 0 && mwi[i - 1]! > v) || (i < n - 1 && mwi[i + 1]! > v)) continue; // not even a local max
    let best = true;
    for (let j = Math.max(0, i - refractory); j <= Math.min(n - 1, i + refractory) && best; j++) {
      if (mwi[j]! > v || (mwi[j]! === v && j < i)) best = false;
    }
    if (best) cand.push(i);
  }
  if (cand.length === 0) return new Int32Array(0);

  // Running estimates of the signal and noise peak levels (Pan-Tompkins' SPKI and NPKI),
  // primed on the first 2 s; a candidate above NPKI + (SPKI - NPKI)/4 is a beat.
  const learn = Math.min(n, Math.round(2 * fs));
  let mx = 0, mean = 0;
  for (let i = 0; i < learn; i++) {
    mx = Math.max(mx, mwi[i]!);
    mean += mwi[i]!;
  }
  let spk = mx / 3;
  let npk = mean / learn / 2;
  const threshold = () => npk + 0.25 * (spk - npk);
  const beats: number[] = [];
  const rrs: number[] = [];
  let thr = threshold();
  for (let c = 0; c < cand.length; c++) {
    const i = cand[c]!;
    const v = mwi[i]!;
    // Search-back: a gap over 1.66 times the recent RR means a missed beat; take the largest
    // candidate in the gap above half the threshold.
    const last = beats[beats.length - 1];
    if (last !== undefined && rrs.length >= 2) {
      const recent = rrs.slice(-8).reduce((s, r) => s + r, 0) / Math.min(8, rrs.length);
      if (i - last > 1.66 * recent) {
        let best = -1;
        for (let b = c - 1; b >= 0 && cand[b]! > last; b--) {
          const j = cand[b]!;
          if (j - last >= refractory && i - j >= refractory && mwi[j]! > thr / 2 && (best < 0 || mwi[j]! > mwi[best]!)) best = j;
        }
        if (best >= 0) {
          rrs.push(best - last);
          beats.push(best);
          spk = 0.25 * mwi[best]! + 0.75 * spk;
          thr = threshold();
        }
      }
    }
    const prev = beats[beats.length - 1];
    if (v > thr && (prev === undefined || i - prev >= refractory)) {
      if (prev !== undefined) rrs.push(i - prev);
      beats.push(i);
      spk = 0.125 * v + 0.875 * spk;
    } else {
      npk = 0.125 * v + 0.875 * npk;
    }
    thr = threshold();
  }

  // Refine each beat to the signal maximum within +-75 ms (the integrator is centred).
  const reach = Math.max(1, Math.round(0.075 * fs));
  const peaks: number[] = [];
  for (const b of beats) {
    let best = b;
    for (let j = Math.max(0, b - reach); j <= Math.min(n - 1, b + reach); j++) if (signal[j]! > signal[best]!) best = j;
    if (peaks.length > 0 && best - peaks[peaks.length - 1]! < refractory) {
      if (signal[best]! > signal[peaks[peaks.length - 1]!]!) peaks[peaks.length - 1] = best;
      continue;
    }
    peaks.push(best);
  }
  return Int32Array.from(peaks);
}
