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

@inline function addSlice(y: v128, mx: v128, mn: v128, ix: v128, iy: v128): v128 {
  // Slices that selected nothing (both indices -1: no kept connection) contribute 0.
  const none = v128.and(i32x4.eq(ix, i32x4.splat(-1)), i32x4.eq(iy, i32x4.splat(-1)));
  const sum = f32x4.add(mx, mn);
  return f32x4.add(y, v128.andnot(sum, none));
}

// 'zero' mode: every connection takes part; pruned ones offer the product 0.
export function forwardZero(
  x: usize, w: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize,
): void {
  forward(x, w, 0, B, n, m, S, y, imax, imin);
}

// 'absent' mode: mask holds a float32 per kernel entry, 1 (kept) or 0 (pruned); a pruned
// connection is left out of the max and min entirely.
export function forwardAbsent(
  x: usize, w: usize, mask: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize,
): void {
  forward(x, w, mask, B, n, m, S, y, imax, imin);
}

// mask = 0 selects 'zero' mode. The mode test sits outside the inner loop.
@inline function forward(
  x: usize, w: usize, mask: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize,
): void {
  const m8 = m & ~7;
  const rowBytes = <usize>m << 2;
  const one = i32x4.splat(1);
  const zero = f32x4.splat(0);
  for (let k = 0; k < m8; k += 8) {
    for (let b = 0; b < B; b++) {
      const xRow = x + ((<usize>b * <usize>n) << 2);
      let ya = f32x4.splat(0);
      let yb = f32x4.splat(0);
      for (let s = 0; s < S; s++) {
        const j0 = sliceStart(s, n, S);
        const j1 = sliceStart(s + 1, n, S);
        // a: outputs k..k+3, b: outputs k+4..k+7
        let mxa = f32x4.splat(-Infinity), mna = f32x4.splat(Infinity);
        let mxb = f32x4.splat(-Infinity), mnb = f32x4.splat(Infinity);
        const first = i32x4.splat(mask == 0 ? j0 : -1);
        let ixa = first, iya = first;
        let ixb = first, iyb = first;
        let jv = i32x4.splat(j0);
        let off = <usize>j0 * rowBytes + (<usize>k << 2);
        if (mask == 0) {
          for (let j = j0; j < j1; j++) {
            const xs = f32x4.splat(load<f32>(xRow + (<usize>j << 2)));
            const pa = f32x4.mul(xs, v128.load(w + off));
            const pb = f32x4.mul(xs, v128.load(w + off, 16));
            const gta = f32x4.gt(pa, mxa), lta = f32x4.lt(pa, mna);
            const gtb = f32x4.gt(pb, mxb), ltb = f32x4.lt(pb, mnb);
            mxa = f32x4.pmax(mxa, pa); mna = f32x4.pmin(mna, pa);
            mxb = f32x4.pmax(mxb, pb); mnb = f32x4.pmin(mnb, pb);
            ixa = v128.bitselect(jv, ixa, gta); iya = v128.bitselect(jv, iya, lta);
            ixb = v128.bitselect(jv, ixb, gtb); iyb = v128.bitselect(jv, iyb, ltb);
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
            const gta = v128.and(f32x4.gt(pa, mxa), keepa), lta = v128.and(f32x4.lt(pa, mna), keepa);
            const gtb = v128.and(f32x4.gt(pb, mxb), keepb), ltb = v128.and(f32x4.lt(pb, mnb), keepb);
            mxa = v128.bitselect(pa, mxa, gta); mna = v128.bitselect(pa, mna, lta);
            mxb = v128.bitselect(pb, mxb, gtb); mnb = v128.bitselect(pb, mnb, ltb);
            ixa = v128.bitselect(jv, ixa, gta); iya = v128.bitselect(jv, iya, lta);
            ixb = v128.bitselect(jv, ixb, gtb); iyb = v128.bitselect(jv, iyb, ltb);
            jv = i32x4.add(jv, one);
            off += rowBytes;
          }
        }
        ya = addSlice(ya, mxa, mna, ixa, iya);
        yb = addSlice(yb, mxb, mnb, ixb, iyb);
        const o = (<usize>(b * S + s) * <usize>m + <usize>k) << 2;
        v128.store(imax + o, ixa); v128.store(imax + o, ixb, 16);
        v128.store(imin + o, iya); v128.store(imin + o, iyb, 16);
      }
      const o = (<usize>b * <usize>m + <usize>k) << 2;
      v128.store(y + o, ya); v128.store(y + o, yb, 16);
    }
  }
  if (m8 < m) scalarTail(x, w, mask, B, n, m, S, y, imax, imin, m8);
}

// The last m % 8 outputs, one at a time; mask = 0 means 'zero' mode.
function scalarTail(
  x: usize, w: usize, mask: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize, kFrom: i32,
): void {
  for (let k = kFrom; k < m; k++) {
    for (let b = 0; b < B; b++) {
      let acc: f32 = 0;
      for (let s = 0; s < S; s++) {
        const j0 = sliceStart(s, n, S);
        const j1 = sliceStart(s + 1, n, S);
        let mx: f32 = -Infinity;
        let mn: f32 = Infinity;
        let ix: i32 = mask == 0 ? j0 : -1;
        let iy: i32 = ix;
        for (let j = j0; j < j1; j++) {
          const e = (<usize>j * <usize>m + <usize>k) << 2;
          if (mask != 0 && load<f32>(mask + e) == 0) continue;
          const p: f32 = load<f32>(x + ((<usize>b * <usize>n + <usize>j) << 2)) * load<f32>(w + e);
          if (p > mx) { mx = p; ix = j; }
          if (p < mn) { mn = p; iy = j; }
        }
        if (ix != -1 || iy != -1) acc += mx + mn;
        const o = ((<usize>(b * S + s) * <usize>m + <usize>k) << 2);
        store<i32>(imax + o, ix);
        store<i32>(imin + o, iy);
      }
      store<f32>(y + ((<usize>b * <usize>m + <usize>k) << 2), acc);
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
