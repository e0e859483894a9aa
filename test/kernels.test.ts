// The training engine's WebAssembly kernels, each against a plain JavaScript reference that
// rounds every multiply and add to float32 in the documented order: bit for bit, at odd sizes
// (not multiples of the SIMD width), on column ranges (a thread's share) and with every
// epilogue. The MAM gradient kernels are checked against mamBackwardJs, the reference the tfjs
// op uses (itself checked against finite differences in mam-dense.test.ts), and Adam against
// tfjs's own AdamOptimizer.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { mamBackwardJs, mamForwardJs, sliceConnections } from '../src/layers/mam-math.js';
import { ADAM } from '../src/train/engine/program.js';
import { share } from '../src/train/engine/plan.js';
import { createMemory, HEAP_BASE, instantiateKernels, kernelModule, RELU_FLAG, type Kernels } from '../src/wasm/kernels.js';
import { randomArray, rng, sameFloats } from './helpers.js';

const f = Math.fround;

/** A memory with a bump allocator: arrays in, arrays out. */
class Heap {
  readonly memory = createMemory(1 << 24);
  readonly k: Kernels = instantiateKernels(kernelModule()!, this.memory);
  private next = HEAP_BASE;
  reset(): void { this.next = HEAP_BASE; }
  put(values: ArrayLike<number>, int = false): number {
    const at = this.next;
    this.next += Math.ceil((4 * Math.max(1, values.length)) / 64) * 64;
    (int ? new Int32Array(this.memory.buffer, at, values.length) : new Float32Array(this.memory.buffer, at, values.length)).set(values);
    return at;
  }
  zeros(count: number): number { return this.put(new Float32Array(count)); }
  read(at: number, count: number): Float32Array { return new Float32Array(this.memory.buffer, at, count).slice(); }
}

interface GemmCase { R: number; T: number; C: number; transposedA: boolean; alpha: number; bias: boolean; relu: boolean; gate: boolean; mask: boolean }

/** The reference: C[r,c] = epilogue(sum over t in order of A(r,t) B[t,c]), one rounding per operation. */
function gemmJs(a: Float32Array, b: Float32Array, g: GemmCase, bias: Float32Array, gate: Float32Array, mask: Float32Array, c0: number, c1: number, out: Float32Array): void {
  const { R, T, C } = g;
  for (let r = 0; r < R; r++) {
    for (let c = c0; c < c1; c++) {
      let acc = 0;
      for (let t = 0; t < T; t++) acc = f(acc + f(a[g.transposedA ? t * R + r : r * T + t]! * b[t * C + c]!));
      if (g.alpha !== 1) acc = f(acc * f(g.alpha));
      if (g.bias) acc = f(acc + bias[c]!);
      if (g.relu) acc = acc < 0 ? 0 : acc;
      if (g.gate && !(gate[r * C + c]! > 0)) acc = 0;
      if (g.mask && mask[r * C + c] === 0) acc = 0;
      out[r * C + c] = acc;
    }
  }
}

