// The pure parts of pruning: sparsity schedules against their formulas, and masks that hit the
// asked sparsity exactly, prune the lowest scores, keep one connection per neuron and never
// bring a pruned connection back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globalCounts, layerCounts, maskWithCount, mostPrunable, pruneOrder, type LayerScores } from '../src/prune/masks.js';
import { sparsitySchedule } from '../src/prune/schedule.js';
import { randomArray, rng } from './helpers.js';

describe('sparsity schedules', () => {
  it('agp follows s_f + (s_i - s_f)(1 - t/n)^3 and ends exactly at s_f', () => {
    const s = sparsitySchedule('agp', 0.2, 0.9, 5);
    assert.equal(s.length, 5);
    for (let t = 1; t <= 5; t++) assert.ok(Math.abs(s[t - 1]! - (0.9 + (0.2 - 0.9) * (1 - t / 5) ** 3)) < 1e-15, `step ${t}`);
    assert.equal(s[4], 0.9);
    // Large steps first: each step is smaller than the one before.
    const deltas = s.map((v, i) => v - (i ? s[i - 1]! : 0.2));
    for (let i = 1; i < deltas.length; i++) assert.ok(deltas[i]! < deltas[i - 1]!);
    assert.deepEqual(sparsitySchedule('agp', 0, 0.5, 2), [0.5 - 0.5 * 0.125, 0.5]);
  });

  it('linear takes equal steps; oneshot one step; bad arguments throw', () => {
    const s = sparsitySchedule('linear', 0, 0.8, 4);
    s.forEach((v, i) => assert.ok(Math.abs(v - 0.2 * (i + 1)) < 1e-15));
    assert.deepEqual(sparsitySchedule('oneshot', 0.1, 0.7, 9), [0.7]);
    assert.throws(() => sparsitySchedule('agp', 0, 1, 3), /\[0, 1\)/);
    assert.throws(() => sparsitySchedule('agp', 0, 0.5, 0), /whole number >= 1/);
    assert.throws(() => sparsitySchedule('cubic' as 'agp', 0, 0.5, 2), /schedule must be one of/);
  });
});

function layer(seed: number, inputs: number, outputs: number, ties = false): LayerScores {
  const r = rng(seed);
  const score = randomArray(r, inputs * outputs, 0, ties ? 3 : 1, ties);
  return { inputs, outputs, score, tieBreak: randomArray(r, inputs * outputs, 0, 1), mask: new Float32Array(inputs * outputs).fill(1) };
}

function pruned(mask: Float32Array): number {
  return mask.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
}

/** Every output column keeps at least one connection. */
function everyColumnKept(l: LayerScores, mask: Float32Array): boolean {
  for (let k = 0; k < l.outputs; k++) {
    let kept = 0;
    for (let j = 0; j < l.inputs; j++) kept += mask[j * l.outputs + k]!;
    if (kept === 0) return false;
  }
  return true;
}

describe('masks', () => {
  const layers = [layer(1, 30, 20), layer(2, 20, 7), layer(3, 7, 40, true)];
  const total = layers.reduce((n, l) => n + l.inputs * l.outputs, 0);

  it('global: exactly round(target x all) pruned, the lowest scores across layers', () => {
    for (const target of [0, 0.1, 0.5, 0.77, 0.9]) {
      const counts = globalCounts(layers, target);
      const masks = layers.map((l, i) => maskWithCount(l, counts[i]!));
      assert.equal(masks.reduce((n, m) => n + pruned(m), 0), Math.round(target * total), `target ${target}`);
      masks.forEach((m, i) => assert.equal(pruned(m), counts[i]));
      masks.forEach((m, i) => assert.ok(everyColumnKept(layers[i]!, m)));
      // One threshold: no pruned score above a kept one that could have been pruned instead.
      let maxPruned = -Infinity, minKept = Infinity;
      layers.forEach((l, i) => {
        const candidates = new Set([...pruneOrder(l)]);
        for (let e = 0; e < l.score.length; e++) {
          if (masks[i]![e] === 0) maxPruned = Math.max(maxPruned, l.score[e]!);
          else if (candidates.has(e)) minKept = Math.min(minKept, l.score[e]!);
        }
      });
      if (target > 0) assert.ok(maxPruned <= minKept, `target ${target}: pruned ${maxPruned} > kept ${minKept}`);
    }
  });

  it('layer: each layer exactly round(target x its size)', () => {
    for (const target of [0.25, 0.6, 0.85]) {
      const masks = layers.map((l, i) => maskWithCount(l, layerCounts(layers, target)[i]!));
      masks.forEach((m, i) => assert.equal(pruned(m), Math.round(target * layers[i]!.inputs * layers[i]!.outputs)));
    }
  });

  it('stops at one connection per output neuron, and never brings a pruned one back', () => {
    const l = layer(4, 10, 6);
    assert.equal(mostPrunable([l]), 60 - 6);
    const full = maskWithCount(l, globalCounts([l], 0.99)[0]!);
    assert.equal(pruned(full), 54);
    assert.ok(everyColumnKept(l, full));
    // Already pruned entries stay pruned, even with the highest scores.
    const prior = new Float32Array(60).fill(1);
    const top = Array.from(l.score).map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5).map(([, i]) => i);
    for (const i of top) prior[i] = 0;
    const withPrior = { ...l, mask: prior };
    const next = maskWithCount(withPrior, globalCounts([withPrior], 0.3)[0]!);
    assert.equal(pruned(next), 18);
    for (const i of top) assert.equal(next[i], 0);
    // A target below what is pruned already prunes nothing more.
    assert.deepEqual(globalCounts([withPrior], 0.01), [5]);
  });

  it('equal scores go by the tie-break, then by position: the same scores give the same mask', () => {
    const l: LayerScores = { inputs: 3, outputs: 2, score: [1, 1, 1, 1, 1, 1], tieBreak: [0.5, 0.1, 0.2, 0.9, 0.3, 0.3], mask: new Float32Array(6).fill(1) };
    // Each column's best stays: column 0 (entries 0, 2, 4; tie-breaks .5, .2, .3) keeps 0, column 1
    // (entries 1, 3, 5; .1, .9, .3) keeps 3. The rest go in order 1 (.1), 2 (.2), 4 (.3), 5 (.3, later).
    assert.deepEqual([...pruneOrder(l)], [1, 2, 4, 5]);
    assert.deepEqual([...maskWithCount(l, 3)], [1, 0, 0, 1, 0, 1]);
  });
});
