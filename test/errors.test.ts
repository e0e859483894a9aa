// Errors in the library's terms and in the CLI's: a library error names the settings it is about
// by their field names (sparsity, mamLayers, source.records), never by a flag; the CLI prints
// each as its own flag, and exits with 2 when the setting is at fault (a RequestError).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Command } from 'commander';
import { initBackend } from '../src/backend.js';
import { PAPER_FLAGS, register as registerPaper } from '../src/cli/commands/paper.js';
import { register as registerPrune } from '../src/cli/commands/prune.js';
import { register as registerSweep, SWEEP_FLAGS } from '../src/cli/commands/sweep.js';
import { register as registerTrain } from '../src/cli/commands/train.js';
import { PRUNE_FLAGS } from '../src/cli/prune-options.js';
import { flagOf, reportError, type FlagNames } from '../src/cli/run.js';
import { TRAIN_FLAGS } from '../src/cli/train-options.js';
import { MamError, Message, msg, RequestError, setting, UsageError } from '../src/errors.js';
import { resolveMamLayers, specFromPreset } from '../src/model/autoencoder.js';
import { DEFAULT_PRUNE_OPTIONS } from '../src/prune/pruner.js';
import { pruneSaved } from '../src/prune/session.js';
import { startTraining } from '../src/train/session.js';
import { mam, tempDir } from './cli-helpers.js';
import { tinyConfig } from './fixtures.js';

/** What reportError prints and the exit code it sets. */
function reported(err: unknown, flags?: Record<string, string>): { said: string; code: unknown } {
  const write = process.stderr.write.bind(process.stderr);
  let said = '';
  process.stderr.write = ((chunk: string) => { said += chunk; return true; }) as typeof process.stderr.write;
  try {
    reportError(err, flags);
    return { said, code: process.exitCode };
  } finally {
    process.stderr.write = write;
    process.exitCode = 0;
  }
}

describe('messages that name settings', () => {
  it('msg: {field} in the literal text is a setting; interpolated values are text, except a Message', () => {
    const path = '/data/{sparsity}.csv'; // braces in a value are never a setting
    const m = msg`{sparsity} ${1} in ${path}: ${msg`choose another {out}`}; ${setting('models.mac')}`;
    assert.equal(m.render(), 'sparsity 1 in /data/{sparsity}.csv: choose another out; models.mac');
    assert.equal(m.render((field) => `<${field}>`), '<sparsity> 1 in /data/{sparsity}.csv: choose another <out>; <models.mac>');
    assert.equal(msg`{ x } {Sparsity} {1} {a..b}`.render(() => '!'), '{ x } {Sparsity} {1} {a..b}', 'only {name} or {name.name} is a field');
    // What a sweep's worker sends its parent: the parts survive JSON.
    assert.equal(new Message(JSON.parse(JSON.stringify(m.parts))).render(flagOf), m.render(flagOf));
    const err = new RequestError(m, { file: path });
    assert.ok(err instanceof MamError);
    assert.equal(err.message, m.render());
    assert.equal(err.file, path);
    assert.equal(new MamError('a {plain} string').text.render(() => '!'), 'a {plain} string', 'a string message names no setting');
  });

  it('the CLI spells a field as the command says, else as --kebab-case; a RequestError exits 2, another MamError 1', () => {
    assert.deepEqual(['sparsity', 'mamLayers', 'vconEpochs', 'source.records'].map((f) => flagOf(f)), ['--sparsity', '--mam-layers', '--vcon-epochs', '--source-records']);
    assert.deepEqual(['source.records', 'learningRate', 'mamLayers'].map((f) => flagOf(f, TRAIN_FLAGS)), ['--synth-records', '--lr', '--mam-layers']);
    const layers = msg`{layers}/{exclude} leave no layer to prune; this model's layers are enc1, out`;
    assert.deepEqual(reported(new RequestError(layers)), { said: "mam: --layers/--exclude leave no layer to prune; this model's layers are enc1, out\n", code: 2 });
    assert.deepEqual(reported(new MamError(msg`x is a file: give {dir} a directory`), { dir: '--out' }), { said: 'mam: x is a file: give --out a directory\n', code: 1 });
    assert.deepEqual(reported(new UsageError('--fs must be a number')), { said: 'mam: --fs must be a number\n', code: 2 });
  });

  it("every flag the commands' maps name is an option of that command (or of the command named before it)", () => {
    const program = new Command();
    for (const register of [registerTrain, registerPrune, registerSweep, registerPaper]) register(program);
    const options = (name: string) => program.commands.find((c) => c.name() === name)!.options.map((o) => o.long);
    for (const [command, flags] of [['train', TRAIN_FLAGS], ['prune', PRUNE_FLAGS], ['sweep', SWEEP_FLAGS], ['paper', PAPER_FLAGS]] as Array<[string, FlagNames]>) {
      for (const [field, text] of Object.entries(flags)) {
        const named = [...text.matchAll(/(?:mam (\w+) )?(--[a-z-]+)/g)];
        assert.ok(named.length > 0, `${command}: ${field} -> ${text}`);
        for (const [, other, flag] of named) assert.ok(options(other ?? command).includes(flag), `${command}: ${field} -> ${flag}`);
      }
    }
  });
});

