// The firmware path: the exported network cross-compiled for the Cortex-M7 and run on QEMU's
// mps2-an500. Its outputs must equal the same C's on this machine (and the model's golden
// outputs); a model too big for a part is reported as not fitting, with its sizes. Skipped
// where the tools are missing (scripts/install-mcu-tools.sh installs them; CI does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { initBackend } from '../src/backend.js';
import { tinyConfig } from './fixtures.js';
import { buildFirmware, hostOutputs, parseSections, runFirmware } from '../src/mcu/session.js';
import { DEFAULT_PRUNE_OPTIONS } from '../src/prune/pruner.js';
import { pruneSaved } from '../src/prune/session.js';
import { startTraining, type TrainConfig } from '../src/train/session.js';
import { mam, tempDir } from './cli-helpers.js';

const have = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const tools = have('arm-none-eabi-gcc') && have('qemu-system-arm') && have('cc') && existsSync('/usr/lib/arm-none-eabi/lib/rdimon.specs');
const dir = tempDir('mam-mcu-test-');

function config(kind: 'mam' | 'mac', decoder: number[], epochs: number, mamLayers?: string): TrainConfig {
  return tinyConfig({ seed: 9, kind, decoder, epochs, ...(mamLayers ? { mamLayers } : {}) });
}

describe('section sizes', () => {
  it('arm-none-eabi-size -A output grouped as text, rodata, data, bss', () => {
    const out = `firmware.elf  :\nsection           size         addr\n.isr_vector         64            0\n.text            28876           64\n.rodata           1000        28940\n.ARM.exidx           8        29940\n.data              100    536870912\n.bss               200    536871012\n.comment            30            0\nTotal            30278\n`;
    assert.deepEqual(parseSections(out), { text: 64 + 28876 + 8, rodata: 1000, data: 100, bss: 200 });
    // Not loaded into memory: not counted.
    assert.deepEqual(parseSections(`${out}.ARM.attributes    48     0\n`), parseSections(out));
  });
});

describe('firmware on the emulated Cortex-M7', { skip: tools ? false : 'arm-none-eabi-gcc, qemu-system-arm or cc missing (scripts/install-mcu-tools.sh)' }, () => {
  before(async () => { await initBackend({ backend: 'wasm' }); });

  it('the emulated outputs equal the host C outputs and the model\'s bit for bit, for a pruned MAM tail, with and without VMAXNM/VMINNM; instructions are counted per layer', async () => {
    const model = join(dir, 'mam');
    // Both tail layers MAM; out (64 inputs) keeps about 25 a row, uneven: CSR four a turn.
    await startTraining(config('mam', [64], 3, 'dec1,out'), model, { log: () => {} });
    for (const prunedAs of ['zero', 'absent'] as const) {
      const pruned = join(dir, `mam-${prunedAs}`);
      await pruneSaved(model, pruned, { ...DEFAULT_PRUNE_OPTIONS, sparsity: 0.6, steps: 1, fineTuneEpochs: 1, prunedAs });
      const strictOut = join(dir, `fw-${prunedAs}-strict`);
      const strict = await buildFirmware({ model: pruned, out: strictOut, tail: 2, golden: 6, maxnm: false });
      assert.equal(strict.maxnm, false);
      const out = join(dir, `fw-${prunedAs}`);
      const build = await buildFirmware({ model: pruned, out, tail: 2, golden: 6 });
      assert.equal(build.maxnm, true, 'VMAXNM/VMINNM by default');
      assert.match(readFileSync(join(out, 'mam_model.c'), 'utf8'), /e \+ 4 <= end/, 'the out layer takes four products a turn');
      assert.equal(build.fits, true);
      assert.ok(build.sections.text > 0 && build.sections.rodata > 0);
      const run = await runFirmware(out);
      assert.equal(run.outputBits.length, 6 * 128);
      assert.deepEqual(run.outputBits, hostOutputs(out), 'emulated and host C outputs differ');
      // MAM layers compute as tfjs does; VMAXNM/VMINNM change only the sign of zeros no output sees.
      assert.ok(run.identical, `${prunedAs}: not the model's bits (off by ${run.worstRelativeError})`);
      assert.deepEqual((await runFirmware(strictOut)).outputBits, run.outputBits, `${prunedAs}: strict compares and VMAXNM/VMINNM differ`);
      assert.equal(run.instructions.length, 6);
      for (const [i, layers] of run.layerInstructions.entries()) {
        assert.equal(layers.length, 2);
        assert.ok(layers.every((n) => n > 0));
        // The layers add up to the inference (each mark is a few instructions, within a tick).
        assert.ok(Math.abs(layers[0]! + layers[1]! - run.instructions[i]!) <= 40, `${layers} vs ${run.instructions[i]}`);
      }
    }
    // A rebuild replaces the directory whole (host-check included); a file it did not make stops it.
    const out = join(dir, 'fw-zero');
    await buildFirmware({ model: join(dir, 'mam-zero'), out, tail: 2, golden: 6 });
    assert.ok(!existsSync(join(out, 'host-check')), 'the old build is gone whole');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    await assert.rejects(buildFirmware({ model: join(dir, 'mam-zero'), out, tail: 2 }), /fw-zero holds files a build did not make \(notes\.txt\): move them out/);
    assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine');
  });

  it('a model too big for the part is reported as not fitting, with its sizes', async () => {
    const model = join(dir, 'big');
    // 149,544 float32 weights: 584 KB, more than the STM32F401RE's 512 KB of flash.
    await startTraining(config('mac', [1100], 1), model, { log: () => {} });
    const r = mam(['mcu', 'build', '--model', model, '--out', join(dir, 'fw-big'), '--target', 'stm32f401re', '--golden', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sections \(arm-none-eabi-size\): text \d+, rodata \d+, data \d+, bss \d+ bytes$/m);
    assert.match(r.stdout, /^flash \(text \+ rodata \+ data\): (\d+) bytes .* of 512\.0 KB\)/m);
    assert.match(r.stdout, /^does NOT fit the STM32F401RE/m);
    const flash = Number(/flash \(text \+ rodata \+ data\): (\d+)/.exec(r.stdout)![1]);
    assert.ok(flash > 149544 * 4, `flash ${flash}`);
  });
});
