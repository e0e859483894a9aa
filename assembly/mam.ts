// The fused MAM forward pass, compiled to WebAssembly SIMD (see scripts/build-wasm.mjs).
//
// For x [B, n], an effective kernel w [n, m] (pruned entries already 0) and S contiguous
// input slices, it writes
//   y[b, k]          = sum over slices s of (max_j w[j,k] x[b,j] + min_j w[j,k] x[b,j])
//   imax[b, s, k]    = the j of that max (int32), imin likewise
// in one pass, without a [B, n, m] product tensor. The scan runs over j in order with strict
// > and <, so the lowest index wins ties; accumulators start at -inf / +inf, and in 'zero'
// mode the indices start at the slice's first input (so a slice of products that overflowed
// to -inf still selects one). A slice with no connection (every entry masked in 'absent'
// mode) contributes 0 and reports index -1. Inputs must be finite: the caller checks with
// allFinite() and sends NaN and infinities to the JavaScript reference, which propagates NaN.
//
// Vectorised over outputs: kernel rows are contiguous in k, so two v128 loads give the
// products of input j with 8 neighbouring outputs (two independent vectors per step hide the
// latency of the running max/min; 16 spill registers and are slower). f32x4.pmax(a, b) is
// `a < b ? b : a`, exactly "replace only when strictly greater"; the index follows the same
// comparison. The kernel's columns for 8 outputs (n x 32 bytes) stay in L1 across the batch.
// All pointers are byte offsets into this module's memory, laid out by the JS caller.

// Slice s covers inputs [sliceStart(s), sliceStart(s + 1)).
@inline function sliceStart(s: i32, n: i32, S: i32): i32 {
  return <i32>((<i64>s * <i64>n) / <i64>S);
}

// ix, iy hold index + 1 (0: nothing selected), see forward().
@inline function addSlice(y: v128, mx: v128, mn: v128, ix: v128, iy: v128): v128 {
  // Slices that selected nothing (no kept connection) contribute 0.
  const none = v128.and(i32x4.eq(ix, i32x4.splat(0)), i32x4.eq(iy, i32x4.splat(0)));
  const sum = f32x4.add(mx, mn);
  return f32x4.add(y, v128.andnot(sum, none));
}

// 'zero' mode: every connection takes part; pruned ones offer the product 0.
export function forwardZero(
  x: usize, w: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize,
): void {
  forward(x, w, 0, B, n, m, S, y, imax, imin, 0, m, 0, false);
}

// 'absent' mode: mask holds a float32 per kernel entry, 1 (kept) or 0 (pruned); a pruned
// connection is left out of the max and min entirely.
export function forwardAbsent(
  x: usize, w: usize, mask: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize,
): void {
  forward(x, w, mask, B, n, m, S, y, imax, imin, 0, m, 0, false);
}

// The training engine's call: outputs [k0, k1) only (a thread's share; k0 a multiple of 8),
// mask = 0 for 'zero' mode, and when dense != 0 also the plain sum of the same products,
// dense[b, k] = sum over j in order of w[j,k] x[b,j] (the MAC term of the vcon blend, at the
// cost of one add per product).
export function mamForward(
  x: usize, w: usize, mask: usize, B: i32, n: i32, m: i32, S: i32,
  k0: i32, k1: i32, y: usize, imax: usize, imin: usize, dense: usize,
): void {
  // A literal `withSum` per call, so that the inlined copies have no test in the inner loop.
  if (dense) forward(x, w, mask, B, n, m, S, y, imax, imin, k0, k1, dense, true);
  else forward(x, w, mask, B, n, m, S, y, imax, imin, k0, k1, 0, false);
}

