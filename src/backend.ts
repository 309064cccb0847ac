import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker as NodeWorker } from 'node:worker_threads';
import { UsageError } from './errors.js';
import { nativeKernels } from './native.js';

/** Backend names accepted by `--backend` and the SDE_BACKEND environment variable. */
export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** tfjs backend name actually in use: 'tensorflow', 'wasm' or 'cpu'. */
  backend: string;
  /** Human-readable description, e.g. "wasm (SIMD, 2 threads)". */
  description: string;
  /** Threads the wasm backend computes on (1 when single-threaded); null for other backends. */
  threads: number | null;
  /** The native kernels serving the wasm backend (src/native.ts): their products' threads and 'avx512' | 'avx2'; null when not in use. */
  nativeMatMul: { threads: number; isa: string } | null;
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

/*
 * Multi-threaded wasm under Node.js. tfjs 4.22 ships a threaded SIMD binary (XNNPACK on
 * Emscripten pthreads) but disables it under Node (tfjs issue 3830): the
 * WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false there, the pthread worker script is
 * handed to worker_threads as a blob: URL, which Node refuses, and the worker would load the
 * module's source from a Blob whose code (the transpiled factory) refers to helpers of the
 * Node bundle's module scope. The shim below, applied at run time without touching
 * node_modules, turns the flag on, sets the thread count (configureRuntime's `threads`; tfjs's
 * default is half the cores), and makes the Emscripten main thread's `new Worker(url)` start
 * WORKER_SOURCE instead, an adaptation of Emscripten's pthread worker that reads the factory
 * from the Blob and evaluates it with those helpers supplied. Nothing is fetched. If anything
 * fails, the backend is initialised again single-threaded.
 */
const WORKER_SOURCE = String.raw`"use strict";
const wt = require('worker_threads');
const fs = require('fs'), nodePath = require('path'), os = require('os'), perfHooks = require('perf_hooks');
const parentPort = wt.parentPort;
var Module = {};
Object.assign(globalThis, {
  self: globalThis, require, Module, location: { href: __filename }, Worker: wt.Worker,
  importScripts: (f) => { (0, eval)(fs.readFileSync(f, 'utf8')); },
  postMessage: (msg) => parentPort.postMessage(msg),
  performance: globalThis.performance || perfHooks.performance,
});
// tslib helpers that the transpiled factory refers to.
const __values = (o) => o[Symbol.iterator]();
const __read = (o, n) => { const a = Array.from(o); return n === undefined ? a : a.slice(0, n); };
const __spreadArray = (to, from) => to.concat(Array.from(from));
let initializedJS = false;
let pendingQueues = [];
const err = (...args) => fs.writeSync(2, args.join(' ') + '\n');
self.alert = (...args) => postMessage({ cmd: 'alert', text: args.join(' '), threadId: Module._pthread_self() });
Module.instantiateWasm = (info, receiveInstance) => {
  const instance = new WebAssembly.Instance(Module.wasmModule, info);
  receiveInstance(instance);
  Module.wasmModule = null;
  return instance.exports;
};
self.startWorker = (instance) => { Module = instance; postMessage({ cmd: 'loaded' }); };
async function load(data) {
  Module.wasmModule = data.wasmModule;
  for (const handler of data.handlers) Module[handler] = (...args) => postMessage({ cmd: 'callHandler', handler, args });
  Module.wasmMemory = data.wasmMemory;
  Module.buffer = Module.wasmMemory.buffer;
  Module.ENVIRONMENT_IS_PTHREAD = true;
  const src = typeof data.urlOrBlob === 'string' ? fs.readFileSync(data.urlOrBlob, 'utf8') : await data.urlOrBlob.text();
  const factory = new Function('require$$0', 'require$$1', 'require$$3', 'require$$4', 'commonjsGlobal', '_scriptDir',
    '__values', '__read', '__spreadArray', '__dirname', '__filename', src + '\nreturn WasmBackendModuleThreadedSimd;')(
    fs, nodePath, perfHooks, os, globalThis, __filename, __values, __read, __spreadArray, __dirname, __filename);
  factory(Module);
}
function handle(data) {
  if (data.cmd === 'load') return load(data);
  if (data.cmd === 'run') {
    Module.__emscripten_thread_init(data.pthread_ptr, 0, 0, 1);
    Module.establishStackSpace();
    Module.PThread.receiveObjectTransfer(data);
    Module.PThread.threadInitTLS();
    if (!initializedJS) {
      pendingQueues.forEach((q) => Module.executeNotifiedProxyingQueue(q));
      pendingQueues = [];
      initializedJS = true;
    }
    try {
      Module.invokeEntryPoint(data.start_routine, data.arg);
    } catch (ex) {
      if (ex != 'unwind') {
        if (ex instanceof Module.ExitStatus) {
          if (!Module.keepRuntimeAlive()) Module.__emscripten_thread_exit(ex.status);
        } else throw ex;
      }
    }
  } else if (data.cmd === 'cancel') {
    if (Module._pthread_self()) Module.__emscripten_thread_exit(-1);
  } else if (data.target === 'setimmediate') {
  } else if (data.cmd === 'processProxyingQueue') {
    if (initializedJS) Module.executeNotifiedProxyingQueue(data.queue);
    else pendingQueues.push(data.queue);
  } else if (data.cmd) {
    err('worker received unknown command ' + data.cmd);
  }
}
// Messages are handled in order; 'load' is asynchronous (reading the Blob).
let chain = Promise.resolve();
parentPort.on('message', (data) => {
  chain = chain.then(() => handle(data)).catch((ex) => {
    if (Module.__emscripten_thread_crashed) Module.__emscripten_thread_crashed();
    throw ex;
  });
});
`;

