// The dense (MAC) products of training, compiled to WebAssembly SIMD with the MAM kernels.
//
// One matrix product serves all three of a dense layer's products (forward x W, and the
// backward x^T dz and dz W^T, the latter through a transposed copy of W):
//   C[r, c] = epilogue(sum over t of A(r, t) * B[t, c])
// where A(r, t) is read at a + 4 (r * ars + t * ats) (so A may be read transposed) and B is
// row-major. Every C element is summed over t in order, one rounding per multiply and per add,
// starting from 0: the same bits whatever the tiling, the column range a thread is given or the
// SIMD width, so splitting the columns over threads never changes a result.
//
// Tiles of 4 rows x 8 columns keep 8 accumulators in registers; a broadcast load of A and two
// vector loads of B feed 8 multiplies and 8 adds. The B panel of a column tile (T x 8 floats)
// stays in L1 across the row tiles. Ragged edges take 1-row, 4-column and 1-column paths with
// the same order of operations.
//
// Epilogue, in this order, each step only when asked for: times alpha; plus bias[c]; ReLU
// (v < 0 ? 0 : v, as tfjs's cpu kernel, so NaN passes through: f32.max would cost a branchy
// sequence for its -0 and NaN rules);
// zero where gate[r, c] <= 0 (the ReLU derivative of the layer below); zero where mask[r, c] is 0
// (a pruned connection). All pointers are byte offsets into the module's memory.

const RELU: i32 = 1;

// Epilogue flags and operands, set by gemm() before its loops (kernels run one per thread, and
// each thread has its own instance of this module, so these globals are per thread).
let eAlpha: f32 = 1;
let eScale: bool = false;
let eBias: usize = 0;
let eRelu: bool = false;
let eGate: usize = 0;
let eLdg: i32 = 0;
let eMask: usize = 0;
let eLdm: i32 = 0;

@inline function epilogue4(v: v128, r: i32, c: i32): v128 {
  if (eScale) v = f32x4.mul(v, f32x4.splat(eAlpha));
  if (eBias) v = f32x4.add(v, v128.load(eBias + (<usize>c << 2)));
  if (eRelu) v = f32x4.pmax(v, f32x4.splat(0)); // v < 0 ? 0 : v (NaN stays NaN): one instruction
  if (eGate) {
    const g = v128.load(eGate + ((<usize>r * <usize>eLdg + <usize>c) << 2));
    v = v128.and(v, f32x4.gt(g, f32x4.splat(0)));
  }
  if (eMask) {
    const m = v128.load(eMask + ((<usize>r * <usize>eLdm + <usize>c) << 2));
    v = v128.andnot(v, f32x4.eq(m, f32x4.splat(0)));
  }
  return v;
}

@inline function epilogue1(v: f32, r: i32, c: i32): f32 {
  if (eScale) v = v * eAlpha;
  if (eBias) v = v + load<f32>(eBias + (<usize>c << 2));
  if (eRelu) v = select<f32>(0, v, v < 0);
  if (eGate && !(load<f32>(eGate + ((<usize>r * <usize>eLdg + <usize>c) << 2)) > 0)) v = 0;
  if (eMask && load<f32>(eMask + ((<usize>r * <usize>eLdm + <usize>c) << 2)) == 0) v = 0;
  return v;
}

/**
 * C[r, c] for r in [0, R), c in [c0, c1), summed over t in [0, T). alpha = 1 skips the scaling;
 * bias, gate, mask = 0 skip those steps; flags & 1 = ReLU; pack = 0 reads B in place, else a
 * scratch of T x 32 bytes for copies of its column panels (the same results, faster for B with
 * long rows).
 */
