// C99 for a microcontroller: mam_model.h and mam_model.c. The weights are `const` arrays (they
// stay in flash), each layer dense or CSR over output neurons, whichever takes fewer bytes;
// activations live in one static arena sized by the largest pair of adjacent internal
// activations; no malloc, no libm. One function, mam_infer(in, out).
//
// Arithmetic is float32 as in tfjs. A MAM neuron computes exactly what the tfjs layer does (the
// same products, max/min and sums in the same order), so MAM outputs match bit for bit except
// for the sign of a zero; a MAC neuron sums in its own order, so it matches to rounding.
import { MamError } from '../errors.js';
import { kept, toCsr, type ExportLayer, type ExportNetwork } from './network.js';

export type Storage = 'dense' | 'csr';

export interface LayerStorage {
  storage: Storage;
  denseBytes: number;
  csrBytes: number;
  /** Bytes per CSR column index (1 for at most 256 inputs, else 2) and row pointer. */
  indexBytes: 1 | 2;
  pointerBytes: 2 | 4;
}

/** Bytes of each storage, and the one chosen: the smaller, but CSR when 'absent' MAM needs the mask. */
export function layerStorage(layer: ExportLayer): LayerStorage {
  if (layer.inputSize > 65536) throw new MamError(`layer ${layer.name} has ${layer.inputSize} inputs: the C export indexes inputs with 16 bits (at most 65536)`);
  const nnz = kept(layer);
  const indexBytes = layer.inputSize <= 256 ? 1 : 2;
  const pointerBytes = nnz <= 0xffff ? 2 : 4;
  const denseBytes = 4 * layer.inputSize * layer.outputSize;
  const csrBytes = 4 * nnz + indexBytes * nnz + pointerBytes * (layer.outputSize + 1);
  // Dense storage keeps pruned entries as 0 products: right for 'zero', wrong for 'absent'.
  const needsMask = layer.kind === 'mam' && layer.prunedAs === 'absent' && nnz < layer.mask.length;
  return { storage: needsMask || csrBytes < denseBytes ? 'csr' : 'dense', denseBytes, csrBytes, indexBytes, pointerBytes };
}

/** A float32 as a C literal that reads back to the same bits. */
export function cFloat(v: number): string {
  if (Number.isNaN(v) || !Number.isFinite(v)) throw new RangeError(`cannot write ${v} as a C float`);
  if (Object.is(v, -0)) return '-0.0f';
  let s = String(Math.fround(v));
  // Shortest double repr of a float32 value round-trips through strtof; C needs a '.' or 'e'.
  if (!/[.e]/.test(s)) s += '.0';
  return `${s}f`;
}

function array(type: string, name: string, values: ArrayLike<number>, format: (v: number) => string): string {
  const items: string[] = [];
  for (let i = 0; i < values.length; i++) items.push(format(values[i]!));
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += 8) lines.push(`  ${items.slice(i, i + 8).join(', ')}`);
  return `static const ${type} ${name}[${Math.max(values.length, 1)}] = {\n${lines.join(',\n') || '  0'}\n};\n`;
}

