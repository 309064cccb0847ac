import { beforeAll } from 'vitest';
import { parseBackendName, selectBackend } from '../src/backend.js';

// Every test file runs on the backend SDE_BACKEND names (auto by default: wasm on a machine without tfjs-node).
beforeAll(async () => {
  await selectBackend(parseBackendName(process.env.SDE_BACKEND ?? 'auto', 'SDE_BACKEND'));
});