// mask = 0 selects 'zero' mode (tested outside the inner loop); withSum also writes dense.
@inline function forward(
  x: usize, w: usize, mask: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize, k0: i32, k1: i32, dense: usize, withSum: bool,
): void {
  const m8 = k0 + ((k1 - k0) & ~7);
  const rowBytes = <usize>m << 2;
  const one = i32x4.splat(1);
  const zero = f32x4.splat(0);
  for (let k = k0; k < m8; k += 8) {
    for (let b = 0; b < B; b++) {
      const xRow = x + ((<usize>b * <usize>n) << 2);
      let ya = f32x4.splat(0);
      let yb = f32x4.splat(0);
      let sa = f32x4.splat(0);
      let sb = f32x4.splat(0);
      for (let s = 0; s < S; s++) {
        const j0 = sliceStart(s, n, S);
        const j1 = sliceStart(s + 1, n, S);
        // a: outputs k..k+3, b: outputs k+4..k+7
        let mxa = f32x4.splat(-Infinity), mna = f32x4.splat(Infinity);
        let mxb = f32x4.splat(-Infinity), mnb = f32x4.splat(Infinity);
        // Indices are tracked as j + 1, 0 meaning none yet: j only grows, so the index of the
        // last strict improvement is the largest of (improved ? j + 1 : 0), one and + one max
        // per update instead of a three-operation bitselect.
        const first = i32x4.splat(mask == 0 ? j0 + 1 : 0);
        let ixa = first, iya = first;
        let ixb = first, iyb = first;
        let jv = i32x4.splat(j0 + 1);
        let off = <usize>j0 * rowBytes + (<usize>k << 2);
        if (mask == 0) {
          for (let j = j0; j < j1; j++) {
            const xs = f32x4.splat(load<f32>(xRow + (<usize>j << 2)));
            const pa = f32x4.mul(xs, v128.load(w + off));
            const pb = f32x4.mul(xs, v128.load(w + off, 16));
            if (withSum) { sa = f32x4.add(sa, pa); sb = f32x4.add(sb, pb); }
            const gta = f32x4.gt(pa, mxa), lta = f32x4.lt(pa, mna);
            const gtb = f32x4.gt(pb, mxb), ltb = f32x4.lt(pb, mnb);
            mxa = f32x4.pmax(mxa, pa); mna = f32x4.pmin(mna, pa);
            mxb = f32x4.pmax(mxb, pb); mnb = f32x4.pmin(mnb, pb);
            ixa = i32x4.max_s(ixa, v128.and(gta, jv)); iya = i32x4.max_s(iya, v128.and(lta, jv));
            ixb = i32x4.max_s(ixb, v128.and(gtb, jv)); iyb = i32x4.max_s(iyb, v128.and(ltb, jv));
            jv = i32x4.add(jv, one);
            off += rowBytes;
          }
        } else {
          for (let j = j0; j < j1; j++) {
            const xs = f32x4.splat(load<f32>(xRow + (<usize>j << 2)));
            const keepa = f32x4.ne(v128.load(mask + off), zero);
            const keepb = f32x4.ne(v128.load(mask + off, 16), zero);
            const pa = f32x4.mul(xs, v128.load(w + off));
            const pb = f32x4.mul(xs, v128.load(w + off, 16));
            if (withSum) { sa = f32x4.add(sa, pa); sb = f32x4.add(sb, pb); }
            const gta = v128.and(f32x4.gt(pa, mxa), keepa), lta = v128.and(f32x4.lt(pa, mna), keepa);
            const gtb = v128.and(f32x4.gt(pb, mxb), keepb), ltb = v128.and(f32x4.lt(pb, mnb), keepb);
            mxa = v128.bitselect(pa, mxa, gta); mna = v128.bitselect(pa, mna, lta);
            mxb = v128.bitselect(pb, mxb, gtb); mnb = v128.bitselect(pb, mnb, ltb);
            ixa = i32x4.max_s(ixa, v128.and(gta, jv)); iya = i32x4.max_s(iya, v128.and(lta, jv));
            ixb = i32x4.max_s(ixb, v128.and(gtb, jv)); iyb = i32x4.max_s(iyb, v128.and(ltb, jv));
            jv = i32x4.add(jv, one);
            off += rowBytes;
          }
        }
        ya = addSlice(ya, mxa, mna, ixa, iya);
        yb = addSlice(yb, mxb, mnb, ixb, iyb);
        const o = (<usize>(b * S + s) * <usize>m + <usize>k) << 2;
        v128.store(imax + o, i32x4.sub(ixa, one)); v128.store(imax + o, i32x4.sub(ixb, one), 16);
        v128.store(imin + o, i32x4.sub(iya, one)); v128.store(imin + o, i32x4.sub(iyb, one), 16);
      }
      const o = (<usize>b * <usize>m + <usize>k) << 2;
      v128.store(y + o, ya); v128.store(y + o, yb, 16);
      if (withSum) { v128.store(dense + o, sa); v128.store(dense + o, sb, 16); }
    }
  }
  if (m8 < k1) scalarTail(x, w, mask, B, n, m, S, y, imax, imin, m8, k1, dense);
}

