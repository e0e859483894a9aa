// The fused MAM forward (WebAssembly SIMD and JavaScript) and the tfjs op, against a naive
// reference that builds every product and scans it; hand-computed cases for the edge rules.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { mamBackwardJs, mamForwardJs, type MamDims } from '../src/layers/mam-math.js';
import { mamSelect } from '../src/layers/mam-op.js';
import { mamForward, mamKernelInfo } from '../src/layers/mam-wasm.js';
import { randomArray, rng, sameFloats } from './helpers.js';

/** Every product, then a plain scan: the definition, written as directly as possible. */
function naiveMam(x: Float32Array, w: Float32Array, keep: Float32Array | null, d: MamDims) {
  const { batch: B, inputs: n, outputs: m, splits: S } = d;
  const y = new Float32Array(B * m);
  const argmax = new Int32Array(B * S * m);
  const argmin = new Int32Array(B * S * m);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < m; k++) {
      let acc = 0;
      for (let s = 0; s < S; s++) {
        const js: number[] = [];
        for (let j = Math.floor((s * n) / S); j < Math.floor(((s + 1) * n) / S); j++) {
          if (!keep || keep[j * m + k] !== 0) js.push(j);
        }
        const products = js.map((j) => Math.fround(x[b * n + j]! * w[j * m + k]!));
        let ia = -1, ii = -1;
        products.forEach((p, t) => {
          if (ia < 0 || p > products[ia]!) ia = t;
          if (ii < 0 || p < products[ii]!) ii = t;
        });
        argmax[(b * S + s) * m + k] = ia < 0 ? -1 : js[ia]!;
        argmin[(b * S + s) * m + k] = ii < 0 ? -1 : js[ii]!;
        if (products.some(Number.isNaN)) acc = Number.NaN;
        else if (ia >= 0) acc = Math.fround(acc + Math.fround(products[ia]! + products[ii]!));
      }
      y[b * m + k] = acc;
    }
  }
  return { y, argmax, argmin };
}

interface Case { d: MamDims; x: Float32Array; w: Float32Array; keep: Float32Array | null; label: string }

/** Random shapes including n = 1, m = 1, batch 1, ties (small integers), all-negative products. */
function cases(): Case[] {
  const rand = rng(2024);
  const out: Case[] = [];
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1], [1, 1, 5], [1, 7, 1], [3, 1, 4], [2, 5, 3], [4, 16, 8], [5, 33, 13], [64, 40, 9], [2, 128, 67],
  ];
  for (const [B, n, m] of shapes) {
    for (const splits of [1, 2, 3, 8]) {
      if (splits > n) continue;
      for (const mode of ['continuous', 'ties', 'negative'] as const) {
        for (const pruned of [false, true]) {
          const d = { batch: B, inputs: n, outputs: m, splits };
          const ints = mode === 'ties';
          let x = randomArray(rand, B * n, ints ? -2 : -1, ints ? 2 : 1, ints);
          const w = randomArray(rand, n * m, ints ? -2 : -1, ints ? 2 : 1, ints);
          // all products negative: x > 0, w < 0
          if (mode === 'negative') { x = x.map(Math.abs).map((v) => v + 0.01); w.forEach((v, i) => { w[i] = -Math.abs(v) - 0.01; }); }
          const keep = pruned ? Float32Array.from({ length: n * m }, () => (rand() < 0.6 ? 1 : 0)) : null;
          if (keep) w.forEach((v, i) => { w[i] = v * keep[i]!; });
          out.push({ d, x, w, keep, label: `${B}x${n}->${m} S=${splits} ${mode}${pruned ? ' pruned' : ''}` });
        }
      }
    }
  }
  return out;
}

