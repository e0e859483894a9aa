// Adam's state moved between a tfjs AdamOptimizer and the training engine, so that checkpoints
// keep tfjs's layout (optimizer.getWeights(): iterations, first moments, second moments, in the
// order of the trainable variables) whichever of the two trained.
import * as tf from '@tensorflow/tfjs';
import type { AdamMoments } from './engine/engine.js';

type Slot = { originalName: string; variable: tf.Variable };
/** The fields of tfjs-core 4.22's AdamOptimizer that hold its state (private in its typings). */
export type AdamInternals = {
  learningRate: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
  iterations_: number;
};

const internals = (optimizer: tf.Optimizer) => optimizer as unknown as AdamInternals;

/** beta1^t and beta2^t as the optimizer holds them (float32). */
export function readAccBeta(optimizer: tf.Optimizer): [number, number] {
  const adam = internals(optimizer);
  return [adam.accBeta1.dataSync()[0]!, adam.accBeta2.dataSync()[0]!];
}

/** The optimizer's state, or null while it has taken no step (tfjs makes its moments lazily). */
export function readAdamState(optimizer: tf.Optimizer, variables: tf.Variable[]): AdamMoments | null {
  const adam = internals(optimizer);
  const accBeta = readAccBeta(optimizer);
  if (adam.accumulatedFirstMoment.length === 0) return null;
  if (adam.accumulatedFirstMoment.length !== variables.length) {
    throw new Error(`the optimizer holds moments for ${adam.accumulatedFirstMoment.length} variables, the model has ${variables.length}`);
  }
  return {
    m: adam.accumulatedFirstMoment.map((s) => s.variable.dataSync() as Float32Array),
    v: adam.accumulatedSecondMoment.map((s) => s.variable.dataSync() as Float32Array),
    accBeta,
    iterations: adam.iterations_,
  };
}

/** Puts `state` into the optimizer, making its moment variables (named as tfjs does) if it has none. */
export async function writeAdamState(optimizer: tf.Optimizer, variables: tf.Variable[], state: AdamMoments): Promise<void> {
  const adam = internals(optimizer);
  if (adam.accumulatedFirstMoment.length === 0) {
    const zeros = (suffix: string) => variables.map((v) => ({ name: `${v.name}/${suffix}`, tensor: tf.zerosLike(v) }));
    const slots = [{ name: 'iter', tensor: tf.scalar(0, 'int32') }, ...zeros('m'), ...zeros('v')];
    await optimizer.setWeights(slots); // the variables it makes hold their own reference to the data
    tf.dispose(slots.map((s) => s.tensor));
  }
  tf.tidy(() => {
    variables.forEach((v, i) => {
      adam.accumulatedFirstMoment[i]!.variable.assign(tf.tensor(state.m[i]!, v.shape));
      adam.accumulatedSecondMoment[i]!.variable.assign(tf.tensor(state.v[i]!, v.shape));
    });
    adam.accBeta1.assign(tf.scalar(state.accBeta[0]));
    adam.accBeta2.assign(tf.scalar(state.accBeta[1]));
  });
  adam.iterations_ = state.iterations;
}
