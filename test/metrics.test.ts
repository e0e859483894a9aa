// Reconstruction metrics (SNR, PRD, PRDN, summaries) against hand-computed values, and the PCA
// baseline against data whose principal components are known.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitPca, jacobiEigen, pcaReconstruct } from '../src/metrics/pca.js';
import { percentile, prd, prdn, segmentMetrics, setMetrics, snrDb, SNR_CAP_DB, summarize, summarizeByRecord, windowMetrics } from '../src/metrics/reconstruction.js';
import { rng } from './helpers.js';

const close = (got: number, want: number, tol: number, what = '') =>
  assert.ok(Math.abs(got - want) <= tol, `${what} ${got} != ${want} (tolerance ${tol})`);

describe('per-window metrics', () => {
  it('x = [3, 4], error [0.3, 0.4]: SNR 20 dB, PRD 10%, PRDN 50 sqrt(2)%', () => {
    const x = [3, 4], xhat = [2.7, 3.6];
    close(snrDb(x, xhat), 20, 1e-12, 'SNR');
    close(prd(x, xhat), 10, 1e-12, 'PRD');
    // mean 3.5, x - mean = [-0.5, 0.5], norm sqrt(0.5): PRDN = 100 * 0.5 / sqrt(0.5)
    close(prdn(x, xhat), 50 * Math.SQRT2, 1e-12, 'PRDN');
  });

  it('a DC offset hides the error from PRD but not from PRDN', () => {
    const x = [103, 104], xhat = [102.7, 103.6];
    // ||x|| = sqrt(103^2 + 104^2) = sqrt(21425); the centred signal is the same as for [3, 4]
    close(prd(x, xhat), 50 / Math.sqrt(21425), 1e-10, 'PRD');
    close(prdn(x, xhat), 50 * Math.SQRT2, 1e-10, 'PRDN');
    assert.ok(prd(x, xhat) < 0.35 && prdn(x, xhat) > 70);
  });

  it('SNR = -20 log10(PRD / 100) on random windows', () => {
    const rand = rng(7);
    for (let t = 0; t < 50; t++) {
      const x = Array.from({ length: 64 }, () => rand() * 4 - 2);
      const xhat = x.map((v) => v + (rand() - 0.5) * rand());
      close(snrDb(x, xhat), -20 * Math.log10(prd(x, xhat) / 100), 1e-9, `window ${t}`);
    }
  });

  it('degenerate windows follow the identity: exact, zero reference, constant reference', () => {
    assert.equal(snrDb([1, 2], [1, 2]), Infinity);
    assert.equal(prd([1, 2], [1, 2]), 0);
    assert.equal(snrDb([0, 0], [0, 0]), Infinity);
    assert.equal(prd([0, 0], [0, 0]), 0);
    assert.equal(snrDb([0, 0], [0, 1]), -Infinity);
    assert.equal(prd([0, 0], [0, 1]), Infinity);
    assert.equal(prdn([2, 2], [2, 2]), 0);
    assert.equal(prdn([2, 2], [2, 3]), Infinity);
    assert.ok(Number.isNaN(snrDb([1, 2], [1, NaN])));
    assert.throws(() => snrDb([1, 2], [1]), RangeError);
  });

  it('windowMetrics matches the single-window functions, window by window', () => {
    const rand = rng(3);
    const length = 10, count = 7;
    const x = Float32Array.from({ length: length * count }, () => rand() * 2 - 1 + 0.5);
    const y = Float32Array.from(x, (v) => v + (rand() - 0.5) * 0.1);
    const m = windowMetrics(x, y, length);
    assert.equal(m.snr.length, count);
    for (let w = 0; w < count; w++) {
      const xs = x.subarray(w * length, (w + 1) * length), ys = y.subarray(w * length, (w + 1) * length);
      assert.equal(m.snr[w], snrDb(xs, ys));
      assert.equal(m.prd[w], prd(xs, ys));
      assert.equal(m.prdn[w], prdn(xs, ys));
    }
    assert.throws(() => windowMetrics(x, y.subarray(1), length), /reconstruction has/);
    assert.throws(() => windowMetrics(x, y, 9), /not a whole number of windows/);
  });
});

