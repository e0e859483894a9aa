// The fused MAM forward pass, compiled to WebAssembly SIMD (see scripts/build-wasm.mjs).
//
// For x [B, n], an effective kernel w [n, m] (pruned entries already 0) and S contiguous
// input slices, it writes
//   y[b, k]          = sum over slices s of (max_j w[j,k] x[b,j] + min_j w[j,k] x[b,j])
//   imax[b, s, k]    = the j of that max (int32), imin likewise
// in one pass, without a [B, n, m] product tensor. The scan runs over j in order with strict
// > and <, so the lowest index wins ties; accumulators start at -inf / +inf. A slice with no
// connection (every entry masked in 'absent' mode) contributes 0 and reports index -1.
//
// Vectorised over outputs: kernel rows are contiguous in k, so one v128 load gives the
// products of input j with 4 neighbouring outputs. f32x4.pmax(a, b) is `a < b ? b : a`, which
// is exactly "replace only when strictly greater"; the index follows the same comparison.
// All pointers are byte offsets into this module's memory, laid out by the JS caller.

// Slice s covers inputs [sliceStart(s), sliceStart(s + 1)).
@inline function sliceStart(s: i32, n: i32, S: i32): i32 {
  return <i32>((<i64>s * <i64>n) / <i64>S);
}

@inline function addSlice(y: v128, mx: v128, mn: v128, ix: v128): v128 {
  // Slices that selected nothing (index -1) contribute 0.
  const none = i32x4.eq(ix, i32x4.splat(-1));
  const sum = f32x4.add(mx, mn);
  return f32x4.add(y, v128.andnot(sum, none));
}

// 'zero' mode: every connection takes part; pruned ones offer the product 0.
export function forwardZero(
  x: usize, w: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize,
): void {
  const m4 = m & ~3;
  const rowBytes = <usize>m << 2;
  for (let k = 0; k < m4; k += 4) {
    for (let b = 0; b < B; b++) {
      const xRow = x + ((<usize>b * <usize>n) << 2);
      let yv = f32x4.splat(0);
      for (let s = 0; s < S; s++) {
        const j0 = sliceStart(s, n, S);
        const j1 = sliceStart(s + 1, n, S);
        let mx = f32x4.splat(-Infinity);
        let mn = f32x4.splat(Infinity);
        let ix = i32x4.splat(-1);
        let iy = i32x4.splat(-1);
        let jv = i32x4.splat(j0);
        const one = i32x4.splat(1);
        let wp = w + <usize>j0 * rowBytes + (<usize>k << 2);
        for (let j = j0; j < j1; j++) {
          const p = f32x4.mul(f32x4.splat(load<f32>(xRow + (<usize>j << 2))), v128.load(wp));
          const gt = f32x4.gt(p, mx);
          const lt = f32x4.lt(p, mn);
          mx = f32x4.pmax(mx, p);
          mn = f32x4.pmin(mn, p);
          ix = v128.bitselect(jv, ix, gt);
          iy = v128.bitselect(jv, iy, lt);
          jv = i32x4.add(jv, one);
          wp += rowBytes;
        }
        yv = addSlice(yv, mx, mn, ix);
        const o = ((<usize>(b * S + s) * <usize>m + <usize>k) << 2);
        v128.store(imax + o, ix);
        v128.store(imin + o, iy);
      }
      v128.store(y + ((<usize>b * <usize>m + <usize>k) << 2), yv);
    }
  }
  if (m4 < m) scalarTail(x, w, 0, B, n, m, S, y, imax, imin, m4);
}

// 'absent' mode: mask holds an int32 per kernel entry, -1 (kept) or 0 (pruned); a pruned
// connection is left out of the max and min entirely.
export function forwardAbsent(
  x: usize, w: usize, mask: usize, B: i32, n: i32, m: i32, S: i32,
  y: usize, imax: usize, imin: usize,
): void {
  const m4 = m & ~3;
  const rowBytes = <usize>m << 2;
  for (let k = 0; k < m4; k += 4) {
    for (let b = 0; b < B; b++) {
      const xRow = x + ((<usize>b * <usize>n) << 2);
      let yv = f32x4.splat(0);
      for (let s = 0; s < S; s++) {
        const j0 = sliceStart(s, n, S);
        const j1 = sliceStart(s + 1, n, S);
        let mx = f32x4.splat(-Infinity);
        let mn = f32x4.splat(Infinity);
        let ix = i32x4.splat(-1);
        let iy = i32x4.splat(-1);
        let jv = i32x4.splat(j0);
        const one = i32x4.splat(1);
        let off = <usize>j0 * rowBytes + (<usize>k << 2);
        for (let j = j0; j < j1; j++) {
          const keep = v128.load(mask + off);
          const p = f32x4.mul(f32x4.splat(load<f32>(xRow + (<usize>j << 2))), v128.load(w + off));
          const gt = v128.and(f32x4.gt(p, mx), keep);
          const lt = v128.and(f32x4.lt(p, mn), keep);
          mx = v128.bitselect(p, mx, gt);
          mn = v128.bitselect(p, mn, lt);
          ix = v128.bitselect(jv, ix, gt);
          iy = v128.bitselect(jv, iy, lt);
          jv = i32x4.add(jv, one);
          off += rowBytes;
        }
        yv = addSlice(yv, mx, mn, ix);
        const o = ((<usize>(b * S + s) * <usize>m + <usize>k) << 2);
        v128.store(imax + o, ix);
        v128.store(imin + o, iy);
      }
      v128.store(y + ((<usize>b * <usize>m + <usize>k) << 2), yv);
    }
  }
  if (m4 < m) scalarTail(x, w, mask, B, n, m, S, y, imax, imin, m4);
}

// The last m % 4 outputs, one at a time; mask = 0 means 'zero' mode.
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
        let ix: i32 = -1;
        let iy: i32 = -1;
        for (let j = j0; j < j1; j++) {
          const e = (<usize>j * <usize>m + <usize>k) << 2;
          if (mask != 0 && load<i32>(mask + e) == 0) continue;
          const p: f32 = load<f32>(x + ((<usize>b * <usize>n + <usize>j) << 2)) * load<f32>(w + e);
          if (p > mx) { mx = p; ix = j; }
          if (p < mn) { mn = p; iy = j; }
        }
        if (ix != -1) acc += mx + mn;
        const o = ((<usize>(b * S + s) * <usize>m + <usize>k) << 2);
        store<i32>(imax + o, ix);
        store<i32>(imin + o, iy);
      }
      store<f32>(y + ((<usize>b * <usize>m + <usize>k) << 2), acc);
    }
  }
}
