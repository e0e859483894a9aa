// A pruning sweep, as `mam sweep` runs it: a MAC and a MAM model of the same shape (trained, or
// given), each pruned along a grid of sparsities and evaluated on its test split. The two
// chains are independent, so each runs in its own process (up to `jobs` at once). Every point
// is written to sweep.json (and sweep.csv, sweep.svg) as it arrives, so a sweep that is
// stopped resumes where it was: points already in sweep.json are not computed again.
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync, promises as fs, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomically } from '../io/atomic.js';
import { withOutputLock } from '../io/lock.js';
import { canonical } from '../canonical.js';
import { MamError, Message, msg, RequestError, setting } from '../errors.js';
import type { QuantizeRequest } from '../quantize/model.js';
import { checkJson, listOf, number, object, oneOf, optional, orNull, string, unread } from '../json-check.js';
import { layerNames, shapeOf, type AutoencoderSpec } from '../model/autoencoder.js';
import { loadAutoencoder } from '../model/metadata.js';
import { checkLayerNames, type PruneRequest } from '../prune/pruner.js';
import type { TrainConfig } from '../train/session.js';
import { chainUnits, type ChainTask } from './chain.js';
import { protocolPrune, type SweepProtocol } from './protocol.js';
import {
  SWEEP_KINDS, sortPoints, summarizeSweep, sweepCsv, sweepSvg, type KindAtTarget, type SweepKind, type SweepPoint, type SweepSummary,
} from './report.js';
import type { WorkerMessage, WorkerRequest } from './worker.js';

export const SWEEP_JSON = 'sweep.json';
export const SWEEP_CSV = 'sweep.csv';
export const SWEEP_SVG = 'sweep.svg';
const FORMAT = 'mam-sweep';
const FORMAT_VERSION = 1;

/** A trained model's directory, or a configuration to train one (into `into`, default <sweep>/<kind>/dense). */
export type DenseSource = { dir: string } | { train: TrainConfig; into?: string };

export interface SweepRequest {
  dir: string;
  /** Sparsities in [0, 1). */
  grid: number[];
  targetDb: number;
  /** How the points are pruned (default 'finetune'); 'papers' overrides the schedule and fine-tuning. */
  protocol?: SweepProtocol;
  /** The comparison "within dropDb of each kind's dense ASNR" (default 1 dB). */
  dropDb?: number;
  prune: Omit<PruneRequest, 'sparsity'>;
  models: Record<SweepKind, DenseSource>;
  /** Also measure each point's int8 network (an extra ASNR column). */
  quantize?: QuantizeRequest;
  /** Chains run at once (1 or 2). */
  jobs: number;
  /** tfjs backend for the workers. */
  backend: string;
  /** Training threads of each worker (default: the cores shared out between the jobs). */
  threads?: number;
  /** Aborting it stops the sweep after each worker's current training step or point. */
  signal?: AbortSignal;
}

/** What decides a point's result: a resumed sweep must have the same. */
interface SweepSettings {
  protocol: SweepProtocol;
  prune: Omit<PruneRequest, 'sparsity'>;
  models: Record<SweepKind, DenseSource>;
  /** Present when the points also carry int8 ASNR. */
  quantize?: QuantizeRequest;
}

export interface SweepFile {
  format: typeof FORMAT;
  formatVersion: number;
  protocol: SweepProtocol;
  settings: SweepSettings;
  grid: number[];
  points: SweepPoint[];
  summary: SweepSummary;
}

export interface SweepUi {
  log(text: string): void;
  /** Work units (epochs) in all, once known. */
  start?(total: number): void;
  tick?(units: number): void;
}