// The same case through the library and through the CLI: the field there, the flag here.
describe('a library error names the field; mam names the flag', () => {
  const dir = tempDir('mam-errors-test-');
  const model = join(dir, 'model');
  const noFlag = (err: unknown, field: RegExp, kind: typeof MamError = RequestError) => {
    assert.ok(err instanceof kind, String(err));
    assert.doesNotMatch(err.message, /--/);
    assert.match(err.message, field);
    return true;
  };

  before(async () => {
    await initBackend({ backend: 'wasm' });
    (await startTraining(tinyConfig({ seed: 3, epochs: 2 }), model, { log: () => {} })).model.dispose();
  });

  it('an unknown MAM layer: mamLayers, --mam-layers', () => {
    assert.throws(() => specFromPreset('small', { mamLayers: 'dec9' }),
      (e) => noFlag(e, /^mamLayers dec9: no layer named dec9; the layers are enc1, latent, dec1, out$/));
    assert.throws(() => resolveMamLayers(9, { encoder: [64], decoder: [256] }),
      (e) => noFlag(e, /^mamLayers 9: this network has 4 layers \(enc1, latent, dec1, out\): give 1 to 4, or layer names$/));
    const r = mam(['train', '--mam-layers', 'dec9']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, 'mam: --mam-layers dec9: no layer named dec9; the layers are enc1, latent, dec1, out\n');
  });

  it('pruning to sparsity 1, or an unknown layer: sparsity and layers, --layers', async () => {
    const out = join(dir, 'never');
    await assert.rejects(pruneSaved(model, out, { ...DEFAULT_PRUNE_OPTIONS, sparsity: 1 }),
      (e) => noFlag(e, /^sparsity 1: give a fraction in \[0, 1\), e\.g\. sparsity 0\.9 to keep 10% of the weights$/));
    await assert.rejects(pruneSaved(model, out, { ...DEFAULT_PRUNE_OPTIONS, sparsity: 0.5, layers: ['dec7'] }),
      (e) => noFlag(e, /^layers: no layer named dec7; this model's layers are enc1, latent, dec1, out$/));
    // (mam prune --sparsity 1 is refused by the CLI itself, before the library sees it.)
    const r = mam(['prune', '--model', model, '--sparsity', '0.5', '--layers', 'dec7', '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, "mam: --layers: no layer named dec7; this model's layers are enc1, latent, dec1, out\n");
  });

  it('too little data (a MamError, the data at fault): source.records, --synth-records', async () => {
    const config = tinyConfig({ seed: 1 });
    const tiny = { ...config, source: { kind: 'synthetic' as const, records: 2, generator: { seconds: 4, seed: 1, fs: 256 } } };
    const more = / give more data \(more or longer recordings, or source\.records \/ source\.generator\.seconds\)$/;
    await assert.rejects(startTraining(tiny, join(dir, 'tiny'), { log: () => {} }), (e) => noFlag(e, more, MamError) && !(e instanceof RequestError));
    const r = mam(['train', '--synth-records', '2', '--synth-seconds', '4', '--out', join(dir, 'tiny-cli')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^mam: no validation windows \(\d+ training windows in all\): give more data \(more or longer recordings, or --synth-records \/ --synth-seconds\)\n$/);
  });
});
