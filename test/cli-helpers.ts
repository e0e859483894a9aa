// Running the CLI (bin/mam.js) from the tests as a user would, and the temporary directories the
// tests write to.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

/** bin/mam.js: the tests are compiled to dist/test/, two levels below the project root. */
export const MAM_BIN = fileURLToPath(new URL('../../bin/mam.js', import.meta.url));

export interface CliResult {
  code: number | null;
  /** The signal that ended the run (SIGKILL from a crash point), or null. */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a run: this process's, without the settings that would change what the CLI
 * prints (a developer's MAM_BACKEND, MAM_DEBUG, FORCE_COLOR or NO_COLOR), on the wasm backend
 * (the one the tests train with in-process, so numbers compare), then `env` on top.
 */
export function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['MAM_BACKEND', 'MAM_DEBUG', 'FORCE_COLOR', 'NO_COLOR']) delete base[k];
  return { ...base, MAM_BACKEND: 'wasm', ...env };
}

/** Runs `mam ...args` to the end: its exit code, stdout and stderr. */
export function mam(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [MAM_BIN, ...args], { env: cliEnv(env), encoding: 'utf8' });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `mam ...args` without waiting, e.g. to send it Ctrl-C. */
export function startMam(args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [MAM_BIN, ...args], { env: cliEnv(env) });
}

/** mam() without blocking this process, so that several runs can go side by side. */
export function mamAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startMam(args, env);
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A new directory under the system's temporary one, removed after the tests of the file (or suite) that asked. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A process that stays alive (a running run's PID, for the lock and temporaries tests) until it is killed. */
export function liveProcess(): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
}

/** The PID of a process that has exited (what a crashed run leaves in its temporaries' names). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (r.pid === undefined) throw new Error('could not start a process');
  return r.pid;
}
