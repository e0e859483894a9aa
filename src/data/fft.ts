// A small radix-2 FFT: enough for the ECGSYN RR process (and any spectrum a test wants),
// without pulling in a dependency. Plain float64 loops over Math.cos/sin tables, so the result
// is the same on every machine.

/**
 * In-place iterative radix-2 complex FFT of (re, im), length a power of two.
 * Forward: X[k] = sum_m x[m] e^{-2 pi i k m / n}. Inverse (inverse = true): the same with
 * e^{+...} and no 1/n factor; divide by n yourself if you want the true inverse.
 */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n) throw new RangeError(`fft: re and im lengths differ (${n} vs ${im.length})`);
  if (n < 1 || (n & (n - 1)) !== 0) throw new RangeError(`fft: length must be a power of two, got ${n}`);

  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!; re[i] = re[j]!; re[j] = t;
      t = im[i]!; im[i] = im[j]!; im[j] = t;
    }
  }

  // One twiddle table for all stages: w^k = e^{-+2 pi i k / n}, k < n/2.
  const half = n >> 1;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = sign * Math.sin((2 * Math.PI * k) / n);
  }

  for (let size = 2; size <= n; size <<= 1) {
    const h = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < h; k++) {
        const wr = cos[k * step]!, wi = sin[k * step]!;
        const a = start + k, b = a + h;
        const tr = re[b]! * wr - im[b]! * wi;
        const ti = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - tr; im[b] = im[a]! - ti;
        re[a] = re[a]! + tr; im[a] = im[a]! + ti;
      }
    }
  }
}

/** Smallest power of two >= n (n >= 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
