// How the C export stores a layer, and what it costs: dense ([out][in]) or CSR over output
// neurons, whichever takes fewer bytes (CSR when pruned-as-absent MAM needs the mask), in float32
// or int8; the activation arena; the multiplications. What the C writers and the footprint share.
import { MamError } from '../errors.js';
import { kept, type ExportLayer, type ExportNetwork } from './network.js';

export type Storage = 'dense' | 'csr';

export interface LayerStorage {
  storage: Storage;
  denseBytes: number;
  csrBytes: number;
  /** Bytes per CSR column index (1 for at most 256 inputs, else 2) and row pointer. */
  indexBytes: 1 | 2;
  pointerBytes: 2 | 4;
}

/** float32 weights, or int8 ones with an int32 bias, multiplier and an int8 shift per neuron. */
export type Precision = 'float32' | 'int8';

/** What storage depends on: a layer's shape, kind and mask (an ExportLayer or a QuantizedLayer). */
export type StoredLayer = Pick<ExportLayer, 'name' | 'kind' | 'prunedAs' | 'inputSize' | 'outputSize' | 'mask'>;

export function bytesPerWeight(precision: Precision): 1 | 4 {
  return precision === 'int8' ? 1 : 4;
}

/** Bytes of each storage, and the one chosen: the smaller, but CSR when 'absent' MAM needs the mask. */
export function layerStorage(layer: StoredLayer, precision: Precision = 'float32'): LayerStorage {
  if (layer.inputSize > 65536) throw new MamError(`layer ${layer.name} has ${layer.inputSize} inputs: the C export indexes inputs with 16 bits (at most 65536)`);
  const nnz = kept(layer);
  const indexBytes = layer.inputSize <= 256 ? 1 : 2;
  const pointerBytes = nnz <= 0xffff ? 2 : 4;
  const weightBytes = bytesPerWeight(precision);
  const denseBytes = weightBytes * layer.inputSize * layer.outputSize;
  const csrBytes = weightBytes * nnz + indexBytes * nnz + pointerBytes * (layer.outputSize + 1);
  // Dense storage keeps pruned entries as 0 products: right for 'zero', wrong for 'absent'.
  const needsMask = layer.kind === 'mam' && layer.prunedAs === 'absent' && nnz < layer.mask.length;
  return { storage: needsMask || csrBytes < denseBytes ? 'csr' : 'dense', denseBytes, csrBytes, indexBytes, pointerBytes };
}

/** Flash bytes of a layer as the export stores it: its kernel in the chosen storage, and per neuron its bias (int8: and requantisation). */
export function storedBytes(layer: StoredLayer, st: LayerStorage, precision: Precision = 'float32'): number {
  return (st.storage === 'csr' ? st.csrBytes : st.denseBytes) + (precision === 'int8' ? INT8_NEURON_BYTES : 4) * layer.outputSize;
}

/** int8: flash bytes per output neuron besides its weights: the int32 bias and multiplier, the int8 shift. */
export const INT8_NEURON_BYTES = 9;

/** Activation arena: internal activations alternate between its two ends. */
export function arenaSize(net: ExportNetwork): number {
  const sizes = net.layers.map((l) => l.outputSize).slice(0, -1); // internal activations a_1 .. a_{L-1}
  let most = Math.max(0, ...sizes);
  for (let i = 0; i + 1 < sizes.length; i++) most = Math.max(most, sizes[i]! + sizes[i + 1]!);
  return most;
}

/** Multiplications per inference: every stored weight of a dense layer, the kept ones of a CSR layer. */
export function multiplies(net: ExportNetwork, storages: LayerStorage[]): number {
  return net.layers.reduce((n, l, i) => n + (storages[i]!.storage === 'csr' ? kept(l) : l.mask.length), 0);
}