describe('metrics of resampled segments', () => {
  it('score the reconstruction resampled back to each segment, by hand', () => {
    // Segments of 5 and 3 samples as windows of 3 (linear resampling, ends aligned).
    const segments = { data: Float32Array.of(0, 1, 2, 3, 4, 2, -2, 2), offsets: Int32Array.of(0, 5, 8) };
    // A line resamples back exactly: segment 1's window is (0, 2, 4); the reconstruction is it plus 0.5.
    const reconstruction = Float32Array.of(0.5, 2.5, 4.5, 2, -2, 2);
    const m = segmentMetrics(segments, reconstruction, 3);
    // Segment 1: error 0.5 at each of 5 samples, ||x||^2 = 30: SNR 10 log10(30 / 1.25).
    assert.ok(Math.abs(m.snr[0]! - 10 * Math.log10(30 / 1.25)) < 1e-9);
    assert.ok(Math.abs(m.prd[0]! - 100 * Math.sqrt(1.25 / 30)) < 1e-9);
    // PRDN: centred at mean 2, ||x - 2||^2 = 10.
    assert.ok(Math.abs(m.prdn[0]! - 100 * Math.sqrt(1.25 / 10)) < 1e-9);
    // Segment 2 is its window: exact.
    assert.equal(m.snr[1], Infinity);
    // setMetrics takes the segments when a set has them, the windows otherwise.
    assert.deepEqual(setMetrics({ data: new Float32Array(6), length: 3, segments }, reconstruction), m);
    assert.deepEqual(setMetrics({ data: reconstruction, length: 3 }, reconstruction).snr, Float64Array.of(Infinity, Infinity));
    assert.throws(() => segmentMetrics(segments, new Float32Array(5), 3), /2 segments need 6 reconstructed samples, got 5/);
  });
});

