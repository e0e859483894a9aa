// Sweeps: the report (CSV, JSON, SVG and the comparison at the target) from hand-made points,
// and a tiny `mam sweep` end to end: consistent files, resumed without recomputing.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CSV_COLUMNS, summarizeSweep, sweepCsv, sweepSvg, type SweepPoint } from '../src/sweep/report.js';
import type { SweepFile } from '../src/sweep/sweep.js';
import { MAM_BIN, mam, startMam, tempDir } from './cli-helpers.js';

const dir = tempDir('mam-sweep-test-');

function point(kind: 'mac' | 'mam', sparsity: number, asnr: number, weights = 1000): SweepPoint {
  const nonzeros = Math.round((1 - sparsity) * weights);
  return {
    protocol: 'finetune', kind, sparsity, actual_sparsity: 1 - nonzeros / weights, remaining_pct: (100 * nonzeros) / weights, nonzeros, weights,
    asnr_db: asnr, prd: 1, val_asnr_db: asnr, model: `${kind}/s${sparsity}`,
  };
}

describe('sweep report', () => {
  const points = [
    point('mam', 0.9, 30), point('mac', 0, 34), point('mac', 0.5, 33), point('mac', 0.9, 20),
    point('mam', 0, 33.5), point('mam', 0.5, 33.4), point('mam', 0.8, 32.7),
  ];

  it('finds the fewest remaining weights at the target, per kind, and their ratio', () => {
    const s = summarizeSweep('finetune', points, 32.6);
    assert.deepEqual(s.kinds.map((k) => [k.kind, k.best?.sparsity, k.dense_asnr_db]), [['mac', 0.5, 34], ['mam', 0.8, 33.5]]);
    assert.equal(s.ratio_mac_mam, 500 / 200);
    // Within 1 dB of their own dense model: MAC needs 33 dB (0.5 has it), MAM 32.5 dB (0.8 has 32.7).
    assert.deepEqual(s.relative.map((k) => k.best?.sparsity), [0.5, 0.8]);
    const none = summarizeSweep('finetune', points, 40);
    assert.deepEqual(none.kinds.map((k) => k.best), [null, null]);
    assert.equal(none.ratio_mac_mam, null);
  });

  it('CSV rows are the points, MAC first, by sparsity; the SVG has one line per kind and the target', () => {
    const lines = sweepCsv(points).trim().split('\n');
    assert.equal(lines[0], CSV_COLUMNS.join(','));
    assert.deepEqual(lines.slice(1).map((l) => l.split(',').slice(1, 3).join(',')), ['mac,0', 'mac,0.5', 'mac,0.9', 'mam,0', 'mam,0.5', 'mam,0.8', 'mam,0.9']);
    const svg = sweepSvg('finetune', points, 32.6);
    assert.equal(svg.match(/<path class="series"/g)?.length, 2);
    assert.match(svg, /target 32\.6 dB/);
    assert.match(svg, />MAC</);
    assert.match(svg, />MAM</);
    assert.match(svg, /remaining weights \(%\)/);
  });
});

