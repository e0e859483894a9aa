// Inference with a loaded model: its output for every window of a set, in batches (so that a
// long recording does not become one huge tensor). What evaluation, pruning and the tfjs
// training path all reconstruct with.
import * as tf from '@tensorflow/tfjs';
import type { WindowSet } from '../data/pipeline.js';

/** The model's output for every window, batched. */
export function reconstruct(model: tf.LayersModel, set: WindowSet, batchSize = 256): Float32Array {
  const out = new Float32Array(set.data.length);
  for (let w = 0; w < set.count; w += batchSize) {
    const count = Math.min(batchSize, set.count - w);
    const y = tf.tidy(() => {
      const x = tf.tensor2d(set.data.subarray(w * set.length, (w + count) * set.length), [count, set.length]);
      return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    });
    out.set(y, w * set.length);
  }
  return out;
}
