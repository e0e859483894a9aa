// The tfjs export: the network as a plain tfjs LayersModel (model.json and weights.bin, the
// standard format tf.loadLayersModel reads), for programs that run tfjs but not mam. MAC layers
// become standard Dense layers with the mask folded into the kernel (pruned entries +0), so
// @tensorflow/tfjs alone loads them. A MAM layer has no standard equivalent: it stays mam's
// MamDense, which tfjs finds only once mam-ecg is imported (the import registers the class).
// The preprocessing goes into the model's userDefinedMetadata, where it also marks the
// directory as a tfjs export of mam (the only kind of directory the export replaces).
import * as tf from '@tensorflow/tfjs';
import { MamDense } from '../layers/mam-dense.js';
import { inputDescription, type ExportNetwork } from './network.js';

export const TFJS_MODEL_FILE = 'model.json';
export const TFJS_WEIGHTS_FILE = 'weights.bin';
/** userDefinedMetadata.mamEcg.format of a tfjs export. */
export const TFJS_EXPORT_FORMAT = 'mam-ecg-tfjs';
export const TFJS_EXPORT_FORMAT_VERSION = 1;

export interface TfjsExport {
  /** The text of model.json. */
  modelJson: string;
  /** The contents of weights.bin (float32 little-endian, in the manifest's order). */
  weights: Uint8Array;
  /** Per exported layer, the class it is saved as: 'Dense' or 'MamDense'. */
  classes: string[];
  /** The layers that load only with mam's MamDense registered (import 'mam-ecg'). */
  mamLayers: string[];
}

export async function exportTfjs(net: ExportNetwork, about: { preset: string; kind: string }): Promise<TfjsExport> {
  const layers = net.layers.map((l, i) => {
    const args = { name: l.name, units: l.outputSize, activation: l.activation, ...(i === 0 ? { inputShape: [l.inputSize] } : {}) };
    return l.kind === 'mam' ? new MamDense({ ...args, splits: l.splits, prunedAs: l.prunedAs }) : tf.layers.dense(args);
  });
  const model = tf.sequential({ name: `mam_ecg_${about.kind}`, layers });
  try {
    net.layers.forEach((l, i) => {
      // Dense holds [kernel, bias]; MamDense [kernel, bias, mask] (its mask says which
      // connections an 'absent' neuron leaves out).
      const weights = [tf.tensor2d(l.kernel, [l.inputSize, l.outputSize]), tf.tensor1d(l.bias)];
      if (l.kind === 'mam') weights.push(tf.tensor2d(Float32Array.from(l.mask), [l.inputSize, l.outputSize]));
      model.layers[i]!.setWeights(weights);
      tf.dispose(weights);
    });
    const mamLayers = net.layers.filter((l) => l.kind === 'mam').map((l) => l.name);
    model.setUserDefinedMetadata({
      mamEcg: {
        format: TFJS_EXPORT_FORMAT,
        formatVersion: TFJS_EXPORT_FORMAT_VERSION,
        model: { ...about, layers: net.layers.length },
        ...inputDescription(net),
        mamLayers,
      },
    });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('tfjs returned no weights to save');
    // model.json as tfjs's own file:// and http savers write it.
    const modelJson = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [`./${TFJS_WEIGHTS_FILE}`], weights: artifacts.weightSpecs }],
      userDefinedMetadata: artifacts.userDefinedMetadata,
    };
    return {
      modelJson: `${JSON.stringify(modelJson)}\n`,
      weights: new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)),
      classes: model.layers.map((l) => l.getClassName()),
      mamLayers,
    };
  } finally {
    model.dispose();
  }
}

/** Whether the text of a model.json is one this export wrote (so that a new export may replace it). */
export function isTfjsExport(modelJsonText: string): boolean {
  try {
    const doc = JSON.parse(modelJsonText) as { userDefinedMetadata?: { mamEcg?: { format?: unknown } } } | null;
    return doc?.userDefinedMetadata?.mamEcg?.format === TFJS_EXPORT_FORMAT;
  } catch {
    return false;
  }
}
