// Compiles the project's kernels (assembly/index.ts, AssemblyScript) to one WebAssembly module
// with SIMD. Runs as part of `npm run build`, so a fresh `npm install` produces it.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'wasm', 'kernels.wasm');
mkdirSync(dirname(out), { recursive: true });
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
execFileSync(process.execPath, [
  asc, join(root, 'assembly', 'index.ts'),
  '--outFile', out,
  '--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert',
  '--runtime', 'stub',
  '--enable', 'simd', '--enable', 'threads',
  // The caller provides the memory (shared, so that worker threads can use the same arrays),
  // lays out its buffers past the first page and grows it as needed.
  '--importMemory', '--noExportMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
], { stdio: 'inherit', cwd: root });
