import { beforeAll } from 'vitest';
import { configureRuntime, runtimeOptionsFromEnv } from '../src/runtime.js';

// Every test file runs on the runtime the environment names (SDE_BACKEND, auto by default: wasm
// on a machine without tfjs-node; SDE_WASM_THREADS; SDE_NATIVE=0 turns the native kernels off).
beforeAll(async () => {
  await configureRuntime(runtimeOptionsFromEnv());
});
