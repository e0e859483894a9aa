// The Multiply-And-Max/min layer: y[k] = max_j w[j,k] x[j] + min_j w[j,k] x[j] + b[k].
//
// While training it blends in the ordinary dense product ("vanishing contributions", Prono et
// al. 2025; see the README):
//   y = beta * x W + (1 - beta) * MAM(x; W) + b
// beta starts at 1 (pure MAC) and a schedule (src/train/vcon.ts) steps it down to 0 (pure MAM).
// beta is part of the layer's config, so a saved model keeps the value it was saved with.
import * as tf from '@tensorflow/tfjs';
import type { PrunedAs } from './mam-math.js';
import { mamProduct } from './mam-op.js';
import { PrunableDense, type LayerKind, type PrunableDenseArgs } from './prunable-dense.js';

export interface MamDenseArgs extends PrunableDenseArgs {
  /** Weight of the dense term, 0 (pure MAM, the default) to 1 (pure MAC). */
  beta?: number;
  /** Whether a pruned connection offers a 0 product to the max/min ('zero') or none ('absent'). */
  prunedAs?: PrunedAs;
  /** Inputs cut into this many contiguous slices, one max and one min each, summed. */
  splits?: number;
}

export class MamDense extends PrunableDense {
  static className = 'MamDense';
  readonly kind: LayerKind = 'mam';
  readonly splits: number;
  private beta_: number;
  private prunedAs_: PrunedAs;

  constructor(args: MamDenseArgs) {
    super(args);
    this.beta_ = checkBeta(args.beta ?? 0, this.name);
    this.prunedAs_ = checkPrunedAs(args.prunedAs ?? 'zero', this.name);
    this.splits = args.splits ?? 1;
    if (!Number.isInteger(this.splits) || this.splits < 1) {
      throw new RangeError(`MamDense '${this.name}': splits must be a whole number >= 1, got ${this.splits}`);
    }
  }

  get beta(): number {
    return this.beta_;
  }

  /** Sets the weight of the dense term (1 = pure MAC, 0 = pure MAM). */
  setBeta(beta: number): void {
    this.beta_ = checkBeta(beta, this.name);
  }

  get prunedAs(): PrunedAs {
    return this.prunedAs_;
  }

  /** How pruned connections take part in the max/min from now on (saved with the layer's config). */
  setPrunedAs(prunedAs: PrunedAs): void {
    this.prunedAs_ = checkPrunedAs(prunedAs, this.name);
  }

  protected override validateInputSize(inputs: number): void {
    if (this.splits > inputs) {
      throw new RangeError(`MamDense '${this.name}': ${this.splits} splits need at least as many inputs, got ${inputs}`);
    }
  }

  protected product(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
    // The ends are computed alone, so beta = 1 is exactly a dense layer and beta = 0 exactly MAM.
    if (this.beta_ >= 1) return tf.matMul(x, w);
    const keep = this.prunedAs === 'absent' ? (this.mask!.read() as tf.Tensor2D) : null;
    const mam = mamProduct(x, w, keep, this.splits);
    if (this.beta_ <= 0) return mam;
    return tf.add(tf.mul(tf.matMul(x, w), this.beta_), tf.mul(mam, 1 - this.beta_));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), beta: this.beta_, prunedAs: this.prunedAs, splits: this.splits };
  }
}
tf.serialization.registerClass(MamDense);

function checkPrunedAs(prunedAs: PrunedAs, name: string): PrunedAs {
  if (prunedAs !== 'zero' && prunedAs !== 'absent') {
    throw new RangeError(`MamDense '${name}': prunedAs must be 'zero' or 'absent', got '${String(prunedAs)}'`);
  }
  return prunedAs;
}

function checkBeta(beta: number, name: string): number {
  if (!(beta >= 0 && beta <= 1)) throw new RangeError(`MamDense '${name}': beta must be in [0, 1], got ${beta}`);
  return beta;
}
