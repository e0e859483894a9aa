// What a command-line user and a script expect of any tool: colour only when wanted (NO_COLOR,
// FORCE_COLOR, --color/--no-color), quiet when the reader of a pipe goes away, exit codes that
// tell a usage error from a data error from a bug, one key style in every JSON output, and '-'
// for stdout wherever a file is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { EXIT, reportError } from '../src/cli/run.js';
import { snakeKeys } from '../src/report/json-keys.js';
import { MamError, UsageError } from '../src/errors.js';
import { cliEnv, MAM_BIN, mam, tempDir } from './cli-helpers.js';

const dir = tempDir('mam-conventions-');
const ESC = '\x1b[';
const hasScript = spawnSync('script', ['--version']).status === 0;

describe('colour', () => {
  it('none on a pipe; --color or FORCE_COLOR turn it on, --no-color off again', () => {
    assert.ok(!mam(['info']).stdout.includes(ESC));
    assert.ok(mam(['--color', 'info']).stdout.includes(ESC));
    assert.ok(mam(['info'], { FORCE_COLOR: '1' }).stdout.includes(ESC));
    assert.ok(!mam(['info', '--no-color'], { FORCE_COLOR: '1' }).stdout.includes(ESC));
  });

  it('on a terminal: colour, unless NO_COLOR is set (and not empty)', { skip: hasScript ? false : 'no script(1) to give mam a terminal' }, () => {
    const onTty = (env: Record<string, string>) => {
      const e = cliEnv({ TERM: 'xterm-256color', ...env });
      delete e.CI; // supports-color turns colour off on CI servers it does not know
      const r = spawnSync('script', ['-qec', `"${process.execPath}" "${MAM_BIN}" info`, '/dev/null'], { env: e, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    assert.ok(onTty({}).includes(ESC), 'a terminal gets colour');
    assert.ok(!onTty({ NO_COLOR: '1' }).includes(ESC));
    assert.ok(onTty({ NO_COLOR: '' }).includes(ESC), 'an empty NO_COLOR means nothing');
  });
});

describe('pipes', () => {
  it('mam synth --out - | head -1: the first line, exit 0, nothing on stderr', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${MAM_BIN}" synth --seconds 600 --out - | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { env: cliEnv(), encoding: 'utf8' });
    assert.equal(r.stdout, 'time_s,ECG\n');
    assert.equal(r.stderr, 'status 0\n');
  });
});

describe('exit codes', () => {
  it('2 for usage errors: a bad or unknown option, a missing one, an empty list', () => {
    for (const [args, pattern] of [
      [['train', '--bogus'], /unknown option '--bogus'/],
      [['eval'], /required option '--model <dir>' not specified/],
      [['train', '--epochs', 'many'], /^mam: --epochs must be a number, got "many"/],
      [['prune', '--model', dir, '--sparsity', '0.5', '--out', join(dir, 'p'), '--layers', ','], /^mam: --layers must name layers separated by commas, got ","; e\.g\. --layers dec1,out$/],
      [['prune', '--model', dir, '--sparsity', '0.5', '--out', join(dir, 'p'), '--exclude', 'dec1,,out'], /^mam: --exclude must name layers separated by commas/],
    ] as Array<[string[], RegExp]>) {
      const r = mam(args);
      assert.equal(r.code, EXIT.usage, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.split('\n')[0]!, pattern);
    }
    assert.equal(mam(['--help']).code, 0);
    assert.equal(mam(['--version']).code, 0);
  });

  it('1 for a data or runtime error, 2 for a usage error, 70 for a bug (with a request to report it)', () => {
    const write = process.stderr.write.bind(process.stderr);
    const said: string[] = [];
    process.stderr.write = ((chunk: string) => { said.push(chunk); return true; }) as typeof process.stderr.write;
    const codes: unknown[] = [];
    try {
      for (const err of [new MamError('x.csv: no lead "V1"'), new UsageError('--fs must be a number'), new TypeError('undefined is not a function')]) {
        reportError(err);
        codes.push(process.exitCode);
      }
    } finally {
      process.stderr.write = write;
      process.exitCode = 0;
    }
    assert.deepEqual(codes, [1, 2, 70]);
    assert.deepEqual(said, ['mam: x.csv: no lead "V1"\n', 'mam: --fs must be a number\n', 'mam: internal error: undefined is not a function (please report it; MAM_DEBUG=1 shows where)\n']);
  });
});

describe('JSON output', () => {
  it('snake_case keys: camelCase identifiers converted, other keys (names, paths, versions) and every value kept', () => {
    assert.deepEqual(snakeKeys({ valAsnrDb: 1, fsSource: 'header', leads: ['leadIndex'], nested: [{ batchInEpoch: 2 }], '@tensorflow/tfjs': '4.22.0', 'tfjs-core': 'x', MLII: 3, already_snake: null }),
      { val_asnr_db: 1, fs_source: 'header', leads: ['leadIndex'], nested: [{ batch_in_epoch: 2 }], '@tensorflow/tfjs': '4.22.0', 'tfjs-core': 'x', MLII: 3, already_snake: null });
  });

  it('no camelCase key in the JSON of info and synth', () => {
    const camel = (text: string) => [...text.matchAll(/"([a-z]+[A-Z]\w*)":/g)].map((m) => m[1]);
    assert.deepEqual(camel(mam(['info', '--json']).stdout), []);
    const s = mam(['synth', '--seconds', '2', '--out', join(dir, 's.csv'), '--json']);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(camel(s.stdout), []);
    const summary = JSON.parse(s.stdout) as { samples: number; fs: number; hr_mean: number; out: string };
    assert.deepEqual([summary.samples, summary.fs, summary.out], [512, 256, join(dir, 's.csv')]);
    assert.equal(readFileSync(join(dir, 's.csv'), 'utf8').split('\n').length, 512 + 2);
    assert.equal(mam(['synth', '--out', '-', '--json']).code, EXIT.usage);
  });
});

describe('mam export: stdout, --json, and where it cannot write', () => {
  let model: string;
  before(() => {
    model = join(dir, 'model');
    const t = mam(['train', '--out', model, '--epochs', '2', '--vcon-epochs', '1', '--synth-records', '6', '--synth-seconds', '8', '--encoder', '16', '--latent', '6', '--decoder', '16']);
    assert.equal(t.code, 0, t.stderr);
  });

  it('--out - writes the JSON export to stdout, the same bytes as the file', () => {
    const file = join(dir, 'export.json');
    assert.equal(mam(['export', '--model', model, '--out', file]).code, 0);
    const r = mam(['export', '--model', model, '--out', '-']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(file, 'utf8'));
    assert.match(r.stderr, /^wrote the JSON export to stdout: 4 layers/);
    const c = mam(['export', '--model', model, '--format', 'c', '--out', '-']);
    assert.equal(c.code, EXIT.usage);
    assert.match(c.stderr, /^mam: --out - \(stdout\) takes the JSON and ONNX formats only: the c export is a directory of files/);
  });

  it('mam eval --save-reconstruction -: the CSV on stdout, the report on stderr; two things on stdout are refused', () => {
    const r = mam(['eval', '--model', model, '--save-reconstruction', '-']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^record,window,sample,original,reconstruction\n/);
    assert.match(r.stderr, /^all +-?\d+\.\d\d/m);
    const both = mam(['eval', '--model', model, '--save-reconstruction', '-', '--json']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^mam: only one of --save-reconstruction -, --plot - and --json can write to stdout/);
  });

  it('--json: the files and each layer, in snake_case', () => {
    const r = mam(['export', '--model', model, '--format', 'c', '--out', join(dir, 'c'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { format: string; files: string[]; weights: number; nonzeros: number; layers: Array<{ name: string; kind: string; storage: string }>; check: null };
    assert.deepEqual([out.format, out.files, out.check], ['c', [join(dir, 'c', 'mam_model.h'), join(dir, 'c', 'mam_model.c')], null]);
    assert.deepEqual(out.layers.map((l) => `${l.name} ${l.kind}`), ['enc1 mac', 'latent mac', 'dec1 mam', 'out mac']);
    assert.equal(out.weights, 128 * 16 + 16 * 6 + 6 * 16 + 16 * 128);
  });

  it('into a folder that does not exist: one line naming that folder, no temporary file', () => {
    const r = mam(['export', '--model', model, '--out', join(dir, 'no', 'such', 'x.json')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `mam: cannot write ${join(dir, 'no', 'such', 'x.json')}: folder ${join(dir, 'no', 'such')} does not exist; create it or choose another output\n`);
  });

  it('a C export will not replace a directory that holds other files', () => {
    const mine = join(dir, 'firmware');
    assert.equal(mam(['export', '--model', model, '--format', 'c', '--out', mine]).code, 0);
    spawnSync('touch', [join(mine, 'main.c')]);
    const r = mam(['export', '--model', model, '--format', 'c', '--out', mine]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /firmware holds other files than a C export \(main\.c\): give a new or empty directory/);
    assert.equal(readFileSync(join(mine, 'main.c'), 'utf8'), '');
  });
});
