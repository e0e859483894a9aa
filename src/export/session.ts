// `mam export`, as a library call: a saved model (or its last layers) to the JSON format, to
// C with golden vectors from the model's own test windows, to a plain tfjs LayersModel or to
// ONNX, written atomically; and the check that compiles the C with the host's compiler and compares
// it with those golden vectors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { entriesToReplace, someNames, writeDirAtomically, writeFailure, writeFileAtomically } from '../io/atomic.js';
import { withOutputLock } from '../io/lock.js';
import { prepareFromSource } from '../data/source.js';
import { MamError, msg, RequestError } from '../errors.js';
import { dequantizeOutputs, inferInt8, quantizeInputs } from '../quantize/infer.js';
import { quantizeModel, type QuantizeRequest } from '../quantize/model.js';
import type { QuantizedNetwork } from '../quantize/quantize.js';
import { loadAutoencoder } from '../model/metadata.js';
import { cFileNames, DEFAULT_C_PREFIX, exportC, type CExport } from './c.js';
import { exportJson } from './json.js';
import { exportNetwork, type ExportNetwork } from './network.js';
import { exportOnnx, ONNX_FILE } from './onnx.js';
import { exportTfjs, isTfjsExport, TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE, type TfjsExport } from './tfjs.js';

/** The C export's files with the default prefix (what the firmware build includes). */
export const C_HEADER = cFileNames().header;
export const C_SOURCE = cFileNames().source;
/** The key of a JSON export in `RenderedExport.contents`. */
export const JSON_FILE = 'model.json';
/** The formats `exportModel` writes; json and onnx are one file each, c and tfjs a directory. */
export const EXPORT_FORMATS = ['json', 'c', 'tfjs', 'onnx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** The name of a one-file format's content in `RenderedExport.contents`, and the example the errors give. */
export const SINGLE_FILE: Partial<Record<ExportFormat, string>> = { json: JSON_FILE, onnx: ONNX_FILE };
/** Outputs of the C and of tfjs may differ by this much, relative to the window's largest output. */
export const C_TOLERANCE = 1e-5;

export interface ExportRequest {
  model: string;
  format: ExportFormat;
  out: string;
  tail?: number;
  /** Test windows whose inputs and outputs go into the C export (default 4). */
  golden?: number;
  /** C: the prefix of every public name and of the files (default 'mam'). */
  prefix?: string;
  /** JSON and C: the int8 network (calibrated on the model's training windows) instead of float32. */
  quantize?: QuantizeRequest;
}

export interface ExportOutcome {
  network: ExportNetwork;
  files: string[];
  c?: CExport;
  /** tfjs export: the files' contents, each layer's class, and the layers that need MamDense registered. */
  tfjs?: TfjsExport;
  /** C export: the golden vectors written into it (int8: goldenOut is the integer reference's). */
  golden?: { goldenIn: Float32Array; goldenOut: Float32Array };
  /** With `quantize`: the int8 network exported. */
  int8?: QuantizedNetwork;
}

/** Golden vectors: the first `count` test windows, as the exported layers see them, and the model's outputs. */
export async function goldenVectors(model: tf.LayersModel, net: ExportNetwork, dir: string, meta: Parameters<typeof prepareFromSource>, count: number) {
  const data = await prepareFromSource(...meta);
  const set = data.test.count > 0 ? data.test : data.val;
  const rows = Math.min(count, set.count);
  if (rows === 0) throw new MamError(`${dir}: its data have no test or validation windows for golden vectors`);
  return tf.tidy(() => {
    let h: tf.Tensor = tf.tensor2d(set.data.subarray(0, rows * set.length), [rows, set.length]);
    for (let i = 0; i < net.skipped; i++) h = model.layers[i]!.apply(h) as tf.Tensor;
    const goldenIn = (h.dataSync() as Float32Array).slice();
    for (let i = net.skipped; i < model.layers.length; i++) h = model.layers[i]!.apply(h) as tf.Tensor;
    return { goldenIn, goldenOut: (h.dataSync() as Float32Array).slice() };
  });
}

/** The golden inputs as the int8 export's <prefix>_infer quantises them, and the integer reference's outputs. */
function int8Golden(int8: QuantizedNetwork, goldenIn: Float32Array): { input: Int8Array; output: Int8Array } {
  const input = quantizeInputs(int8, goldenIn);
  return { input, output: inferInt8(int8, input, goldenIn.length / int8.layers[0]!.inputSize) };
}

/** An export in memory: what `exportModel` writes, for callers that write it elsewhere (stdout, a firmware build). */
export interface RenderedExport extends ExportOutcome {
  /** File name -> content: one JSON or ONNX file, the C pair, or the tfjs model.json and weights.bin. */
  contents: Record<string, string | Uint8Array>;
}

/** Loads the model and renders the export (with golden vectors for C) without writing anything. */
export async function renderExport(request: Omit<ExportRequest, 'out'>): Promise<RenderedExport> {
  const { model, metadata } = await loadAutoencoder(request.model);
  try {
    const net = exportNetwork(model, metadata.data.pipeline, request.tail);
    const about = { preset: metadata.spec.preset, kind: metadata.spec.kind };
    if (request.quantize && (request.format === 'tfjs' || request.format === 'onnx')) throw new RequestError(msg`{quantize} ${request.quantize.quantize}: the ${request.format} export is float32; quantise the JSON or C export`);
    const int8 = request.quantize ? await quantizeModel(model, metadata, net, request.quantize) : undefined;
    if (request.format === 'json') return { network: net, files: [], int8, contents: { [JSON_FILE]: exportJson(net, about, int8) } };
    if (request.format === 'onnx') return { network: net, files: [], contents: { [ONNX_FILE]: exportOnnx(net, about) } };
    if (request.format === 'tfjs') {
      const tfjs = await exportTfjs(net, about);
      return { network: net, files: [], tfjs, contents: { [TFJS_MODEL_FILE]: tfjs.modelJson, [TFJS_WEIGHTS_FILE]: tfjs.weights } };
    }
    const floatGolden = await goldenVectors(model, net, request.model, [metadata.data.source, metadata.data.pipeline], request.golden ?? 4);
    // int8: the golden outputs are the integer reference's, which the C must give bit for bit.
    const goldenInt8 = int8 && int8Golden(int8, floatGolden.goldenIn);
    const golden = goldenInt8 ? { goldenIn: floatGolden.goldenIn, goldenOut: dequantizeOutputs(int8, goldenInt8.output) } : floatGolden;
    const c = exportC(net, { prefix: request.prefix, about: `a ${about.preset} ${about.kind.toUpperCase()} model`, ...golden, int8, goldenInt8 });
    return { network: net, files: [], c, golden, int8, contents: { [c.headerName]: c.header, [c.sourceName]: c.source } };
  } finally {
    model.dispose();
  }
}

/**
 * Writes the export: JSON and ONNX to the file `out`; C and tfjs as the directory `out`,
 * swapped in as one unit so that a header never sits beside the source of another export. An
 * existing directory is replaced only when it is empty or holds nothing but a previous export
 * of the same format.
 */
export async function exportModel(request: ExportRequest): Promise<ExportOutcome> {
  const out = resolve(request.out);
  const file = SINGLE_FILE[request.format];
  if (file && existsSync(out) && statSync(out).isDirectory()) {
    throw new MamError(`${request.out} is a directory: give a file name for the ${request.format.toUpperCase()} export, e.g. ${join(request.out, file)}`, { file: request.out });
  }
  return withOutputLock(out, async () => {
    if (request.format === 'c') await checkCExportDir(request.out);
    if (request.format === 'tfjs') await checkTfjsOut(request.out);
    const { contents, ...outcome } = await renderExport(request);
    if (file) {
      await writeFileAtomically(out, [contents[file]!]).catch((e) => { throw writeFailure(request.out, e); });
      return { ...outcome, files: [request.out] };
    }
    await writeDirAtomically(out, contents).catch((e) => { throw writeFailure(request.out, e); });
    return { ...outcome, files: Object.keys(contents).map((name) => join(request.out, name)) };
  }, file ? 'file' : 'dir');
}

/**
 * The tfjs export replaces its directory whole: only an absent or empty one, or an earlier tfjs
 * export holding nothing else (never a model directory, whose model.json is not one).
 */
async function checkTfjsOut(dir: string): Promise<void> {
  const entries = await entriesToReplace(dir);
  if (entries === 'file') {
    throw new MamError(`${dir} exists and is not a directory: the tfjs export writes ${TFJS_MODEL_FILE} and ${TFJS_WEIGHTS_FILE} into a directory`, { file: dir });
  }
  if (entries === null || entries.length === 0) return;
  const ours = (name: string) => name === TFJS_MODEL_FILE || name === TFJS_WEIGHTS_FILE;
  if (!entries.every(ours) || !entries.includes(TFJS_MODEL_FILE) || !isTfjsExport(readFileSync(join(dir, TFJS_MODEL_FILE), 'utf8'))) {
    throw new MamError(`${dir} is neither empty nor an earlier tfjs export of mam: choose another output directory (the tfjs export replaces the whole directory)`, { file: dir });
  }
}

/** The files a C export directory may hold (of any prefix): anything else is someone's, and the swap would delete it. */
const C_EXPORT_FILE = /^[a-z][a-z0-9_]*_model\.[ch]$/;

async function checkCExportDir(dir: string): Promise<void> {
  const entries = await entriesToReplace(dir);
  if (entries === 'file') {
    throw new MamError(`${dir} exists and is not a directory: the C export writes ${C_HEADER} and ${C_SOURCE} into a directory of its own`, { file: dir });
  }
  const foreign = (entries ?? []).filter((n) => !C_EXPORT_FILE.test(n));
  if (foreign.length > 0) {
    throw new MamError(`${dir} holds other files than a C export (${someNames(foreign)}): give a new or empty directory (mam replaces the whole directory so that the header and the source always match)`, { file: dir });
  }
}

/**
 * The C program the check builds with the export: runs every golden input, compares, prints the
 * worst relative error; for an int8 export also the outputs that differ at all (in int8 from
 * <prefix>_infer_int8, in float32 bits from <prefix>_infer), which must be none.
 */
export function checkMain(prefix = DEFAULT_C_PREFIX, int8 = false): string {
  const p = prefix, P = prefix.toUpperCase();
  return `#include <math.h>
#include <stdio.h>
#include <string.h>
#include "${cFileNames(p).header}"
int main(void) {
  static float out[${P}_OUTPUT_SIZE];
  double worst = 0.0;
  int differ = 0;
  for (int g = 0; g < ${P}_GOLDEN_COUNT; g++) {
    ${p}_infer(${p}_golden_in[g], out);
    double scale = 0.0, err = 0.0;
    for (int k = 0; k < ${P}_OUTPUT_SIZE; k++) {
      if (fabs(${p}_golden_out[g][k]) > scale) scale = fabs(${p}_golden_out[g][k]);
    }
    if (scale < 1.0) scale = 1.0;
    for (int k = 0; k < ${P}_OUTPUT_SIZE; k++) {
      double e = fabs((double)out[k] - (double)${p}_golden_out[g][k]) / scale;
      if (!(e <= err)) err = e;
    }
    if (!(err <= worst)) worst = err;
${int8 ? `    if (memcmp(out, ${p}_golden_out[g], sizeof out) != 0) differ++;
    {
      static int8_t q[${P}_OUTPUT_SIZE];
      ${p}_infer_int8(${p}_golden_in_int8[g], q);
      for (int k = 0; k < ${P}_OUTPUT_SIZE; k++) differ += q[k] != ${p}_golden_out_int8[g][k];
    }
` : ''}  }
  printf("%d %.9g %d\\n", ${P}_GOLDEN_COUNT, worst, differ);
  return 0;
}
`;
}

export interface CheckResult {
  vectors: number;
  /** Largest |C - golden| over each window's outputs, relative to max(1, the window's largest |output|). */
  worstRelativeError: number;
  /** int8: outputs not bit for bit the integer reference's (float32 bits and int8 values); 0 for float. */
  mismatches: number;
  /** float: within C_TOLERANCE of tfjs; int8: no mismatch at all. */
  passed: boolean;
  int8: boolean;
}

/** The host's C compiler: $CC, else cc. Null when there is none. */
export function hostCompiler(): string | null {
  const cc = process.env.CC || 'cc';
  return spawnSync(cc, ['--version'], { encoding: 'utf8' }).status === 0 ? cc : null;
}

/**
 * Compiles an exported directory with the host's C compiler (-std=c99 -Wall -Wextra -Werror)
 * and runs its golden vectors through mam_infer.
 */
export function checkC(dir: string, prefix = DEFAULT_C_PREFIX): CheckResult {
  const source = join(dir, cFileNames(prefix).source);
  const int8 = existsSync(join(dir, cFileNames(prefix).header)) && readFileSync(join(dir, cFileNames(prefix).header), 'utf8').includes(`#define ${prefix.toUpperCase()}_INT8 1`);
  const cc = hostCompiler();
  if (!cc) throw new MamError('checking a C export needs a C compiler: install one (Debian: apt-get install gcc) or set $CC');
  const work = mkdtempSync(join(tmpdir(), 'mam-check-'));
  try {
    writeFileSync(join(work, 'check.c'), checkMain(prefix, int8));
    const exe = join(work, 'check');
    const build = spawnSync(cc, ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O2', '-ffp-contract=off', `-D${prefix.toUpperCase()}_GOLDEN`, '-I', dir, source, join(work, 'check.c'), '-o', exe, '-lm'], { encoding: 'utf8' });
    if (build.status !== 0) {
      throw new MamError(`${cc} could not compile ${source}: ${build.stderr.split('\n').find((l) => /error/.test(l)) ?? build.stderr.trim().split('\n')[0]}`);
    }
    const run = spawnSync(exe, [], { encoding: 'utf8' });
    if (run.status !== 0) throw new MamError(`the compiled check of ${dir} exited with ${run.status}: ${run.stderr.trim() || 'no message'}`);
    const [vectors, worst, mismatches] = run.stdout.trim().split(' ').map(Number) as [number, number, number];
    return { vectors, worstRelativeError: worst, mismatches, int8, passed: int8 ? mismatches === 0 && worst === 0 : worst <= C_TOLERANCE };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
