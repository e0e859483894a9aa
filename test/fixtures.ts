// A tiny autoencoder on a few seconds of synthetic ECG: what the tests that train, prune and
// export start from (seconds to train, every layer kind and option within reach).
import { DEFAULT_SPLIT } from '../src/data/pipeline.js';
import { specFromPreset, type AutoencoderSpec } from '../src/model/autoencoder.js';
import type { TrainConfig } from '../src/train/session.js';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../src/train/trainer.js';

export interface TinyOptions {
  seed: number;
  kind?: AutoencoderSpec['kind'];
  decoder?: number[];
  mamLayers?: string | number;
  splits?: number;
  epochs?: number;
  vconEpochs?: number;
  batchSize?: number;
}

/** 128-16-6-decoder-128 on 6 synthetic traces of 12 s at 256 Hz, Adam at 1e-2. */
export function tinyConfig(o: TinyOptions): TrainConfig {
  const { seed } = o;
  const kind = o.kind ?? 'mam';
  const spec = specFromPreset('small', {
    kind, encoder: [16], latent: 6, decoder: o.decoder ?? [24], mamLayers: o.mamLayers ?? 'dec1', seed,
    ...(o.splits !== undefined ? { splits: o.splits } : {}),
  });
  const options: TrainOptions = {
    ...DEFAULT_TRAIN_OPTIONS, epochs: o.epochs ?? 3, batchSize: o.batchSize ?? 16,
    vconEpochs: kind === 'mac' ? 0 : o.vconEpochs ?? 1, learningRate: 1e-2, seed,
  };
  return {
    spec,
    source: { kind: 'synthetic', records: 6, generator: { seconds: 12, seed, fs: 256 } },
    pipeline: { fs: 256, window: 128, hop: 128, baseline: 'none', normalization: { method: 'window' }, split: DEFAULT_SPLIT, seed },
    options,
  };
}