describe('mam sweep', () => {
  const out = join(dir, 'sweep');
  const tiny = ['--encoder', '16', '--latent', '6', '--decoder', '16', '--epochs', '3', '--vcon-epochs', '1', '--synth-records', '6', '--synth-seconds', '12',
    '--steps', '1', '--fine-tune-epochs', '1', '--out', out];

  it('trains both kinds, prunes along the grid, and writes CSV, JSON and SVG that agree', () => {
    const r = mam(['sweep', ...tiny, '--grid', '0,0.5,0.9', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const file = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepFile;
    assert.deepEqual(file.points.map((p) => `${p.kind}${p.sparsity}`), ['mac0', 'mac0.5', 'mac0.9', 'mam0', 'mam0.5', 'mam0.9']);
    for (const p of file.points) {
      assert.ok(Math.abs(p.actual_sparsity - p.sparsity) <= 1 / p.weights, `${p.kind} ${p.sparsity}`);
      assert.ok(Number.isFinite(p.asnr_db));
      assert.ok(existsSync(join(out, p.model, 'mam.json')), p.model);
    }
    // The two kinds have the same shape: the same number of weights.
    assert.equal(new Set(file.points.map((p) => p.weights)).size, 1);
    const csv = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    assert.equal(csv.length, file.points.length);
    csv.forEach((row, i) => CSV_COLUMNS.forEach((c, j) => assert.equal(row[j], String(file.points[i]![c] ?? ''))));
    assert.equal(readFileSync(join(out, 'sweep.svg'), 'utf8'), sweepSvg('finetune', file.points, 32.6));
    assert.deepEqual(JSON.parse(r.stdout), file.summary);
  });

  it('resumes: points already computed are not computed again, new grid points are', () => {
    const mtime = statSync(join(out, 'mam', 's0.9', 'weights.bin')).mtimeMs;
    const again = mam(['sweep', ...tiny, '--grid', '0,0.5,0.9']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resuming .*: 6 points already computed/);
    assert.doesNotMatch(again.stderr, /pruning to/);
    const more = mam(['sweep', ...tiny, '--grid', '0,0.5,0.7,0.9']);
    assert.equal(more.code, 0, more.stderr);
    assert.match(more.stderr, /mam: pruning to 0\.7 from the 0\.5 point/);
    assert.doesNotMatch(more.stderr, /pruning to 0\.9/);
    assert.equal(statSync(join(out, 'mam', 's0.9', 'weights.bin')).mtimeMs, mtime);
    const file = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepFile;
    assert.equal(file.points.length, 8);
  });

  it('mam footprint --sweep gives each kind\'s sparsest point that reaches the ASNR, with its flash and RAM', () => {
    const r = mam(['footprint', '--sweep', out, '--asnr', '-1000', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const fp = JSON.parse(r.stdout) as { asnr_db: number; kinds: Array<{ kind: string; point: SweepPoint; flash_bytes: number; fits: boolean }> };
    assert.equal(fp.asnr_db, -1000);
    assert.deepEqual(fp.kinds.map((k) => [k.kind, k.point.sparsity]), [['mac', 0.9], ['mam', 0.9]]);
    for (const k of fp.kinds) {
      const one = mam(['footprint', '--model', join(out, k.point.model), '--json']);
      assert.equal(JSON.parse(one.stdout).flash_bytes, k.flash_bytes);
    }
    const none = mam(['footprint', '--sweep', out, '--asnr', '1000']);
    assert.match(none.stdout, /^MAC +no point reaches 1000 dB$/m);
  });

  it('Ctrl-C while training stops the workers; the same command resumes the training and finishes', async () => {
    const stopped = join(dir, 'stopped');
    const args = [...tiny.slice(0, -2), '--epochs', '40', '--grid', '0,0.5', '--out', stopped];
    const child = startMam(['sweep', ...args]);
    let stderr = '';
    let signalled = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!signalled && /training the dense MAM/.test(stderr) && /training the dense MAC/.test(stderr)) {
        signalled = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopping after the current training step or sweep point/);
    assert.match(stderr, /stopped with 4 points to go: run the same command again to resume/);
    const file = JSON.parse(readFileSync(join(stopped, 'sweep.json'), 'utf8')) as SweepFile;
    assert.equal(file.points.length, 0);
    const state = JSON.parse(readFileSync(join(stopped, 'mam', 'dense', 'mam.json'), 'utf8')).training.state as { finished: boolean; epoch: number };
    assert.equal(state.finished, false, 'stopped inside the training');
    const again = mam(['sweep', ...args]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resuming .*stopped: 0 points already computed/);
    assert.match(again.stderr, /mam: resuming .*dense at epoch/);
    assert.equal((JSON.parse(readFileSync(join(stopped, 'sweep.json'), 'utf8')) as SweepFile).points.length, 4);
  });

  it('--quantize int8: every point also carries its int8 network\'s test ASNR, in sweep.json and sweep.csv; a sweep made without it does not resume with it', () => {
    const q = join(dir, 'sweep-int8');
    const r = mam(['sweep', '--mac-model', join(out, 'mac', 'dense'), '--mam-model', join(out, 'mam', 'dense'), '--grid', '0,0.5', '--protocol', 'papers', '--quantize', 'int8', '--out', q, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const file = JSON.parse(readFileSync(join(q, 'sweep.json'), 'utf8')) as SweepFile;
    assert.equal(file.points.length, 4);
    for (const p of file.points) assert.ok(typeof p.int8_asnr_db === 'number' && Number.isFinite(p.int8_asnr_db) && p.int8_asnr_db !== p.asnr_db, JSON.stringify(p));
    const csv = readFileSync(join(q, 'sweep.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const at = CSV_COLUMNS.indexOf('int8_asnr_db');
    csv.forEach((row, i) => assert.equal(Number(row[at]), file.points[i]!.int8_asnr_db));
    const again = mam(['sweep', ...tiny, '--grid', '0,0.5,0.9', '--quantize', 'int8']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /was made with other models, pruning or quantisation options/);
  });

  it('refuses to resume with other pruning options, and other bad options, in one line (exit 2 for a bad setting, else 1)', () => {
    for (const [args, pattern, code] of [
      [[...tiny, '--grid', '0,0.5', '--score', 'gradient'], /^mam: .*sweep\.json was made with other models, pruning or quantisation options: give the same options to resume it, or another --out$/, 2],
      [[...tiny, '--grid', '0,1'], /^mam: --grid must be a fraction in \[0, 1\)/, 2],
      [['--mac-model', out, '--out', join(dir, 'x')], /^mam: --mac-model and --mam-model go together/, 2],
      [['--mac-model', join(out, 'mac', 'dense'), '--mam-model', join(out, 'mam', 'dense'), '--lr', '0.1', '--out', join(dir, 'x')], /^mam: with --mac-model and --mam-model the models and their data are given: remove --lr$/, 2],
      [[...tiny.slice(0, -2), '--layers', 'dec9', '--out', join(dir, 'y')], /^mam: --layers: no layer named dec9; these models' layers are enc1, latent, dec1, out$/, 2],
      [['--mac-model', join(out, 'mam', 'dense'), '--mam-model', join(out, 'mac', 'dense'), '--out', join(dir, 'x')], /^mam: --mac-model .*dense is a MAM model: give a MAC one \(trained with mam train --kind mac\)$/, 1],
      [['--out', MAM_BIN], /^mam: .*mam\.js is a file, not a directory: give --out a directory for the sweep$/, 1],
    ] as Array<[string[], RegExp, number]>) {
      const r = mam(['sweep', ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trimEnd(), pattern);
    }
  });
});