describe('dense kernels (WebAssembly SIMD) against a float32 reference, bit for bit', () => {
  const heap = new Heap();
  const cases: GemmCase[] = [];
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [7, 13, 19], [4, 8, 8], [9, 5, 33], [64, 17, 12], [5, 40, 3]];
  for (const [R, T, C] of shapes) {
    cases.push({ R, T, C, transposedA: false, alpha: 1, bias: false, relu: false, gate: false, mask: false });
    cases.push({ R, T, C, transposedA: true, alpha: 0.3, bias: true, relu: true, gate: false, mask: true });
    cases.push({ R, T, C, transposedA: false, alpha: 1, bias: true, relu: false, gate: true, mask: false });
  }
  for (const g of cases) {
    const label = `${g.R}x${g.T}x${g.C}${g.transposedA ? ' A^T' : ''}${g.alpha !== 1 ? ' alpha' : ''}${g.bias ? ' bias' : ''}${g.relu ? ' relu' : ''}${g.gate ? ' gate' : ''}${g.mask ? ' mask' : ''}`;
    it(`gemm ${label}, whole and split in column ranges, B read in place or packed`, () => {
      const rand = rng(g.R * 1000 + g.T * 10 + g.C);
      const a = randomArray(rand, g.R * g.T), b = randomArray(rand, g.T * g.C);
      const bias = randomArray(rand, g.C), gate = randomArray(rand, g.R * g.C);
      const mask = Float32Array.from({ length: g.R * g.C }, () => (rand() < 0.3 ? 0 : 1));
      const want = new Float32Array(g.R * g.C);
      gemmJs(a, b, g, bias, gate, mask, 0, g.C, want);
      for (const [threads, packed] of [[1, false], [1, true], [2, true], [3, false]] as Array<[number, boolean]>) {
        heap.reset();
        const [pa, pb, pBias, pGate, pMask] = [heap.put(a), heap.put(b), heap.put(bias), heap.put(gate), heap.put(mask)];
        const pPack = packed ? heap.zeros(8 * g.T) : 0;
        const pc = heap.put(new Float32Array(g.R * g.C).fill(NaN));
        for (let t = 0; t < threads; t++) {
          const [c0, c1] = share(g.C, t, threads, 8);
          if (c0 >= c1) continue;
          const [ars, ats] = g.transposedA ? [1, g.R] : [g.T, 1];
          heap.k.gemm(pa, ars, ats, pb, g.C, pc, g.C, g.R, g.T, c0, c1, f(g.alpha), g.bias ? pBias : 0, g.relu ? RELU_FLAG : 0,
            g.gate ? pGate : 0, g.C, g.mask ? pMask : 0, g.C, pPack);
          // Only this share's columns are written: the later ones still hold NaN.
          const now = heap.read(pc, g.R * g.C);
          for (let r = 0; r < g.R; r++) for (let c = c1; c < g.C; c++) assert.ok(Number.isNaN(now[r * g.C + c]), `wrote column ${c} outside [${c0}, ${c1})`);
        }
        const got = heap.read(pc, g.R * g.C);
        const same = sameFloats(got, want);
        assert.ok(same.equal, `threads ${threads}${packed ? ', packed panels' : ''}: element ${same.at}: ${got[same.at]} vs ${want[same.at]}`);
      }
    });
  }

  it('transpose, column sums, the MSE gradient, gates and zeroing', () => {
    const rand = rng(5);
    const [R, C] = [9, 13];
    const src = randomArray(rand, R * C);
    heap.reset();
    const ps = heap.put(src), pd = heap.zeros(R * C);
    heap.k.transpose(ps, R, C, 0, 4, pd);
    heap.k.transpose(ps, R, C, 4, R, pd); // two threads' rows
    const t = heap.read(pd, R * C);
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) assert.equal(t[c * R + r], src[r * C + c]);

    const out = heap.zeros(C);
    heap.k.columnSums(ps, R, C, 0, 8, out);
    heap.k.columnSums(ps, R, C, 8, C, out);
    const sums = heap.read(out, C);
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let r = 0; r < R; r++) acc = f(acc + src[r * C + c]!);
      assert.equal(sums[c], acc);
    }

    const x = randomArray(rand, R * C);
    const px = heap.put(x), pdy = heap.zeros(R * C), psq = heap.zeros(C);
    const scale = f(2 / (R * C));
    heap.k.mseGradient(ps, px, R, C, 0, C, scale, RELU_FLAG, pdy, psq);
    const dy = heap.read(pdy, R * C), sq = heap.read(psq, C);
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let r = 0; r < R; r++) {
        const d = f(src[r * C + c]! - x[r * C + c]!);
        acc = f(acc + f(d * d));
        assert.ok(Object.is(dy[r * C + c], src[r * C + c]! > 0 ? f(d * scale) : 0));
      }
      assert.equal(sq[c], acc);
    }

    heap.k.applyGate(px, ps, R, C, 2, 11); // x zeroed where src <= 0, in columns 2..10
    heap.k.zeroColumns(ps, R, C, 0, 2);
    const gated = heap.read(px, R * C), zeroed = heap.read(ps, R * C);
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const inRange = c >= 2 && c < 11;
        assert.ok(Object.is(gated[r * C + c], inRange && !(src[r * C + c]! > 0) ? 0 : x[r * C + c]));
        assert.equal(zeroed[r * C + c], c < 2 ? 0 : src[r * C + c]);
      }
    }
  });
});

