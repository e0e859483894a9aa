// The weights of the best validation epoch, kept through a run so that it can end on them
// (TrainOptions.restoreBest, as Keras's restore_best_weights) instead of on its last epoch.
// It matters when validation is on other patients than training: there the best epoch can be
// early, even the start (a PCA start: epoch 0), and the epochs after it only fit the training
// patients better. Only epochs of the finished network count (beta 0: pure MAM, or any MAC
// epoch); the snapshot travels with each checkpoint (BEST_WEIGHTS_FILE) so that a resumed run
// ends on the same weights.
import * as tf from '@tensorflow/tfjs';
import { MamError } from '../errors.js';

export const BEST_WEIGHTS_FILE = 'best-weights.bin';

/** Which epoch the snapshot is of (0: the starting weights) and how it validated; in TrainState. */
export interface BestEpoch {
  epoch: number;
  valLoss: number;
  valAsnrDb: number;
}

export class BestWeights {
  private constructor(public best: BestEpoch | null, private values: Float32Array[] | null) {}

  static empty(): BestWeights {
    return new BestWeights(null, null);
  }

  /** A snapshot saved with a checkpoint (`bytes`: every weight of `model`, in order, as float32). */
  static fromBytes(best: BestEpoch, bytes: Uint8Array, model: tf.LayersModel, file: string): BestWeights {
    const sizes = model.getWeights().map((w) => w.size);
    const expected = 4 * sizes.reduce((a, b) => a + b, 0);
    if (bytes.length !== expected) {
      throw new MamError(`${file}: ${bytes.length} bytes where the model has ${expected} bytes of weights: the checkpoint is corrupt; train the model again from the start`, { file });
    }
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    let at = 0;
    return new BestWeights(best, sizes.map((n) => all.slice(at, (at += n))));
  }

  /** Takes a snapshot of `model` when `epoch` validated better than the snapshot so far; true if so. */
  offer(epoch: BestEpoch, model: tf.LayersModel): boolean {
    if (!Number.isFinite(epoch.valLoss) || (this.best !== null && !(epoch.valLoss < this.best.valLoss))) return false;
    this.best = { ...epoch };
    this.values = model.getWeights().map((w) => w.dataSync() as Float32Array).map((v) => v.slice());
    return true;
  }

  /** Sets `model` to the snapshot (kernels, biases and masks). */
  restore(model: tf.LayersModel): void {
    if (this.values === null) return;
    const tensors = model.getWeights().map((w, i) => tf.tensor(this.values![i]!, w.shape, 'float32'));
    model.setWeights(tensors);
    tensors.forEach((t) => t.dispose());
  }

  /** The snapshot's bytes for a checkpoint, or undefined when there is none yet. */
  bytes(): Uint8Array | undefined {
    if (this.values === null) return undefined;
    const out = new Float32Array(this.values.reduce((n, v) => n + v.length, 0));
    let at = 0;
    for (const v of this.values) { out.set(v, at); at += v.length; }
    return new Uint8Array(out.buffer);
  }
}