async function readSweep(dir: string): Promise<SweepFile | null> {
  const path = join(dir, SWEEP_JSON);
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new MamError(msg`${dir} is a file, not a directory: give {dir} a directory for the sweep`, { file: dir });
  }
  if (!existsSync(path)) {
    if (existsSync(dir) && (await fs.readdir(dir)).length > 0) {
      throw new MamError(msg`${dir} exists, is not empty and holds no ${SWEEP_JSON}: choose another {dir} (a sweep writes into its own directory)`, { file: dir });
    }
    return null;
  }
  return loadSweepFile(path, msg`delete it to start the sweep again, or choose another {dir}`);
}

/** A sweep.json, checked field by field: MamErrors end with `fix`. */
export async function loadSweepFile(path: string, fix: string | Message): Promise<SweepFile> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(path, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `not valid JSON (${(e as Error).message.replace(/\s+/g, ' ')})`;
    throw new MamError(msg`${path}: ${why}: ${fix}`, { file: path });
  }
  const head = json as { format?: unknown; formatVersion?: unknown; points?: unknown } | null;
  if (head?.format !== FORMAT || !Array.isArray(head.points)) {
    throw new MamError(msg`${path}: not a mam sweep: ${fix}`, { file: path });
  }
  if (typeof head.formatVersion === 'number' && head.formatVersion > FORMAT_VERSION) {
    throw new MamError(`${path}: sweep format ${head.formatVersion} is newer than this mam reads (${FORMAT_VERSION}): upgrade mam-ecg`, { file: path });
  }
  const file = checkJson(json, STORED_SWEEP, path, fix);
  // Sweeps made before protocols had names were all fine-tuned.
  const protocol = file.protocol ?? 'finetune';
  const named = <T extends { protocol?: SweepProtocol }>(x: T) => ({ ...x, protocol: x.protocol ?? protocol });
  const kinds = (list: StoredKindAtTarget[]) => list.map((k) => ({ ...k, best: k.best && named(k.best) }));
  return {
    ...file, protocol,
    settings: named(file.settings),
    points: file.points.map(named),
    summary: { ...named(file.summary), kinds: kinds(file.summary.kinds), relative: kinds(file.summary.relative) },
  };
}

/** A sweep.json as read: one from before protocols had names has none, anywhere. */
type Unnamed<T> = Omit<T, 'protocol'> & { protocol?: SweepProtocol };
type StoredKindAtTarget = Omit<KindAtTarget, 'best'> & { best: Unnamed<SweepPoint> | null };
interface StoredSweep extends Unnamed<Omit<SweepFile, 'settings' | 'points' | 'summary'>> {
  settings: Unnamed<SweepSettings>;
  points: Array<Unnamed<SweepPoint>>;
  summary: Unnamed<Omit<SweepSummary, 'kinds' | 'relative'>> & { kinds: StoredKindAtTarget[]; relative: StoredKindAtTarget[] };
}

const protocolName = optional(oneOf<SweepProtocol>({ papers: true, finetune: true }));

const point = object<Unnamed<SweepPoint>>({
  protocol: protocolName, kind: oneOf<SweepKind>({ mac: true, mam: true }), sparsity: number, actual_sparsity: number,
  remaining_pct: number, nonzeros: number, weights: number, asnr_db: number, prd: number, val_asnr_db: number, int8_asnr_db: optional(number), model: string,
});

const atTarget = listOf(object<StoredKindAtTarget>({ kind: oneOf<SweepKind>({ mac: true, mam: true }), best: orNull(point), dense_asnr_db: orNull(number) }));

const STORED_SWEEP = object<StoredSweep>({
  format: oneOf({ [FORMAT]: true }), formatVersion: number, protocol: protocolName,
  // Compared whole with a resumed sweep's request, never read field by field.
  settings: object<Unnamed<SweepSettings>>({ protocol: protocolName, prune: unread(), models: unread(), quantize: optional(unread()) }),
  grid: listOf(number),
  points: listOf(point),
  summary: object({
    protocol: protocolName, target_db: number, kinds: atTarget, ratio_mac_mam: orNull(number), drop_db: number,
    relative: atTarget, ratio_mac_mam_relative: orNull(number),
  }),
});

