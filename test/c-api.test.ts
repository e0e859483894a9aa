// The C export as firmware uses it: two models with their own prefixes linked into one program,
// compiled as C99 and as C++ without a warning; the same model exported twice (from anywhere)
// gives the same bytes; <prefix>_normalize does to a raw window what the pipeline does, bit for bit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { initBackend } from '../src/backend.js';
import { generateEcg } from '../src/data/ecgsyn.js';
import { normalizeWindows } from '../src/data/pipeline.js';
import { checkCPrefix } from '../src/export/c.js';
import { exportModel, hostCompiler } from '../src/export/session.js';
import { loadAutoencoder } from '../src/model/metadata.js';
import { startTraining } from '../src/train/session.js';
import { mam, tempDir } from './cli-helpers.js';
import { tinyConfig } from './fixtures.js';

const dir = tempDir('mam-c-api-');
const cxx = spawnSync('g++', ['--version']).status === 0 ? 'g++' : null;
const clang = spawnSync('clang', ['--version']).status === 0 ? 'clang' : null;
const clangxx = spawnSync('clang++', ['--version']).status === 0 ? 'clang++' : null;

/** Two programs' worth of models: MAM with per-window normalisation, MAC with the data set's. */
before(async () => {
  await initBackend({ backend: 'wasm' });
  await startTraining(tinyConfig({ seed: 5, kind: 'mam', mamLayers: 'dec1,out', splits: 2 }), join(dir, 'mam'), { log: () => {} });
  const mac = tinyConfig({ seed: 6, kind: 'mac' });
  mac.pipeline.normalization = { method: 'dataset' };
  await startTraining(mac, join(dir, 'mac'), { log: () => {} });
});

/** A program that runs both models' golden windows and prints each one's largest difference. */
const TWO_MODELS = `#include <math.h>
#include <stdio.h>
#include "ecg1_model.h"
#include "ecg2_model.h"
static double worst(const float *y, const float *want, int n) {
  double w = 0.0;
  for (int k = 0; k < n; k++) { double e = fabs((double)y[k] - (double)want[k]); if (e > w) w = e; }
  return w;
}
int main(void) {
  static float y1[ECG1_OUTPUT_SIZE], y2[ECG2_OUTPUT_SIZE];
  double w1 = 0.0, w2 = 0.0;
  for (int g = 0; g < ECG1_GOLDEN_COUNT; g++) { ecg1_infer(ecg1_golden_in[g], y1); double e = worst(y1, ecg1_golden_out[g], ECG1_OUTPUT_SIZE); if (e > w1) w1 = e; }
  for (int g = 0; g < ECG2_GOLDEN_COUNT; g++) { ecg2_infer(ecg2_golden_in[g], y2); double e = worst(y2, ecg2_golden_out[g], ECG2_OUTPUT_SIZE); if (e > w2) w2 = e; }
  printf("%d %d %.9g %.9g %d %d\\n", ECG1_GOLDEN_COUNT, ECG2_GOLDEN_COUNT, w1, w2, ECG1_MULTIPLIES, ECG2_WEIGHT_BYTES);
  return 0;
}
`;

