// `mam export`, as a library call: a saved model (or its last layers) to the JSON format or to
// C, with golden vectors from the model's own test windows, written atomically; and the check
// that compiles the C with the host's compiler and compares it with those golden vectors.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomically } from '../atomic.js';
import { prepareFromSource } from '../data/source.js';
import { MamError } from '../errors.js';
import { loadAutoencoder } from '../model/metadata.js';
import { exportC, type CExport } from './c.js';
import { exportJson } from './json.js';
import { exportNetwork, type ExportNetwork } from './network.js';

export const C_HEADER = 'mam_model.h';
export const C_SOURCE = 'mam_model.c';
/** Outputs of the C and of tfjs may differ by this much, relative to the window's largest output. */
export const C_TOLERANCE = 1e-5;

export interface ExportRequest {
  model: string;
  format: 'json' | 'c';
  out: string;
  tail?: number;
  /** Test windows whose inputs and outputs go into the C export (default 4). */
  golden?: number;
}

export interface ExportOutcome {
  network: ExportNetwork;
  files: string[];
  c?: CExport;
  /** C export: the golden vectors written into it. */
  golden?: { goldenIn: Float32Array; goldenOut: Float32Array };
}

/** Golden vectors: the first `count` test windows, as the exported layers see them, and the model's outputs. */
async function goldenVectors(model: tf.LayersModel, net: ExportNetwork, dir: string, meta: Parameters<typeof prepareFromSource>, count: number) {
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

export async function exportModel(request: ExportRequest): Promise<ExportOutcome> {
  const { model, metadata } = await loadAutoencoder(request.model);
  const net = exportNetwork(model, metadata.data.pipeline, request.tail);
  if (request.format === 'json') {
    if (existsSync(request.out) && statSync(request.out).isDirectory()) {
      throw new MamError(`--out ${request.out} is a directory: give a file name for the JSON export, e.g. ${join(request.out, 'model.json')}`);
    }
    await write(request.out, exportJson(net, { preset: metadata.spec.preset, kind: metadata.spec.kind }));
    return { network: net, files: [request.out] };
  }
  if (existsSync(request.out) && !statSync(request.out).isDirectory()) {
    throw new MamError(`--out ${request.out} exists and is not a directory: the C export writes ${C_HEADER} and ${C_SOURCE} into a directory`);
  }
  const golden = await goldenVectors(model, net, request.model, [metadata.data.source, metadata.data.pipeline], request.golden ?? 4);
  const c = exportC(net, { source: request.model, ...golden });
  await writeBoth(request.out, { [C_HEADER]: c.header, [C_SOURCE]: c.source });
  return { network: net, files: [join(request.out, C_HEADER), join(request.out, C_SOURCE)], c, golden };
}

async function write(file: string, text: string): Promise<void> {
  try {
    await writeFileAtomically(file, [text]);
  } catch (e) {
    throw new MamError(`cannot write ${file} (${(e as Error).message}): choose another --out`, { file, cause: e });
  }
}

/** Both files written in full beside `dir` first, then renamed in: never a new header with an old source. */
async function writeBoth(dir: string, files: Record<string, string>): Promise<void> {
  let tmp: string | undefined;
  try {
    await fs.mkdir(dir, { recursive: true });
    tmp = await fs.mkdtemp(join(dir, '.mam-export-'));
    for (const [name, text] of Object.entries(files)) await fs.writeFile(join(tmp, name), text);
    for (const name of Object.keys(files)) await fs.rename(join(tmp, name), join(dir, name));
  } catch (e) {
    throw new MamError(`cannot write the C export into ${dir} (${(e as Error).message}): choose another --out`, { file: dir, cause: e });
  } finally {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** The C program the check builds with the export: runs every golden input, compares, prints the worst error. */
const CHECK_MAIN = `#include <math.h>
#include <stdio.h>
#include "mam_model.h"
int main(void) {
  static float out[MAM_OUTPUT_SIZE];
  double worst = 0.0;
  for (int g = 0; g < MAM_GOLDEN_COUNT; g++) {
    mam_infer(mam_golden_in[g], out);
    double scale = 0.0, err = 0.0;
    for (int k = 0; k < MAM_OUTPUT_SIZE; k++) {
      if (fabs(mam_golden_out[g][k]) > scale) scale = fabs(mam_golden_out[g][k]);
    }
    if (scale < 1.0) scale = 1.0;
    for (int k = 0; k < MAM_OUTPUT_SIZE; k++) {
      double e = fabs((double)out[k] - (double)mam_golden_out[g][k]) / scale;
      if (!(e <= err)) err = e;
    }
    if (!(err <= worst)) worst = err;
  }
  printf("%d %.9g\\n", MAM_GOLDEN_COUNT, worst);
  return 0;
}
`;

export interface CheckResult {
  vectors: number;
  /** Largest |C - tfjs| over each window's outputs, relative to max(1, the window's largest |output|). */
  worstRelativeError: number;
  passed: boolean;
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
export function checkC(dir: string): CheckResult {
  const cc = hostCompiler();
  if (!cc) throw new MamError('--check needs a C compiler: install one (Debian: apt-get install gcc) or set $CC');
  const work = mkdtempSync(join(tmpdir(), 'mam-check-'));
  try {
    writeFileSync(join(work, 'check.c'), CHECK_MAIN);
    const exe = join(work, 'check');
    const build = spawnSync(cc, ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O2', '-ffp-contract=off', '-DMAM_GOLDEN', '-I', dir, join(dir, C_SOURCE), join(work, 'check.c'), '-o', exe, '-lm'], { encoding: 'utf8' });
    if (build.status !== 0) {
      throw new MamError(`${cc} could not compile ${join(dir, C_SOURCE)}: ${build.stderr.split('\n').find((l) => /error/.test(l)) ?? build.stderr.trim().split('\n')[0]}`);
    }
    const run = spawnSync(exe, [], { encoding: 'utf8' });
    if (run.status !== 0) throw new MamError(`the compiled check of ${dir} exited with ${run.status}: ${run.stderr.trim() || 'no message'}`);
    const [vectors, worst] = run.stdout.trim().split(' ').map(Number) as [number, number];
    return { vectors, worstRelativeError: worst, passed: worst <= C_TOLERANCE };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