/** Runs (or resumes) the sweep in `request.dir`, holding its output lock throughout. */
export function runSweep(request: SweepRequest, ui: SweepUi): Promise<SweepFile> {
  return withOutputLock(request.dir, () => runLocked(request, ui));
}

async function runLocked(request: SweepRequest, ui: SweepUi): Promise<SweepFile> {
  const dir = resolve(request.dir);
  const protocol = request.protocol ?? 'finetune';
  const settings: SweepSettings = {
    protocol,
    prune: protocolPrune(protocol, request.prune),
    models: Object.fromEntries(SWEEP_KINDS.map((k) => {
      const m = request.models[k];
      return [k, 'dir' in m ? { dir: resolve(m.dir) } : { ...m, ...(m.into ? { into: resolve(m.into) } : {}) }];
    })) as Record<SweepKind, DenseSource>,
    ...(request.quantize ? { quantize: request.quantize } : {}),
  };
  await checkModels(settings.models, settings.prune);
  const previous = await readSweep(dir);
  if (previous && previous.settings.protocol !== protocol) {
    throw new RequestError(msg`${join(dir, SWEEP_JSON)} was made with {protocol} ${previous.settings.protocol}: give {protocol} ${previous.settings.protocol} to resume it, or another {dir}`, { file: dir });
  }
  if (previous && canonical(previous.settings) !== canonical(settings)) {
    throw new RequestError(msg`${join(dir, SWEEP_JSON)} was made with other models, pruning or quantisation options: give the same options to resume it, or another {dir}`, { file: dir });
  }
  const grid = [...new Set(request.grid)].sort((a, b) => a - b);
  const points = previous?.points ?? [];
  if (previous) ui.log(`resuming ${dir}: ${points.length} points already computed`);

  const file = (): SweepFile => ({
    format: FORMAT, formatVersion: FORMAT_VERSION, protocol, settings, grid, points: sortPoints(points),
    summary: summarizeSweep(protocol, points, request.targetDb, request.dropDb),
  });
  let writeError: MamError | null = null;
  let writing = Promise.resolve();
  const write = (): Promise<void> => {
    const f = file();
    // One write after another: the last point's files are the ones left in place.
    writing = writing.then(async () => {
      if (writeError) return;
      try {
        await fs.mkdir(dir, { recursive: true });
        await writeFileAtomically(join(dir, SWEEP_JSON), [`${JSON.stringify(f, null, 2)}\n`]);
        await writeFileAtomically(join(dir, SWEEP_CSV), [sweepCsv(f.points)]);
        await writeFileAtomically(join(dir, SWEEP_SVG), [sweepSvg(protocol, f.points, request.targetDb)]);
      } catch (e) {
        writeError = new MamError(msg`cannot write the sweep's files in ${dir} (${(e as Error).message}): free some space or choose another {dir}, then run the same command to resume`, { file: dir, cause: e });
      }
    });
    return writing;
  };
  // Written before any work, so that a sweep stopped while training is recognised as one.
  await write();
  if (writeError) throw writeError;

  const tasks: ChainTask[] = SWEEP_KINDS.map((kind) => {
    const done = points.filter((p) => p.kind === kind);
    return {
      kind, dir, model: settings.models[kind], prune: settings.prune, protocol, done, quantize: settings.quantize,
      sparsities: grid.filter((s) => !done.some((p) => p.sparsity === s)),
    };
  }).filter((t) => t.sparsities.length > 0);
  ui.start?.(tasks.reduce((sum, t) => sum + chainUnits(t), 0));

  const failures: Array<{ text: Message; kind: Failure }> = [];
  const queue = [...tasks];
  const jobs = Math.max(1, Math.min(request.jobs, tasks.length));
  const threadsPerJob = request.threads ?? Math.max(1, Math.floor(availableParallelism() / jobs));
  const runNext = async (): Promise<void> => {
    for (let task = queue.shift(); task && !request.signal?.aborted; task = queue.shift()) {
      await runWorker(task, request.backend, threadsPerJob, request.signal, {
        ...ui,
        point: (p) => {
          points.push(p);
          void write();
          ui.log(`${p.kind} (${p.protocol}): sparsity ${p.sparsity} (actual ${p.actual_sparsity.toFixed(4)}, ${p.nonzeros} weights left): test ASNR ${p.asnr_db.toFixed(2)} dB`);
        },
        error: (text, kind) => failures.push({ text, kind }),
      });
    }
  };
  await Promise.all(Array.from({ length: jobs }, runNext));
  await write();
  if (writeError) throw writeError;
  if (failures.length > 0) {
    const text = new Message(failures.flatMap((f, i) => [...(i > 0 ? ['; '] : []), ...f.text.parts]));
    if (failures.some((f) => f.kind === 'internal')) throw new Error(text.render());
    throw failures.every((f) => f.kind === 'request') ? new RequestError(text) : new MamError(text);
  }
  return file();
}

