// Baseline-wander removal: a 2nd-order Butterworth high-pass at 0.5 Hz run forward and then
// backward (zero phase, so the QRS complexes do not shift; 4th-order magnitude overall), like
// scipy's filtfilt with odd-reflection padding of 3 s at each end to settle the filter. And an
// ideal lowpass, the reference that shows how much of a recording lies above a frequency.
import { fft, nextPow2 } from './fft.js';

export const BASELINE_CUTOFF_HZ = 0.5;

interface Biquad { b0: number; b1: number; b2: number; a1: number; a2: number }

/** RBJ cookbook high-pass with Q = 1/sqrt(2) (Butterworth). */
function highpassBiquad(fc: number, fs: number): Biquad {
  const w0 = (2 * Math.PI * fc) / fs;
  const alpha = Math.sin(w0) / (2 * Math.SQRT1_2);
  const cos = Math.cos(w0);
  const a0 = 1 + alpha;
  return {
    b0: (1 + cos) / 2 / a0, b1: -(1 + cos) / a0, b2: (1 + cos) / 2 / a0,
    a1: (-2 * cos) / a0, a2: (1 - alpha) / a0,
  };
}

/** Direct form II transposed, in place, starting from the steady state of a constant x[0]. */
function runBiquad(x: Float64Array, f: Biquad, reverse: boolean): void {
  const n = x.length;
  // A high-pass has zero DC gain: for a constant input x0 the steady state is y = 0 with
  // z1 = -b0 x0 ... which we derive from y = 0: z1 = -b0 x0, z2 = b2 x0 (no start-up step).
  const x0 = x[reverse ? n - 1 : 0]!;
  let z1 = -f.b0 * x0, z2 = f.b2 * x0;
  for (let i = 0; i < n; i++) {
    const k = reverse ? n - 1 - i : i;
    const xi = x[k]!;
    const y = f.b0 * xi + z1;
    z1 = f.b1 * xi - f.a1 * y + z2;
    z2 = f.b2 * xi - f.a2 * y;
    x[k] = y;
  }
}

/** The signal with its baseline wander (content below about 0.5 Hz) removed, zero phase. */
export function removeBaseline(signal: Float32Array, fs: number): Float32Array {
  const n = signal.length;
  if (n < 2) return new Float32Array(n);
  const pad = Math.min(n - 1, Math.round(3 * fs));
  // Odd reflection about each end keeps the signal and its slope continuous there.
  const ext = new Float64Array(n + 2 * pad);
  for (let i = 0; i < pad; i++) {
    ext[i] = 2 * signal[0]! - signal[pad - i]!;
    ext[pad + n + i] = 2 * signal[n - 1]! - signal[n - 2 - i]!;
  }
  for (let i = 0; i < n; i++) ext[pad + i] = signal[i]!;
  const f = highpassBiquad(BASELINE_CUTOFF_HZ, fs);
  runBiquad(ext, f, false);
  runBiquad(ext, f, true);
  return Float32Array.from(ext.subarray(pad, pad + n));
}

/**
 * The signal with everything above `cutoffHz` removed: an ideal (brick-wall) zero-phase lowpass
 * through one FFT of the whole signal, zero-padded to a power of two. Not a filter for use on
 * data, a reference: what keeping only the band below the cutoff leaves of a recording.
 */
export function idealLowpass(signal: Float32Array, fs: number, cutoffHz: number): Float32Array {
  const size = nextPow2(signal.length);
  const re = new Float64Array(size), im = new Float64Array(size);
  re.set(signal);
  fft(re, im);
  for (let k = 0; k < size; k++) {
    if ((Math.min(k, size - k) * fs) / size > cutoffHz) re[k] = im[k] = 0;
  }
  fft(re, im, true);
  // The inverse transform is unscaled.
  return Float32Array.from(re.subarray(0, signal.length), (v) => v / size);
}
