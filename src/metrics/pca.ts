// The linear baseline for an autoencoder with latent size m: PCA with m components, fitted on
// the training windows, reconstructing other windows. An autoencoder that does not beat the
// ASNR of this baseline has learned nothing a linear map could not. Pure, no tfjs.
//
// Fit: mean per sample position, covariance n x n in float64 (divided by count - 1, as numpy
// and scikit-learn do), then all eigenpairs by cyclic Jacobi: n <= 512 in practice, and Jacobi
// gives eigenvectors orthonormal to rounding without any reorthogonalisation.

export interface PcaModel {
  /** Mean window (n values). */
  mean: Float64Array;
  /** m x n, row k is the k-th principal direction (unit length, rows orthonormal). */
  components: Float64Array;
  /** Variance along each component (its covariance eigenvalue), descending; length m. */
  explained: Float64Array;
  /** Trace of the covariance: explained.sum() / totalVariance is the fraction kept. */
  totalVariance: number;
}

/**
 * Fits PCA with `components` directions to windows laid end to end. Fewer windows than
 * samples (count < n) is allowed: the covariance then has rank at most count - 1, and the
 * components past that rank have eigenvalue 0 and are some orthonormal completion (they
 * change nothing for windows in the span of the training data).
 */
export function fitPca(train: Float32Array, length: number, components: number): PcaModel {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`PCA: window length must be a whole number >= 1, got ${length}`);
  if (train.length % length !== 0) throw new RangeError(`PCA: ${train.length} samples are not a whole number of windows of ${length}`);
  const n = length;
  const count = train.length / n;
  if (count === 0) throw new RangeError('PCA: no training windows');
  if (!Number.isInteger(components) || components < 1 || components > n) {
    throw new RangeError(`PCA: components must be a whole number from 1 to the window length ${n}, got ${components}`);
  }

  const mean = new Float64Array(n);
  for (let w = 0; w < count; w++) {
    const off = w * n;
    for (let i = 0; i < n; i++) mean[i]! += train[off + i]!;
  }
  for (let i = 0; i < n; i++) {
    mean[i]! /= count;
    if (!Number.isFinite(mean[i]!)) throw new RangeError(`PCA: training windows contain non-finite values (sample position ${i})`);
  }

  const cov = covariance(train, n, count, mean);
  const { values, vectors } = jacobiEigen(cov, n);

  // Descending eigenvalues; ties keep index order so the result is deterministic.
  const order = Array.from(values.keys()).sort((a, b) => values[b]! - values[a]! || a - b);
  const out = new Float64Array(components * n);
  const explained = new Float64Array(components);
  for (let k = 0; k < components; k++) {
    const src = order[k]!;
    // Rounding can leave a zero eigenvalue slightly negative; a variance is not.
    explained[k] = Math.max(0, values[src]!);
    const row = vectors.subarray(src * n, (src + 1) * n);
    // Sign convention (as scikit-learn's svd_flip): the largest entry in magnitude is positive.
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(row[i]!) > Math.abs(row[big]!)) big = i;
    const sign = row[big]! < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) out[k * n + i] = sign * row[i]!;
  }
  let trace = 0;
  for (let i = 0; i < n; i++) trace += cov[i * n + i]!;
  return { mean, components: out, explained, totalVariance: trace };
}

/** Projects each window onto the components and back: mean + C^T C (x - mean). */
export function pcaReconstruct(model: PcaModel, data: Float32Array, length: number): Float32Array {
  const n = model.mean.length;
  if (length !== n) throw new RangeError(`PCA: the model was fitted on windows of ${n} samples, got windows of ${length}`);
  if (data.length % n !== 0) throw new RangeError(`PCA: ${data.length} samples are not a whole number of windows of ${n}`);
  const m = model.components.length / n;
  if (!Number.isInteger(m) || m !== model.explained.length) {
    throw new RangeError(`PCA: model has ${model.components.length} component values for ${model.explained.length} components of ${n}`);
  }
  const count = data.length / n;
  const C = model.components;
  const centred = new Float64Array(n);
  const z = new Float64Array(m);
  const out = new Float32Array(data.length);
  for (let w = 0; w < count; w++) {
    const off = w * n;
    for (let i = 0; i < n; i++) centred[i] = data[off + i]! - model.mean[i]!;
    for (let k = 0; k < m; k++) {
      let s = 0;
      const row = k * n;
      for (let i = 0; i < n; i++) s += C[row + i]! * centred[i]!;
      z[k] = s;
    }
    for (let i = 0; i < n; i++) {
      let s = model.mean[i]!;
      for (let k = 0; k < m; k++) s += z[k]! * C[k * n + i]!;
      out[off + i] = s;
    }
  }
  return out;
}

/**
 * Sample covariance (divided by max(count - 1, 1)), full n x n row-major. This sum of
 * count * n^2 / 2 products is most of the fit's time, so windows go through in blocks of
 * BLOCK, centred and transposed (sample position i is a row of BLOCK values), and each 2 x 2
 * tile of the covariance is four running dot products over the block: four loads per four
 * products and a block that stays in cache.
 */
