// The network as an exporter sees it: plain arrays per layer (kernel, mask, bias), the layer's
// kind and how pruned MAM connections count, and the preprocessing the inputs must go through.
// Everything an export needs, read once from the tfjs model (the JSON and C writers use no tfjs).
import type * as tf from '@tensorflow/tfjs';
import type { PipelineSettings } from '../data/pipeline.js';
import { MamError, msg, RequestError } from '../errors.js';
import type { PrunedAs } from '../layers/mam-math.js';
import { MamDense } from '../layers/mam-dense.js';
import { PrunableDense, type LayerKind } from '../layers/prunable-dense.js';

export type Activation = 'relu' | 'linear';

export interface ExportLayer {
  name: string;
  kind: LayerKind;
  inputSize: number;
  outputSize: number;
  activation: Activation;
  /** MAM only: input slices (1 = plain MAM). */
  splits: number;
  prunedAs: PrunedAs;
  bias: Float32Array;
  /** Effective kernel [inputSize][outputSize] row-major (tfjs layout), exactly +0 where pruned. */
  kernel: Float32Array;
  /** 1 kept, 0 pruned, same layout. */
  mask: Uint8Array;
}

/** What a layer is, without its float weights: shared by the float layer and its int8 form. */
export type LayerShape = Omit<ExportLayer, 'bias' | 'kernel'>;

export interface ExportNetwork {
  /** The model's preprocessing: what an input window must be before mam_infer. */
  preprocessing: PipelineSettings;
  /** Layers of the model before the exported ones (0: the whole network; > 0: a tail). */
  skipped: number;
  layers: ExportLayer[];
}

/** CSR over output neurons: row k lists the kept inputs j of neuron k. */
export interface Csr {
  values: Float32Array;
  colIndices: Int32Array;
  rowPointers: Int32Array;
}

function activationOf(layer: PrunableDense): Activation {
  const name = (layer.getConfig().activation as string | undefined) ?? 'linear';
  if (name !== 'relu' && name !== 'linear') {
    throw new MamError(`layer ${layer.name} has activation '${name}', which the export does not support (relu, linear)`);
  }
  return name;
}

/** The last `tail` layers of `model` (all when undefined), in the order they run. */
export function exportNetwork(model: tf.LayersModel, preprocessing: PipelineSettings, tail?: number): ExportNetwork {
  const all = model.layers.filter((l): l is PrunableDense => l instanceof PrunableDense);
  if (all.length !== model.layers.length) throw new MamError(`${model.name}: not a mam autoencoder (it has layers other than MAM and MAC ones)`);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 1 && tail <= all.length)) {
    throw new RequestError(msg`{tail} ${tail}: this model has ${all.length} layers (${all.map((l) => l.name).join(', ')}); give 1 to ${all.length}`);
  }
  const blending = all.find((l) => l instanceof MamDense && l.beta !== 0) as MamDense | undefined;
  if (blending) {
    throw new MamError(`layer ${blending.name} still blends in the dense product (beta ${blending.beta}): the model is an unfinished training run; finish its training (resume it) before exporting`);
  }
  const chosen = tail === undefined ? all : all.slice(all.length - tail);
  return {
    preprocessing,
    skipped: all.length - chosen.length,
    layers: chosen.map((l) => {
      const [inputSize, outputSize] = l.kernelShape();
      const weights = l.getWeights();
      const bias = l.useBias ? (weights[1]!.dataSync() as Float32Array).slice() : new Float32Array(outputSize);
      const mask = Uint8Array.from(l.getMask().dataSync(), (v) => (v !== 0 ? 1 : 0));
      return {
        name: l.name,
        kind: l.kind,
        inputSize,
        outputSize,
        activation: activationOf(l),
        splits: l instanceof MamDense ? l.splits : 1,
        prunedAs: l instanceof MamDense ? l.prunedAs : 'zero',
        bias,
        kernel: l.effectiveKernel(),
        mask,
      };
    }),
  };
}

/** What the exported layers take: the model's preprocessing, and a window or (a tail) the activations before it. */
export function inputDescription(net: ExportNetwork) {
  const { fs, window, baseline, normalization } = net.preprocessing;
  return {
    preprocessing: { fs, window, baseline, normalization },
    input: { size: net.layers[0]!.inputSize, of: net.skipped === 0 ? 'window' : 'activation' },
  };
}

export function kept(layer: Pick<ExportLayer, 'mask'>): number {
  return layer.mask.reduce((n, v) => n + v, 0);
}

/** The kept connections in CSR over output neurons (rows k, columns j), in order of j. */
export function toCsr(layer: Pick<ExportLayer, 'inputSize' | 'outputSize' | 'mask'> & { kernel: ArrayLike<number> }): Csr {
  const { inputSize: n, outputSize: m, kernel, mask } = layer;
  const nnz = kept(layer);
  const values = new Float32Array(nnz);
  const colIndices = new Int32Array(nnz);
  const rowPointers = new Int32Array(m + 1);
  let e = 0;
  for (let k = 0; k < m; k++) {
    rowPointers[k] = e;
    for (let j = 0; j < n; j++) {
      if (mask[j * m + k]) { values[e] = kernel[j * m + k]!; colIndices[e] = j; e++; }
    }
  }
  rowPointers[m] = e;
  return { values, colIndices, rowPointers };
}
