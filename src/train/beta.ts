// Applies a vanishing-contributions beta to the MAM layers of a model, and a fit() callback
// that steps a VconSchedule once per batch.
import type * as tf from '@tensorflow/tfjs';
import { MamDense } from '../layers/mam-dense.js';
import type { VconSchedule } from './vcon.js';

/** Sets beta on every MamDense layer of the model; returns how many layers it set. */
export function setModelBeta(model: tf.LayersModel, beta: number): number {
  let count = 0;
  for (const layer of model.layers) {
    if (layer instanceof MamDense) {
      layer.setBeta(beta);
      count++;
    }
  }
  return count;
}

/** Callbacks for model.fit(): the model trains each batch at the schedule's beta, then steps it. */
export function vconCallbacks(model: tf.LayersModel, schedule: VconSchedule): tf.CustomCallbackArgs {
  return {
    onTrainBegin: async () => { setModelBeta(model, schedule.beta); },
    onBatchEnd: async () => { setModelBeta(model, schedule.advance()); },
  };
}
