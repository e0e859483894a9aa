// The memory bill on a network small enough to work out by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arenaSize, layerStorage } from '../src/export/storage.js';
import { footprint, TARGETS, type Target } from '../src/export/footprint.js';
import type { ExportLayer, ExportNetwork } from '../src/export/network.js';

function layer(name: string, kind: 'mam' | 'mac', n: number, m: number, mask: number[], prunedAs: 'zero' | 'absent' = 'zero'): ExportLayer {
  return {
    name, kind, inputSize: n, outputSize: m, activation: 'relu', splits: 1, prunedAs,
    bias: new Float32Array(m), kernel: Float32Array.from(mask, (v, i) => v * (i + 1)), mask: Uint8Array.from(mask),
  };
}

// 4 -> 3 MAM with 5 of 12 kept, then 3 -> 2 MAC dense, then 2 -> 5 MAC dense.
const net: ExportNetwork = {
  preprocessing: { fs: 256, window: 4, hop: 4, baseline: 'none', normalization: { method: 'window' }, split: { train: 0.8, val: 0.1, test: 0.1 }, seed: 1 },
  skipped: 0,
  layers: [
    layer('a', 'mam', 4, 3, [1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]),
    layer('b', 'mac', 3, 2, [1, 1, 1, 1, 1, 1]),
    layer('c', 'mac', 2, 5, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
  ],
};

describe('footprint', () => {
  it('storage bytes of each kind, and the smaller of dense and CSR chosen', () => {
    // dense 4 x 12 = 48; CSR 4 x 5 values + 1 x 5 uint8 columns + 2 x 4 uint16 row pointers = 33;
    // bitmap 4 x 5 + ceil(12 / 8) = 22.
    const fp = footprint(net, TARGETS.stm32f767zi!);
    assert.deepEqual(fp.layers[0]!.storage, { dense: 48, csr: 33, bitmap: 22, chosen: 'csr' });
    assert.equal(fp.layers[0]!.flashBytes, 33 + 4 * 3);
    // Dense 3 x 2: 24 bytes beats CSR 4 x 6 + 6 + 2 x 3 = 36.
    assert.deepEqual(fp.layers[1]!.storage, { dense: 24, csr: 36, bitmap: 25, chosen: 'dense' });
    assert.equal(fp.flash_bytes, 45 + (24 + 8) + (40 + 20));
    assert.equal(fp.layers[0]!.parameters, 15);
  });

  it('operations: MAC a multiply and an add per connection; MAM a multiply and two compares, two adds per slice', () => {
    const fp = footprint(net, TARGETS.stm32f767zi!);
    assert.deepEqual(fp.layers[0]!.ops, { multiplies: 5, adds: 2 * 3 + 3, compares: 10 });
    assert.deepEqual(fp.layers[1]!.ops, { multiplies: 6, adds: 6 + 2, compares: 0 });
  });

  it('RAM: the arena holds the largest pair of adjacent internal activations, plus input and output', () => {
    // Internal activations: 3 (after a) and 2 (after b): the arena holds both, 5 floats.
    assert.equal(arenaSize(net), 5);
    const fp = footprint(net, TARGETS.stm32f767zi!);
    assert.equal(fp.arena_bytes, 20);
    assert.equal(fp.ram_bytes, 20 + 4 * (4 + 5));
    assert.equal(fp.fits, true);
  });

  it('a budget too small is reported, with what is over', () => {
    const tiny: Target = { name: 'tiny', core: 'none', flashBytes: 100, ramBytes: 40 };
    const fp = footprint(net, tiny);
    assert.equal(fp.fits, false);
    assert.deepEqual(fp.over, ['flash 137 > 100 bytes', 'RAM 56 > 40 bytes']);
  });

  it("pruned MAM connections that are 'absent' need the mask: CSR even where dense is smaller", () => {
    const light = layer('d', 'mam', 3, 2, [1, 1, 1, 1, 1, 0], 'absent');
    assert.equal(layerStorage(light).storage, 'csr');
    assert.equal(layerStorage({ ...light, prunedAs: 'zero' }).storage, 'dense');
    assert.equal(layerStorage({ ...light, mask: Uint8Array.from([1, 1, 1, 1, 1, 1]) }).storage, 'dense');
  });
});
