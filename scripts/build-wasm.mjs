// Compiles the fused MAM kernel (assembly/mam-kernel.ts, AssemblyScript) to WebAssembly
// with SIMD. Runs as part of `npm run build`, so a fresh `npm install` produces it.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'wasm', 'mam-kernel.wasm');
mkdirSync(dirname(out), { recursive: true });
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
execFileSync(process.execPath, [
  asc, join(root, 'assembly', 'mam-kernel.ts'),
  '--outFile', out,
  '--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert',
  '--runtime', 'stub',
  '--enable', 'simd',
  // The caller lays out its buffers past the module's own memory and grows it as needed.
  '--initialMemory', '1',
], { stdio: 'inherit', cwd: root });