describe('percentiles (numpy linear)', () => {
  it('interpolates between order statistics of the sorted values', () => {
    const v = [40, 15, 50, 35, 20]; // sorted: 15 20 35 40 50
    assert.equal(percentile(v, 0), 15);
    assert.equal(percentile(v, 100), 50);
    assert.equal(percentile(v, 50), 35);
    close(percentile(v, 5), 16, 1e-12); // h = 0.2: 15 + 0.2 * (20 - 15)
    close(percentile(v, 40), 29, 1e-12); // h = 1.6: 20 + 0.6 * (35 - 20)
    close(percentile(v, 90), 46, 1e-12); // h = 3.6: 40 + 0.6 * (50 - 40)
    assert.equal(percentile([4, 1, 3, 2], 50), 2.5);
    assert.equal(percentile([7], 5), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.ok(Number.isNaN(percentile([1, NaN], 50)));
    assert.throws(() => percentile(v, 101), RangeError);
  });
});

// Three windows of two samples, all exact in float32:
//   [30, 40] -> [27, 36]:  error norm 5, ||x|| 50: SNR 20 dB, PRD 10%, centred norm 5 sqrt(2): PRDN 50 sqrt(2)%
//   [100, 0] -> [100, 1]:  error 1, ||x|| 100: SNR 40 dB, PRD 1%, centred norm 50 sqrt(2): PRDN sqrt(2)%
//   [5, -5]  -> [5, -5]:   exact: SNR +Infinity (capped), PRD 0, PRDN 0
const tinyX = Float32Array.of(30, 40, 100, 0, 5, -5);
const tinyY = Float32Array.of(27, 36, 100, 1, 5, -5);

describe('summaries', () => {
  it('summarize a tiny set', () => {
    const m = windowMetrics(tinyX, tinyY, 2);
    close(m.snr[0]!, 20, 1e-12); close(m.snr[1]!, 40, 1e-12); assert.equal(m.snr[2], Infinity);
    const s = summarize(m);
    assert.equal(s.windows, 3);
    assert.equal(s.snr_capped, 1);
    close(s.asnr_db, (20 + 40 + SNR_CAP_DB) / 3, 1e-12, 'ASNR');
    close(s.prd, 11 / 3, 1e-12, 'PRD');
    close(s.prdn, (50 * Math.SQRT2 + Math.SQRT2) / 3, 1e-12, 'PRDN');
    close(s.snr_median_db, 40, 1e-12, 'median');
    close(s.snr_p5_db, 22, 1e-12, 'p5'); // sorted [20, 40, 200], h = 0.1
    assert.equal(s.prd_skipped, 0);
  });

  it('an all-zero reference with an error: SNR capped at -200 dB, left out of the PRD means', () => {
    const s = summarize(windowMetrics(Float32Array.of(30, 40, 0, 0), Float32Array.of(27, 36, 1, 0), 2));
    assert.equal(s.snr_capped, 1);
    close(s.asnr_db, (20 - SNR_CAP_DB) / 2, 1e-12);
    close(s.prd, 10, 1e-12);
    assert.equal(s.prd_skipped, 1);
    assert.equal(s.prdn_skipped, 1);
    const empty = summarize(windowMetrics(new Float32Array(0), new Float32Array(0), 2));
    assert.equal(empty.windows, 0);
    assert.ok(Number.isNaN(empty.asnr_db) && Number.isNaN(empty.prd));
  });

  it('a NaN reconstruction makes the summary NaN', () => {
    const s = summarize(windowMetrics(Float32Array.of(30, 40, 1, 2), Float32Array.of(27, 36, NaN, 2), 2));
    assert.ok(Number.isNaN(s.asnr_db) && Number.isNaN(s.prd) && Number.isNaN(s.snr_median_db));
  });

  it('per-record summaries group windows by origin, in record order, plus the overall', () => {
    const m = windowMetrics(tinyX, tinyY, 2);
    const origin = [{ record: 1, start: 0 }, { record: 0, start: 0 }, { record: 1, start: 2 }];
    const { records, overall } = summarizeByRecord(m, origin, ['a', 'b', 'c']);
    assert.deepEqual(records.map((r) => [r.record, r.name, r.summary.windows]), [[0, 'a', 1], [1, 'b', 2]]);
    close(records[0]!.summary.asnr_db, 40, 1e-12);
    close(records[1]!.summary.asnr_db, (20 + SNR_CAP_DB) / 2, 1e-12);
    close(records[1]!.summary.prd, 5, 1e-12);
    assert.deepEqual(overall, summarize(m));
    assert.throws(() => summarizeByRecord(m, origin.slice(1), ['a', 'b']), /3 windows of metrics but 2/);
    assert.throws(() => summarizeByRecord(m, origin, ['a']), /record 1, but only 1 record names/);
  });
});

/** C C^T for m rows of length n (row-major): the identity when the rows are orthonormal. */
function gram(C: Float64Array, m: number, n: number): Float64Array {
  const g = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += C[i * n + k]! * C[j * n + k]!;
    g[i * m + j] = s;
  }
  return g;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** count windows of length n: mean + sum over r random directions with random weights. */
function lowRank(rand: () => number, n: number, r: number, count: number, mean: Float64Array, basis?: Float64Array) {
  const B = basis ?? Float64Array.from({ length: r * n }, () => rand() * 2 - 1);
  const data = new Float32Array(count * n);
  for (let w = 0; w < count; w++) {
    const a = Array.from({ length: r }, () => rand() * 4 - 2);
    for (let i = 0; i < n; i++) {
      let v = mean[i]!;
      for (let k = 0; k < r; k++) v += a[k]! * B[k * n + i]!;
      data[w * n + i] = v;
    }
  }
  return { data, basis: B };
}

describe('PCA baseline', () => {
  it('rank-r data plus a mean is reconstructed exactly with m >= r components', () => {
    const rand = rng(11);
    const n = 32, r = 3;
    const mean = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 3) + 0.5);
    const train = lowRank(rand, n, r, 200, mean);
    const other = lowRank(rand, n, r, 50, mean, train.basis);
    for (const m of [3, 5]) {
      const model = fitPca(train.data, n, m);
      assert.ok(maxAbsDiff(pcaReconstruct(model, train.data, n), train.data) < 1e-5, `m = ${m}, train`);
      assert.ok(maxAbsDiff(pcaReconstruct(model, other.data, n), other.data) < 1e-5, `m = ${m}, other`);
      // nothing beyond rank r
      for (let k = r; k < m; k++) assert.ok(model.explained[k]! < 1e-9 * model.explained[0]!, `eigenvalue ${k}: ${model.explained[k]}`);
    }
    // with fewer components than the rank it is not exact
    const short = fitPca(train.data, n, 2);
    assert.ok(maxAbsDiff(pcaReconstruct(short, train.data, n), train.data) > 1e-2);
  });

  it('components are orthonormal and eigenvalues descending', () => {
    const rand = rng(5);
    const n = 48;
    const data = Float32Array.from({ length: 400 * n }, () => rand() * 2 - 1);
    for (const m of [10, n]) {
      const model = fitPca(data, n, m);
      const g = gram(model.components, m, n);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) close(g[i * m + j]!, i === j ? 1 : 0, 1e-9, `C C^T [${i}][${j}]`);
      for (let k = 1; k < m; k++) assert.ok(model.explained[k]! <= model.explained[k - 1]!);
      if (m === n) close(model.explained.reduce((a, b) => a + b, 0), model.totalVariance, 1e-9 * model.totalVariance);
    }
  });

  it('eigenvalues and directions of a known diagonal covariance', () => {
    // Columns 1..4 of the 8 x 8 Sylvester Hadamard matrix are orthogonal and sum to zero, so
    // windows w with sample j = offset_j + s_j H[w][j + 1] have covariance diag(8 s_j^2 / 7).
    const n = 4, count = 8;
    const s = [1, 3, 2, 0.5], offset = [10, -2, 0, 5];
    const sign = (i: number, j: number) => (popcount(i & j) % 2 === 0 ? 1 : -1);
    const data = new Float32Array(count * n);
    for (let w = 0; w < count; w++) for (let j = 0; j < n; j++) data[w * n + j] = offset[j]! + s[j]! * sign(w, j + 1);
    const model = fitPca(data, n, n);
    assert.ok(maxAbsDiff(model.mean, offset) < 1e-12);
    const want = [9, 4, 1, 0.25].map((v) => (v * 8) / 7);
    assert.ok(maxAbsDiff(model.explained, want) < 1e-12, `eigenvalues ${Array.from(model.explained)}`);
    close(model.totalVariance, want.reduce((a, b) => a + b, 0), 1e-12);
    // directions e_1, e_2, e_0, e_3, the sign making the largest entry positive
    const dirs = [1, 2, 0, 3];
    const expected = new Float64Array(n * n);
    dirs.forEach((j, k) => { expected[k * n + j] = 1; });
    assert.ok(maxAbsDiff(model.components, expected) < 1e-12);
  });

  it('fewer windows than samples: rank count - 1, training windows exact', () => {
    const rand = rng(9);
    const n = 16, count = 5;
    const data = Float32Array.from({ length: count * n }, () => rand() * 2 - 1);
    for (const m of [count - 1, n]) {
      const model = fitPca(data, n, m);
      assert.ok(maxAbsDiff(pcaReconstruct(model, data, n), data) < 1e-5, `m = ${m}`);
      for (let k = count - 1; k < m; k++) assert.ok(model.explained[k]! < 1e-12 * model.explained[0]!);
      const g = gram(model.components, m, n);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) close(g[i * m + j]!, i === j ? 1 : 0, 1e-9);
    }
    // one window: the mean is all there is
    const one = fitPca(data.subarray(0, n), n, 2);
    assert.ok(maxAbsDiff(pcaReconstruct(one, data.subarray(0, n), n), data.subarray(0, n)) < 1e-6);
  });

  it('reconstruction error never grows with more components, and is 0 at m = n', () => {
    const rand = rng(21);
    const n = 24;
    const train = Float32Array.from({ length: 300 * n }, () => rand() * 2 - 1);
    const other = Float32Array.from({ length: 100 * n }, () => rand() * 2 - 1);
    for (const data of [train, other]) {
      const errors: number[] = [];
      for (let m = 1; m <= n; m++) {
        const y = pcaReconstruct(fitPca(train, n, m), data, n);
        errors.push(data.reduce((a, v, i) => a + (v - y[i]!) ** 2, 0));
      }
      for (let m = 1; m < n; m++) assert.ok(errors[m]! <= errors[m - 1]! + 1e-9 * errors[0]!, `m = ${m + 1}: ${errors[m]} > ${errors[m - 1]}`);
      assert.ok(errors[0]! > errors[n - 2]! && errors[n - 1]! < 1e-9 * errors[0]!);
    }
  });

  it('m = 16 on sine-like windows: held-out ASNR finite and high', () => {
    const rand = rng(4);
    const n = 128, fs = 128;
    const windows = (count: number) => {
      const out = new Float32Array(count * n);
      for (let w = 0; w < count; w++) {
        const f = 1 + rand() * 0.5; // beat rate 60-90 per minute
        const parts = [1, 2, 3].map((h) => ({ h, a: (rand() + 0.5) / h, p: rand() * 2 * Math.PI }));
        for (let i = 0; i < n; i++) {
          let v = 0;
          for (const { h, a, p } of parts) v += a * Math.sin((2 * Math.PI * h * f * i) / fs + p);
          out[w * n + i] = v + (rand() - 0.5) * 0.01;
        }
      }
      return out;
    };
    const model = fitPca(windows(2000), n, 16);
    const test = windows(300);
    const s = summarize(windowMetrics(test, pcaReconstruct(model, test, n), n));
    assert.equal(s.snr_capped, 0);
    assert.ok(Number.isFinite(s.asnr_db) && s.asnr_db > 25, `ASNR ${s.asnr_db} dB`);
    assert.ok(s.snr_p5_db > 15, `5th percentile ${s.snr_p5_db} dB`);
  });

  it('refuses impossible shapes with a RangeError that says what is wrong', () => {
    const data = new Float32Array(40);
    assert.throws(() => fitPca(data, 8, 9), (e: Error) => e instanceof RangeError && /components must be a whole number from 1 to the window length 8, got 9/.test(e.message));
    assert.throws(() => fitPca(data, 8, 0), RangeError);
    assert.throws(() => fitPca(data, 7, 2), /not a whole number of windows of 7/);
    assert.throws(() => fitPca(new Float32Array(0), 8, 2), /no training windows/);
    assert.throws(() => fitPca(Float32Array.of(1, NaN), 2, 1), /non-finite/);
    const model = fitPca(Float32Array.from({ length: 40 }, (_, i) => i % 7), 8, 2);
    assert.throws(() => pcaReconstruct(model, data, 4), /fitted on windows of 8 samples/);
  });

  it('Jacobi: eigenpairs of a random symmetric matrix satisfy A v = lambda v', () => {
    const rand = rng(2);
    const n = 30;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) A[i * n + j] = A[j * n + i] = rand() * 2 - 1;
    const { values, vectors } = jacobiEigen(A, n);
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += A[i * n + j]! * vectors[k * n + j]!;
        close(av, values[k]! * vectors[k * n + i]!, 1e-12, `pair ${k}, row ${i}`);
      }
    }
  });
});

function popcount(v: number): number {
  let c = 0;
  for (; v; v &= v - 1) c++;
  return c;
}
