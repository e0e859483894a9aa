// C99 for a microcontroller: <prefix>_model.h and <prefix>_model.c (prefix `mam` by default). The
// weights are `const` arrays (they stay in flash), each layer dense or CSR over output neurons,
// whichever takes fewer bytes; activations live in one static arena sized by the largest pair of
// adjacent internal activations; no malloc, no libm. The API: <prefix>_infer(in, out), and
// <prefix>_normalize(window) for a whole model; everything else is static, every public name and
// macro carries the prefix (two models link into one image), the header has extern "C" guards
// (C++ firmware), and nothing in either file depends on the machine or the day it was made.
//
// Arithmetic is float32 as in tfjs. A MAM neuron computes exactly what the tfjs layer does (the
// same products, max/min and sums in the same order), so MAM outputs match bit for bit (NaN
// products aside, see MAXMIN); a MAC neuron sums in its own order, so it matches to rounding.
// With an int8 network (c-int8.ts) the arithmetic is the integer reference's, bit for bit.
import { createHash } from 'node:crypto';
import { RequestError, msg } from '../errors.js';
import { STD_FLOOR } from '../data/pipeline.js';
import { neuronMajor } from '../layers/mam-math.js';
import { cArray, cFloat, ident } from './c-syntax.js';
import { kept, toCsr, type ExportLayer, type ExportNetwork } from './network.js';
import { arenaSize, layerStorage, multiplies, storedBytes, type LayerStorage, type Precision } from './storage.js';
import { int8FloatEntry, int8Helpers, int8LayerFunction, int8Macros } from './c-int8.js';
import type { QuantizedNetwork } from '../quantize/quantize.js';

export interface CExportOptions {
  /** Of every public name: `<prefix>_infer`, `<PREFIX>_INPUT_SIZE`, the files `<prefix>_model.h/.c` (default 'mam'). */
  prefix?: string;
  /** What the header comment says the model is (e.g. its preset and kind; no paths). */
  about?: string;
  /** Golden input and output vectors, window after window. */
  goldenIn: Float32Array;
  goldenOut: Float32Array;
  /** Write the int8 network instead of the float one (goldenOut then holds its float outputs). */
  int8?: QuantizedNetwork;
  /** int8: the golden inputs quantised, and the integer reference's int8 outputs for them. */
  goldenInt8?: { input: Int8Array; output: Int8Array };
}

export interface CExport {
  /** The file names, `<prefix>_model.h` and `<prefix>_model.c`. */
  headerName: string;
  sourceName: string;
  header: string;
  source: string;
  storages: LayerStorage[];
  /** Values in the activation arena (float32 or int8, as `precision`). */
  arenaFloats: number;
  precision: Precision;
}

export const DEFAULT_C_PREFIX = 'mam';

/** The C export's file names for a prefix. */
export function cFileNames(prefix = DEFAULT_C_PREFIX): { header: string; source: string } {
  return { header: `${prefix}_model.h`, source: `${prefix}_model.c` };
}

const C_KEYWORDS = new Set(('auto break case char const continue default do double else enum extern float for goto if inline int long register restrict ' +
  'return short signed sizeof static struct switch typedef union unsigned void volatile while bool class delete new namespace template this').split(' '));

/** A prefix is a lowercase C identifier (its macros are its upper case), not a keyword. */
export function checkCPrefix(prefix: string): string {
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(prefix) || C_KEYWORDS.has(prefix)) {
    throw new RequestError(msg`{prefix} "${prefix}": give a lowercase C identifier (a letter, then letters, digits or _; at most 31), e.g. ecg1`);
  }
  return prefix;
}

/** SHA-256 of what the network computes with (kernels, masks, biases, structure): the model's identity, the same on any machine. */
export function networkDigest(net: ExportNetwork): string {
  const h = createHash('sha256');
  for (const l of net.layers) {
    h.update(`${l.name} ${l.kind} ${l.inputSize} ${l.outputSize} ${l.activation} ${l.kind === 'mam' ? `${l.splits} ${l.prunedAs}` : ''}\n`);
    for (const a of [l.kernel, l.mask, l.bias]) h.update(new Uint8Array(Float32Array.from(a).buffer));
  }
  return h.digest('hex');
}