function ident(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

export interface CExportOptions {
  /** What the header comment says the model is (its directory). */
  source: string;
  /** Golden input and output vectors, window after window. */
  goldenIn: Float32Array;
  goldenOut: Float32Array;
}

export interface CExport {
  header: string;
  source: string;
  storages: LayerStorage[];
  arenaFloats: number;
}

/** Activation arena: internal activations alternate between its two ends. */
export function arenaSize(net: ExportNetwork): number {
  const sizes = net.layers.map((l) => l.outputSize).slice(0, -1); // internal activations a_1 .. a_{L-1}
  let most = Math.max(0, ...sizes);
  for (let i = 0; i + 1 < sizes.length; i++) most = Math.max(most, sizes[i]! + sizes[i + 1]!);
  return most;
}

function layerFunction(layer: ExportLayer, index: number, st: LayerStorage): string {
  const id = `l${index}_${ident(layer.name)}`;
  const n = layer.inputSize, m = layer.outputSize;
  const out: string[] = [];
  out.push(array('float', `${id}_bias`, layer.bias, cFloat));
  const relu = layer.activation === 'relu' ? '    y[k] = acc > 0.0f ? acc : 0.0f;' : '    y[k] = acc;';
  if (st.storage === 'csr') {
    const csr = toCsr(layer);
    const idx = st.indexBytes === 1 ? 'uint8_t' : 'uint16_t';
    const ptr = st.pointerBytes === 2 ? 'uint16_t' : 'uint32_t';
    out.push(array('float', `${id}_values`, csr.values, cFloat));
    out.push(array(idx, `${id}_cols`, csr.colIndices, String));
    out.push(array(ptr, `${id}_rows`, csr.rowPointers, String));
    out.push(`static void ${id}(const float *x, float *y) {`);
    out.push(`  for (int k = 0; k < ${m}; k++) {`);
    out.push(`    uint32_t e = ${id}_rows[k], end = ${id}_rows[k + 1];`);
    if (layer.kind === 'mac') {
      out.push('    float acc = 0.0f;');
      out.push(`    for (; e < end; e++) acc += x[${id}_cols[e]] * ${id}_values[e];`);
      out.push(`    acc += ${id}_bias[k];`);
    } else {
      const zero = layer.prunedAs === 'zero';
      out.push('    float acc = 0.0f;');
      out.push(`    for (int s = 0; s < ${layer.splits}; s++) {`);
      out.push(`      const uint32_t j1 = (uint32_t)(((s + 1) * ${n}) / ${layer.splits});`);
      if (zero) out.push(`      const uint32_t size = j1 - (uint32_t)((s * ${n}) / ${layer.splits});`);
      out.push(`      float mx = -FLT_MAX, mn = FLT_MAX;${zero ? ' uint32_t count = 0;' : ''} int any = 0;`);
      out.push(`      for (; e < end && ${id}_cols[e] < j1; e++${zero ? ', count++' : ''}) {`);
      out.push(`        const float p = x[${id}_cols[e]] * ${id}_values[e];`);
      out.push('        if (!any || p > mx) mx = p;');
      out.push('        if (!any || p < mn) mn = p;');
      out.push('        any = 1;');
      out.push('      }');
      if (layer.prunedAs === 'zero') {
        out.push('      /* pruned connections of this slice offer a 0 product to the max and min */');
        out.push('      if (count < size) { if (!any || 0.0f > mx) mx = 0.0f; if (!any || 0.0f < mn) mn = 0.0f; any = 1; }');
      } else {
        out.push('      /* pruned connections are absent from the max and min; a slice with none kept adds 0 */');
      }
      out.push('      if (any) acc += mx + mn;');
      out.push('    }');
      out.push(`    acc += ${id}_bias[k];`);
    }
  } else {
    out.push(array('float', `${id}_w`, layer.kernel, cFloat));
    out.push(`static void ${id}(const float *x, float *y) {`);
    out.push(`  for (int k = 0; k < ${m}; k++) {`);
    if (layer.kind === 'mac') {
      out.push('    float acc = 0.0f;');
      out.push(`    for (int j = 0; j < ${n}; j++) acc += x[j] * ${id}_w[j * ${m} + k];`);
      out.push(`    acc += ${id}_bias[k];`);
    } else {
      out.push('    float acc = 0.0f;');
      out.push(`    for (int s = 0; s < ${layer.splits}; s++) {`);
      out.push(`      const int j0 = (s * ${n}) / ${layer.splits}, j1 = ((s + 1) * ${n}) / ${layer.splits};`);
      out.push(`      float mx = x[j0] * ${id}_w[j0 * ${m} + k], mn = mx;`);
      out.push('      for (int j = j0 + 1; j < j1; j++) {');
      out.push(`        const float p = x[j] * ${id}_w[j * ${m} + k];`);
      out.push('        if (p > mx) mx = p;');
      out.push('        if (p < mn) mn = p;');
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
function goldenArray(name: string, values: Float32Array, width: number, widthName: string): string {
  const rows: string[] = [];
  for (let r = 0; r < values.length / width; r++) {
    rows.push(`  {${Array.from(values.subarray(r * width, (r + 1) * width), cFloat).join(', ')}}`);
  }
  return `const float ${name}[MAM_GOLDEN_COUNT][${widthName}] = {\n${rows.join(',\n')}\n};\n`;
}

/** mam_model.h and mam_model.c for `net`. */
export function exportC(net: ExportNetwork, options: CExportOptions): CExport {
  const layers = net.layers;
  const storages = layers.map(layerStorage);
  const inputSize = layers[0]!.inputSize;
  const outputSize = layers.at(-1)!.outputSize;
  const golden = options.goldenIn.length / inputSize;
  const arena = arenaSize(net);
  const weights = layers.reduce((n, l) => n + l.mask.length, 0);
  const nonzeros = layers.reduce((n, l) => n + kept(l), 0);
  const description = [
    `Generated by mam (mam-ecg) from ${options.source}: do not edit.`,
    `${layers.length} layers, ${nonzeros} of ${weights} weights kept (sparsity ${(1 - nonzeros / weights).toFixed(4)}).`,
    `Inputs: windows of ${net.preprocessing.window} samples at ${net.preprocessing.fs} Hz, normalised '${net.preprocessing.normalization.method}'${net.skipped > 0 ? ` (this tail takes the ${inputSize} activations of the layer before ${layers[0]!.name})` : ''}.`,
    'Layers (name kind in->out activation storage bytes):',
    ...layers.map((l, i) => `  ${l.name} ${l.kind}${l.kind === 'mam' ? ` (splits ${l.splits}, pruned as ${l.prunedAs})` : ''} ${l.inputSize}->${l.outputSize} ${l.activation} ${storages[i]!.storage} ${storages[i]!.storage === 'csr' ? storages[i]!.csrBytes : storages[i]!.denseBytes} (sparsity ${(1 - kept(l) / l.mask.length).toFixed(4)})`),
  ].map((line) => ` * ${line}`).join('\n');

  const header = `/*\n${description}\n */\n#ifndef MAM_MODEL_H\n#define MAM_MODEL_H\n\n` +
    `#define MAM_INPUT_SIZE ${inputSize}\n#define MAM_OUTPUT_SIZE ${outputSize}\n#define MAM_GOLDEN_COUNT ${golden}\n\n` +
    '/* One inference: in[MAM_INPUT_SIZE] -> out[MAM_OUTPUT_SIZE]. Not reentrant (one static arena). */\n' +
    'void mam_infer(const float *in, float *out);\n\n' +
    '/* Inputs and the outputs the trained model gives for them, for checking a build: compiled\n' +
    ' * only with -DMAM_GOLDEN, so that they take no flash in the firmware otherwise. */\n' +
    '#ifdef MAM_GOLDEN\n' +
    'extern const float mam_golden_in[MAM_GOLDEN_COUNT][MAM_INPUT_SIZE];\n' +
    'extern const float mam_golden_out[MAM_GOLDEN_COUNT][MAM_OUTPUT_SIZE];\n' +
    '#endif\n\n#endif\n';

  const parts: string[] = [`/*\n${description}\n */\n#include <float.h>\n#include <stdint.h>\n#include "mam_model.h"\n\n` +
    '/* A hook after each layer (e.g. to time layers on the device); nothing by default. */\n#ifndef MAM_AFTER_LAYER\n#define MAM_AFTER_LAYER(i) ((void)0)\n#endif\n'];
  layers.forEach((l, i) => parts.push(layerFunction(l, i, storages[i]!)));
  if (layers.length > 1) parts.push(`static float arena[${arena}];\n`);
  const body: string[] = [];
  // a_1 .. a_{L-1} alternate between the start and the end of the arena.
  const where = (i: number) => (i === 0 ? 'in' : i === layers.length ? 'out' : i % 2 === 1 ? 'arena' : `arena + ${arena} - ${layers[i - 1]!.outputSize}`);
  layers.forEach((l, i) => body.push(`  l${i}_${ident(l.name)}(${where(i)}, ${where(i + 1)});\n  MAM_AFTER_LAYER(${i});`));
  parts.push(`void mam_infer(const float *in, float *out) {\n${body.join('\n')}\n}\n`);
  parts.push('#ifdef MAM_GOLDEN');
  parts.push(goldenArray('mam_golden_in', options.goldenIn, inputSize, 'MAM_INPUT_SIZE'));
  parts.push(goldenArray('mam_golden_out', options.goldenOut, outputSize, 'MAM_OUTPUT_SIZE'));
  parts.push('#endif /* MAM_GOLDEN */');
  return { header, source: parts.join('\n'), storages, arenaFloats: arena };
}
