import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { mam } from './cli-helpers.js';

// Compiled to dist/test/cli.test.js; package.json is at the project root.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('mam CLI', () => {
  it('info --json with MAM_BACKEND=cpu prints exactly one JSON object and nothing else', () => {
    const r = mam(['info', '--json'], { MAM_BACKEND: 'cpu' });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '', 'no tfjs banner or warnings');
    const out = JSON.parse(r.stdout) as { backend: string; reason: string; mam_kernel: string; training_engine: { threads: number }; versions: Record<string, string> };
    assert.deepEqual(Object.keys(out), ['backend', 'reason', 'mam_kernel', 'training_engine', 'versions']);
    assert.equal(out.mam_kernel, 'wasm-simd');
    assert.equal(out.training_engine.threads, availableParallelism());
    assert.equal(out.backend, 'cpu');
    assert.equal(out.reason, 'requested by MAM_BACKEND');
    assert.equal(out.versions['tfjs-core'], '4.22.0');
    assert.equal(out.versions.node, process.versions.node);
  });

  it('--backend overrides MAM_BACKEND', () => {
    const r = mam(['--backend', 'cpu', 'info', '--json'], { MAM_BACKEND: 'wasm' });
    assert.equal(r.code, 0);
    assert.deepEqual(
      [JSON.parse(r.stdout).backend, JSON.parse(r.stdout).reason],
      ['cpu', 'requested by --backend'],
    );
  });

  it('info prints a plain (uncoloured) human summary when piped', () => {
    const r = mam(['info'], { MAM_BACKEND: 'cpu' });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^backend +cpu\nreason +requested by MAM_BACKEND\nkernel +MAM forward in wasm-simd\ntraining WebAssembly SIMD, \d+ threads by default \(--threads\)\nversions\n/);
    assert.match(r.stdout, /^ +tfjs-core +4\.22\.0$/m);
    assert.ok(!r.stdout.includes('\x1b['), 'no ANSI escapes on a pipe');
  });

  for (const [label, args, env] of [
    ['--backend bogus', ['--backend', 'bogus', 'info'], {}],
    ['MAM_BACKEND=bogus', ['info'], { MAM_BACKEND: 'bogus' }],
  ] as const) {
    it(`${label} exits 2 (a bad setting) with a single "mam:" line and no stack`, () => {
      const r = mam([...args], env);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^mam: unknown backend "bogus" \(from (--backend|MAM_BACKEND)\); valid: tensorflow/);
      assert.ok(!/^\s*at /m.test(r.stderr));
    });
  }

  it('--help lists the global option and the info command', () => {
    const r = mam(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: mam \[options\] \[command\]/);
    assert.match(r.stdout, /--backend <name>/);
    assert.match(r.stdout, /^ +info \[options\] /m);
  });

  it('--version prints the package.json version', () => {
    const r = mam(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  });
});