function covariance(train: Float32Array, n: number, count: number, mean: Float64Array): Float64Array {
  const BLOCK = 256;
  const np = n + (n & 1); // an even number of rows for the 2 x 2 tiles; the extra row is zeros
  const T = new Float64Array(np * BLOCK);
  const acc = new Float64Array(np * np);
  for (let w0 = 0; w0 < count; w0 += BLOCK) {
    const k = Math.min(BLOCK, count - w0);
    for (let w = 0; w < k; w++) {
      const off = (w0 + w) * n;
      for (let i = 0; i < n; i++) T[i * BLOCK + w] = train[off + i]! - mean[i]!;
    }
    for (let i = 0; i < np; i += 2) {
      const r0 = i * BLOCK, r1 = r0 + BLOCK;
      for (let j = i; j < np; j += 2) {
        const s0 = j * BLOCK, s1 = s0 + BLOCK;
        let c00 = 0, c01 = 0, c10 = 0, c11 = 0;
        for (let w = 0; w < k; w++) {
          const x0 = T[r0 + w]!, x1 = T[r1 + w]!, y0 = T[s0 + w]!, y1 = T[s1 + w]!;
          c00 += x0 * y0; c01 += x0 * y1; c10 += x1 * y0; c11 += x1 * y1;
        }
        const a = i * np + j;
        acc[a]! += c00; acc[a + 1]! += c01; acc[a + np]! += c10; acc[a + np + 1]! += c11;
      }
    }
  }
  // Only i <= j was summed for every pair (c10 on the diagonal tiles is below it): mirror that.
  const cov = new Float64Array(n * n);
  const scale = 1 / Math.max(count - 1, 1);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = acc[i * np + j]! * scale;
      cov[i * n + j] = v;
      cov[j * n + i] = v;
    }
  }
  return cov;
}

/**
 * All eigenpairs of a symmetric n x n matrix (row-major, not modified) by cyclic Jacobi with
 * a threshold in the first sweeps, after Numerical Recipes' `jacobi`: only the upper triangle
 * is rotated, and diagonal updates are gathered per sweep (z) to limit rounding. Returns the
 * eigenvalues unsorted and the eigenvectors as rows of `vectors` (row k goes with values[k]).
 */
export function jacobiEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array; sweeps: number } {
  if (matrix.length !== n * n) throw new RangeError(`eigen: expected ${n * n} matrix entries, got ${matrix.length}`);
  const a = Float64Array.from(matrix); // a[p * n + q], p < q, is the only off-diagonal entry used
  const v = new Float64Array(n * n); // v[k * n + i]: component i of eigenvector k
  const d = new Float64Array(n), b = new Float64Array(n), z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    v[i * n + i] = 1;
    b[i] = d[i] = a[i * n + i]!;
  }
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i]! * a[i]!;
  scale = Math.sqrt(scale);

  const MAX_SWEEPS = 60;
  for (let sweep = 1; sweep <= MAX_SWEEPS; sweep++) {
    let off = 0, sum = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const x = a[p * n + q]!;
        off += x * x;
        sum += Math.abs(x);
      }
    }
    // Off-diagonal mass down to the rounding of the matrix as a whole: d is the spectrum.
    if (Math.sqrt(2 * off) <= 1e-15 * scale) return { values: d, vectors: v, sweeps: sweep - 1 };
    // Early sweeps skip small entries: rotating them is wasted while bigger ones remain.
    const threshold = sweep < 4 ? (0.2 * sum) / (n * n) : 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        const g = 100 * Math.abs(apq);
        // Later, an entry below the rounding of both diagonal entries is simply zeroed.
        if (sweep > 4 && Math.abs(d[p]!) + g === Math.abs(d[p]!) && Math.abs(d[q]!) + g === Math.abs(d[q]!)) {
          a[p * n + q] = 0;
          continue;
        }
        if (Math.abs(apq) <= threshold || apq === 0) continue;
        // t = tan(phi) of the rotation that zeroes a[p][q], the smaller root for stability.
        const h = d[q]! - d[p]!;
        let t: number;
        if (Math.abs(h) + g === Math.abs(h)) {
          t = apq / h;
        } else {
          const theta = (0.5 * h) / apq;
          t = 1 / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
          if (theta < 0) t = -t;
        }
        const c = 1 / Math.sqrt(1 + t * t), s = t * c, tau = s / (1 + c), tapq = t * apq;
        z[p]! -= tapq; z[q]! += tapq;
        d[p]! -= tapq; d[q]! += tapq;
        a[p * n + q] = 0;
        // (x, y) -> (x - s (y + tau x), y + s (x - tau y)) is (c x - s y, s x + c y).
        for (let j = 0; j < p; j++) {
          const x = a[j * n + p]!, y = a[j * n + q]!;
          a[j * n + p] = x - s * (y + tau * x); a[j * n + q] = y + s * (x - tau * y);
        }
        for (let j = p + 1; j < q; j++) {
          const x = a[p * n + j]!, y = a[j * n + q]!;
          a[p * n + j] = x - s * (y + tau * x); a[j * n + q] = y + s * (x - tau * y);
        }
        for (let j = q + 1; j < n; j++) {
          const x = a[p * n + j]!, y = a[q * n + j]!;
          a[p * n + j] = x - s * (y + tau * x); a[q * n + j] = y + s * (x - tau * y);
        }
        const vp = p * n, vq = q * n;
        for (let j = 0; j < n; j++) {
          const x = v[vp + j]!, y = v[vq + j]!;
          v[vp + j] = x - s * (y + tau * x); v[vq + j] = y + s * (x - tau * y);
        }
      }
    }
    for (let i = 0; i < n; i++) {
      b[i]! += z[i]!;
      d[i] = b[i]!;
      z[i] = 0;
    }
  }
  throw new RangeError(`eigen: Jacobi did not converge in ${MAX_SWEEPS} sweeps (n = ${n})`);
}