describe('MAM kernels of the engine against the reference (mam-math.ts), bit for bit', () => {
  const heap = new Heap();
  const variants = [
    { B: 5, n: 13, m: 19, S: 1, absent: false, ties: false },
    { B: 7, n: 12, m: 9, S: 3, absent: false, ties: true },
    { B: 6, n: 11, m: 17, S: 2, absent: true, ties: true },
    { B: 3, n: 9, m: 24, S: 1, absent: true, ties: false },
  ];
  for (const v of variants) {
    it(`forward (with the dense sum) and gradient: B=${v.B} ${v.n}->${v.m}, ${v.S} splits, ${v.absent ? 'absent' : 'zero'}${v.ties ? ', ties' : ''}`, () => {
      const { B, n, m, S } = v;
      const rand = rng(B * 100 + n + m);
      const x = randomArray(rand, B * n, -2, 2, v.ties);
      const keep = Float32Array.from({ length: n * m }, () => (rand() < 0.35 ? 0 : 1));
      // One output with every connection pruned: its slices report -1 in 'absent' mode.
      for (let j = 0; j < n; j++) keep[j * m + 2] = 0;
      const w = randomArray(rand, n * m, -2, 2, v.ties).map((value, i) => (keep[i] ? value : 0));
      const dy = randomArray(rand, B * m);
      dy[3] = 0; // a zero gradient adds nothing
      const scale = f(0.7); // (1 - beta) during the vcon blend
      const mask = v.absent ? keep : null;
      const ref = mamForwardJs(x, w, mask, { batch: B, inputs: n, outputs: m, splits: S });
      // The tfjs graph scales dy by (1 - beta) before the MAM gradient; the kernels take the scale.
      const grads = mamBackwardJs(dy.map((v) => f(v * scale)), x, w, ref.argmax, ref.argmin, mask, { batch: B, inputs: n, outputs: m, splits: S });
      const counts = new Int32Array(S * m);
      for (let s = 0; s < S; s++) for (let k = 0; k < m; k++) counts[s * m + k] = sliceConnections(s, k, mask, { batch: B, inputs: n, outputs: m, splits: S });
      heap.reset();
      const [px, pw, pk, pdy] = [heap.put(x), heap.put(w), heap.put(keep), heap.put(dy)];
      const [py, pd] = [heap.zeros(B * m), heap.zeros(B * m)];
      const [pmax, pmin] = [heap.put(new Int32Array(B * S * m), true), heap.put(new Int32Array(B * S * m), true)];
      const pc = heap.put(counts, true);
      const [pdx, pdw] = [heap.zeros(B * n), heap.zeros(n * m)];
      for (let t = 0; t < 2; t++) { // two threads' shares: the forward, then (after a barrier) the backward
        const [k0, k1] = share(m, t, 2, 8);
        heap.k.mamForward(px, pw, v.absent ? pk : 0, B, n, m, S, k0, k1, py, pmax, pmin, pd);
      }
      for (let t = 0; t < 2; t++) {
        const [k0, k1] = share(m, t, 2, 8);
        heap.k.mamBackwardW(pdy, px, pmax, pmin, pc, B, n, m, S, k0, k1, scale, pdw);
        const [j0, j1] = share(n, t, 2, 8);
        heap.k.mamBackwardX(pdy, pw, pmax, pmin, pc, B, n, m, S, j0, j1, scale, pdx);
      }
      assert.ok(sameFloats(heap.read(py, B * m), ref.y).equal, 'y');
      assert.deepEqual(new Int32Array(heap.memory.buffer, pmax, B * S * m), ref.argmax);
      assert.deepEqual(new Int32Array(heap.memory.buffer, pmin, B * S * m), ref.argmin);
      const dense = heap.read(pd, B * m);
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < m; k++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc = f(acc + f(x[b * n + j]! * w[j * m + k]!));
          assert.equal(dense[b * m + k], acc, `dense sum at ${b},${k}`);
        }
      }
      assert.ok(sameFloats(heap.read(pdw, n * m), grads.dw).equal, 'dw');
      assert.ok(sameFloats(heap.read(pdx, B * n), grads.dx).equal, 'dx');
      assert.ok(grads.dw.some((g) => g !== 0) && grads.dx.some((g) => g !== 0), 'the case has gradient');

      // The blend: beta x dense + (1 - beta) mam + bias, then ReLU, as tfjs's ops round it.
      const beta = 0.3;
      const bias = randomArray(rand, m);
      const pb = heap.put(bias), po = heap.zeros(B * m);
      heap.k.mamCombine(py, pd, pb, po, B, m, 0, m, f(beta), f(1 - beta), RELU_FLAG);
      const out = heap.read(po, B * m);
      for (let i = 0; i < B * m; i++) {
        const mix = f(f(dense[i]! * f(beta)) + f(ref.y[i]! * f(1 - beta)));
        const v = f(mix + bias[i % m]!);
        assert.ok(Object.is(out[i], v < 0 ? 0 : v), `blend at ${i}`);
      }
    });
  }
});

