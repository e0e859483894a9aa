// Starting from PCA (model/pca-start.ts): the built network, MAC or MAM, reconstructs exactly
// as the fitted PCA does, on windows it was not fitted on; the networks that cannot are refused
// by name; and a training run started so begins at the baseline's validation ASNR.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { RequestError } from '../src/errors.js';
import { fitPca, pcaReconstruct } from '../src/metrics/pca.js';
import { buildAutoencoder, specFromPreset, type AutoencoderSpec } from '../src/model/autoencoder.js';
import { pcaStartProblem, startFromPca } from '../src/model/pca-start.js';
import { setModelBeta } from '../src/train/beta.js';
import { startTraining } from '../src/train/session.js';
import { mam, tempDir } from './cli-helpers.js';
import { tinyConfig } from './fixtures.js';
import { rng, worstRelative } from './helpers.js';

const n = 32;

/** Windows of a few random smooth shapes plus noise: a spectrum PCA has something to find in. */
function windows(count: number, seed: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(count * n);
  for (let w = 0; w < count; w++) {
    const a = [rand() * 2 - 1, rand() * 2 - 1, rand() * 2 - 1, rand() - 0.5];
    for (let i = 0; i < n; i++) {
      const t = i / n;
      out[w * n + i] = a[0]! * Math.sin(2 * Math.PI * t) + a[1]! * Math.cos(6 * Math.PI * t) + a[2]! * t * t + a[3]! + 0.05 * (rand() - 0.5);
    }
  }
  return out;
}

function spec(over: Partial<Omit<AutoencoderSpec, 'mamLayers'>> & { mamLayers?: string }): AutoencoderSpec {
  return specFromPreset('small', { window: n, latent: 4, encoder: [12], decoder: [10], kind: 'mac', latentActivation: 'linear', seed: 5, ...over });
}

describe('starting from PCA', () => {
  before(async () => { await initBackend({ backend: 'wasm' }); });

  const cases: Array<[string, AutoencoderSpec]> = [
    ['MAC, one hidden layer each side', spec({})],
    ['MAM in the decoder, pure MAM', spec({ kind: 'mam', mamLayers: 'dec1' })],
    ['MAM in the latent and the decoder, 2 slices', spec({ kind: 'mam', mamLayers: 'latent,dec2', decoder: [8, 9], splits: 2 })],
    ['two encoder layers', spec({ encoder: [16, 8] })],
    ['no encoder layer', spec({ encoder: [] })],
    ['no hidden layer (a linear autoencoder)', spec({ encoder: [], decoder: [] })],
  ];
  for (const [name, s] of cases) {
    it(`reconstructs as PCA does: ${name}`, () => {
      const pca = fitPca(windows(300, 1), n, s.latent);
      const model = buildAutoencoder(s);
      startFromPca(model, s, pca);
      setModelBeta(model, 0); // MAM layers as pure MAM: the construction holds for max + min, not only for the blend
      const test = windows(50, 2);
      const expected = pcaReconstruct(pca, test, n);
      const got = tf.tidy(() => (model.predict(tf.tensor2d(test, [50, n])) as tf.Tensor).dataSync() as Float32Array);
      model.dispose();
      assert.ok(worstRelative(got, expected, n) < 1e-5, `worst relative difference ${worstRelative(got, expected, n)}`);
      // Not PCA of the test windows themselves (which would reconstruct them better): the training fit.
      assert.ok(worstRelative(expected, test, n) > 1e-3);
    });
  }

  it('refuses networks it cannot start, saying why', () => {
    assert.match(pcaStartProblem(spec({ latentActivation: 'relu' }))!, /--latent-activation linear/);
    assert.match(pcaStartProblem(spec({ decoder: [7] }))!, /at least 2 x latent = 8 units.*has 7/);
    assert.match(pcaStartProblem(spec({ kind: 'mam', mamLayers: 'enc1' }))!, /layer enc1 must sum/);
    assert.match(pcaStartProblem(spec({ kind: 'mam', mamLayers: 'out' }))!, /layer out must sum/);
    assert.equal(pcaStartProblem(spec({ kind: 'mam', mamLayers: 'dec1' })), null);
    const s = spec({ latentActivation: 'relu' });
    assert.throws(() => startFromPca(buildAutoencoder(s), s, fitPca(windows(40, 1), n, 4)), (e: Error) => e instanceof RequestError && /init pca: it needs a signed latent/.test(e.message));
  });

  it('a run started so begins at the baseline: one epoch at a vanishing learning rate keeps its validation ASNR', async () => {
    const base = tinyConfig({ seed: 2, kind: 'mac', epochs: 1 });
    const config = {
      ...base,
      spec: { ...base.spec, encoder: [16], latent: 6, decoder: [24], latentActivation: 'linear' as const },
      options: { ...base.options, learningRate: 1e-9, init: 'pca' as const },
    };
    const lines: string[] = [];
    const run = await startTraining(config, join(tempDir('mam-pca-start-'), 'm'), { log: (t) => lines.push(t) });
    run.model.dispose();
    assert.ok(lines.some((l) => /starting from PCA/.test(l)), lines.join('\n'));
    const valAsnr = run.state.history[0]!.valAsnrDb;
    assert.ok(Math.abs(valAsnr - run.metadata.baseline.valAsnrDb) < 0.01, `epoch 1 ${valAsnr} dB, PCA ${run.metadata.baseline.valAsnrDb} dB`);
    assert.equal(run.metadata.training.options.init, 'pca');
  });

  it('mam train refuses --init pca where it cannot hold, before reading any data', () => {
    const relu = mam(['train', '--out', join(tempDir('mam-pca-cli-'), 'm'), '--init', 'pca']);
    assert.equal(relu.code, 2, relu.stderr);
    assert.match(relu.stderr, /--init pca: it needs a signed latent \(--latent-activation linear\)/);
    const narrow = mam(['train', '--out', join(tempDir('mam-pca-cli-'), 'm'), '--init', 'pca', '--latent-activation', 'linear', '--encoder', '20']);
    assert.match(narrow.stderr, /at least 2 x latent = 32 units/);
    const both = mam(['train', '--out', join(tempDir('mam-pca-cli-'), 'm'), '--init', 'pca', '--from', 'somewhere']);
    assert.match(both.stderr, /--init pca and --from somewhere both give the starting weights/);
  });
});