export function gemm(
  a: usize, ars: i32, ats: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  R: i32, T: i32, c0: i32, c1: i32,
  alpha: f32, bias: usize, flags: i32, gate: usize, ldg: i32, mask: usize, ldm: i32, pack: usize,
): void {
  eAlpha = alpha; eScale = alpha != 1; eBias = bias; eRelu = (flags & RELU) != 0;
  eGate = gate; eLdg = ldg; eMask = mask; eLdm = ldm;
  let col = c0;
  for (; col + 8 <= c1; col += 8) {
    // The panel B[0..T, col..col+8] is read once per row tile. Rows of B far apart (a whole
    // row of W, 2 KB, between two) fall into the same few L1 sets and evict each other, so when
    // given a scratch (T x 32 bytes) the panel is first copied there, contiguous.
    let pb = b, ld = ldb, at = col;
    if (pack) {
      for (let t = 0; t < T; t++) {
        const src = b + ((<usize>t * <usize>ldb + <usize>col) << 2);
        const dst = pack + (<usize>t << 5);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      }
      pb = pack; ld = 8; at = 0;
    }
    let r = 0;
    for (; r + 4 <= R; r += 4) tile4x8(a, ars, ats, pb, ld, c, ldc, r, T, col, at);
    for (; r < R; r++) tile1x8(a, ars, ats, pb, ld, c, ldc, r, T, col, at);
  }
  for (; col + 4 <= c1; col += 4) {
    let r = 0;
    for (; r + 4 <= R; r += 4) tile4x4(a, ars, ats, b, ldb, c, ldc, r, T, col);
    for (; r < R; r++) tile1x4(a, ars, ats, b, ldb, c, ldc, r, T, col);
  }
  for (; col < c1; col++) {
    for (let r = 0; r < R; r++) tile1x1(a, ars, ats, b, ldb, c, ldc, r, T, col);
  }
}

@inline function aAt(a: usize, ars: i32, ats: i32, r: i32, t: i32): usize {
  return a + ((<usize>r * <usize>ars + <usize>t * <usize>ats) << 2);
}

// col: the output column; bc: the same column's place in b (col, or 0 in a packed panel).
@inline function tile4x8(a: usize, ars: i32, ats: i32, b: usize, ldb: i32, c: usize, ldc: i32, r: i32, T: i32, col: i32, bc: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let pa = aAt(a, ars, ats, r, 0);
  const rowStep = <usize>ars << 2;
  const tStep = <usize>ats << 2;
  let pb = b + (<usize>bc << 2);
  const bStep = <usize>ldb << 2;
  for (let t = 0; t < T; t++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(pa);
    const a1 = v128.load32_splat(pa + rowStep);
    const a2 = v128.load32_splat(pa + 2 * rowStep);
    const a3 = v128.load32_splat(pa + 3 * rowStep);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0)); c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0)); c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0)); c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0)); c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    pa += tStep;
    pb += bStep;
  }
  const rowC = <usize>ldc << 2;
  let pc = c + ((<usize>r * <usize>ldc + <usize>col) << 2);
  v128.store(pc, epilogue4(c00, r, col)); v128.store(pc, epilogue4(c01, r, col + 4), 16); pc += rowC;
  v128.store(pc, epilogue4(c10, r + 1, col)); v128.store(pc, epilogue4(c11, r + 1, col + 4), 16); pc += rowC;
  v128.store(pc, epilogue4(c20, r + 2, col)); v128.store(pc, epilogue4(c21, r + 2, col + 4), 16); pc += rowC;
  v128.store(pc, epilogue4(c30, r + 3, col)); v128.store(pc, epilogue4(c31, r + 3, col + 4), 16);
}

@inline function tile1x8(a: usize, ars: i32, ats: i32, b: usize, ldb: i32, c: usize, ldc: i32, r: i32, T: i32, col: i32, bc: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let pa = aAt(a, ars, ats, r, 0);
  const tStep = <usize>ats << 2;
  let pb = b + (<usize>bc << 2);
  const bStep = <usize>ldb << 2;
  for (let t = 0; t < T; t++) {
    const a0 = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(a0, v128.load(pb)));
    c01 = f32x4.add(c01, f32x4.mul(a0, v128.load(pb, 16)));
    pa += tStep;
    pb += bStep;
  }
  const pc = c + ((<usize>r * <usize>ldc + <usize>col) << 2);
  v128.store(pc, epilogue4(c00, r, col)); v128.store(pc, epilogue4(c01, r, col + 4), 16);
}

