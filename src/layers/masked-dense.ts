// The MAC baseline: an ordinary dense layer y = x (W * mask) + b, prunable like MamDense.
import * as tf from '@tensorflow/tfjs';
import { PrunableDense, type LayerKind, type PrunableDenseArgs } from './prunable-dense.js';

export type MaskedDenseArgs = PrunableDenseArgs;

export class MaskedDense extends PrunableDense {
  static className = 'MaskedDense';
  readonly kind: LayerKind = 'mac';

  protected product(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, w);
  }
}
tf.serialization.registerClass(MaskedDense);
