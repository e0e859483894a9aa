// Pruning a saved model, as `mam prune` does it: the model's own data through its own pipeline,
// the pruning steps, the test ASNR at the end, and the pruned model saved (atomically) with
// the record of every pruning run it has been through.
import { resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { PreparedData } from '../data/pipeline.js';
import { prepareFromSource } from '../data/source.js';
import { evaluate } from '../eval/evaluate.js';
import { setAsnr } from '../metrics/reconstruction.js';
import { checkReplaceable, saveModel } from '../model/files.js';
import { loadAutoencoder, type AutoencoderMetadata, type PruneRun } from '../model/metadata.js';
import { withOutputLock } from '../io/lock.js';
import {
  checkSparsity, layerTable, layersToPrune, setPruningMode, pruneModel, sparsityOf, validationAsnr, withModelDefaults,
  type PruneHooks, type PruneOptions, type PruneRequest,
} from './pruner.js';

export interface PruneOutcome {
  model: tf.LayersModel;
  metadata: AutoencoderMetadata;
  run: PruneRun;
}

/**
 * Prunes a loaded model in memory on its own data (`data`: from prepareFromSource of its
 * metadata) and returns the updated metadata; the caller saves.
 */
export async function pruneLoaded(
  model: tf.LayersModel, metadata: AutoencoderMetadata, data: PreparedData & { recordNames: string[] }, options: PruneOptions, hooks: PruneHooks = {},
): Promise<PruneOutcome> {
  const layers = layersToPrune(model, options.layers, options.exclude);
  // Checked and set here too (pruneModel does both again, harmlessly) so that "before" is
  // measured in the mode the pruning runs in, and a bad target fails before any output.
  const start = sparsityOf(layers);
  checkSparsity(options.sparsity, start);
  setPruningMode(model, options);
  const before = { ...start, valAsnrDb: validationAsnr(model, data.val, setAsnr) };
  hooks.log?.(`before: ${layers.length} layers (${layers.map((l) => l.name).join(', ')}), ${before.nonzeros} of ${before.weights} weights, sparsity ${before.sparsity.toFixed(4)}, validation ASNR ${before.valAsnrDb.toFixed(2)} dB`);
  const steps = await pruneModel(model, data.train, data.val, options, setAsnr, hooks);
  const test = data.test.count > 0 ? evaluate(model, { windows: data.test, recordNames: data.recordNames, split: 'test' }).overall : null;
  const run: PruneRun = {
    options,
    before,
    steps,
    after: { ...sparsityOf(layers), valAsnrDb: steps.at(-1)!.valAsnrDb, test },
    layers: layerTable(model, layers.map((l) => l.name)),
  };
  const { optimizer: _dropped, ...rest } = metadata;
  const updated: AutoencoderMetadata = {
    ...rest,
    spec: { ...metadata.spec, prunedAs: options.prunedAs ?? metadata.spec.prunedAs },
    pruning: [...(metadata.pruning ?? []), run],
  };
  return { model, metadata: updated, run };
}

/** `mam prune`: loads `dir`, prunes, saves to `out` (which may be `dir` itself). */
export function pruneSaved(dir: string, out: string, request: PruneRequest, hooks: PruneHooks = {}): Promise<PruneOutcome> {
  return withOutputLock(out, async () => {
    await checkReplaceable(resolve(out)); // before the work, not after it
    return pruneLocked(dir, out, request, hooks);
  });
}

async function pruneLocked(dir: string, out: string, request: PruneRequest, hooks: PruneHooks): Promise<PruneOutcome> {
  const { model, metadata } = await loadAutoencoder(dir);
  const options = withModelDefaults(request, metadata.training.options);
  if (!metadata.training.state.finished) {
    hooks.log?.(`note: ${dir} is an unfinished training run (epoch ${metadata.training.state.epoch} of ${metadata.training.options.epochs}); pruning it as it is, as pure MAM`);
  }
  const data = await prepareFromSource(metadata.data.source, metadata.data.pipeline);
  const outcome = await pruneLoaded(model, metadata, data, options, hooks);
  await saveModel(model, out, outcome.metadata);
  return outcome;
}