/** Mean kept products per CSR row from which its loops take four a turn. */
export const CSR_UNROLL_MIN = 16;

/** A layer's C function name: its place and its name. */
function layerId(layer: ExportLayer, index: number): string {
  return `l${index}_${ident(layer.name)}`;
}

function layerFunction(layer: ExportLayer, index: number, st: LayerStorage): string {
  const id = layerId(layer, index);
  const n = layer.inputSize, m = layer.outputSize;
  const out: string[] = [];
  out.push(cArray('float', `${id}_bias`, layer.bias, cFloat));
  const relu = layer.activation === 'relu' ? '    y[k] = acc > 0.0f ? acc : 0.0f;' : '    y[k] = acc;';
  if (st.storage === 'csr') {
    const csr = toCsr(layer);
    const idx = st.indexBytes === 1 ? 'uint8_t' : 'uint16_t';
    const ptr = st.pointerBytes === 2 ? 'uint16_t' : 'uint32_t';
    out.push(cArray('float', `${id}_values`, csr.values, cFloat));
    out.push(cArray(idx, `${id}_cols`, csr.colIndices, String));
    out.push(cArray(ptr, `${id}_rows`, csr.rowPointers, String));
    const product = (e: string) => `x[${id}_cols[${e}]] * ${id}_values[${e}]`;
    // Four products a turn, in order (the same sums and selections), where rows are long enough
    // to pay for it: on the M7 a row of fewer than about 16 kept products loses more to the
    // second loop's setup than it saves. (Not MAM slices with splits: see below.)
    const unroll = kept(layer) >= CSR_UNROLL_MIN * m;
    out.push(`static void ${id}(const float *x, float *y) {`);
    out.push(`  for (int k = 0; k < ${m}; k++) {`);
    out.push(`    uint32_t e = ${id}_rows[k];`);
    out.push(`    const uint32_t end = ${id}_rows[k + 1];`);
    out.push('    float acc = 0.0f;');
    if (layer.kind === 'mac') {
      if (unroll) {
        out.push('    for (; e + 4 <= end; e += 4) {');
        out.push(`      acc += ${product('e')}; acc += ${product('e + 1')}; acc += ${product('e + 2')}; acc += ${product('e + 3')};`);
        out.push('    }');
      }
      out.push(`    for (; e < end; e++) acc += ${product('e')};`);
    } else {
      const zero = layer.prunedAs === 'zero';
      // One slice's kept products, from e while `more` holds (a slice of `size` inputs): the
      // first starts the max and the min, the rest run through MAXMIN. With none kept the slice
      // adds nothing ('absent'), or 0 + 0 ('zero'): acc, which starts at +0 and so is never -0,
      // stays as it is either way.
      // `count` is a kept product count to compare with `size`, after the loop, from `start`.
      const slice = (pad: string, more: string, start: string, count: string, size: string, four: boolean) => [
        `if (${more}) {`,
        `  float mx = ${product('e')}, mn = mx;`,
        ...(zero ? [`  ${start}`] : []),
        ...(four ? [
          '  for (e++; e + 4 <= end; e += 4) {',
          `    const float p0 = ${product('e')}, p1 = ${product('e + 1')}, p2 = ${product('e + 2')}, p3 = ${product('e + 3')};`,
          '    MAXMIN(p0, mx, mn); MAXMIN(p1, mx, mn); MAXMIN(p2, mx, mn); MAXMIN(p3, mx, mn);',
          '  }',
          `  for (; ${more}; e++) {`,
        ] : [`  for (e++; ${more}; e++) {`]),
        `    const float p = ${product('e')};`,
        '    MAXMIN(p, mx, mn);',
        '  }',
        // The slice's pruned connections offer a 0 product to the max and min.
        ...(zero ? [`  if (${count} < ${size}) MAXMIN(0.0f, mx, mn);`] : []),
        '  acc += mx + mn;',
        '}',
      ].map((line) => pad + line);
      if (layer.splits === 1) {
        // One slice, the whole row: no column to test.
        out.push(...slice('    ', 'e < end', 'const uint32_t count = end - e;', 'count', `${n}u`, unroll));
      } else {
        // A slice ends at the first column past it: tested product by product, one a turn.
        out.push(`    for (int s = 0; s < ${layer.splits}; s++) {`);
        out.push(`      const uint32_t j1 = (uint32_t)(((s + 1) * ${n}) / ${layer.splits});`);
        out.push(...slice('      ', `e < end && ${id}_cols[e] < j1`, 'const uint32_t e0 = e;', 'e - e0', `j1 - (uint32_t)((s * ${n}) / ${layer.splits})`, false));
        out.push('    }');
      }
    }
    out.push(`    acc += ${id}_bias[k];`);
  } else {
    // [out][in], as CMSIS-NN and TFLM store it: neuron k's weights are contiguous in flash, so
    // the inner loop walks one row instead of striding by the layer's width.
    out.push(cArray('float', `${id}_w`, neuronMajor(layer.kernel, n, m), cFloat));
    out.push(`static void ${id}(const float *x, float *y) {`);
    out.push(`  for (int k = 0; k < ${m}; k++) {`);
    out.push(`    const float *w = ${id}_w + k * ${n};`);
    if (layer.kind === 'mac') {
      // Four products a turn, in order: the same sums, a quarter of the loop's compare-and-branch.
      out.push('    float acc = 0.0f;');
      out.push('    int j = 0;');
      out.push(`    for (; j + 4 <= ${n}; j += 4) {`);
      out.push('      acc += x[j] * w[j]; acc += x[j + 1] * w[j + 1]; acc += x[j + 2] * w[j + 2]; acc += x[j + 3] * w[j + 3];');
      out.push('    }');
      out.push(`    for (; j < ${n}; j++) acc += x[j] * w[j];`);
      out.push(`    acc += ${id}_bias[k];`);
    } else {
      out.push('    float acc = 0.0f;');
      out.push(`    for (int s = 0; s < ${layer.splits}; s++) {`);
      out.push(`      const int j0 = (s * ${n}) / ${layer.splits}, j1 = ((s + 1) * ${n}) / ${layer.splits};`);
      out.push('      float mx = x[j0] * w[j0], mn = mx;');
      out.push('      int j = j0 + 1;');
      out.push('      for (; j + 4 <= j1; j += 4) {');
      out.push('        const float p0 = x[j] * w[j], p1 = x[j + 1] * w[j + 1], p2 = x[j + 2] * w[j + 2], p3 = x[j + 3] * w[j + 3];');
      out.push('        MAXMIN(p0, mx, mn); MAXMIN(p1, mx, mn); MAXMIN(p2, mx, mn); MAXMIN(p3, mx, mn);');
      out.push('      }');
      out.push('      for (; j < j1; j++) {');
      out.push('        const float p = x[j] * w[j];');
      out.push('        MAXMIN(p, mx, mn);');
      out.push('      }');
      out.push('      acc += mx + mn;');
      out.push('    }');
      out.push(`    acc += ${id}_bias[k];`);
    }
  }
  out.push(relu);
  out.push('  }');
  out.push('}\n');
  return out.join('\n');
}

