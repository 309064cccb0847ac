import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UsageError } from './errors.js';

/** Backend names accepted by `--backend` and the SDE_BACKEND environment variable. */
export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** tfjs backend name actually in use: 'tensorflow', 'wasm' or 'cpu'. */
  backend: string;
  /** Human-readable description, e.g. "wasm (SIMD, 1 thread)". */
  description: string;
}

const require = createRequire(import.meta.url);

/** Loads a native tfjs-node package; false when it is not installed or fails to load. */
async function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<boolean> {
  try {
    await import(pkg);
  } catch {
    return false;
  }
  try {
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

/** Registers the wasm backend with binaries from node_modules (nothing is fetched). */
async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    wasm.setWasmPaths(dir + path.sep);
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

function describe(): BackendInfo {
  const backend = tf.getBackend();
  if (backend === 'wasm') {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    return { backend, description: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : '1 thread'})` };
  }
  return { backend, description: backend };
}

/** Parses a backend name from a flag or environment variable, or throws a UsageError naming the source. */
export function parseBackendName(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new UsageError(`${source}: unknown backend '${value}', expected one of ${BACKEND_NAMES.join(', ')}`);
}

let selected: BackendInfo | undefined;

/**
 * Selects the tfjs backend. `auto` tries tfjs-node-gpu, tfjs-node, wasm, then cpu; a named
 * backend must load or a UsageError is thrown. The choice is printed once via `log`.
 */
export async function selectBackend(name: BackendName, log: (line: string) => void = () => {}): Promise<BackendInfo> {
  if (selected && (name === 'auto' || name === selected.backend)) return selected;
  let ok = false;
  switch (name) {
    case 'auto':
      ok = (await tryNative('@tensorflow/tfjs-node-gpu')) || (await tryNative('@tensorflow/tfjs-node')) ||
        (await tryWasm()) || (await tf.setBackend('cpu'));
      break;
    case 'tensorflow':
      ok = (await tryNative('@tensorflow/tfjs-node-gpu')) || (await tryNative('@tensorflow/tfjs-node'));
      if (!ok) throw new UsageError("--backend tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed; use --backend wasm or cpu");
      break;
    case 'wasm':
      ok = await tryWasm();
      if (!ok) throw new UsageError('--backend wasm: @tensorflow/tfjs-backend-wasm could not be initialised');
      break;
    case 'cpu':
      ok = await tf.setBackend('cpu');
      break;
  }
  if (!ok) throw new Error(`no tfjs backend could be initialised (asked for ${name})`);
  await tf.ready();
  selected = describe();
  log(`backend: ${selected.description}`);
  return selected;
}
