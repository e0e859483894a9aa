// Which connections to prune: new masks from per-connection scores. Pure arithmetic, no tfjs.
//
// A kernel is [inputs, outputs] row-major, as tfjs stores it; a mask holds 1 (kept) or 0
// (pruned). Lower scores are pruned first; ties go by the tie-break (|w|), then by position, so
// the same scores always give the same masks. Masks only grow sparser: a pruned connection
// stays pruned. Each output neuron keeps its best connection, so no neuron is cut off from its
// inputs (a MAM neuron with none would have nothing to take the max of).

/** One layer's scores and mask. Treated as immutable once made (orders are remembered per object). */
export interface LayerScores {
  inputs: number;
  outputs: number;
  /** Per connection; lower = pruned first. */
  score: ArrayLike<number>;
  /** Orders equal scores; lower = pruned first. */
  tieBreak: ArrayLike<number>;
  /** The current mask: 1 kept, 0 pruned. */
  mask: ArrayLike<number>;
}

/** a before b in pruning order (score, then tie-break, then position)? As a sort comparator. */
function compare(sa: number, ta: number, pa: number, sb: number, tb: number, pb: number): number {
  return sa - sb || ta - tb || pa - pb;
}

// Sorting is the costly part and one step asks for the same layer's order several times (the
// reach, the counts, the masks): remember it per LayerScores object, which is never modified.
const orders = new WeakMap<LayerScores, Int32Array>();

/** Entries of `layer` that may still be pruned, in pruning order: kept, and not their column's best. */
export function pruneOrder(layer: LayerScores): Int32Array {
  let order = orders.get(layer);
  if (!order) orders.set(layer, (order = computeOrder(layer)));
  return order;
}

function computeOrder(layer: LayerScores): Int32Array {
  const { inputs, outputs, score, tieBreak, mask } = layer;
  const best = new Int32Array(outputs).fill(-1);
  for (let j = 0; j < inputs; j++) {
    for (let k = 0; k < outputs; k++) {
      const i = j * outputs + k;
      const b = best[k]!;
      if (mask[i] !== 0 && (b < 0 || compare(score[i]!, tieBreak[i]!, i, score[b]!, tieBreak[b]!, b) > 0)) best[k] = i;
    }
  }
  const protectedSet = new Set(best);
  const order: number[] = [];
  for (let i = 0; i < inputs * outputs; i++) if (mask[i] !== 0 && !protectedSet.has(i)) order.push(i);
  order.sort((a, b) => compare(score[a]!, tieBreak[a]!, a, score[b]!, tieBreak[b]!, b));
  return Int32Array.from(order);
}

function prunedNow(layer: LayerScores): number {
  let n = 0;
  for (let i = 0; i < layer.inputs * layer.outputs; i++) if (layer.mask[i] === 0) n++;
  return n;
}

/** The most connections that can be pruned in all: everything but one per output neuron. */
export function mostPrunable(layers: LayerScores[]): number {
  return layers.reduce((sum, l) => sum + prunedNow(l) + pruneOrder(l).length, 0);
}

/**
 * Pruned connections per layer for `target` sparsity with one threshold over all layers:
 * round(target x all connections) in all, the lowest scores wherever they are (as few as the
 * masks already prune, as many as mostPrunable allows).
 */
export function globalCounts(layers: LayerScores[], target: number): number[] {
  const total = layers.reduce((sum, l) => sum + l.inputs * l.outputs, 0);
  const counts = layers.map(prunedNow);
  let extra = Math.round(target * total) - counts.reduce((a, b) => a + b, 0);
  if (extra <= 0) return counts;
  const orders = layers.map(pruneOrder);
  // Merge the layers' orders: repeatedly take the lowest head.
  const heads = new Array<number>(layers.length).fill(0);
  while (extra > 0) {
    let pick = -1;
    for (let l = 0; l < layers.length; l++) {
      if (heads[l]! >= orders[l]!.length) continue;
      if (pick < 0) { pick = l; continue; }
      const a = orders[l]![heads[l]!]!, b = orders[pick]![heads[pick]!]!;
      const la = layers[l]!, lb = layers[pick]!;
      // Across layers, equal scores and tie-breaks go to the earlier layer (the loop order).
      if (compare(la.score[a]!, la.tieBreak[a]!, 0, lb.score[b]!, lb.tieBreak[b]!, 0) < 0) pick = l;
    }
    if (pick < 0) break; // nothing left to prune
    heads[pick]!++;
    counts[pick]!++;
    extra--;
  }
  return counts;
}

/** Pruned connections per layer for `target` sparsity in each layer (round(target x its size)). */
export function layerCounts(layers: LayerScores[], target: number): number[] {
  return layers.map((l) => Math.max(prunedNow(l), Math.round(target * l.inputs * l.outputs)));
}

/** A new mask with `count` connections pruned: those pruned already, then the lowest scores. */
export function maskWithCount(layer: LayerScores, count: number): Float32Array {
  const mask = Float32Array.from(layer.mask, (v) => (v !== 0 ? 1 : 0));
  const order = pruneOrder(layer);
  const extra = Math.min(order.length, count - prunedNow(layer));
  for (let i = 0; i < extra; i++) mask[order[i]!] = 0;
  return mask;
}