// The outputs [kFrom, kTo) one at a time (the last m % 8); mask = 0 means 'zero' mode.
function scalarTail(
  x: usize, w: usize, mask: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize, kFrom: i32, kTo: i32, dense: usize,
): void {
  for (let k = kFrom; k < kTo; k++) {
    for (let b = 0; b < B; b++) {
      let acc: f32 = 0;
      let sum: f32 = 0;
      for (let s = 0; s < S; s++) {
        const j0 = sliceStart(s, n, S);
        const j1 = sliceStart(s + 1, n, S);
        let mx: f32 = -Infinity;
        let mn: f32 = Infinity;
        let ix: i32 = mask == 0 ? j0 : -1;
        let iy: i32 = ix;
        for (let j = j0; j < j1; j++) {
          const e = (<usize>j * <usize>m + <usize>k) << 2;
          const p: f32 = load<f32>(x + ((<usize>b * <usize>n + <usize>j) << 2)) * load<f32>(w + e);
          sum += p;
          if (mask != 0 && load<f32>(mask + e) == 0) continue;
          if (p > mx) { mx = p; ix = j; }
          if (p < mn) { mn = p; iy = j; }
        }
        if (ix != -1 || iy != -1) acc += mx + mn;
        const o = ((<usize>(b * S + s) * <usize>m + <usize>k) << 2);
        store<i32>(imax + o, ix);
        store<i32>(imin + o, iy);
      }
      store<f32>(y + ((<usize>b * <usize>m + <usize>k) << 2), acc);
      if (dense) store<f32>(dense + ((<usize>b * <usize>m + <usize>k) << 2), sum);
    }
  }
}

// 1 if all `count` floats at ptr are finite, else 0: x - x is 0 for a finite x and NaN for
// NaN or +-inf, and a NaN makes the running sum NaN.
export function allFinite(ptr: usize, count: i32): i32 {
  let acc = f32x4.splat(0);
  const n4 = count & ~3;
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(ptr + (<usize>i << 2));
    acc = f32x4.add(acc, f32x4.sub(v, v));
  }
  let tail: f32 = 0;
  for (let i = n4; i < count; i++) {
    const v = load<f32>(ptr + (<usize>i << 2));
    tail += v - v;
  }
  const sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) + tail;
  return sum == 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The training engine's other MAM kernels: the vcon blend with bias and activation, and the
// gradient. See src/layers/mam-math.ts (mamBackwardJs) for the rule these reproduce bit for bit.

/**
 * out[b, k] = act(mix + bias[k]) for k in [k0, k1), where mix is y (dense = 0, beta = 0) or
 * beta * dense + oneMinusBeta * y (the vcon blend); flags & 1 = ReLU (v < 0 ? 0 : v);
 * bias = 0 for none.
 */
export function mamCombine(
  y: usize, dense: usize, bias: usize, out: usize, B: i32, m: i32, k0: i32, k1: i32,
  beta: f32, oneMinusBeta: f32, flags: i32,
): void {
  const relu = (flags & 1) != 0;
  const vb = f32x4.splat(beta), vo = f32x4.splat(oneMinusBeta), zero = f32x4.splat(0);
  for (let b = 0; b < B; b++) {
    const row = <usize>b * <usize>m;
    let k = k0;
    for (; k + 4 <= k1; k += 4) {
      const e = (row + <usize>k) << 2;
      let v = v128.load(y + e);
      if (dense) v = f32x4.add(f32x4.mul(v128.load(dense + e), vb), f32x4.mul(v, vo));
      if (bias) v = f32x4.add(v, v128.load(bias + (<usize>k << 2)));
      if (relu) v = f32x4.pmax(v, zero);
      v128.store(out + e, v);
    }
    for (; k < k1; k++) {
      const e = (row + <usize>k) << 2;
      let v = load<f32>(y + e);
      if (dense) v = load<f32>(dense + e) * beta + v * oneMinusBeta;
      if (bias) v += load<f32>(bias + (<usize>k << 2));
      if (relu) v = select<f32>(0, v, v < 0);
      store<f32>(out + e, v);
    }
  }
}

