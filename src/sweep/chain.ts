// One kind's half of a sweep (it runs in its own process, see worker.ts): the dense model
// (given, or trained here), then the grid's sparsities in ascending order, each pruned from
// where its protocol says (the dense model, or the nearest point below it already saved),
// evaluated on the test split and saved, so that an interrupted sweep resumes from its last point.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { prepareFromSource } from '../data/source.js';
import { evaluate } from '../eval/evaluate.js';
import { exportNetwork } from '../export/network.js';
import { quantizeModel, type QuantizeRequest } from '../quantize/model.js';
import { MamError } from '../errors.js';
import { setAsnr } from '../metrics/reconstruction.js';
import { loadModel, modelDirExists, saveModel } from '../model/files.js';
import { loadAutoencoder } from '../model/metadata.js';
import { layersToPrune, sparsityOf, validationAsnr, withModelDefaults, type PruneRequest } from '../prune/pruner.js';
import { pruneLoaded } from '../prune/session.js';
import { trainOrResume, type TrainConfig } from '../train/session.js';
import { heldValidation } from '../train/trainer.js';
import { startingPoint, type SweepProtocol } from './protocol.js';
import type { SweepKind, SweepPoint } from './report.js';

export interface ChainTask {
  kind: SweepKind;
  /** The sweep's directory (absolute). */
  dir: string;
  /** The dense model: a model directory, or a configuration to train one into `into` (default <dir>/<kind>/dense). */
  model: { dir: string } | { train: TrainConfig; into?: string };
  protocol: SweepProtocol;
  /** Sparsities to compute. */
  sparsities: number[];
  /** This kind's points already computed (the chain continues from them). */
  done: SweepPoint[];
  prune: Omit<PruneRequest, 'sparsity'>;
  /** Also measure each point's int8 network on the test split. */
  quantize?: QuantizeRequest;
}

export type ChainMessage =
  | { type: 'log'; text: string }
  | { type: 'tick'; units: number }
  | { type: 'point'; point: SweepPoint };

export interface ChainIo {
  send(message: ChainMessage): void;
  shouldStop(): boolean;
}

/** Work units (epochs) a task will take: the progress bar's total. */
export function chainUnits(task: ChainTask): number {
  const train = 'train' in task.model ? task.model.train.options.epochs : 0;
  const steps = task.prune.schedule === 'oneshot' ? 1 : task.prune.steps;
  return train + task.sparsities.filter((s) => s > 0).length * steps * task.prune.fineTuneEpochs;
}

export function pointDir(kind: SweepKind, sparsity: number): string {
  return join(kind, `s${sparsity}`);
}

