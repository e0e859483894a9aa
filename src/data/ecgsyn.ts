// ECGSYN (McSharry, Clifford, Tarassenko, Smith, IEEE TBME 50(3), 2003) in plain TypeScript:
// a point (x, y) on the unit limit cycle turns once per beat; z, the ECG, is pushed by five
// Gaussian "waves" (P, Q, R, S, T) placed at fixed angles. See /work/shared/reference/MAM.md §6.
//
// What happens, in order (each step's random draws come from one seeded stream, in this order,
// so a seed fixes the trace on every machine: only integer PRNG arithmetic and V8's
// fdlibm-based Math functions are involved):
//   1. mean heart rate: options.hrMean, else uniform in options.hrRange        (1 draw, if drawn)
//   2. RR process: spectrum of two Gaussians (0.1 Hz LF, 0.25 Hz HF, c = 0.01 Hz, LF/HF power
//      ratio), sqrt(S) with random phases, inverse FFT on a 1 Hz grid, rescaled to mean 60/hr s
//      and std 60 hrStd / hr^2 s                                               (n/2 - 1 draws)
//   3. beats: each beat's RR is the process at the beat's start, held constant for the beat and
//      rounded to the internal rate, so every beat turns the cycle by exactly 2 pi
//   4. RK4 at fsInternal (an integer multiple of fs) from (1, 0, 0.04), keeping every q-th sample
//   5. start: WARMUP_S seconds of settling are dropped, then a random offset of up to one beat
//      (the MAM group's recipe)                                                (1 draw)
//   6. scale to [-0.4, 1.2] mV
//   7. baseline wander A sin(2 pi 0.25 t + phi) in mV is added, then the sum is rescaled to
//      [-0.4, 1.2] mV again so every trace spans the same range              (1 draw, always)
//   8. white Gaussian noise at the asked input SNR, if any                     (one per sample)
// Noise comes last so that the same seed with and without noise gives the same clean trace.
//
// The paper puts the wander inside the ODE (dz/dt = ... - (z - z0(t))). z enters its own
// equation linearly, so that is the clean z plus a low-passed sinusoid: adding a sinusoid after
// integration (step 7) is the same model, with A meaning the wander actually seen, in mV.
import { MamError } from '../errors.js';
import { fft, nextPow2 } from './fft.js';
import { seededRandom, type Random } from './random.js';
import type { EcgRecord } from './record.js';

export interface EcgsynOptions {
  /** Output sampling rate, Hz. Default 256 (the MAM group's rate). */
  fs?: number;
  /** Duration of the output, s. Default 60. */
  seconds?: number;
  /** Seed of the single random stream the trace comes from. Default 1. */
  seed?: number;
  /** Mean heart rate, bpm (20..300). When set, hrRange is not used. */
  hrMean?: number;
  /** Mean heart rate drawn uniformly from [lo, hi] bpm per trace. Default [60, 100]. */
  hrRange?: readonly [number, number];
  /** Standard deviation of the heart rate, bpm. Default 1 (the paper's). At most hr/5. */
  hrStd?: number;
  /** LF/HF power ratio of the RR process (0.1 Hz vs 0.25 Hz). Default 0.5; 0 means HF only. */
  lfHfRatio?: number;
  /**
   * Baseline wander amplitude, mV, at 0.25 Hz (respiration), random phase. Default 0.07 mV:
   * what ECGSYN's own code gives (z0 = 0.005 sin(2 pi 0.25 t) in model units, low-passed by
   * the z equation to 0.0027 against a 0.058 beat range, then scaled to 1.6 mV). 0 disables.
   * Added after the first scaling and followed by a rescale to [-0.4, 1.2] mV, which shrinks
   * the beats by 1.6 / (1.6 + about 2A).
   */
  wanderMv?: number;
  /**
   * Input SNR in dB of additive white Gaussian noise, sigma = rms(x) / 10^(snr/20) (for a data
   * set, synthRecords uses one sigma: the mean rms over its traces). Default: no noise.
   */
  noiseSnrDb?: number;
  /** Integration rate, Hz: an integer multiple of fs. Default fs * ceil(512 / fs), at least the paper's 512 Hz. */
  fsInternal?: number;
  /** Drop a random start of up to one beat, so traces do not all begin on an R wave. Default true. */
  randomStart?: boolean;
}

export const ECGSYN_DEFAULTS = {
  fs: 256,
  seconds: 60,
  seed: 1,
  hrRange: [60, 100] as readonly [number, number],
  hrStd: 1,
  lfHfRatio: 0.5,
  wanderMv: 0.07,
  randomStart: true,
} as const;