describe('Adam kernel', () => {
  before(async () => { await initBackend({ backend: 'cpu' }); });

  it('matches tfjs AdamOptimizer bit for bit over several steps (and zeroes pruned weights)', () => {
    const heap = new Heap();
    const rand = rng(11);
    const count = 37;
    const w0 = randomArray(rand, count);
    const mask = Float32Array.from({ length: count }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const variable = tf.variable(tf.tensor1d(w0), true, 'adam_test_w');
    const optimizer = tf.train.adam(3e-3);
    const [pw, pg, pm, pv, pk] = [heap.put(w0), heap.zeros(count), heap.zeros(count), heap.zeros(count), heap.put(mask)];
    let acc1 = ADAM.b1, acc2 = ADAM.b2;
    for (let step = 0; step < 4; step++) {
      const g = randomArray(rand, count, -3, 3);
      new Float32Array(heap.memory.buffer, pg, count).set(g);
      optimizer.applyGradients({ adam_test_w: tf.tensor1d(g) as unknown as tf.Variable });
      tf.tidy(() => { variable.assign(tf.where(tf.tensor1d(mask).greater(0), variable, tf.zerosLike(variable))); });
      // Two threads' shares of the elements, the mask applied by the kernel.
      heap.k.adam(pw, pg, pm, pv, pk, 0, 12, ADAM.b1, ADAM.oneMinusB1, ADAM.b2, ADAM.oneMinusB2, f(1 - acc1), f(1 - acc2), ADAM.eps, f(-3e-3));
      heap.k.adam(pw, pg, pm, pv, pk, 12, count, ADAM.b1, ADAM.oneMinusB1, ADAM.b2, ADAM.oneMinusB2, f(1 - acc1), f(1 - acc2), ADAM.eps, f(-3e-3));
      const mine = heap.read(pw, count);
      acc1 = f(acc1 * ADAM.b1);
      acc2 = f(acc2 * ADAM.b2);
      const same = sameFloats(mine, variable.dataSync());
      assert.ok(same.equal, `step ${step}, element ${same.at}`);
    }
    optimizer.dispose();
    variable.dispose();
  });
});