/**
 * Before any work: given models must be what they are given as (models.mac a MAC model, ...),
 * the two of one shape, and the layers named in prune.layers/exclude must exist.
 */
async function checkModels(models: Record<SweepKind, DenseSource>, prune: SweepRequest['prune']): Promise<void> {
  const specs = {} as Record<SweepKind, AutoencoderSpec>;
  for (const kind of SWEEP_KINDS) {
    const m = models[kind];
    if (!('dir' in m)) {
      specs[kind] = m.train.spec;
      continue;
    }
    const { model, metadata } = await loadAutoencoder(m.dir);
    model.dispose();
    if (metadata.spec.kind !== kind) {
      throw new MamError(msg`${setting(`models.${kind}`)} ${m.dir} is a ${metadata.spec.kind.toUpperCase()} model: give a ${kind.toUpperCase()} one (trained with {kind} ${kind})`, { file: m.dir });
    }
    specs[kind] = metadata.spec;
  }
  if (shapeOf(specs.mac) !== shapeOf(specs.mam)) {
    throw new MamError(msg`{models.mac} is ${shapeOf(specs.mac)} and {models.mam} is ${shapeOf(specs.mam)}: a sweep compares models of one shape; train them with the same {preset} and sizes`);
  }
  checkLayerNames(layerNames(specs.mam), prune.layers, prune.exclude, "these models'");
}

/** How a worker failed: a RequestError, another MamError, or a bug. */
type Failure = 'request' | 'mam' | 'internal';

interface WorkerUi extends SweepUi {
  point(p: SweepPoint): void;
  error(text: Message, kind: Failure): void;
}

function runWorker(task: ChainTask, backend: string, threads: number, signal: AbortSignal | undefined, ui: WorkerUi): Promise<void> {
  const script = fileURLToPath(new URL('./worker.js', import.meta.url));
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const request: WorkerRequest = { task, backend, threads };
  child.send(request);
  // A stop request reaches the worker as SIGINT: it stops after its current step or point.
  const stop = () => child.kill('SIGINT');
  signal?.addEventListener('abort', stop, { once: true });
  return new Promise((resolveDone) => {
    let finished = false;
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'log') ui.log(m.text);
      else if (m.type === 'tick') ui.tick?.(m.units);
      else if (m.type === 'point') ui.point(m.point);
      else if (m.type === 'error') {
        finished = true;
        const kind: Failure = m.request ? 'request' : m.text ? 'mam' : 'internal';
        ui.error(msg`${task.kind}: ${kind === 'internal' ? 'internal error: ' : ''}${m.text ? new Message(m.text) : m.message}`, kind);
      } else if (m.type === 'done') finished = true;
    });
    // 'close', not 'exit': it comes after the last message has been read.
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', stop);
      if (!finished) ui.error(msg`the ${task.kind} worker ended unexpectedly (${sig ?? `exit code ${code}`}); run the same command again to resume`, 'mam');
      resolveDone();
    });
  });
}