/** Heart rates outside this range (bpm) are refused. */
export const HR_LIMITS = [20, 300] as const;

/** The output range of every trace before noise, mV. */
export const ECG_RANGE_MV = [-0.4, 1.2] as const;

export interface EcgsynTrace {
  /** The ECG in mV. */
  signal: Float32Array;
  fs: number;
  /** Sample indices of the R waves the model placed (the cycle at angle 0), ascending. */
  rPeaks: Int32Array;
  /** rr[j]: the RR interval (s) that begins at rPeaks[j] (it may end after the trace). */
  rr: Float64Array;
  /** The mean heart rate the trace was made for, bpm. */
  hrMean: number;
  /** Standard deviation of the added noise, mV (0 without noise). */
  noiseSigma: number;
}

// P, Q, R, S, T at 60 bpm (MAM.md §6): angle (degrees), amplitude, width (rad).
const THETA_DEG = [-70, -15, 0, 15, 100];
const AMP = [1.2, -5, 30, -7.5, 0.75];
const WIDTH = [0.25, 0.1, 0.1, 0.1, 0.4];
const START = [1, 0, 0.04] as const;

const LF_HZ = 0.1;
const HF_HZ = 0.25;
const C_HZ = 0.01;
const WANDER_HZ = 0.25;

/**
 * Seconds integrated and thrown away before the trace may start. z relaxes with a 1 s time
 * constant, and the start z = 0.04 is not where the cycle settles: without this the first
 * beat or two would sit off the baseline and could set the trace's min or max.
 */
const WARMUP_S = 5;
/** The RR process is made at least this long (s), so short traces still see its full spectrum. */
const MIN_RR_SECONDS = 512;
/** Upsampling of the 1 Hz RR series (exact band-limited interpolation) before reading it at beat starts. */
const RR_UPSAMPLE = 16;

/** Every option filled in and checked (see resolveEcgsynOptions). */
export interface ResolvedEcgsynOptions {
  fs: number;
  seconds: number;
  seed: number;
  hrMean: number | undefined;
  hrRange: readonly [number, number];
  hrStd: number;
  lfHfRatio: number;
  wanderMv: number;
  noiseSnrDb: number | undefined;
  fsInternal: number;
  randomStart: boolean;
}

/**
 * Fill in defaults and check every option, throwing a one-line MamError that names the option
 * and shows a valid value. `flags` spells options the caller's way (the CLI passes '--hr' for
 * hrMean, so its users read their own flag).
 */
export function resolveEcgsynOptions(
  options: EcgsynOptions = {},
  flags: Partial<Record<keyof EcgsynOptions, string>> = {},
): ResolvedEcgsynOptions {
  const d = ECGSYN_DEFAULTS;
  const fail = (key: keyof EcgsynOptions, rule: string, got: unknown, example: string): never => {
    const flag = flags[key];
    const shown = Array.isArray(got) ? got.join(',') : String(got);
    throw new MamError(
      `${flag ?? `ECGSYN option ${key}`} must be ${rule}, got ${shown}; e.g. ${flag ? `${flag} ${example}` : `${key}: ${example}`}`,
    );
  };
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const [hrLo, hrHi] = HR_LIMITS;

  const fs = options.fs ?? d.fs;
  if (!finite(fs) || fs <= 0) fail('fs', 'a sampling rate in Hz greater than 0', fs, '256');
  const seconds = options.seconds ?? d.seconds;
  if (!finite(seconds) || seconds <= 0) fail('seconds', 'a duration in seconds greater than 0', seconds, '60');
  if (Math.round(seconds * fs) < 1) fail('seconds', `at least one sample period (${1 / fs} s at ${fs} Hz)`, seconds, '60');
  const seed = options.seed ?? d.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) fail('seed', 'a whole number from 0 to 4294967295', seed, '1');

  const hrMean = options.hrMean;
  if (hrMean !== undefined && (!finite(hrMean) || hrMean < hrLo || hrMean > hrHi)) {
    fail('hrMean', `a heart rate between ${hrLo} and ${hrHi} bpm`, hrMean, '72');
  }
  const hrRange = options.hrRange ?? d.hrRange;
  if (hrMean === undefined) {
    const ok = Array.isArray(hrRange) && hrRange.length === 2 && hrRange.every(finite) &&
      hrRange[0]! >= hrLo && hrRange[1]! <= hrHi && hrRange[0]! <= hrRange[1]!;
    if (!ok) fail('hrRange', `two heart rates LO,HI with ${hrLo} <= LO <= HI <= ${hrHi} bpm`, hrRange, '60,100');
  }
  const hrStd = options.hrStd ?? d.hrStd;
  // RR std = 60 hrStd / hr^2 against a mean of 60 / hr: hrStd <= hr/5 keeps RR 5 sigma above 0.
  const slowest = hrMean ?? hrRange[0];
  if (!finite(hrStd) || hrStd < 0 || hrStd > slowest / 5) {
    fail('hrStd', `a standard deviation between 0 and ${slowest / 5} bpm (a fifth of the lowest mean heart rate)`, hrStd, '1');
  }
  const lfHfRatio = options.lfHfRatio ?? d.lfHfRatio;
  if (!finite(lfHfRatio) || lfHfRatio < 0) fail('lfHfRatio', 'a power ratio >= 0', lfHfRatio, '0.5');
  const wanderMv = options.wanderMv ?? d.wanderMv;
  if (!finite(wanderMv) || wanderMv < 0 || wanderMv > 2) fail('wanderMv', 'an amplitude between 0 and 2 mV (0 for none)', wanderMv, '0.07');
  const noiseSnrDb = options.noiseSnrDb;
  if (noiseSnrDb !== undefined && !finite(noiseSnrDb)) fail('noiseSnrDb', 'an SNR in dB', noiseSnrDb, '35');
  const fsInternal = options.fsInternal ?? fs * Math.ceil(512 / fs);
  const q = fsInternal / fs;
  if (!finite(fsInternal) || !Number.isInteger(Math.round(q * 1e9) / 1e9) || Math.round(q) < 1) {
    fail('fsInternal', `a whole multiple of fs = ${fs} Hz`, fsInternal, String(fs * Math.ceil(512 / fs)));
  }
  return {
    fs, seconds, seed, hrMean, hrRange, hrStd, lfHfRatio, wanderMv, noiseSnrDb,
    fsInternal: fs * Math.round(q), randomStart: options.randomStart ?? d.randomStart,
  };
}

