import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend } from '../src/backend.js';
import { MamError, RequestError } from '../src/errors.js';

// The automatic choice must not depend on the caller's shell.
delete process.env.MAM_BACKEND;

function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

// One process per test file, so the order below is the backend's life story.
describe('initBackend', { concurrency: false }, () => {
  it('picks wasm automatically when tfjs-node is absent', async (t) => {
    if (tfjsNodeInstalled()) return t.skip('tfjs-node is installed here');
    const info = await initBackend();
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.match(info.reason, /^tfjs-node not loadable \(Cannot find module '@tensorflow\/tfjs-node'\); wasm loaded$/);
    assert.equal(info.versions['tfjs-core'], '4.22.0');
    assert.equal(info.versions['tfjs-layers'], '4.22.0');
    assert.equal(info.versions['tfjs-backend-wasm'], '4.22.0');
    assert.equal(info.versions.node, process.versions.node);
    assert.equal(info.versions['tfjs-node'], undefined);
    // Idempotent: same object back, and backendInfo() agrees.
    assert.equal(await initBackend(), info);
    assert.equal(backendInfo(), info);
    // The backend actually computes.
    assert.deepEqual(Array.from(tf.tensor1d([1, 2]).add(1).dataSync()), [2, 3]);
    // Asking for the backend already chosen records that it was asked for.
    assert.equal((await initBackend({ backend: 'wasm' })).reason, 'requested by --backend');
    // A backend switched outside initBackend is noticed, not misreported.
    await tf.setBackend('cpu');
    const again = await initBackend();
    assert.deepEqual([again.name, tf.getBackend()], ['wasm', 'wasm']);
  });

  it("switches to cpu when asked with backend: 'cpu'", async () => {
    const info = await initBackend({ backend: 'cpu' });
    assert.equal(info.name, 'cpu');
    assert.equal(info.reason, 'requested by --backend');
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(await initBackend({ backend: 'CPU' }), info);
    // No request keeps the current choice rather than re-selecting.
    assert.equal((await initBackend()).name, 'cpu');
  });

  it('reads MAM_BACKEND when no option is given', async () => {
    process.env.MAM_BACKEND = 'wasm';
    try {
      const info = await initBackend();
      assert.deepEqual([info.name, info.reason, tf.getBackend()], ['wasm', 'requested by MAM_BACKEND', 'wasm']);
      // The option wins over the environment.
      assert.equal((await initBackend({ backend: 'cpu' })).name, 'cpu');
    } finally {
      delete process.env.MAM_BACKEND;
    }
  });

  it('throws a one-line RequestError for an unknown name, naming the setting', async () => {
    await assert.rejects(initBackend({ backend: 'gpu' }), (err: unknown) => {
      assert.ok(err instanceof RequestError);
      assert.equal(err.name, 'RequestError');
      assert.equal(err.message, 'unknown backend "gpu" (from backend); valid: tensorflow (or node, tfjs-node), wasm, cpu');
      return true;
    });
    assert.equal(backendInfo()?.name, 'cpu', 'a failed request leaves the previous backend');
  });

  it('explains how to fix an explicitly requested tfjs-node that does not load', async (t) => {
    if (tfjsNodeInstalled()) return t.skip('tfjs-node is installed here');
    await assert.rejects(initBackend({ backend: 'node' }), (err: unknown) => {
      assert.ok(err instanceof MamError);
      assert.match(err.message, /^backend tensorflow \(from backend\) failed to load: Cannot find module/);
      assert.match(err.message, /npm rebuild @tensorflow\/tfjs-node/);
      assert.match(err.message, /otherwise use backend wasm$/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });
});
