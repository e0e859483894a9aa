// A model directory: model.json (tfjs layers topology and weight manifest), weights.bin
// (the weights, float32 little-endian, in manifest order) and mam.json (format version and
// what later steps store: for mam train's models, AutoencoderMetadata in metadata.ts).
//
// Saving writes a sibling temporary directory and renames it into place, so an interrupted
// save never leaves a half-written model. Loading checks each file and fails with a one-line
// MamError naming the file and the fix.
import { existsSync, promises as fs } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MamError, msg, type Message } from '../errors.js';
import { restoreInterruptedSwap, writeDirAtomically } from '../io/atomic.js';
import { lockedByAnotherRun, withOutputLock } from '../io/lock.js';
import '../layers/mam-dense.js'; // registers MamDense for deserialization
import '../layers/masked-dense.js'; // registers MaskedDense
import { PrunableDense } from '../layers/prunable-dense.js';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
export const METADATA_FILE = 'mam.json';
/** Bumped whenever a model directory written by this version cannot be read by an older one. */
export const MODEL_FORMAT_VERSION = 1;
const FORMAT_NAME = 'mam-ecg-model';

/** mam.json as loadModel checks it: the format; the other keys are the writer's (metadata.ts checks mam train's). */
export interface ModelMetadata {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  [key: string]: unknown;
}

export interface LoadedModel {
  model: tf.LayersModel;
  metadata: ModelMetadata;
}

/**
 * Saves a model (and metadata) to `dir`: the complete new directory is written beside it and
 * renamed into place, so `dir` never holds a half-written model (a crash between moving the old
 * one aside and renaming the new one in leaves the old one as `.dir.old-*`, which the next load
 * or save puts back). An existing `dir` is replaced only if it is a mam model directory or
 * empty, and only by one run at a time (the output lock). The optimizer and compile settings
 * are not saved by tfjs: a training checkpoint passes its optimizer state (and the history,
 * plots, ...) as `extraFiles`, written in the same atomic step.
 */
export async function saveModel(
  model: tf.LayersModel, dir: string, metadata: object = {},
  extraFiles: Record<string, string | Uint8Array> = {},
): Promise<void> {
  const target = resolve(dir);
  await withOutputLock(target, async () => {
    await checkReplaceable(target);
    await writeModelDir(model, target, metadata, extraFiles);
  });
}

async function writeModelDir(
  model: tf.LayersModel, target: string, metadata: object, extraFiles: Record<string, string | Uint8Array>,
): Promise<void> {
  // Pruned entries must be exactly zero in the stored kernel, whatever the optimizer did.
  for (const layer of model.layers) if (layer instanceof PrunableDense) layer.applyMask();

  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('tfjs returned no weights to save');
  const weights = Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson = {
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs }],
  };
  const meta: ModelMetadata = { ...metadata, format: FORMAT_NAME, formatVersion: MODEL_FORMAT_VERSION };

  await writeDirAtomically(target, {
    ...extraFiles,
    [MODEL_FILE]: JSON.stringify(modelJson),
    [WEIGHTS_FILE]: weights,
    [METADATA_FILE]: `${JSON.stringify(meta, null, 2)}\n`,
  });
}

/**
 * Whether the model directory `dir` exists, once a save killed between its two renames has been
 * undone (the previous model put back from `.DIR.old-*`): what a run that resumes when its
 * directory exists must ask, or it would start afresh and its first save would replace the
 * checkpoint it should have resumed. Nothing is restored while a live run holds the lock.
 */
export async function modelDirExists(dir: string): Promise<boolean> {
  const root = resolve(dir);
  if (!existsSync(root) && !(await lockedByAnotherRun(root))) await restoreInterruptedSwap(root);
  return existsSync(root);
}