/** worker_threads.Worker that starts WORKER_SOURCE for Emscripten's blob: pthread worker URL. */
class PthreadWorker extends NodeWorker {
  constructor(url: string | URL, options?: ConstructorParameters<typeof NodeWorker>[1]) {
    if (String(url).startsWith('blob:')) {
      URL.revokeObjectURL(String(url));
      super(WORKER_SOURCE, { eval: true });
    } else super(url, options);
  }

  /**
   * Emscripten refs the worker of every running pthread, which would keep Node alive for ever:
   * XNNPACK's pool threads never exit. They are helpers of the main thread, so never ref them.
   */
  override ref(): void {}
}

/** The global `Worker` the Emscripten factory uses; it assigns worker_threads.Worker, which is ignored. */
function installWorkerShim(): void {
  const desc = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  if (desc?.get && desc.get() === PthreadWorker) return;
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => {} });
}

/** Whether this Node.js can run threaded wasm: shared memory, wasm atomics and SIMD. */
async function threadsUsable(): Promise<boolean> {
  try {
    if (typeof SharedArrayBuffer !== 'function') return false;
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  } catch {
    return false;
  }
}

/**
 * Runs `f` while os.cpus() reports at least `n` cores. The wasm backend caps its thread count at
 * half the logical cores it reads from os.cpus() while initialising (init_with_threads_count);
 * reporting twice the wanted count lets it use every core.
 */
async function withLogicalCores<T>(n: number, f: () => Promise<T>): Promise<T> {
  const cpus = os.cpus;
  os.cpus = () => {
    const real = cpus();
    return Array.from({ length: Math.max(n, real.length) }, (_, i) => real[i % real.length]);
  };
  try {
    return await f();
  } finally {
    os.cpus = cpus;
  }
}

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');
let wasmThreads = 1;

/** setBackend('wasm') that gives up after `ms` (a threaded start that hangs) instead of waiting forever. */
async function setWasmBackend(ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  try {
    const r = await Promise.race([tf.setBackend('wasm'), timeout]);
    if (r === 'timeout') throw new Error(`wasm backend did not start within ${ms} ms`);
    return r;
  } finally {
    clearTimeout(timer);
  }
}

