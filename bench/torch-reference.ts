// PyTorch reference for the training benchmark: runs bench/torch_reference.py, which trains
// the same autoencoder presets (MAC and MAM) with PyTorch on this machine, and returns its
// windows per second. Used only by `npm run bench`, to put our training speed next to
// PyTorch's measured in the same run; when PyTorch is missing it says so instead of failing.
//
// The interpreter is /usr/bin/python3 (Debian's python3-torch lives there, not in the python3
// a virtualenv or pyenv may put first on PATH); override it with MAM_TORCH_PYTHON.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TorchResult { preset: string; kind: 'mac' | 'mam'; threads: number; windowsPerSecond: number; msPerStep: number }

export type TorchReference = { available: true; version: string; results: TorchResult[] } | { available: false; reason: string };

const SCRIPT = fileURLToPath(new URL('../../bench/torch_reference.py', import.meta.url));
const DEFAULT_PYTHON = '/usr/bin/python3';

/** Why a child failed, in one line: the last line of its captured stderr (where Python puts
 * the exception of a traceback), else the first line of the error message. */
function oneLine(e: unknown): string {
  const err = e as Error & { stderr?: Buffer | string | null };
  const nonEmpty = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return nonEmpty(err.stderr?.toString() ?? '').pop() ?? nonEmpty(err.message ?? String(e))[0] ?? 'unknown error';
}

/** The script's JSON, checked field by field; throws on anything unexpected. */
function parseOutput(stdout: string): { version: string; results: TorchResult[] } {
  const lastLine = stdout.trim().split('\n').pop() ?? '';
  function bad(what: string): never {
    throw new Error(`unexpected output (${what}): ${JSON.stringify(lastLine.slice(0, 200))}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(lastLine);
  } catch {
    bad('not JSON');
  }
  if (typeof data !== 'object' || data === null) bad('not a JSON object');
  const { torch, results } = data as { torch?: unknown; results?: unknown };
  if (typeof torch !== 'string') bad('no "torch" version');
  if (!Array.isArray(results)) bad('no "results" array');
  return {
    version: torch,
    results: results.map((r: unknown) => {
      const { preset, kind, threads, windows_per_s: wps, ms_per_step: ms } = (r ?? {}) as Record<string, unknown>;
      const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
      if (typeof preset !== 'string' || (kind !== 'mac' && kind !== 'mam') || !Number.isInteger(threads) || !positive(threads) || !positive(wps) || !positive(ms)) {
        bad(`result ${JSON.stringify(r)}`);
      }
      return { preset, kind, threads, windowsPerSecond: wps, msPerStep: ms };
    }),
  };
}

/**
 * Trains each preset and kind with PyTorch at each thread count for at least `seconds` (plus
 * warm-up), synchronously; the script's progress goes to this process's stderr. Never throws:
 * a missing interpreter, missing torch or failing script gives { available: false, reason }.
 */
export function runTorchReference(options: { presets: string[]; kinds: Array<'mac' | 'mam'>; threads: number[]; seconds: number }): TorchReference {
  const python = process.env['MAM_TORCH_PYTHON'] || DEFAULT_PYTHON;
  const install = `apt-get install python3-torch, then rerun (uses ${python}; set MAM_TORCH_PYTHON to use another python)`;
  if (python.includes('/') && !existsSync(python)) return { available: false, reason: `no PyTorch: ${python} does not exist; ${install}` };
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  } catch (e) {
    return { available: false, reason: `no PyTorch (${oneLine(e)}): ${install}` };
  }
  if (!existsSync(SCRIPT)) return { available: false, reason: `${SCRIPT} is missing` };
  const args = [
    SCRIPT,
    '--presets', options.presets.join(','),
    '--kinds', options.kinds.join(','),
    '--threads', options.threads.join(','),
    '--seconds', String(options.seconds),
  ];
  // Generous: each run is `seconds` plus a warm-up of well under a second on these models.
  const timeoutMs = 1000 * (60 + options.presets.length * options.kinds.length * options.threads.length * (options.seconds + 30));
  let stdout: string;
  try {
    // stderr inherited: the script's progress lines show as it goes, and so does a traceback.
    stdout = execFileSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20, timeout: timeoutMs });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number | null; signal?: string | null };
    const how = err.code === 'ETIMEDOUT' ? `no result after ${timeoutMs / 1000} s`
      : err.status != null ? `exit status ${err.status}` : err.signal ? `killed by ${err.signal}` : oneLine(e);
    return { available: false, reason: `torch_reference.py failed: ${how} (its error, if any, is printed above)` };
  }
  try {
    return { available: true, ...parseOutput(stdout) };
  } catch (e) {
    return { available: false, reason: `torch_reference.py printed ${oneLine(e)}` };
  }
}

/** Best (highest windows/s) result over thread counts for a preset and kind, or undefined. */
export function bestTorch(ref: TorchReference, preset: string, kind: 'mac' | 'mam'): TorchResult | undefined {
  if (!ref.available) return undefined;
  let best: TorchResult | undefined;
  for (const r of ref.results) {
    if (r.preset === preset && r.kind === kind && (!best || r.windowsPerSecond > best.windowsPerSecond)) best = r;
  }
  return best;
}
