// Wall time of the default sweep with the small preset (`mam sweep --out DIR`, no other
// option): train a MAC and a MAM model, prune each along the default grid, evaluate every
// point. The goal is under 15 minutes on the 2-core machine. Runs the CLI as a user would, so it
// measures everything: data, training, pruning, evaluation, files. About 9 minutes; run it alone
// with `node dist/bench/sweep-bench.js [DIR]` (DIR keeps the sweep; default: a temporary one),
// or all benches with `npm run bench`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GOAL_MINUTES = 15;
const bin = fileURLToPath(new URL('../../bin/mam.js', import.meta.url));
const keep = process.argv[2];
const out = keep ?? mkdtempSync(join(tmpdir(), 'mam-sweep-bench-'));
const sweepDir = keep ?? join(out, 'sweep');
try {
  if (keep && existsSync(join(keep, 'sweep.json'))) throw new Error(`${keep} holds a sweep already: the bench times a sweep from scratch; give a new directory`);
  console.log(`default sweep (small preset, synthetic ECG) on ${cpus().length} cores: mam sweep --out ${sweepDir}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, 'sweep', '--out', sweepDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const minutes = (performance.now() - t0) / 60_000;
  if (r.status !== 0) throw new Error(`mam sweep exited with ${r.status}`);
  process.stdout.write(r.stdout);
  const file = JSON.parse(readFileSync(join(sweepDir, 'sweep.json'), 'utf8')) as { points: Array<{ kind: string; sparsity: number; asnr_db: number }> };
  for (const p of file.points) console.log(`  ${p.kind} sparsity ${p.sparsity}: test ASNR ${p.asnr_db.toFixed(2)} dB`);
  console.log(`default sweep: ${minutes.toFixed(1)} min for ${file.points.length} points (goal < ${GOAL_MINUTES} min: ${minutes < GOAL_MINUTES ? 'met' : 'NOT met'})`);
} finally {
  if (!keep) rmSync(out, { recursive: true, force: true });
}