/** Registers the wasm backend with binaries from node_modules (nothing is fetched), on `threads` threads when possible. */
async function tryWasm(threads: number): Promise<boolean> {
  let wasm: WasmModule;
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    wasm.setWasmPaths(dir + path.sep);
  } catch {
    return false;
  }
  if (threads > 1 && (await threadsUsable())) {
    // The registered factory, kept so that a threaded start that hangs can be abandoned.
    const entry = (tf.engine() as unknown as { registryFactory: Record<string, { factory: () => Promise<tf.KernelBackend>; priority: number }> }).registryFactory.wasm;
    try {
      installWorkerShim();
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
      wasm.setThreadsCount(threads);
      if (await withLogicalCores(2 * threads, () => setWasmBackend(60_000))) {
        wasmThreads = wasm.getThreadsCount();
        return true;
      }
      if (process.env.SDE_DEBUG) process.stderr.write('wasm threads: setBackend returned false\n');
    } catch (e) {
      // fall through to the single-threaded binary
      if (process.env.SDE_DEBUG) process.stderr.write(`wasm threads: ${(e as Error).stack ?? e}\n`);
    }
    if (entry && tf.engine().registryFactory.wasm !== undefined && !(tf.engine().registry as Record<string, unknown>).wasm) {
      tf.removeBackend('wasm');
      tf.registerBackend('wasm', entry.factory, entry.priority);
    }
  }
  try {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
    const ok = await tf.setBackend('wasm');
    wasmThreads = 1;
    return ok;
  } catch {
    return false;
  }
}

/** The backend in use now, described (reads state only). */
export function describeBackend(): BackendInfo {
  const backend = tf.getBackend();
  const native = nativeKernels();
  if (backend === 'wasm') {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? wasmThreads : 1;
    const nativeText = native ? `; native ${native.isa === 'avx512' ? 'AVX-512' : 'AVX2'} matMul, ${native.threads} thread${native.threads === 1 ? '' : 's'}` : '';
    return { backend, threads, nativeMatMul: native, description: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}${nativeText})` };
  }
  return { backend, threads: null, nativeMatMul: null, description: backend };
}

/** Parses a backend name from a flag or environment variable, or throws a UsageError naming the source. */
export function parseBackendName(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new UsageError(`${source}: unknown backend '${value}', expected one of ${BACKEND_NAMES.join(', ')}`);
}

let selected: string | undefined;

/**
 * Makes a tfjs backend the active one (configureRuntime's first part). `auto` tries
 * tfjs-node-gpu, tfjs-node, wasm, then cpu; a named backend must load or a UsageError is thrown.
 * wasm runs on `threads` threads where it can. A backend already selected is kept (`auto` keeps
 * whichever was chosen). Returns the tfjs name of the backend in use.
 */
export async function selectBackend(name: BackendName, threads: number): Promise<string> {
  if (selected && (name === 'auto' || name === selected) && tf.getBackend() === selected) return selected;
  let ok = false;
  switch (name) {
    case 'auto':
      ok = (await tryNative('@tensorflow/tfjs-node-gpu')) || (await tryNative('@tensorflow/tfjs-node')) ||
        (await tryWasm(threads)) || (await tf.setBackend('cpu'));
      break;
    case 'tensorflow':
      ok = (await tryNative('@tensorflow/tfjs-node-gpu')) || (await tryNative('@tensorflow/tfjs-node'));
      if (!ok) throw new UsageError("--backend tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed; use --backend wasm or cpu");
      break;
    case 'wasm':
      ok = await tryWasm(threads);
      if (!ok) throw new UsageError('--backend wasm: @tensorflow/tfjs-backend-wasm could not be initialised');
      break;
    case 'cpu':
      ok = await tf.setBackend('cpu');
      break;
  }
  if (!ok) throw new Error(`no tfjs backend could be initialised (asked for ${name})`);
  await tf.ready();
  selected = tf.getBackend();
  return selected;
}