function assertSameResult(got: { y: ArrayLike<number>; argmax: ArrayLike<number>; argmin: ArrayLike<number> },
  want: ReturnType<typeof naiveMam>, label: string): void {
  for (const key of ['y', 'argmax', 'argmin'] as const) {
    const r = sameFloats(got[key], want[key]);
    assert.ok(r.equal, `${label}: ${key}[${r.at}] = ${got[key][r.at]}, expected ${want[key][r.at]}`);
  }
}

describe('fused MAM forward', () => {
  before(async () => { await initBackend({ backend: 'cpu' }); });

  it('runs the WebAssembly SIMD build here', () => {
    assert.equal(mamKernelInfo().impl, 'wasm-simd', mamKernelInfo().reason);
  });

  it('equals the naive reference bit for bit (wasm and js kernels, both prunedAs modes)', () => {
    for (const c of cases()) {
      for (const absent of [false, true]) {
        const keep = absent ? c.keep : null;
        const want = naiveMam(c.x, c.w, keep, c.d);
        const label = `${c.label}${absent ? ' absent' : ''}`;
        assertSameResult(mamForward(c.x, c.w, keep, c.d), want, `wasm ${label}`);
        assertSameResult(mamForwardJs(c.x, c.w, keep, c.d), want, `js ${label}`);
      }
    }
  });

  it('follows the edge rules on hand-computed cases', () => {
    const one = (x: number[], w: number[], keep: number[] | null, splits = 1) =>
      mamForward(Float32Array.from(x), Float32Array.from(w), keep, { batch: 1, inputs: x.length, outputs: 1, splits });
    // products 0.5, 0, -1: max 0.5 (j=0), min -1 (j=2)
    assert.deepEqual([...one([1, 2, -1], [0.5, 0, 1], null).y], [-0.5]);
    // all products negative (-1, -2, -3): max is -1, not 0 (accumulators start at -inf)
    const neg = one([1, 2, 3], [-1, -1, -1], null);
    assert.deepEqual([...neg.y, ...neg.argmax, ...neg.argmin], [-4, 0, 2]);
    // ties: products 2, 2, -2, -2: the lowest index wins both
    const tie = one([1, 2, -1, -2], [2, 1, 2, 1], null);
    assert.deepEqual([...tie.argmax, ...tie.argmin], [0, 2]);
    // pruned second connection: 'zero' offers a 0 product (1 + 0), 'absent' leaves it out (1 + 1)
    assert.deepEqual([...one([1, 2], [1, 0], null).y], [1]);
    assert.deepEqual([...one([1, 2], [1, 0], [1, 0]).y], [2]);
    // every connection pruned: 'zero' gives 0 + 0, 'absent' gives nothing selected (index -1)
    const none = one([1, 2], [0, 0], [0, 0]);
    assert.deepEqual([...none.y, ...none.argmax, ...none.argmin], [0, -1, -1]);
    // n = 1: max and min are the same product: y = 2 w x
    assert.deepEqual([...one([3], [0.5], null).y], [3]);
    // splits: [1, -2 | 3, 4] with w = 1: (1 + -2) + (4 + 3) = 6
    const sp = one([1, -2, 3, 4], [1, 1, 1, 1], null, 2);
    assert.deepEqual([...sp.y, ...sp.argmax, ...sp.argmin], [6, 0, 3, 1, 2]);
  });

  it('sends gradient only to the selected connections, twice when argmax == argmin', () => {
    // x = [1, 2, -1], w = [0.5, 0.25, 1] -> products 0.5, 0.5, -1: max j=0 (tie, lowest), min j=2
    const d = { batch: 1, inputs: 3, outputs: 1, splits: 1 };
    const x = Float32Array.from([1, 2, -1]), w = Float32Array.from([0.5, 0.25, 1]);
    const f = mamForward(x, w, null, d);
    const g = mamBackwardJs(Float32Array.from([2]), x, w, f.argmax, f.argmin, null, d);
    assert.deepEqual([...g.dw], [2 * 1, 0, 2 * -1]);
    assert.deepEqual([...g.dx], [2 * 0.5, 0, 2 * 1]);
    const d1 = { batch: 1, inputs: 1, outputs: 1, splits: 1 };
    const f1 = mamForward(Float32Array.from([3]), Float32Array.from([0.5]), null, d1);
    const g1 = mamBackwardJs(Float32Array.from([1]), Float32Array.from([3]), Float32Array.from([0.5]), f1.argmax, f1.argmin, null, d1);
    assert.deepEqual([...g1.dw, ...g1.dx], [6, 1]);
    // all products equal (n = 3): argmax == argmin == 0, but moving w[0] either way changes
    // only the max or only the min, so once: dL/dw = [x0, 0, 0]
    const d3 = { batch: 1, inputs: 3, outputs: 1, splits: 1 };
    const x3 = Float32Array.from([1, 1, 1]), w3 = Float32Array.from([2, 2, 2]);
    const f3 = mamForward(x3, w3, null, d3);
    assert.deepEqual([...f3.argmax, ...f3.argmin], [0, 0]);
    assert.deepEqual([...mamBackwardJs(Float32Array.from([1]), x3, w3, f3.argmax, f3.argmin, null, d3).dw], [1, 0, 0]);
    // 'absent' with one kept connection in the slice: y = 2 w x again, so twice
    const keep = [0, 1, 0];
    const fa = mamForward(x3, Float32Array.from([0, 2, 0]), keep, d3);
    assert.deepEqual([...fa.y, ...fa.argmax, ...fa.argmin], [4, 1, 1]);
    assert.deepEqual([...mamBackwardJs(Float32Array.from([1]), x3, Float32Array.from([0, 2, 0]), fa.argmax, fa.argmin, keep, d3).dw], [0, 2, 0]);
  });

  it('propagates NaN and handles products that overflow float32', () => {
    const one = (x: number[], w: number[], keep: number[] | null = null) =>
      mamForward(Float32Array.from(x), Float32Array.from(w), keep, { batch: 1, inputs: x.length, outputs: 1, splits: 1 });
    assert.ok(Number.isNaN(one([1, Number.NaN, 2], [1, 1, 1]).y[0]));
    assert.ok(Number.isNaN(one([Number.NaN], [1]).y[0]));
    assert.ok(Number.isNaN(one([Infinity, 1], [0, 1]).y[0]), 'inf * 0 is NaN');
    // a NaN in a pruned, absent connection does not count
    assert.equal(one([1, Number.NaN], [2, 0], [1, 0]).y[0], 4);
    // 1e30 * -1e10 overflows to -inf in float32: the max of two -inf products is -inf, not "nothing"
    const neg = one([1e30, 1e30], [-1e10, -1e10]);
    assert.deepEqual([...neg.y, ...neg.argmax, ...neg.argmin], [-Infinity, 0, 0]);
    const mixed = one([1e30, 1], [-1e10, 3]);
    assert.deepEqual([...mixed.y, ...mixed.argmax, ...mixed.argmin], [-Infinity, 1, 0]);
  });

  it('rejects impossible dimensions', () => {
    const x = new Float32Array(4), w = new Float32Array(8);
    assert.throws(() => mamForward(x, w, null, { batch: 1, inputs: 4, outputs: 2, splits: 5 }), /splits/);
    assert.throws(() => mamForward(x, w, null, { batch: 1, inputs: 4, outputs: 2, splits: 0 }), /splits/);
    assert.throws(() => mamForward(x, w, null, { batch: 1.5, inputs: 4, outputs: 2, splits: 1 }), /batch/);
    assert.throws(() => mamForward(x, w, null, { batch: 2, inputs: 4, outputs: 2, splits: 1 }), /x has 4 values where the dimensions need 8/);
    assert.throws(() => mamForward(x, w, [1, 0], { batch: 1, inputs: 4, outputs: 2, splits: 1 }), /keep has 2 values/);
  });
});