describe('C export: a C API for firmware', { skip: hostCompiler() ? false : 'no C compiler' }, () => {
  it('two models with their own prefixes link into one program, as C99 and as C++, warning-free', async () => {
    await exportModel({ model: join(dir, 'mam'), format: 'c', out: join(dir, 'c1'), prefix: 'ecg1', golden: 5 });
    await exportModel({ model: join(dir, 'mac'), format: 'c', out: join(dir, 'c2'), prefix: 'ecg2', golden: 3 });
    const header = readFileSync(join(dir, 'c1', 'ecg1_model.h'), 'utf8');
    assert.match(header, /#ifdef __cplusplus\nextern "C" \{\n#endif/);
    assert.match(header, /^#define ECG1_INPUT_SIZE 128$/m);
    assert.match(header, /^#define ECG1_ARENA_BYTES \d+$/m);
    assert.doesNotMatch(header + readFileSync(join(dir, 'c1', 'ecg1_model.c'), 'utf8'), /\bmam_|\bMAM_/, 'no default-prefixed name left');
    writeFileSync(join(dir, 'two.c'), TWO_MODELS);
    const compilers: Array<[string, string[]]> = [
      [hostCompiler()!, ['-std=c99', '-pedantic']],
      // VMAXNM/VMINNM's form (here whatever the host makes of fmaxf): the same values on these windows.
      [hostCompiler()!, ['-std=c99', '-pedantic', '-DECG1_MAXNM', '-DECG2_MAXNM']],
      ...(cxx ? [[cxx, ['-x', 'c++', '-std=c++11', '-pedantic']] as [string, string[]]] : []),
      // clang and clang++ where installed (CI installs clang with the mcu tools).
      ...(clang ? [[clang, ['-std=c99', '-pedantic']], [clang, ['-std=c99', '-pedantic', '-DECG1_MAXNM', '-DECG2_MAXNM']]] as Array<[string, string[]]> : []),
      ...(clangxx ? [[clangxx, ['-x', 'c++', '-std=c++11', '-pedantic']] as [string, string[]]] : []),
    ];
    for (const [cc, lang] of compilers) {
      const exe = join(dir, `two-${cc}-${lang.length}`.replace(/\+/g, 'x'));
      const sources = [join(dir, 'c1', 'ecg1_model.c'), join(dir, 'c2', 'ecg2_model.c'), join(dir, 'two.c')];
      const b = spawnSync(cc, [...lang, '-Wall', '-Wextra', '-Werror', '-O2', '-ffp-contract=off', '-DECG1_GOLDEN', '-DECG2_GOLDEN', '-I', join(dir, 'c1'), '-I', join(dir, 'c2'), ...sources, '-o', exe, '-lm'], { encoding: 'utf8' });
      assert.equal(b.status, 0, `${cc} ${lang.join(' ')}: ${b.stderr}`);
      const [n1, n2, w1, w2] = spawnSync(exe, [], { encoding: 'utf8' }).stdout.trim().split(' ').map(Number);
      assert.deepEqual([n1, n2], [5, 3]);
      assert.ok(w1! <= 1e-5 && w2! <= 1e-5, `${cc}: off by ${w1}, ${w2}`);
    }
    assert.ok(cxx, 'g++ is on every machine of this kind: the C++ build must have run');
    if (!clang || !clangxx) console.log(`# skipped: the C export with ${[clang ? null : 'clang', clangxx ? null : 'clang++'].filter(Boolean).join(' and ')} (not installed)`);
  });

  it('int8 exports with their own prefixes link beside each other, as C99 and C++ (gcc, clang), and give the integer reference bit for bit through both entries', async () => {
    await exportModel({ model: join(dir, 'mam'), format: 'c', out: join(dir, 'q3'), prefix: 'ecg3', golden: 5, quantize: { quantize: 'int8' } });
    await exportModel({ model: join(dir, 'mac'), format: 'c', out: join(dir, 'q4'), prefix: 'ecg4', golden: 3, quantize: { quantize: 'int8' } });
    const header = readFileSync(join(dir, 'q3', 'ecg3_model.h'), 'utf8');
    for (const m of ['ECG3_INT8 1', 'ECG3_INPUT_SCALE \\S+f', 'ECG3_INPUT_ZERO_POINT -?\\d+', 'ECG3_OUTPUT_SCALE \\S+f', 'ECG3_OUTPUT_ZERO_POINT -?\\d+']) assert.match(header, new RegExp(`^#define ${m}$`, 'm'));
    assert.match(header, /^void ecg3_infer_int8\(const int8_t \*in, int8_t \*out\);$/m);
    assert.doesNotMatch(header + readFileSync(join(dir, 'q3', 'ecg3_model.c'), 'utf8'), /\bmam_|\bMAM_/);
    writeFileSync(join(dir, 'two8.c'), `#include <stdio.h>
#include <string.h>
#include "ecg3_model.h"
#include "ecg4_model.h"
int main(void) {
  static float y3[ECG3_OUTPUT_SIZE], y4[ECG4_OUTPUT_SIZE];
  static int8_t q3[ECG3_OUTPUT_SIZE], q4[ECG4_OUTPUT_SIZE];
  int differ = 0;
  for (int g = 0; g < ECG3_GOLDEN_COUNT; g++) {
    ecg3_infer(ecg3_golden_in[g], y3); differ += memcmp(y3, ecg3_golden_out[g], sizeof y3) != 0;
    ecg3_infer_int8(ecg3_golden_in_int8[g], q3); differ += memcmp(q3, ecg3_golden_out_int8[g], sizeof q3) != 0;
  }
  for (int g = 0; g < ECG4_GOLDEN_COUNT; g++) {
    ecg4_infer(ecg4_golden_in[g], y4); differ += memcmp(y4, ecg4_golden_out[g], sizeof y4) != 0;
    ecg4_infer_int8(ecg4_golden_in_int8[g], q4); differ += memcmp(q4, ecg4_golden_out_int8[g], sizeof q4) != 0;
  }
  printf("%d %d %d\\n", ECG3_GOLDEN_COUNT, ECG4_GOLDEN_COUNT, differ);
  return 0;
}
`);
    const compilers: Array<[string, string[]]> = [
      [hostCompiler()!, ['-std=c99', '-pedantic']],
      ...(cxx ? [[cxx, ['-x', 'c++', '-std=c++11', '-pedantic']] as [string, string[]]] : []),
      ...(clang ? [[clang, ['-std=c99', '-pedantic']] as [string, string[]]] : []),
      ...(clangxx ? [[clangxx, ['-x', 'c++', '-std=c++11', '-pedantic']] as [string, string[]]] : []),
    ];
    for (const [cc, lang] of compilers) {
      const exe = join(dir, `two8-${cc}-${lang.length}`.replace(/\+/g, 'x'));
      // -O2 without -ffp-contract=off: the int8 entry's float steps must not depend on it.
      const b = spawnSync(cc, [...lang, '-Wall', '-Wextra', '-Werror', '-O2', '-DECG3_GOLDEN', '-DECG4_GOLDEN', '-I', join(dir, 'q3'), '-I', join(dir, 'q4'),
        join(dir, 'q3', 'ecg3_model.c'), join(dir, 'q4', 'ecg4_model.c'), join(dir, 'two8.c'), '-o', exe], { encoding: 'utf8' });
      assert.equal(b.status, 0, `${cc} ${lang.join(' ')}: ${b.stderr}`);
      assert.equal(spawnSync(exe, [], { encoding: 'utf8' }).stdout.trim(), '5 3 0', `${cc} ${lang.join(' ')}`);
    }
  });

  it('the same model exported twice, from two directories, gives the same bytes', async () => {
    cpSync(join(dir, 'mam'), join(dir, 'elsewhere', 'copy'), { recursive: true });
    await exportModel({ model: join(dir, 'mam'), format: 'c', out: join(dir, 'a') });
    await exportModel({ model: join(dir, 'elsewhere', 'copy'), format: 'c', out: join(dir, 'b') });
    for (const f of ['mam_model.h', 'mam_model.c']) assert.ok(readFileSync(join(dir, 'a', f)).equals(readFileSync(join(dir, 'b', f))), f);
    // int8 too: the calibration reads the same training windows wherever the model sits.
    await exportModel({ model: join(dir, 'mam'), format: 'c', out: join(dir, 'a8'), quantize: { quantize: 'int8' } });
    await exportModel({ model: join(dir, 'elsewhere', 'copy'), format: 'c', out: join(dir, 'b8'), quantize: { quantize: 'int8' } });
    for (const f of ['mam_model.h', 'mam_model.c']) assert.ok(readFileSync(join(dir, 'a8', f)).equals(readFileSync(join(dir, 'b8', f))), `int8 ${f}`);
    assert.doesNotMatch(readFileSync(join(dir, 'a', 'mam_model.h'), 'utf8'), new RegExp(dir.replace(/[/\\.]/g, '\\$&')));
    assert.match(readFileSync(join(dir, 'a', 'mam_model.h'), 'utf8'), /Generated by mam-ecg from a small MAM model \(network SHA-256 [0-9a-f]{16}\)/);
  });

  it('<prefix>_normalize turns raw millivolts into what the model takes, bit for bit, per window and with the data set\'s mean and std', async () => {
    const raw = generateEcg({ seconds: 4, fs: 256, seed: 9 }).signal.subarray(0, 4 * 128);
    raw.fill(0.25, 3 * 128, 4 * 128); // a flat window: the floor of the standard deviation
    for (const [name, prefix] of [['mam', 'ecg1'], ['mac', 'ecg2']] as const) {
      const { model, metadata } = await loadAutoencoder(join(dir, name));
      model.dispose();
      const want = { data: Float32Array.from(raw), count: 4, length: 128, origin: [] };
      normalizeWindows(want, metadata.data.pipeline.normalization);
      writeFileSync(join(dir, 'raw.bin'), raw);
      writeFileSync(join(dir, 'norm.c'), `#include <stdio.h>\n#include "${prefix}_model.h"\nint main(void) {\n  static float w[4 * 128];\n  FILE *f = fopen("${join(dir, 'raw.bin')}", "rb");\n  if (!f || fread(w, sizeof w, 1, f) != 1) return 1;\n  fclose(f);\n  for (int i = 0; i < 4; i++) ${prefix}_normalize(w + 128 * i);\n  fwrite(w, sizeof w, 1, stdout);\n  return 0;\n}\n`);
      const exe = join(dir, `norm-${prefix}`);
      const c = join(dir, prefix === 'ecg1' ? 'c1' : 'c2');
      const b = spawnSync(hostCompiler()!, ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O2', '-ffp-contract=off', `-D${prefix.toUpperCase()}_NORMALIZE`, '-I', c, join(c, `${prefix}_model.c`), join(dir, 'norm.c'), '-o', exe, '-lm'], { encoding: 'utf8' });
      assert.equal(b.status, 0, b.stderr);
      const out = spawnSync(exe, [], { encoding: 'buffer' }).stdout;
      const got = new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
      assert.equal(got.length, 512);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.data.buffer), `${metadata.data.pipeline.normalization.method}: not bit for bit`);
    }
  });

  it('--prefix: only for C, and a C identifier', () => {
    assert.equal(checkCPrefix('ecg_2'), 'ecg_2');
    for (const bad of ['2ecg', 'Ecg', 'int', 'a-b', '']) assert.throws(() => checkCPrefix(bad), /prefix ".*": give a lowercase C identifier/);
    const r = mam(['export', '--model', join(dir, 'mam'), '--out', join(dir, 'x.json'), '--prefix', 'ecg1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^mam: --prefix names the C export's symbols: give --format c$/m);
    const bad = mam(['export', '--model', join(dir, 'mam'), '--format', 'c', '--out', join(dir, 'y'), '--prefix', 'int']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^mam: --prefix "int": give a lowercase C identifier/);
  });
});
