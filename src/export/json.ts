// The JSON export: one documented format (schema/mam-export.schema.json) with the preprocessing
// and, per layer in the order they run, kind, sizes, activation, bias, how pruned MAM
// connections count, and the kernel both dense and as CSR over output neurons. The same model
// gives the same bytes: no dates, no paths, each float32 written as the shortest text of its
// double value (which reads back to the same float32).
import type { QuantizedLayer, QuantizedNetwork } from '../quantize/quantize.js';
import { inputDescription, kept, toCsr, type ExportNetwork } from './network.js';

export const EXPORT_FORMAT = 'mam-ecg-export';
export const EXPORT_FORMAT_VERSION = 1;

/** With `int8`, every layer also carries its int8 form (schema: layers[].int8). */
export function exportJson(net: ExportNetwork, model: { preset: string; kind: string }, int8?: QuantizedNetwork): string {
  const layers = net.layers.map((l, i) => {
    const csr = toCsr(l);
    const dense = rowsOf(l.kernel, l.outputSize, zeroSign);
    return {
      name: l.name,
      kind: l.kind,
      inputSize: l.inputSize,
      outputSize: l.outputSize,
      activation: l.activation,
      prunedAs: l.prunedAs,
      splits: l.splits,
      bias: Array.from(l.bias, zeroSign),
      kernel: {
        dense,
        csr: { values: Array.from(csr.values, zeroSign), colIndices: Array.from(csr.colIndices), rowPointers: Array.from(csr.rowPointers) },
      },
      nonzeros: kept(l),
      sparsity: 1 - kept(l) / l.mask.length,
      ...(int8 ? { int8: int8Layer(int8.layers[i]!) } : {}),
    };
  });
  const doc = {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    model: { preset: model.preset, kind: model.kind, layers: net.layers.length },
    ...inputDescription(net),
    ...(int8 ? { quantization: { scheme: 'int8', weightScales: int8.weightScales, calibration: "the model's training windows" } } : {}),
    layers,
  };
  return `${JSON.stringify(doc)}\n`;
}

function int8Layer(q: QuantizedLayer) {
  return {
    input: q.input,
    output: q.output,
    weightScales: Array.from(q.weightScales),
    weights: rowsOf(q.weights, q.outputSize, Number),
    values: Array.from(toCsr({ ...q, kernel: q.weights }).values),
    bias: Array.from(q.bias),
    multipliers: Array.from(q.multipliers),
    shifts: Array.from(q.shifts),
  };
}

/** A row-major kernel [inputSize][outputSize] as nested arrays, one row per input. */
function rowsOf(a: Float32Array | Int8Array, width: number, value: (v: number) => number): number[][] {
  const rows: number[][] = [];
  for (let j = 0; j < a.length / width; j++) rows.push(Array.from(a.subarray(j * width, (j + 1) * width), value));
  return rows;
}

/** JSON has no -0: write it as 0 (the value is the same). */
function zeroSign(v: number): number {
  return v === 0 ? 0 : v;
}