describe('MAM op on tfjs backends', () => {
  it('a backend without pre-registered kernels gets them on first use (the generic path)', async () => {
    // A second cpu backend under another name stands in for tfjs-node, which cannot install here.
    await initBackend({ backend: 'cpu' });
    const Cpu = tf.findBackend('cpu')!.constructor as new () => tf.KernelBackend;
    tf.registerBackend('mam-generic-test', () => new Cpu());
    try {
      assert.equal(tf.getKernel('MamForward', 'mam-generic-test'), undefined);
      await tf.setBackend('mam-generic-test');
      const c = cases().find((k) => k.keep && k.d.batch > 1 && k.d.splits > 1)!;
      const want = naiveMam(c.x, c.w, c.keep, c.d);
      const r = mamSelect(tf.tensor2d(c.x, [c.d.batch, c.d.inputs]), tf.tensor2d(c.w, [c.d.inputs, c.d.outputs]),
        tf.tensor2d(c.keep!, [c.d.inputs, c.d.outputs]), c.d.splits);
      assertSameResult({ y: r.y.dataSync(), argmax: r.argmax.dataSync(), argmin: r.argmin.dataSync() }, want, c.label);
      assert.notEqual(tf.getKernel('MamForward', 'mam-generic-test'), undefined);
    } finally {
      tf.removeBackend('mam-generic-test');
      await initBackend({ backend: 'cpu' });
    }
  });

  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: the registered kernel equals the naive reference, indices included`, async () => {
      await initBackend({ backend });
      for (const c of cases().filter((_, i) => i % 5 === 0)) {
        for (const absent of [false, true]) {
          const keep = absent ? c.keep : null;
          const want = naiveMam(c.x, c.w, keep, c.d);
          const got = tf.tidy(() => {
            const r = mamSelect(tf.tensor2d(c.x, [c.d.batch, c.d.inputs]), tf.tensor2d(c.w, [c.d.inputs, c.d.outputs]),
              keep ? tf.tensor2d(keep, [c.d.inputs, c.d.outputs]) : null, c.d.splits);
            return { y: r.y.dataSync(), argmax: r.argmax.dataSync(), argmin: r.argmin.dataSync() };
          });
          assertSameResult(got, want, `${backend} ${c.label}${absent ? ' absent' : ''}`);
        }
      }
    });

    it(`${backend}: results of one call survive the next (no aliasing of kernel memory)`, async () => {
      await initBackend({ backend });
      const rand = rng(5);
      const d = { batch: 3, inputs: 8, outputs: 8, splits: 1 };
      const [x1, x2, w] = [randomArray(rand, 24), randomArray(rand, 24), randomArray(rand, 64)];
      const wt = tf.tensor2d(w, [8, 8]);
      const first = mamSelect(tf.tensor2d(x1, [3, 8]), wt, null, 1);
      const second = mamSelect(tf.tensor2d(x2, [3, 8]), wt, null, 1);
      assertSameResult({ y: first.y.dataSync(), argmax: first.argmax.dataSync(), argmin: first.argmin.dataSync() },
        naiveMam(x1, w, null, d), `${backend} first call`);
      assert.ok(!sameFloats(first.y.dataSync(), second.y.dataSync()).equal);
      tf.dispose([first, second, wt]);
    });

    it(`${backend}: rejects mismatched shapes`, async () => {
      await initBackend({ backend });
      tf.tidy(() => {
        assert.throws(() => mamSelect(tf.ones([2, 3]) as tf.Tensor2D, tf.ones([4, 5]) as tf.Tensor2D, null, 1), /x \[2, 3\] and w \[4, 5\]/);
        assert.throws(() => mamSelect(tf.ones([2, 4]) as tf.Tensor2D, tf.ones([4, 5]) as tf.Tensor2D, tf.ones([5, 4]) as tf.Tensor2D, 1), /mask/);
      });
    });
  }
});