export async function runChain(task: ChainTask, io: ChainIo): Promise<void> {
  const log = (text: string) => io.send({ type: 'log', text: `${task.kind}: ${text}` });
  const denseDir = await denseModel(task, io, log);
  if (denseDir === null) return; // stopped while training
  const dense = await loadAutoencoder(denseDir);
  dense.model.dispose(); // only its data settings are needed here
  const { metadata } = dense;
  const data = await prepareFromSource(metadata.data.source, metadata.data.pipeline);
  if (data.test.count === 0) throw new MamError(`${denseDir}: its test split has no windows: a sweep needs more data`);
  const done = [...task.done];
  for (const sparsity of [...task.sparsities].sort((a, b) => a - b)) {
    if (io.shouldStop()) return;
    const from = startingPoint(task.protocol, sparsity, done);
    const fromDir = from ? resolve(task.dir, from.model) : denseDir;
    if (!(await modelDirExists(fromDir))) {
      throw new MamError(`the model of the ${task.kind} point at sparsity ${from!.sparsity} (${fromDir}) is missing: delete ${join(task.dir, 'sweep.json')} to start the sweep again, or restore the directory`, { file: fromDir });
    }
    const { model, metadata: meta } = await loadAutoencoder(fromDir);
    let modelDir = fromDir;
    // The pruning run measures the pruned model (sparsity, test and validation ASNR); the
    // dense point is measured here.
    let measured: { weights: number; nonzeros: number; sparsity: number; test: { asnr_db: number; prd: number }; valAsnrDb: number };
    if (sparsity > 0) {
      log(`pruning to ${sparsity} from ${from ? `the ${from.sparsity} point` : 'the dense model'}`);
      // A point that went past its grid value (MAM's first step can) is where the next one
      // starts: pruned weights do not come back, so aim at least as high.
      const options = withModelDefaults({ ...task.prune, sparsity: Math.max(sparsity, from?.actual_sparsity ?? 0) }, meta.training.options);
      const outcome = await pruneLoaded(model, meta, data, options, {
        log,
        onEpoch: () => io.send({ type: 'tick', units: 1 }),
      });
      modelDir = join(task.dir, pointDir(task.kind, sparsity));
      await saveModel(model, modelDir, outcome.metadata);
      measured = { ...outcome.run.after, test: outcome.run.after.test! }; // the test split is not empty (checked above)
    } else {
      measured = {
        ...sparsityOf(layersToPrune(model, task.prune.layers, task.prune.exclude)),
        test: evaluate(model, { windows: data.test, recordNames: data.recordNames, split: 'test' }).overall,
        valAsnrDb: validationAsnr(model, data.val, setAsnr),
      };
    }
    // The int8 network of the point, calibrated on the training windows, on the same test windows.
    const int8 = task.quantize
      ? evaluate(model, { windows: data.test, recordNames: data.recordNames, split: 'test' }, await quantizeModel(model, meta, exportNetwork(model, meta.data.pipeline), task.quantize, data.train)).overall.asnr_db
      : undefined;
    const point: SweepPoint = {
      protocol: task.protocol,
      kind: task.kind,
      sparsity,
      actual_sparsity: measured.sparsity,
      remaining_pct: 100 * (measured.nonzeros / measured.weights),
      nonzeros: measured.nonzeros,
      weights: measured.weights,
      asnr_db: measured.test.asnr_db,
      prd: measured.test.prd,
      val_asnr_db: measured.valAsnrDb,
      ...(int8 !== undefined ? { int8_asnr_db: int8 } : {}),
      model: relativeOrAbsolute(task.dir, modelDir),
    };
    model.dispose();
    done.push(point);
    io.send({ type: 'point', point });
  }
}

function relativeOrAbsolute(base: string, dir: string): string {
  const r = relative(base, dir);
  return r.startsWith('..') ? resolve(dir) : r;
}

/** The dense model's directory: the given one, or one trained (or resumed, or reused) here. */
async function denseModel(task: ChainTask, io: ChainIo, log: (t: string) => void): Promise<string | null> {
  if ('dir' in task.model) {
    (await loadModel(task.model.dir)).model.dispose(); // fails early, with the model's own error, if it is not one
    return resolve(task.model.dir);
  }
  const dir = task.model.into ?? join(task.dir, task.kind, 'dense');
  const epochs = task.model.train.options.epochs;
  const ui = {
    log,
    shouldStop: () => io.shouldStop(),
    onEpoch: (_s: unknown, r: { epoch: number; valAsnrDb: number }) => {
      io.send({ type: 'tick', units: 1 });
      if (r.epoch % 10 === 0) log(`epoch ${r.epoch}: validation ASNR ${r.valAsnrDb.toFixed(2)} dB`);
    },
  };
  if (!existsSync(dir)) log(`training the dense ${task.kind.toUpperCase()} model (${epochs} epochs)`);
  const run = await trainOrResume(task.model.train, dir, ui, (before) => io.send({ type: 'tick', units: before }));
  if (!run.finished) return null;
  if (run.outcome) {
    const { state } = run.outcome;
    io.send({ type: 'tick', units: epochs - state.epoch }); // early stopping skipped these
    const held = heldValidation(state)!;
    log(`trained: validation ASNR ${held.valAsnrDb.toFixed(2)} dB after ${state.epoch} epochs${held.restored ? ` (epoch ${held.epoch}'s weights)` : ''}`);
  } else {
    io.send({ type: 'tick', units: epochs - run.epochsBefore });
  }
  return dir;
}
