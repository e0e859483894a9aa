// Sampling-rate conversion with an anti-aliasing filter, by rational polyphase interpolation.
//
// The filter: a Kaiser-windowed sinc (beta 8, about 80 dB stopband) with its cutoff at 0.45
// times the lower of the two rates (90% of that rate's Nyquist frequency; ECG content lies far
// below), and 16 zero crossings on each side. Each phase's taps are normalised to sum to 1, so
// a constant signal stays exactly constant. Samples beyond either end repeat the end sample,
// so a DC offset does not ramp at the edges. Rates must be multiples of 0.001 Hz.

/**
 * Where sample k of a signal at fsIn lands at fsOut: round(k fsOut / fsIn). Resampling starts
 * both at time 0 and the filters are zero-phase, so an event (an annotated beat) keeps its time.
 */
export function resampledIndex(k: number, fsIn: number, fsOut: number): number {
  return fsIn === fsOut ? k : Math.round((k * fsOut) / fsIn);
}

const ZERO_CROSSINGS = 16;
const KAISER_BETA = 8;
const CUTOFF = 0.45; // of the lower rate
const MAX_PHASES = 20000;

export interface ResampleFilter {
  /** output samples per `down` input samples */
  up: number;
  down: number;
  /** taps per output sample */
  taps: number;
  /** [up][taps]: weights of inputs floor(i down / up) - half + 1 + t for output i of phase i down % up */
  table: Float64Array;
  half: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (series), for the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1, term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

/** The polyphase filter taking fsIn to fsOut; throws RangeError for rates it cannot pair. */
export function resampleFilter(fsIn: number, fsOut: number): ResampleFilter {
  const a = Math.round(fsIn * 1000), b = Math.round(fsOut * 1000);
  if (!(fsIn > 0 && fsOut > 0) || Math.abs(a - fsIn * 1000) > 1e-6 || Math.abs(b - fsOut * 1000) > 1e-6) {
    throw new RangeError(`cannot resample ${fsIn} Hz to ${fsOut} Hz: rates must be positive multiples of 0.001 Hz`);
  }
  const g = gcd(a, b);
  const up = b / g, down = a / g;
  if (up > MAX_PHASES) throw new RangeError(`cannot resample ${fsIn} Hz to ${fsOut} Hz: the ratio ${up}/${down} needs too many filter phases`);
  // Cutoff in cycles per input sample; the sinc's zero crossings are 1 / (2 fc) input samples apart.
  const fc = (CUTOFF * Math.min(fsIn, fsOut)) / fsIn;
  const halfSpan = ZERO_CROSSINGS / (2 * fc); // input samples on each side
  const half = Math.ceil(halfSpan);
  const taps = 2 * half;
  const table = new Float64Array(up * taps);
  const i0Beta = besselI0(KAISER_BETA);
  for (let p = 0; p < up; p++) {
    const frac = p / up; // output position past input floor(...), in input samples
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const d = frac + half - 1 - t; // distance from this tap's input sample to the output time
      const r = d / halfSpan;
      const window = Math.abs(r) >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0Beta;
      const x = 2 * fc * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const h = 2 * fc * sinc * window;
      table[p * taps + t] = h;
      sum += h;
    }
    for (let t = 0; t < taps; t++) table[p * taps + t]! /= sum;
  }
  return { up, down, taps, table, half };
}

/** Number of output samples covering the same time span as `n` input samples. */
export function resampledLength(n: number, f: ResampleFilter): number {
  return n === 0 ? 0 : Math.floor(((n - 1) * f.up) / f.down) + 1;
}

/** x sampled at fsIn, resampled to fsOut (output sample i at time i / fsOut). */
export function resample(x: Float32Array, fsIn: number, fsOut: number): Float32Array {
  if (fsIn === fsOut) return x;
  const f = resampleFilter(fsIn, fsOut);
  const { up, down, taps, table, half } = f;
  const n = x.length;
  const y = new Float32Array(resampledLength(n, f));
  for (let i = 0; i < y.length; i++) {
    const pos = i * down;
    const k0 = Math.floor(pos / up);
    const row = (pos - k0 * up) * taps;
    const first = k0 - half + 1;
    let acc = 0;
    if (first >= 0 && first + taps <= n) {
      for (let t = 0; t < taps; t++) acc += table[row + t]! * x[first + t]!;
    } else {
      for (let t = 0; t < taps; t++) acc += table[row + t]! * x[Math.min(n - 1, Math.max(0, first + t))]!;
    }
    y[i] = acc;
  }
  return y;
}

/**
 * x resampled to `length` samples by linear interpolation with the ends aligned (sample i of
 * the result is x at i (x.length - 1) / (length - 1)): how a beat-to-beat segment becomes a
 * window of the model's length, and its reconstruction a segment again (PipelineSettings.windows 'rr').
 */
export function linearResample(x: ArrayLike<number>, length: number, out = new Float32Array(length)): Float32Array {
  if (!Number.isInteger(length) || length < 2 || x.length < 2) throw new RangeError(`linear resampling needs 2 or more samples in and out, got ${x.length} to ${length}`);
  const step = (x.length - 1) / (length - 1);
  for (let i = 0; i < length; i++) {
    const p = i * step;
    const k = Math.min(Math.floor(p), x.length - 2);
    const frac = p - k;
    out[i] = x[k]! + frac * (x[k + 1]! - x[k]!);
  }
  return out;
}
