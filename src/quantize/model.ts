// A saved model's int8 network: its exported layers (all, or a tail) calibrated on the model's
// own training windows, read through the preprocessing stored with it. What eval, export,
// footprint, mcu and sweep take when asked for --quantize int8.
import type * as tf from '@tensorflow/tfjs';
import type { WindowSet } from '../data/pipeline.js';
import { prepareFromSource } from '../data/source.js';
import type { ExportNetwork } from '../export/network.js';
import type { AutoencoderMetadata } from '../model/metadata.js';
import { calibrateInt8 } from './calibrate.js';
import type { QuantizedNetwork, WeightScales } from './quantize.js';

export type Quantization = 'int8';
export const QUANTIZATIONS: readonly Quantization[] = ['int8'];

export interface QuantizeRequest {
  quantize: Quantization;
  /** Per output neuron (default) or per layer. */
  weightScales?: WeightScales;
}

/**
 * The int8 network of `net` (exported from `model`: all its layers, or a tail), calibrated on
 * the model's training windows: `train` when the caller has prepared them already, else read
 * again from the model's data.
 */
export async function quantizeModel(model: tf.LayersModel, metadata: AutoencoderMetadata, net: ExportNetwork, request: QuantizeRequest, train?: WindowSet): Promise<QuantizedNetwork> {
  const windows = train ?? (await prepareFromSource(metadata.data.source, metadata.data.pipeline)).train;
  return calibrateInt8(model, net, windows, request.weightScales ?? 'channel');
}