/** One synthetic ECG trace (see the top of this file for what happens, in order). */
export function generateEcg(options: EcgsynOptions = {}): EcgsynTrace {
  const o = resolveEcgsynOptions(options);
  const rng = seededRandom(o.seed);
  const trace = cleanTrace(o, rng);
  if (o.noiseSnrDb !== undefined) addNoise(trace, rms(trace.signal) / 10 ** (o.noiseSnrDb / 20), rng);
  return trace;
}

/**
 * `count` traces, each with its own seed drawn from `seed` and its own heart rate (drawn from
 * hrRange unless hrMean is set). Trace i is generateEcg({...options, seed: s_i}) except for the
 * noise, which uses one sigma for the whole set: mean_i rms(x_i) / 10^(snr/20) (MAM.md §6).
 */
export function synthRecords(options: EcgsynOptions & { count: number }): EcgRecord[] {
  const { count, ...rest } = options;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new MamError(`ECGSYN option count must be a whole number >= 1, got ${count}`);
  }
  const o = resolveEcgsynOptions(rest);
  const master = seededRandom(o.seed);
  const made: { trace: EcgsynTrace; rng: Random; seed: number }[] = [];
  for (let i = 0; i < count; i++) {
    const seed = master.int(2 ** 32);
    const rng = seededRandom(seed);
    made.push({ trace: cleanTrace({ ...o, seed }, rng), rng, seed });
  }
  if (o.noiseSnrDb !== undefined) {
    const meanRms = made.reduce((s, m) => s + rms(m.trace.signal), 0) / count;
    const sigma = meanRms / 10 ** (o.noiseSnrDb / 20);
    for (const m of made) addNoise(m.trace, sigma, m.rng);
  }
  return made.map(({ trace, seed }, i) => ({
    name: `synthetic #${i + 1} (seed ${seed}, ${trace.hrMean.toFixed(1)} bpm)`,
    fs: trace.fs,
    lead: 'ECG',
    signal: trace.signal,
  }));
}

function rms(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / x.length);
}

function addNoise(trace: EcgsynTrace, sigma: number, rng: Random): void {
  const x = trace.signal;
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + sigma * rng.normal();
  trace.noiseSigma = sigma;
}

/**
 * The RR process as a function of time (s): band-limited, periodic with its length n (s).
 * Made on a 1 Hz grid as in the paper, but inverse-transformed on a grid RR_UPSAMPLE times
 * finer (zero padding: the same series at integer seconds, exactly interpolated in between),
 * so reading it at a beat's start does not dull the 0.25 Hz component.
 */