@inline function tile4x4(a: usize, ars: i32, ats: i32, b: usize, ldb: i32, c: usize, ldc: i32, r: i32, T: i32, col: i32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let pa = aAt(a, ars, ats, r, 0);
  const rowStep = <usize>ars << 2;
  const tStep = <usize>ats << 2;
  let pb = b + (<usize>col << 2);
  const bStep = <usize>ldb << 2;
  for (let t = 0; t < T; t++) {
    const b0 = v128.load(pb);
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(pa), b0));
    c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(pa + rowStep), b0));
    c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(pa + 2 * rowStep), b0));
    c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(pa + 3 * rowStep), b0));
    pa += tStep;
    pb += bStep;
  }
  const rowC = <usize>ldc << 2;
  let pc = c + ((<usize>r * <usize>ldc + <usize>col) << 2);
  v128.store(pc, epilogue4(c0, r, col)); pc += rowC;
  v128.store(pc, epilogue4(c1, r + 1, col)); pc += rowC;
  v128.store(pc, epilogue4(c2, r + 2, col)); pc += rowC;
  v128.store(pc, epilogue4(c3, r + 3, col));
}

@inline function tile1x4(a: usize, ars: i32, ats: i32, b: usize, ldb: i32, c: usize, ldc: i32, r: i32, T: i32, col: i32): void {
  let c0 = f32x4.splat(0);
  let pa = aAt(a, ars, ats, r, 0);
  const tStep = <usize>ats << 2;
  let pb = b + (<usize>col << 2);
  const bStep = <usize>ldb << 2;
  for (let t = 0; t < T; t++) {
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(pa), v128.load(pb)));
    pa += tStep;
    pb += bStep;
  }
  v128.store(c + ((<usize>r * <usize>ldc + <usize>col) << 2), epilogue4(c0, r, col));
}

function tile1x1(a: usize, ars: i32, ats: i32, b: usize, ldb: i32, c: usize, ldc: i32, r: i32, T: i32, col: i32): void {
  let acc: f32 = 0;
  let pa = aAt(a, ars, ats, r, 0);
  const tStep = <usize>ats << 2;
  let pb = b + (<usize>col << 2);
  const bStep = <usize>ldb << 2;
  for (let t = 0; t < T; t++) {
    acc += load<f32>(pa) * load<f32>(pb);
    pa += tStep;
    pb += bStep;
  }
  store<f32>(c + ((<usize>r * <usize>ldc + <usize>col) << 2), epilogue1(acc, r, col));
}

/**
 * dst[c, r] = src[r, c] for rows r in [r0, r1) of src [R, C] (dst is [C, R]): the part of W^T
 * that the rows' thread reads next. 4 x 4 blocks through registers, scalar at the edges.
 */