/** A [count][width] array, one brace-enclosed row per vector. */
function goldenArray(type: string, name: string, values: Float32Array | Int8Array, width: number, countName: string, widthName: string, format: (v: number) => string): string {
  const rows: string[] = [];
  for (let r = 0; r < values.length / width; r++) {
    rows.push(`  {${Array.from(values.subarray(r * width, (r + 1) * width), format).join(', ')}}`);
  }
  return `const ${type} ${name}[${countName}][${widthName}] = {\n${rows.join(',\n')}\n};\n`;
}

/** A double as a C literal that reads back to the same double. */
function cDouble(v: number): string {
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * <prefix>_normalize: what the pipeline does to a window before the model sees it, in the same
 * arithmetic (double sums in order, then one rounding to float), so its output equals the
 * pipeline's bit for bit. Compiled only with -D<PREFIX>_NORMALIZE: the per-window method needs
 * sqrt (libm), which a firmware that normalises otherwise should not have to link.
 */
function normalizeFunction(net: ExportNetwork, p: string, P: string): string {
  const n = net.preprocessing.normalization;
  const body =
    n.method === 'window' ? [
      `  double sum = 0.0, sq = 0.0;`,
      `  for (int i = 0; i < ${P}_INPUT_SIZE; i++) sum += (double)window[i];`,
      `  const double mean = sum / ${P}_INPUT_SIZE;`,
      `  for (int i = 0; i < ${P}_INPUT_SIZE; i++) { const double d = (double)window[i] - mean; sq += d * d; }`,
      `  double std = sqrt(sq / ${P}_INPUT_SIZE);`,
      `  if (!(std >= ${cDouble(STD_FLOOR)})) std = ${cDouble(STD_FLOOR)}; /* a flat window is not blown up */`,
      `  for (int i = 0; i < ${P}_INPUT_SIZE; i++) window[i] = (float)(((double)window[i] - mean) / std);`,
    ] : n.method === 'dataset' ? [
      `  for (int i = 0; i < ${P}_INPUT_SIZE; i++) window[i] = (float)(((double)window[i] - ${cDouble(n.mean!)}) / ${cDouble(n.std!)});`,
    ] : ['  (void)window; /* the model takes millivolts as they are */'];
  return `#ifdef ${P}_NORMALIZE\n#include <math.h>\nvoid ${p}_normalize(float *window) {\n${body.join('\n')}\n}\n#endif\n`;
}

/** <prefix>_model.h and <prefix>_model.c for `net` (float32), or for its int8 network `options.int8`. */
export function exportC(net: ExportNetwork, options: CExportOptions): CExport {
  const p = checkCPrefix(options.prefix ?? DEFAULT_C_PREFIX);
  const P = p.toUpperCase();
  const names = cFileNames(p);
  const q = options.int8;
  const precision: Precision = q ? 'int8' : 'float32';
  const layers = net.layers;
  const storages = layers.map((l) => layerStorage(l, precision));
  const inputSize = layers[0]!.inputSize;
  const outputSize = layers.at(-1)!.outputSize;
  const golden = options.goldenIn.length / inputSize;
  const arena = arenaSize(net);
  const weights = layers.reduce((n, l) => n + l.mask.length, 0);
  const nonzeros = layers.reduce((n, l) => n + kept(l), 0);
  const whole = net.skipped === 0;
  const pre = net.preprocessing;
  const value = q ? 'int8_t' : 'float';
  const description = [
    `Generated by mam-ecg from ${options.about ?? 'a model'} (network SHA-256 ${networkDigest(net).slice(0, 16)}): do not edit.`,
    `${layers.length} layers, ${nonzeros} of ${weights} weights kept (sparsity ${(1 - nonzeros / weights).toFixed(4)}).`,
    ...(q ? [`int8: weights int8 with one scale per ${q.weightScales === 'channel' ? 'output neuron' : 'layer'}, activations int8 calibrated on the model's training windows, int32 sums, fixed-point requantisation.`] : []),
    whole
      ? `Inputs: windows of ${pre.window} samples at ${pre.fs} Hz${pre.baseline === 'highpass' ? ', baseline removed (0.5 Hz high-pass over the record)' : ''}, normalised '${pre.normalization.method}' (${p}_normalize).`
      : `Inputs: the ${inputSize} activations of the layer before ${layers[0]!.name} (this is the model's tail).`,
    'Layers (name kind in->out activation storage bytes):',
    ...layers.map((l, i) => `  ${l.name} ${l.kind}${l.kind === 'mam' ? ` (splits ${l.splits}, pruned as ${l.prunedAs})` : ''} ${l.inputSize}->${l.outputSize} ${l.activation} ${storages[i]!.storage} ${storages[i]!.storage === 'csr' ? storages[i]!.csrBytes : storages[i]!.denseBytes} (sparsity ${(1 - kept(l) / l.mask.length).toFixed(4)})`),
  ].map((line) => ` * ${line}`).join('\n');

  const macros = [
    `#define ${P}_INPUT_SIZE ${inputSize}`,
    `#define ${P}_OUTPUT_SIZE ${outputSize}`,
    q ? `/* RAM of the int8 activation arena and of ${p}_infer's int8 input and output, flash of the weights, biases\n * and requantisation constants, multiplications per inference. */`
      : `/* RAM of the activation arena, flash of the weights and biases, multiplications per inference. */`,
    `#define ${P}_ARENA_BYTES ${q ? arena + inputSize + outputSize : 4 * arena}`,
    `#define ${P}_WEIGHT_BYTES ${layers.reduce((n, l, i) => n + storedBytes(l, storages[i]!, precision), 0)}`,
    `#define ${P}_MULTIPLIES ${multiplies(net, storages)}`,
    ...(whole ? [`/* The window the model expects. */`, `#define ${P}_WINDOW ${pre.window}`, `#define ${P}_FS_HZ ${pre.fs}`] : []),
    ...(q ? int8Macros(q, P) : []),
    `#define ${P}_GOLDEN_COUNT ${golden}`,
  ];
  const header = `/*\n${description}\n */\n#ifndef ${P}_MODEL_H\n#define ${P}_MODEL_H\n\n` +
    (q ? '#include <stdint.h>\n\n' : '') +
    `${macros.join('\n')}\n\n#ifdef __cplusplus\nextern "C" {\n#endif\n\n` +
    `/* One inference: in[${P}_INPUT_SIZE] -> out[${P}_OUTPUT_SIZE]. Not reentrant (one static arena). */\n` +
    `void ${p}_infer(const float *in, float *out);\n\n` +
    (q
      ? `/* The same on int8 data at ${P}_INPUT_SCALE/${P}_INPUT_ZERO_POINT, giving int8 at ${P}_OUTPUT_SCALE/${P}_OUTPUT_ZERO_POINT\n` +
        ` * (${p}_infer quantises its input, calls this, and dequantises the output). */\n` +
        `void ${p}_infer_int8(const int8_t *in, int8_t *out);\n\n`
      : '') +
    (whole
      ? `/* In place, a window of ${P}_INPUT_SIZE samples in mV to what ${p}_infer takes (the model's\n` +
        ` * normalisation, bit for bit). Compiled only with -D${P}_NORMALIZE (it may need libm's sqrt). */\n` +
        `#ifdef ${P}_NORMALIZE\nvoid ${p}_normalize(float *window);\n#endif\n\n`
      : '') +
    '/* Inputs and the outputs the trained model gives for them, for checking a build: compiled\n' +
    ` * only with -D${P}_GOLDEN, so that they take no flash in the firmware otherwise. */\n` +
    `#ifdef ${P}_GOLDEN\n` +
    `extern const float ${p}_golden_in[${P}_GOLDEN_COUNT][${P}_INPUT_SIZE];\n` +
    `extern const float ${p}_golden_out[${P}_GOLDEN_COUNT][${P}_OUTPUT_SIZE];\n` +
    (q ? `/* The golden inputs quantised, and what the integer reference gives for them. */\n` +
      `extern const int8_t ${p}_golden_in_int8[${P}_GOLDEN_COUNT][${P}_INPUT_SIZE];\n` +
      `extern const int8_t ${p}_golden_out_int8[${P}_GOLDEN_COUNT][${P}_OUTPUT_SIZE];\n` : '') +
    '#endif\n\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n';

  const parts: string[] = [`/*\n${description}\n */\n#include <float.h>\n#include <stdint.h>\n#include "${names.header}"\n\n` +
    (q ? int8Helpers(q, P) : `/* A MAM neuron's running max and min: strict compares, as tfjs's (a tie keeps the earlier\n` +
    ` * product). With -D${P}_MAXNM, on a core with VMAXNM/VMINNM (Cortex-M7 FPv5, ARMv8-M), one\n` +
    ` * instruction each instead of a compare, a flags transfer and a select (elsewhere it may be a\n` +
    ` * libm call). They differ in the sign of a zero (+0 wins a max, -0 a min), which never reaches\n` +
    ` * an output (a slice's max + min goes into a sum that starts at +0), and in NaN products,\n` +
    ` * which they skip (tfjs makes the output NaN; the strict form keeps a NaN only as a slice's\n` +
    ` * first product). */\n` +
    `#ifdef ${P}_MAXNM\n#define MAXMIN(p, mx, mn) ((mx) = __builtin_fmaxf((p), (mx)), (mn) = __builtin_fminf((p), (mn)))\n` +
    `#else\n#define MAXMIN(p, mx, mn) ((mx) = (p) > (mx) ? (p) : (mx), (mn) = (p) < (mn) ? (p) : (mn))\n#endif\n`) +
    `/* A hook after each layer (e.g. to time layers on the device); nothing by default. */\n#ifndef ${P}_AFTER_LAYER\n#define ${P}_AFTER_LAYER(i) ((void)0)\n#endif\n`];
  layers.forEach((l, i) => parts.push(q ? int8LayerFunction(q.layers[i]!, layerId(l, i), storages[i]!) : layerFunction(l, i, storages[i]!)));
  if (layers.length > 1) parts.push(`static ${value} arena[${arena}];\n`);
  const body: string[] = [];
  // a_1 .. a_{L-1} alternate between the start and the end of the arena.
  const where = (i: number) => (i === 0 ? 'in' : i === layers.length ? 'out' : i % 2 === 1 ? 'arena' : `arena + ${arena} - ${layers[i - 1]!.outputSize}`);
  layers.forEach((l, i) => body.push(`  ${layerId(l, i)}(${where(i)}, ${where(i + 1)});\n  ${P}_AFTER_LAYER(${i});`));
  if (q) {
    parts.push(`void ${p}_infer_int8(const int8_t *in, int8_t *out) {\n${body.join('\n')}\n}\n`);
    parts.push(int8FloatEntry(p, P));
  } else {
    parts.push(`void ${p}_infer(const float *in, float *out) {\n${body.join('\n')}\n}\n`);
  }
  if (whole) parts.push(normalizeFunction(net, p, P));
  parts.push(`#ifdef ${P}_GOLDEN`);
  parts.push(goldenArray('float', `${p}_golden_in`, options.goldenIn, inputSize, `${P}_GOLDEN_COUNT`, `${P}_INPUT_SIZE`, cFloat));
  parts.push(goldenArray('float', `${p}_golden_out`, options.goldenOut, outputSize, `${P}_GOLDEN_COUNT`, `${P}_OUTPUT_SIZE`, cFloat));
  if (q) {
    parts.push(goldenArray('int8_t', `${p}_golden_in_int8`, options.goldenInt8!.input, inputSize, `${P}_GOLDEN_COUNT`, `${P}_INPUT_SIZE`, String));
    parts.push(goldenArray('int8_t', `${p}_golden_out_int8`, options.goldenInt8!.output, outputSize, `${P}_GOLDEN_COUNT`, `${P}_OUTPUT_SIZE`, String));
  }
  parts.push(`#endif /* ${P}_GOLDEN */\n`);
  return { headerName: names.header, sourceName: names.source, header, source: parts.join('\n'), storages, arenaFloats: arena, precision };
}
