// Adam's update, elementwise, with exactly the float32 operations of tfjs's AdamOptimizer
// (tfjs-core 4.22, applyGradients), so that the same gradients give the same bits:
//   m' = m b1 + g (1 - b1);  v' = v b2 + g^2 (1 - b2)
//   w' = (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps) * (-lr) + w
// and, for a pruned kernel, w' = 0 where mask is 0 (tfjs's trainer re-masks after each step).
// The caller passes every constant already rounded to float32, as tfjs's scalars are.

/** Elements [i0, i1) of w, g, m, v (mask = 0 when the variable is not masked). */
export function adam(
  w: usize, g: usize, m: usize, v: usize, mask: usize, i0: i32, i1: i32,
  b1: f32, oneMinusB1: f32, b2: f32, oneMinusB2: f32, oneMinusAcc1: f32, oneMinusAcc2: f32,
  eps: f32, negLr: f32,
): void {
  let i = i0;
  const vb1 = f32x4.splat(b1), vo1 = f32x4.splat(oneMinusB1);
  const vb2 = f32x4.splat(b2), vo2 = f32x4.splat(oneMinusB2);
  const va1 = f32x4.splat(oneMinusAcc1), va2 = f32x4.splat(oneMinusAcc2);
  const veps = f32x4.splat(eps), vlr = f32x4.splat(negLr), zero = f32x4.splat(0);
  for (; i + 4 <= i1; i += 4) {
    const e = <usize>i << 2;
    const gv = v128.load(g + e);
    const mv = f32x4.add(f32x4.mul(v128.load(m + e), vb1), f32x4.mul(gv, vo1));
    const sv = f32x4.add(f32x4.mul(v128.load(v + e), vb2), f32x4.mul(f32x4.mul(gv, gv), vo2));
    v128.store(m + e, mv);
    v128.store(v + e, sv);
    const step = f32x4.div(f32x4.div(mv, va1), f32x4.add(f32x4.sqrt(f32x4.div(sv, va2)), veps));
    let nw = f32x4.add(f32x4.mul(step, vlr), v128.load(w + e));
    if (mask) nw = v128.andnot(nw, f32x4.eq(v128.load(mask + e), zero));
    v128.store(w + e, nw);
  }
  for (; i < i1; i++) {
    const e = <usize>i << 2;
    const gv = load<f32>(g + e);
    const mv = load<f32>(m + e) * b1 + gv * oneMinusB1;
    const sv = load<f32>(v + e) * b2 + (gv * gv) * oneMinusB2;
    store<f32>(m + e, mv);
    store<f32>(v + e, sv);
    let nw = ((mv / oneMinusAcc1) / (sqrt<f32>(sv / oneMinusAcc2) + eps)) * negLr + load<f32>(w + e);
    if (mask && load<f32>(mask + e) == 0) nw = 0;
    store<f32>(w + e, nw);
  }
}