export function transpose(src: usize, R: i32, C: i32, r0: i32, r1: i32, dst: usize): void {
  const rowS = <usize>C << 2;
  const rowD = <usize>R << 2;
  let r = r0;
  for (; r + 4 <= r1; r += 4) {
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const s = src + ((<usize>r * <usize>C + <usize>c) << 2);
      const x0 = v128.load(s), x1 = v128.load(s + rowS), x2 = v128.load(s + 2 * rowS), x3 = v128.load(s + 3 * rowS);
      // 4 x 4 transpose: interleave pairs of rows, then pairs of pairs.
      const t0 = v128.shuffle<i32>(x0, x1, 0, 4, 1, 5);
      const t1 = v128.shuffle<i32>(x2, x3, 0, 4, 1, 5);
      const t2 = v128.shuffle<i32>(x0, x1, 2, 6, 3, 7);
      const t3 = v128.shuffle<i32>(x2, x3, 2, 6, 3, 7);
      const d = dst + ((<usize>c * <usize>R + <usize>r) << 2);
      v128.store(d, v128.shuffle<i64>(t0, t1, 0, 2));
      v128.store(d + rowD, v128.shuffle<i64>(t0, t1, 1, 3));
      v128.store(d + 2 * rowD, v128.shuffle<i64>(t2, t3, 0, 2));
      v128.store(d + 3 * rowD, v128.shuffle<i64>(t2, t3, 1, 3));
    }
    for (; c < C; c++) {
      for (let i = 0; i < 4; i++) {
        store<f32>(dst + ((<usize>c * <usize>R + <usize>(r + i)) << 2), load<f32>(src + ((<usize>(r + i) * <usize>C + <usize>c) << 2)));
      }
    }
  }
  for (; r < r1; r++) {
    for (let c = 0; c < C; c++) {
      store<f32>(dst + ((<usize>c * <usize>R + <usize>r) << 2), load<f32>(src + ((<usize>r * <usize>C + <usize>c) << 2)));
    }
  }
}

/** out[c] = sum over r in order of m[r, c], for c in [c0, c1) of m [R, ld]: a bias gradient. */
export function columnSums(m: usize, R: i32, ld: i32, c0: i32, c1: i32, out: usize): void {
  const row = <usize>ld << 2;
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    let acc = f32x4.splat(0);
    let p = m + (<usize>c << 2);
    for (let r = 0; r < R; r++) { acc = f32x4.add(acc, v128.load(p)); p += row; }
    v128.store(out + (<usize>c << 2), acc);
  }
  for (; c < c1; c++) {
    let acc: f32 = 0;
    let p = m + (<usize>c << 2);
    for (let r = 0; r < R; r++) { acc += load<f32>(p); p += row; }
    store<f32>(out + (<usize>c << 2), acc);
  }
}

/**
 * The mean squared error's gradient for columns [c0, c1) of y, x [R, C]: d = y - x,
 * dy = d * scale (scale = 2 / (R C)), zeroed where y <= 0 when the output has a ReLU
 * (flags & 1); sq[c] = sum over r in order of d * d (the caller adds the columns in order).
 */
export function mseGradient(y: usize, x: usize, R: i32, C: i32, c0: i32, c1: i32, scale: f32, flags: i32, dy: usize, sq: usize): void {
  const relu = (flags & RELU) != 0;
  for (let c = c0; c < c1; c++) {
    let acc: f32 = 0;
    for (let r = 0; r < R; r++) {
      const e = (<usize>r * <usize>C + <usize>c) << 2;
      const yv = load<f32>(y + e);
      const d = yv - load<f32>(x + e);
      acc += d * d;
      store<f32>(dy + e, relu && !(yv > 0) ? 0 : d * scale);
    }
    store<f32>(sq + (<usize>c << 2), acc);
  }
}

/** m[r, c] = 0 where gate[r, c] <= 0, for c in [c0, c1) of [R, ld] arrays (a ReLU derivative). */
export function applyGate(m: usize, gate: usize, R: i32, ld: i32, c0: i32, c1: i32): void {
  for (let r = 0; r < R; r++) {
    const base = <usize>r * <usize>ld;
    for (let c = c0; c < c1; c++) {
      const e = (base + <usize>c) << 2;
      if (!(load<f32>(gate + e) > 0)) store<f32>(m + e, 0);
    }
  }
}

/** Zeroes columns [c0, c1) of an [R, ld] array. */
export function zeroColumns(m: usize, R: i32, ld: i32, c0: i32, c1: i32): void {
  for (let r = 0; r < R; r++) memory.fill(m + ((<usize>r * <usize>ld + <usize>c0) << 2), 0, <usize>(c1 - c0) << 2);
}
