// Training speed of the autoencoder presets, MAM and MAC, on the backend in use: windows per
// second of optimizer steps (after vcon, i.e. pure MAM), and the time one epoch of 20,000
// windows would take. Run with `npm run bench` (or `node dist/bench/train-bench.js`).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { buildAutoencoder, specFromPreset, type ModelKind } from '../src/model/autoencoder.js';
import { setModelBeta } from '../src/train/beta.js';
import { DEFAULT_TRAIN_OPTIONS, trainableVariables } from '../src/train/trainer.js';

const EPOCH_WINDOWS = 20_000;
const MIN_SECONDS = 3;

const info = await initBackend();
console.log(`training speed: backend ${info.name}, batch ${DEFAULT_TRAIN_OPTIONS.batchSize}, Adam, beta 0 (pure MAM after vcon)`);
for (const preset of ['small', 'paper']) {
  for (const kind of ['mac', 'mam'] as ModelKind[]) {
    const spec = specFromPreset(preset, { kind });
    const model = buildAutoencoder(spec);
    setModelBeta(model, 0);
    const batch = DEFAULT_TRAIN_OPTIONS.batchSize;
    const x = tf.randomNormal([batch, spec.window], 0, 1, 'float32', 1);
    const optimizer = tf.train.adam(1e-3);
    const variables = trainableVariables(model);
    const step = () => tf.tidy(() => {
      optimizer.minimize(() => tf.losses.meanSquaredError(x, model.apply(x) as tf.Tensor) as tf.Scalar, false, variables);
    });
    for (let i = 0; i < 3; i++) step(); // warm-up: kernels, optimizer slots
    let steps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < MIN_SECONDS * 1000) { step(); steps++; }
    const seconds = (performance.now() - t0) / 1000;
    const perSecond = (steps * batch) / seconds;
    const line = `${preset} ${kind}: ${perSecond.toFixed(0)} windows/s (${(1000 * seconds / steps).toFixed(1)} ms/step), one epoch of ${EPOCH_WINDOWS} windows: ${(EPOCH_WINDOWS / perSecond).toFixed(1)} s` +
      (preset === 'paper' ? ` (goal < 60 s: ${EPOCH_WINDOWS / perSecond < 60 ? 'met' : 'NOT met'})` : '');
    console.log(line);
    optimizer.dispose();
    x.dispose();
    model.dispose();
  }
}
