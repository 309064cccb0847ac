import * as tf from '@tensorflow/tfjs';
import { describeBackend, parseBackendName, selectBackend, type BackendInfo, type BackendName } from './backend.js';
import { UsageError } from './errors.js';
import { installNativeKernels, uninstallNativeKernels } from './native.js';

/** How sde computes: the tfjs backend and its threads, and whether the native kernels serve it. */
export interface RuntimeOptions {
  /** tfjs backend (default 'auto': tfjs-node-gpu, tfjs-node, wasm, cpu, the first that loads). */
  backend?: BackendName;
  /** Threads of the wasm backend (default 1, the stock single-threaded SIMD binary). */
  threads?: number;
  /**
   * Whether the native kernels (src/native.ts) replace the single-threaded wasm backend's
   * products and run sde's own ops where the addon is built (default true); false removes them.
   * Results agree either way to float32 rounding.
   */
  native?: boolean;
  /** Threads of the native products (default 1). */
  nativeThreads?: number;
  /** Receives one line naming the backend in use (default: nothing is printed). */
  log?: (line: string) => void;
}

/**
 * Sets up the runtime once, before any tensor work: selects the tfjs backend, then installs the
 * native kernels for it (or removes them), and returns the description of what is in use. The
 * CLI calls it once per command; a library user calls it the same way:
 *
 * ```ts
 * const info = await configureRuntime({ backend: 'auto' });
 * console.error(info.description); // e.g. "wasm (SIMD, 1 thread; native AVX2 matMul, 1 thread)"
 * ```
 * Calling it again with other options switches the backend and the native kernels.
 */
export async function configureRuntime(options: RuntimeOptions = {}): Promise<BackendInfo> {
  const { backend = 'auto', threads = 1, native = true, nativeThreads = 1 } = options;
  checkThreads(threads, 'threads', 1024);
  checkThreads(nativeThreads, 'nativeThreads', 16);
  const name = await selectBackend(backend, threads);
  const singleThreadedWasm = name === 'wasm' && !tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  if (native && singleThreadedWasm) installNativeKernels(nativeThreads);
  else uninstallNativeKernels();
  const info = describeBackend();
  options.log?.(`backend: ${info.description}`);
  return info;
}

function checkThreads(n: number, what: string, max: number): void {
  if (!(Number.isInteger(n) && n >= 1 && n <= max)) throw new UsageError(`${what}: expected an integer from 1 to ${max}, got ${n}`);
}

/** A positive integer from an environment variable, or undefined when it is unset or empty. */
function envCount(env: NodeJS.ProcessEnv, key: string, max: number): number | undefined {
  const value = env[key];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1 && n <= max)) throw new UsageError(`${key}: expected an integer from 1 to ${max}, got '${value}'`);
  return n;
}

/**
 * The runtime options the environment asks for: SDE_BACKEND, SDE_WASM_THREADS,
 * SDE_NATIVE (0 turns the native kernels off) and SDE_NATIVE_THREADS (values checked; a bad one
 * is a UsageError naming the variable).
 */
export function runtimeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  return {
    backend: parseBackendName(env.SDE_BACKEND || 'auto', 'SDE_BACKEND'),
    threads: envCount(env, 'SDE_WASM_THREADS', 1024),
    native: env.SDE_NATIVE !== '0',
    nativeThreads: envCount(env, 'SDE_NATIVE_THREADS', 16),
  };
}
