// A training checkpoint is a model directory plus the optimizer's state (optimizer.bin, its
// layout in mam.json) and the TrainState, all written in one atomic save, so an interrupted
// run can always be resumed from its last epoch (or step, after Ctrl-C).
import * as tf from '@tensorflow/tfjs';
import { MamError, msg } from '../errors.js';
import { loadModel, readModelFile, saveModel } from '../model/files.js';
import { autoencoderMetadata, type AutoencoderMetadata, type OptimizerSpec } from '../model/metadata.js';
import type { NamedTensor, TrainState } from './trainer.js';

export const OPTIMIZER_FILE = 'optimizer.bin';

/** Saves model, metadata (with `training.state`), optimizer state and extra files atomically. */
export async function saveCheckpoint(
  model: tf.LayersModel, dir: string, metadata: AutoencoderMetadata, optimizer: tf.Optimizer,
  extraFiles: Record<string, string | Uint8Array> = {},
): Promise<void> {
  const weights = await optimizer.getWeights();
  const iterations = weights[0]?.name === 'iter' ? weights[0].tensor : undefined; // made afresh by getWeights
  const specs: OptimizerSpec[] = weights.map(({ name, tensor }) => ({ name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32' }));
  const parts = weights.map(({ tensor }) => {
    const values = tensor.dataSync();
    return new Uint8Array(tensor.dtype === 'int32' ? Int32Array.from(values).buffer : Float32Array.from(values).buffer);
  });
  iterations?.dispose();
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) { bytes.set(p, offset); offset += p.length; }
  await saveModel(model, dir, { ...metadata, optimizer: specs }, { ...extraFiles, [OPTIMIZER_FILE]: bytes });
}

export interface LoadedCheckpoint {
  model: tf.LayersModel;
  metadata: AutoencoderMetadata;
  state: TrainState;
  optimizerWeights: NamedTensor[];
}

/** Loads a checkpoint to resume; a model without training state is refused with the fix. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { model, metadata: stored } = await loadModel(dir);
  // Only a training run stores its optimizer's state (pruning drops it): without it there is
  // nothing to resume; with it, the rest of mam.json must be whole.
  const metadata = stored.optimizer === undefined ? undefined : autoencoderMetadata(stored, dir);
  if (!metadata?.optimizer) {
    throw new MamError(msg`${dir}: no training state to resume (it was not written by mam train): train a new model with {out}`, { file: dir });
  }
  const specs = metadata.optimizer;
  const bytes = await readModelFile(dir, OPTIMIZER_FILE, 'the checkpoint is incomplete; train the model again from the start');
  const expected = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== expected) {
    throw new MamError(`${dir}/${OPTIMIZER_FILE}: ${bytes.length} bytes where mam.json describes ${expected}: the checkpoint is corrupt; train the model again from the start`, { file: dir });
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  let offset = 0;
  const optimizerWeights = specs.map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const values = s.dtype === 'int32' ? new Int32Array(buffer, offset, size) : new Float32Array(buffer, offset, size);
    offset += 4 * size;
    return { name: s.name, tensor: tf.tensor(values, s.shape, s.dtype) };
  });
  return { model, metadata, state: metadata.training.state, optimizerWeights };
}