export function rrProcess(
  rng: Random,
  p: { rrMean: number; rrStd: number; lfHfRatio: number; seconds: number },
): (t: number) => number {
  const n = nextPow2(Math.max(MIN_RR_SECONDS, Math.ceil(p.seconds)));
  const N = n * RR_UPSAMPLE;
  const re = new Float64Array(N);
  const im = new Float64Array(N);
  const gauss = (f: number, fk: number) => Math.exp(-((f - fk) * (f - fk)) / (2 * C_HZ * C_HZ)) / Math.sqrt(2 * Math.PI * C_HZ * C_HZ);
  // Bins 0 (DC) and n/2 (0.5 Hz) stay 0: the spectrum has no power there (e^-50 and less).
  for (let k = 1; k < n / 2; k++) {
    const f = k / n;
    const amp = Math.sqrt(p.lfHfRatio * gauss(f, LF_HZ) + gauss(f, HF_HZ));
    const phi = 2 * Math.PI * rng.uniform();
    re[k] = amp * Math.cos(phi);
    im[k] = amp * Math.sin(phi);
    re[N - k] = re[k]!;
    im[N - k] = -im[k]!;
  }
  fft(re, im, true);
  // Mean and std of the 1 Hz series (the paper's); by Parseval the fine grid has the same.
  let mean = 0;
  for (let m = 0; m < n; m++) mean += re[m * RR_UPSAMPLE]!;
  mean /= n;
  let v = 0;
  for (let m = 0; m < n; m++) v += (re[m * RR_UPSAMPLE]! - mean) * (re[m * RR_UPSAMPLE]! - mean);
  const std = Math.sqrt(v / (n - 1));
  const scale = std > 0 ? p.rrStd / std : 0;
  const rr = new Float64Array(N);
  for (let i = 0; i < N; i++) rr[i] = p.rrMean + (re[i]! - mean) * scale;
  return (t: number) => {
    const pos = ((((t % n) + n) % n) * RR_UPSAMPLE);
    const i0 = Math.floor(pos);
    const frac = pos - i0;
    return rr[i0 % N]! * (1 - frac) + rr[(i0 + 1) % N]! * frac;
  };
}

