// What MAM (MamDense) and MAC (MaskedDense) layers share: a kernel [in, out], an optional
// bias, and a pruning mask stored as a non-trainable weight, so that every later step
// (training, pruning, saving, export) treats both kinds alike.
//
// The layer always computes with kernel * mask, so a pruned connection is pruned whatever
// the optimizer does to the raw kernel; applyMask() also zeroes the raw kernel (done on
// setMask and before saving) so that the stored weights are exactly zero where pruned.
import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

type DenseArgs = Parameters<typeof tf.layers.dense>[0];
type Initializer = ReturnType<typeof tf.initializers.zeros>;
type LayerVariable = tf.LayerVariable;
type Shape = tf.Shape;

/** The options of tf.layers.dense that these layers take (plus name, inputShape, ... from LayerArgs). */
export interface PrunableDenseArgs extends LayerArgs {
  units: number;
  activation?: DenseArgs['activation'];
  useBias?: boolean;
  kernelInitializer?: DenseArgs['kernelInitializer'];
  biasInitializer?: DenseArgs['biasInitializer'];
}

interface ResolvedDense {
  activation: { apply(t: tf.Tensor): tf.Tensor };
  kernelInitializer: Initializer;
  biasInitializer: Initializer;
  getConfig(): tf.serialization.ConfigDict;
}

export type LayerKind = 'mam' | 'mac';

export abstract class PrunableDense extends tf.layers.Layer {
  abstract readonly kind: LayerKind;
  readonly units: number;
  readonly useBias: boolean;
  // tfjs-layers keeps getActivation / getInitializer internal; a tf.layers.dense that is
  // configured but never built resolves them (strings, objects, saved configs) exactly as
  // tf.layers.dense does, and serializes them back the same way.
  private readonly dense: ResolvedDense;
  protected kernel: LayerVariable | null = null;
  protected bias: LayerVariable | null = null;
  protected mask: LayerVariable | null = null;

  constructor(args: PrunableDenseArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units < 1) {
      throw new RangeError(`${new.target.name}: units must be a whole number >= 1, got ${args.units}`);
    }
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    this.dense = tf.layers.dense({
      name: `${this.name}__config`,
      units: args.units,
      activation: args.activation,
      useBias: this.useBias,
      kernelInitializer: args.kernelInitializer,
      biasInitializer: args.biasInitializer,
    }) as unknown as ResolvedDense;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const n = shape[shape.length - 1];
    if (shape.length !== 2 || n == null) {
      throw new Error(`${this.getClassName()} '${this.name}' takes inputs of shape [batch, features], got [${shape.join(', ')}]`);
    }
    this.validateInputSize(n);
    this.kernel = this.addWeight('kernel', [n, this.units], 'float32', this.dense.kernelInitializer, undefined, true);
    if (this.useBias) {
      this.bias = this.addWeight('bias', [this.units], 'float32', this.dense.biasInitializer, undefined, true);
    }
    this.mask = this.addWeight('mask', [n, this.units], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  /** Checks the input size against layer options (e.g. MAM splits); throws RangeError. */
  protected validateInputSize(_inputs: number): void {}

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [...shape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const w = tf.mul(this.kernel!.read(), this.mask!.read()) as tf.Tensor2D;
      let y: tf.Tensor = this.product(x, w);
      if (this.bias) y = tf.add(y, this.bias.read());
      return this.dense.activation.apply(y);
    });
  }

  /** x [batch, in] times the effective kernel w [in, out], without bias: MAC or MAM. */
  protected abstract product(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D;

  private built_(): { kernel: LayerVariable; mask: LayerVariable } {
    if (!this.kernel || !this.mask) {
      throw new Error(`${this.getClassName()} '${this.name}' is not built yet: call it on an input (or build it) first`);
    }
    return { kernel: this.kernel, mask: this.mask };
  }

  /** The pruning mask [in, out]: 1 = kept, 0 = pruned. The caller owns the returned tensor. */
  getMask(): tf.Tensor2D {
    return this.built_().mask.read().clone() as tf.Tensor2D;
  }

  /** Sets the pruning mask (values 0 or 1, shape [in, out]) and zeroes the pruned kernel entries. */
  setMask(mask: tf.Tensor | ArrayLike<number>): void {
    const { kernel, mask: variable } = this.built_();
    const shape = kernel.shape as [number, number];
    if (mask instanceof tf.Tensor && (mask.rank !== 2 || mask.shape[0] !== shape[0] || mask.shape[1] !== shape[1])) {
      throw new Error(`${this.name}: a mask of shape [${mask.shape.join(', ')}] does not fit a kernel of shape [${shape.join(', ')}]`);
    }
    const values = mask instanceof tf.Tensor ? mask.dataSync() : mask;
    if (values.length !== shape[0] * shape[1]) {
      throw new Error(`${this.name}: a mask of ${values.length} entries does not fit a kernel of shape [${shape.join(', ')}]`);
    }
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== 0 && values[i] !== 1) {
        throw new Error(`${this.name}: mask entry ${i} is ${values[i]}; masks hold 0 (pruned) or 1 (kept)`);
      }
    }
    tf.tidy(() => { variable.write(tf.tensor2d(Float32Array.from(values), shape)); });
    this.applyMask();
  }

  /** The effective kernel (kernel x mask) [in, out] as a row-major copy. */
  effectiveKernel(): Float32Array {
    const { kernel, mask } = this.built_();
    return tf.tidy(() => tf.where(tf.greater(mask.read(), 0), kernel.read(), tf.zerosLike(kernel.read())).dataSync() as Float32Array).slice();
  }

  /** The raw kernel variable, for gradients with respect to it (the layer computes with kernel x mask). */
  kernelVariable(): tf.Variable {
    return this.built_().kernel.read() as tf.Variable;
  }

  /** [inputs, outputs] of the kernel. */
  kernelShape(): [number, number] {
    return this.built_().kernel.shape as [number, number];
  }

  /** Zeroes the raw kernel where the mask is 0 (optimizer momentum may have moved it). */
  applyMask(): void {
    const { kernel, mask } = this.built_();
    // where(), not kernel * mask: a negative weight times 0 is -0, and a pruned weight is stored as +0.
    tf.tidy(() => { kernel.write(tf.where(tf.greater(mask.read(), 0), kernel.read(), tf.zerosLike(kernel.read()))); });
  }

  /** Kernel entries [total, kept]: what sparsity and storage are computed from. */
  maskCounts(): { total: number; kept: number } {
    const mask = this.built_().mask.read().dataSync();
    let kept = 0;
    for (let i = 0; i < mask.length; i++) kept += mask[i];
    return { total: mask.length, kept };
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { units, activation, useBias, kernelInitializer, biasInitializer } = this.dense.getConfig();
    return { ...super.getConfig(), units, activation, useBias, kernelInitializer, biasInitializer };
  }
}