/** Loads a model directory written by saveModel, checking every file first. */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const root = resolve(dir);
  if (!(await modelDirExists(root))) {
    // One that is not provably a crashed run's (an older mam's, or a run still going) is left to the user.
    const parent = dirname(root);
    const old = existsSync(parent) ? (await fs.readdir(parent)).find((n) => n.startsWith(`.${basename(root)}.old-`)) : undefined;
    if (old) {
      throw new MamError(`model directory ${dir} not found, but ${join(parent, old)} is: a save was interrupted (or a run is saving it right now); unless one is, rename it back to ${dir}`, { file: dir });
    }
    throw new MamError(msg`model directory ${dir} not found: give the {out} directory of a 'mam train' run`, { file: dir });
  }
  const metaPath = join(dir, METADATA_FILE);
  const metadata = await readJson(metaPath, msg`give a directory written by mam (mam train {out}, or saveModel)`) as ModelMetadata;
  if (metadata.format !== FORMAT_NAME || typeof metadata.formatVersion !== 'number') {
    throw new MamError(`${metaPath}: not a mam model description (no "format": "${FORMAT_NAME}"): give a directory written by mam`, { file: metaPath });
  }
  if (metadata.formatVersion > MODEL_FORMAT_VERSION) {
    throw new MamError(`${metaPath}: model format version ${metadata.formatVersion} is newer than this mam reads (${MODEL_FORMAT_VERSION}): upgrade mam-ecg`, { file: metaPath });
  }

  const modelPath = join(dir, MODEL_FILE);
  const modelJson = await readJson(modelPath, 're-save or retrain the model') as {
    modelTopology?: object; weightsManifest?: Array<{ weights?: tf.io.WeightsManifestEntry[] }>;
  };
  const weightSpecs = modelJson.weightsManifest?.[0]?.weights;
  if (!modelJson.modelTopology || !Array.isArray(weightSpecs)) {
    throw new MamError(`${modelPath}: no modelTopology or weightsManifest: the file is not a tfjs layers model; re-save or retrain the model`, { file: modelPath });
  }

  const weightsPath = join(dir, WEIGHTS_FILE);
  const weights = await readFile(weightsPath, 're-save or retrain the model');
  const expected = weightSpecs.reduce((sum, spec) => sum + specBytes(spec, modelPath), 0);
  if (weights.length !== expected) {
    throw new MamError(`${weightsPath}: ${weights.length} bytes where ${MODEL_FILE} describes ${expected}: the file is truncated or corrupt; re-save or retrain the model`, { file: weightsPath });
  }
  checkFinite(weights, weightSpecs, weightsPath);

  try {
    const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length);
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
    return { model, metadata };
  } catch (e) {
    throw new MamError(`${modelPath}: cannot build the model (${(e as Error).message.split('\n')[0]}); re-save or retrain it`, { file: modelPath, cause: e });
  }
}

/** Reads another file of a model directory (a checkpoint's optimizer state, say). */
export async function readModelFile(dir: string, name: string, fix: string | Message): Promise<Buffer> {
  return readFile(join(dir, name), fix);
}

function specBytes(spec: tf.io.WeightsManifestEntry, file: string): number {
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  const per = bytesPer[spec.dtype];
  if (per === undefined || spec.quantization) {
    throw new MamError(`${file}: weight ${spec.name} has dtype ${spec.dtype}${spec.quantization ? ' (quantized)' : ''}, which mam does not store; re-save the model with mam`, { file });
  }
  return per * spec.shape.reduce((a, b) => a * b, 1);
}

/** NaN or infinite weights make every later number meaningless: refuse them at the door. */
function checkFinite(weights: Buffer, specs: tf.io.WeightsManifestEntry[], file: string): void {
  let offset = 0;
  for (const spec of specs) {
    const bytes = specBytes(spec, file);
    if (spec.dtype === 'float32') {
      const values = new Float32Array(weights.buffer.slice(weights.byteOffset + offset, weights.byteOffset + offset + bytes));
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new MamError(`${file}: weight ${spec.name}[${bad}] is ${values[bad]}: the model diverged or the file is corrupt; retrain it`, { file });
      }
    }
    offset += bytes;
  }
}

async function readFile(path: string, fix: string | Message): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable (${(e as Error).message})`;
    throw new MamError(msg`${path}: ${why}: ${fix}`, { file: path, cause: e });
  }
}

async function readJson(path: string, fix: string | Message): Promise<unknown> {
  const text = (await readFile(path, fix)).toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object') throw new Error('not a JSON object');
    return value;
  } catch (e) {
    // V8 quotes the start of the text in its message, raw newlines included: keep it one line.
    const why = (e as Error).message.replace(/\s+/g, ' ');
    throw new MamError(msg`${path}: not valid JSON (${why}): the file is truncated or corrupt; ${fix}`, { file: path, cause: e });
  }
}

/** Throws a MamError unless `target` is absent, empty, or a mam model directory (which saveModel may replace). */
export async function checkReplaceable(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new MamError(msg`${target}: it or a folder above it is a file, not a directory: choose another {out}`, { file: target });
    throw e;
  }
  // A mam.json of someone else's (a config file, say) must not get the directory replaced.
  if (entries.length > 0 && !(entries.includes(METADATA_FILE) && await isMamMetadata(join(target, METADATA_FILE)))) {
    throw new MamError(msg`${target} exists and is not a mam model directory: choose another {out} (mam replaces only its own model directories)`, { file: target });
  }
}

async function isMamMetadata(path: string): Promise<boolean> {
  try {
    return (JSON.parse(await fs.readFile(path, 'utf8')) as { format?: unknown } | null)?.format === FORMAT_NAME;
  } catch {
    return false;
  }
}
