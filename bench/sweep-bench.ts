// Wall time of the default sweep with the small preset (`mam sweep --out DIR`, no other
// option): train a MAC and a MAM model, prune each along the default grid, evaluate every
// point. The goal is under 15 minutes on the 2-core machine. Runs the CLI as a user would, so it
// measures everything: data, training, pruning, evaluation, files. About 7 minutes; run it alone
// with `node dist/bench/sweep-bench.js` (or all benches with `npm run bench`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GOAL_MINUTES = 15;
const bin = fileURLToPath(new URL('../../bin/mam.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'mam-sweep-bench-'));
try {
  console.log(`default sweep (small preset, synthetic ECG) on ${cpus().length} cores: mam sweep --out ${out}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, 'sweep', '--out', join(out, 'sweep'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const minutes = (performance.now() - t0) / 60_000;
  if (r.status !== 0) throw new Error(`mam sweep exited with ${r.status}`);
  const file = JSON.parse(readFileSync(join(out, 'sweep', 'sweep.json'), 'utf8')) as { points: Array<{ kind: string; sparsity: number; asnr_db: number }> };
  for (const p of file.points) console.log(`  ${p.kind} sparsity ${p.sparsity}: test ASNR ${p.asnr_db.toFixed(2)} dB`);
  console.log(`default sweep: ${minutes.toFixed(1)} min for ${file.points.length} points (goal < ${GOAL_MINUTES} min: ${minutes < GOAL_MINUTES ? 'met' : 'NOT met'})`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