// Whether the min at (a, i) also takes the gradient: always when it is another connection;
// when it is the max's own, only if the slice has that one connection (max + min = 2 p).
@inline function minTakesGradient(a: i32, i: i32, counts: usize, s: i32, m: i32, k: i32): bool {
  return i >= 0 && (i != a || load<i32>(counts + ((<usize>s * <usize>m + <usize>k) << 2)) == 1);
}

/**
 * dw[j, k] += g x[b, j] for the selected j of each (b, slice), outputs k in [k0, k1), with
 * g = dz[b, k] * scale (scale = 1 - beta; 1 skips the multiply). counts [S, m] (int32) holds
 * each slice's number of connections. dw must hold the dense part (or zeros) already.
 */
export function mamBackwardW(
  dz: usize, x: usize, imax: usize, imin: usize, counts: usize, B: i32, n: i32, m: i32, S: i32,
  k0: i32, k1: i32, scale: f32, dw: usize,
): void {
  const scaled = scale != 1;
  // b outside k: rows of dz and of the selections are read in order; each dw[j, k] still
  // receives its terms in (b, slice) order, as in the reference.
  for (let b = 0; b < B; b++) {
    const xRow = x + ((<usize>b * <usize>n) << 2);
    const dzRow = dz + ((<usize>b * <usize>m) << 2);
    for (let s = 0; s < S; s++) {
      const sel = (<usize>(b * S + s) * <usize>m) << 2;
      for (let k = k0; k < k1; k++) {
        let g = load<f32>(dzRow + (<usize>k << 2));
        if (scaled) g *= scale;
        const a = load<i32>(imax + sel + (<usize>k << 2)), i = load<i32>(imin + sel + (<usize>k << 2));
        if (a >= 0) {
          const p = dw + ((<usize>a * <usize>m + <usize>k) << 2);
          store<f32>(p, load<f32>(p) + g * load<f32>(xRow + (<usize>a << 2)));
        }
        if (minTakesGradient(a, i, counts, s, m, k)) {
          const p = dw + ((<usize>i * <usize>m + <usize>k) << 2);
          store<f32>(p, load<f32>(p) + g * load<f32>(xRow + (<usize>i << 2)));
        }
      }
    }
  }
}

/**
 * dx[b, j] += g w[j, k] for the selected j of each (b, slice, k) that fall in [j0, j1) (a
 * thread's share of the inputs), g as in mamBackwardW. dx must hold the dense part or zeros.
 */
export function mamBackwardX(
  dz: usize, w: usize, imax: usize, imin: usize, counts: usize, B: i32, n: i32, m: i32, S: i32,
  j0: i32, j1: i32, scale: f32, dx: usize,
): void {
  const scaled = scale != 1;
  for (let b = 0; b < B; b++) {
    const dxRow = dx + ((<usize>b * <usize>n) << 2);
    const dzRow = dz + ((<usize>b * <usize>m) << 2);
    for (let s = 0; s < S; s++) {
      const sel = (<usize>(b * S + s) * <usize>m) << 2;
      for (let k = 0; k < m; k++) {
        let g = load<f32>(dzRow + (<usize>k << 2));
        if (scaled) g *= scale;
        const a = load<i32>(imax + sel + (<usize>k << 2)), i = load<i32>(imin + sel + (<usize>k << 2));
        if (a >= j0 && a < j1) {
          const p = dxRow + (<usize>a << 2);
          store<f32>(p, load<f32>(p) + g * load<f32>(w + ((<usize>a * <usize>m + <usize>k) << 2)));
        }
        if (i >= j0 && i < j1 && minTakesGradient(a, i, counts, s, m, k)) {
          const p = dxRow + (<usize>i << 2);
          store<f32>(p, load<f32>(p) + g * load<f32>(w + ((<usize>i * <usize>m + <usize>k) << 2)));
        }
      }
    }
  }
}
