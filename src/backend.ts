import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { MamError, RequestError, firstLine, msg, setting, type Message } from './errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** Short human phrase: why this backend was chosen. */
  reason: string;
  versions: Record<string, string>;
}

const ALIASES: Record<string, BackendName> = {
  tensorflow: 'tensorflow',
  node: 'tensorflow',
  'tfjs-node': 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};
const VALID = 'tensorflow (or node, tfjs-node), wasm, cpu';

const require = createRequire(import.meta.url);
let current: BackendInfo | undefined;
let wasmVersion: string | undefined;
let nodeVersion: string | undefined;

/** The result of the last successful initBackend(), if any. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/**
 * Choose and initialise the tfjs backend. An explicit request (options.backend, else
 * $MAM_BACKEND) must load or this throws a MamError (a RequestError for an unknown name);
 * with no request the fastest loadable backend wins: tfjs-node, then wasm, then cpu.
 */
export async function initBackend(options: { backend?: string } = {}): Promise<BackendInfo> {
  // PROD silences backend_util.warn, which is how tfjs prints its
  // "looks like you are running TensorFlow.js in Node.js" banner (to stderr).
  tf.enableProdMode();

  const env = process.env.MAM_BACKEND?.trim() || undefined; // MAM_BACKEND= means unset
  const raw = options.backend ?? env;
  const source = options.backend !== undefined ? '--backend' : 'MAM_BACKEND'; // for `reason`, which mam info prints
  const asked = options.backend !== undefined ? setting('backend') : msg`MAM_BACKEND`; // errors name the setting

  if (raw === undefined) {
    // Keep an earlier choice, unless someone switched tfjs's backend behind our back.
    if (current && tf.getBackend() === current.name) return current;
    return (current = await autoSelect());
  }

  const name = ALIASES[raw.trim().toLowerCase()];
  if (!name) throw new RequestError(msg`unknown backend "${raw}" (from ${asked}); valid: ${VALID}`);
  if (current?.name === name && tf.getBackend() === name) return (current = { ...current, reason: `requested by ${source}` });

  const failure = await tryLoad(name);
  if (failure !== undefined) throw new MamError(msg`backend ${name} (from ${asked}) failed to load: ${failure}; ${FIX[name]}`);
  return (current = { name, reason: `requested by ${source}`, versions: versions() });
}

const FIX: Record<BackendName, Message> = {
  // tfjs-node is an optional peer: missing unless the project installs it, or without its addon
  // when its install script (which downloads libtensorflow) could not run.
  tensorflow:
    msg`tfjs-node is an optional peer dependency that downloads libtensorflow when installed: with network access run "npm install @tensorflow/tfjs-node@^4.22.0" if it is missing, "npm rebuild @tensorflow/tfjs-node" if it is installed; otherwise use {backend} wasm`,
  wasm: msg`install @tensorflow/tfjs-backend-wasm@^4.22.0 beside @tensorflow/tfjs (a peer dependency of mam-ecg) or use {backend} cpu`,
  cpu: msg`install @tensorflow/tfjs@^4.22.0 (a peer dependency of mam-ecg)`,
};

async function autoSelect(): Promise<BackendInfo> {
  const notes: string[] = [];
  for (const name of ['tensorflow', 'wasm'] as const) {
    const failure = await tryLoad(name);
    if (failure === undefined) {
      notes.push(`${name === 'tensorflow' ? 'tfjs-node' : name} loaded`);
      return { name, reason: notes.join('; '), versions: versions() };
    }
    notes.push(`${name === 'tensorflow' ? 'tfjs-node' : name} not loadable (${failure})`);
  }
  const failure = await tryLoad('cpu');
  if (failure !== undefined) throw new Error(`no tfjs backend loads; cpu: ${failure}`);
  notes.push('using cpu');
  return { name: 'cpu', reason: notes.join('; '), versions: versions() };
}

/** Load and activate one backend; returns why it failed, or undefined on success. */
async function tryLoad(name: BackendName): Promise<string | undefined> {
  try {
    if (name === 'tensorflow' && nodeVersion === undefined) {
      // Lazy CommonJS require: tfjs-node is an optional peer dependency, often absent
      // or without its native addon, and that must not break importing this module.
      // It registers the 'tensorflow' backend on the same tfjs-core instance (one
      // copy of tfjs in the project: the peer dependencies see to it).
      require('@tensorflow/tfjs-node');
      nodeVersion = packageVersion('@tensorflow/tfjs-node');
    }
    if (name === 'wasm' && wasmVersion === undefined) {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasmVersion = wasm.version_wasm;
    }
    // setBackend() reports init failures only as `false` (details go to a warn that PROD silences).
    if (!(await tf.setBackend(name))) return `tf.setBackend('${name}') failed`;
    await tf.ready();
    return undefined;
  } catch (err) {
    return firstLine(err);
  }
}

function packageVersion(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function versions(): Record<string, string> {
  const v: Record<string, string> = {
    'tfjs-core': tf.version_core,
    'tfjs-layers': tf.version_layers,
    'tfjs-backend-wasm': wasmVersion ?? packageVersion('@tensorflow/tfjs-backend-wasm'),
  };
  if (nodeVersion !== undefined) v['tfjs-node'] = nodeVersion;
  v.node = process.versions.node;
  return v;
}