/** Steps 1-7: the noiseless trace. */
function cleanTrace(o: ResolvedEcgsynOptions, rng: Random): EcgsynTrace {
  const hr = o.hrMean ?? o.hrRange[0] + rng.uniform() * (o.hrRange[1] - o.hrRange[0]);
  const { fs, fsInternal: fsi } = o;
  const q = Math.round(fsi / fs);
  const nOut = Math.round(o.seconds * fs);

  // Heart-rate scaling of the waves (MAM.md §6): faster hearts get narrower, closer waves.
  const h = Math.sqrt(hr / 60);
  const sh = Math.sqrt(h);
  const thScale = [sh, h, 1, h, sh];
  const ti = THETA_DEG.map((deg, i) => (deg * Math.PI) / 180 * thScale[i]!);
  const twoB2 = WIDTH.map((b) => 2 * (b * h) * (b * h));

  // 2-3. Beats, as internal sample counts. The RR process must cover warm-up, one beat of
  // offset and the trace; a slow-beat margin on top costs nothing.
  const rrMean = 60 / hr;
  const rrStd = (60 * o.hrStd) / (hr * hr);
  const rrAt = rrProcess(rng, { rrMean, rrStd, lfHfRatio: o.lfHfRatio, seconds: WARMUP_S + o.seconds + 4 * rrMean + 10 });
  const minRr = 0.25 * rrMean; // safety net only: unreachable with hrStd <= hr/5 in practice
  const starts: number[] = []; // internal index where each beat (R wave) begins
  const lens: number[] = [];
  let b = 0;
  const nextBeat = (): number => {
    const len = Math.max(1, Math.round(Math.max(minRr, rrAt(b / fsi)) * fsi));
    starts.push(b);
    lens.push(len);
    b += len;
    return len;
  };
  // 5. The trace begins in the first beat that starts after the warm-up, at a random offset.
  while (b < WARMUP_S * fsi) nextBeat();
  const firstLen = nextBeat();
  const u = rng.uniform();
  const s0 = starts[starts.length - 1]! + (o.randomStart ? Math.floor((u * firstLen) / q) * q : 0);
  const last = s0 + (nOut - 1) * q; // internal index of the last output sample
  while (b <= last) nextBeat();
  const wanderPhase = 2 * Math.PI * rng.uniform(); // drawn even without wander: same stream either way

  // 4. RK4 of the full (x, y, z) system; w is constant within a beat and each beat is a whole
  // number of steps, so every beat turns the cycle by 2 pi (to RK4 accuracy) and R stays at angle 0.
  const z = new Float64Array(nOut);
  const dt = 1 / fsi;
  const a0 = AMP[0]!, a1 = AMP[1]!, a2 = AMP[2]!, a3 = AMP[3]!, a4 = AMP[4]!;
  const t0 = ti[0]!, t1 = ti[1]!, t2 = ti[2]!, t3 = ti[3]!, t4 = ti[4]!;
  const c0 = twoB2[0]!, c1 = twoB2[1]!, c2 = twoB2[2]!, c3 = twoB2[3]!, c4 = twoB2[4]!;
  const PI = Math.PI, TWO_PI = 2 * Math.PI;
  const wave = (th: number, ai: number, tI: number, c: number): number => {
    let d = th - tI; // both in (-pi, pi], so one wrap brings d into (-pi, pi]
    if (d > PI) d -= TWO_PI;
    else if (d <= -PI) d += TWO_PI;
    return ai * d * Math.exp((-d * d) / c);
  };
  const dzdt = (x: number, y: number, zz: number): number => {
    const th = Math.atan2(y, x);
    return -(wave(th, a0, t0, c0) + wave(th, a1, t1, c1) + wave(th, a2, t2, c2) +
      wave(th, a3, t3, c3) + wave(th, a4, t4, c4)) - zz;
  };
  let x = START[0], y = START[1], zs = START[2];
  let idx = 0; // internal sample index of the current state
  let out = 0; // next output sample
  let nextKeep = s0;
  for (let j = 0; j < starts.length && out < nOut; j++) {
    const w = TWO_PI / (lens[j]! * dt);
    for (let s = 0; s < lens[j]! && out < nOut; s++, idx++) {
      if (idx === nextKeep) {
        z[out++] = zs;
        nextKeep += q;
      }
      const r1 = 1 - Math.sqrt(x * x + y * y);
      const k1x = r1 * x - w * y, k1y = r1 * y + w * x, k1z = dzdt(x, y, zs);
      let xa = x + 0.5 * dt * k1x, ya = y + 0.5 * dt * k1y, za = zs + 0.5 * dt * k1z;
      const r2 = 1 - Math.sqrt(xa * xa + ya * ya);
      const k2x = r2 * xa - w * ya, k2y = r2 * ya + w * xa, k2z = dzdt(xa, ya, za);
      xa = x + 0.5 * dt * k2x; ya = y + 0.5 * dt * k2y; za = zs + 0.5 * dt * k2z;
      const r3 = 1 - Math.sqrt(xa * xa + ya * ya);
      const k3x = r3 * xa - w * ya, k3y = r3 * ya + w * xa, k3z = dzdt(xa, ya, za);
      xa = x + dt * k3x; ya = y + dt * k3y; za = zs + dt * k3z;
      const r4 = 1 - Math.sqrt(xa * xa + ya * ya);
      const k4x = r4 * xa - w * ya, k4y = r4 * ya + w * xa, k4z = dzdt(xa, ya, za);
      x += (dt / 6) * (k1x + 2 * k2x + 2 * k3x + k4x);
      y += (dt / 6) * (k1y + 2 * k2y + 2 * k3y + k4y);
      zs += (dt / 6) * (k1z + 2 * k2z + 2 * k3z + k4z);
    }
  }

  // 6-7. Scale to [-0.4, 1.2] mV; add wander; rescale so the trace still spans exactly that.
  const [lo, hi] = ECG_RANGE_MV;
  rescale(z, lo, hi);
  if (o.wanderMv > 0) {
    for (let k = 0; k < nOut; k++) z[k] = z[k]! + o.wanderMv * Math.sin((TWO_PI * WANDER_HZ * k) / fs + wanderPhase);
    rescale(z, lo, hi);
  }

  const peaks: number[] = [];
  const rr: number[] = [];
  for (let j = 0; j < starts.length; j++) {
    if (starts[j]! < s0 || starts[j]! > last) continue;
    peaks.push(Math.round((starts[j]! - s0) / q));
    rr.push(lens[j]! * dt);
  }
  return {
    signal: Float32Array.from(z),
    fs,
    rPeaks: Int32Array.from(peaks),
    rr: Float64Array.from(rr),
    hrMean: hr,
    noiseSigma: 0,
  };
}

/** Affine map of x onto [lo, hi] (a constant trace goes to the middle). */
function rescale(x: Float64Array, lo: number, hi: number): void {
  let mn = Infinity, mx = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (x[i]! < mn) mn = x[i]!;
    if (x[i]! > mx) mx = x[i]!;
  }
  const span = mx - mn;
  for (let i = 0; i < x.length; i++) x[i] = span > 0 ? lo + ((x[i]! - mn) * (hi - lo)) / span : (lo + hi) / 2;
}
